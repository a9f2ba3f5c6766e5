import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from chargers.vendor import ChargeStrategy
from orders.models import (
    BusinessDay,
    ChargingCard,
    CloseReason,
    ConflictKind,
    DayAction,
    DayEvent,
    Export,
    Order,
    OrderConflict,
    OrderSample,
    OrderStatus,
    Partner,
    Statement,
    StatementCategory,
    StatementLine,
)
from orders.services import order_no_generate
from tests.chargers.factories import ConnectorFactory


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    org_code = factory.Sequence(lambda n: f"MA{n:07d}")
    name = factory.Sequence(lambda n: f"出行平台 {n}")
    enabled = True


class OrderFactory(factory.django.DjangoModelFactory):
    """A finished session of 10 kWh at 0.65 + 0.40 yuan per kWh."""

    class Meta:
        model = Order

    order_no = factory.Sequence(lambda n: f"{order_no_generate()[:14]}{n % 1_000_000:06d}")
    connector = factory.SubFactory(ConnectorFactory)
    charger = factory.LazyAttribute(lambda o: o.connector.charger)
    station = factory.LazyAttribute(lambda o: o.connector.charger.station)
    partner = factory.SubFactory(PartnerFactory)
    partner_order_no = factory.Sequence(lambda n: f"P{n:010d}")
    driver_id = factory.Sequence(lambda n: f"D{n:06d}")
    strategy = ChargeStrategy.FULL
    status = OrderStatus.FINISHED
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    ended_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(hours=1))
    charge_seconds = 3600
    park_seconds = 3900
    energy_wh = 10_000
    electricity_fee_fen = 650
    service_fee_fen = 400
    total_fee_fen = 1050
    soc = 80
    plate = "粤B12345"
    close_reason = CloseReason.FULL


class OrderSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderSample

    order = factory.SubFactory(OrderFactory)
    device_time = factory.LazyAttribute(lambda s: s.order.started_at + dt.timedelta(minutes=1))
    voltage_dv = 2200
    current_da = 320
    power_w = 7040
    energy_wh = 117
    cost_fen = 12
    soc = 40

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Saved as the progress service saves one: the order learns when its last sample was received."""
        sample = super()._create(model_class, *args, **kwargs)
        Order.objects.filter(Q(samples_until__isnull=True) | Q(samples_until__lt=sample.received_at),
                             pk=sample.order_id).update(samples_until=sample.received_at)
        return sample


class OrderConflictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderConflict

    order = factory.SubFactory(OrderFactory)
    kind = ConflictKind.SETTLEMENT_TIMES
    figures = factory.LazyAttribute(lambda c: {"started_at": c.order.started_at.isoformat(),
                                               "ended_at": c.order.started_at.isoformat()})
    recorded_at = factory.LazyFunction(timezone.now)


class BusinessDayFactory(factory.django.DjangoModelFactory):
    """A business day finance has not closed (a row exists once a day was closed, or closed and reopened)."""

    class Meta:
        model = BusinessDay

    day = factory.Sequence(lambda n: dt.date(2026, 10, 1) + dt.timedelta(days=n))
    closed = False


class StatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Statement

    counterparty = "tomda"
    day = factory.Sequence(lambda n: dt.date(2026, 10, 1) + dt.timedelta(days=n))
    built_at = factory.LazyFunction(timezone.now)


class StatementLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatementLine

    statement = factory.SubFactory(StatementFactory)
    category = StatementCategory.ENERGY
    order = factory.SubFactory(OrderFactory)
    key = factory.LazyAttribute(lambda line: line.order.order_no)
    ours = factory.LazyAttribute(lambda line: {"energy_wh": line.order.energy_wh, "amount_fen": 1050,
                                               "status": line.order.status})
    theirs = factory.LazyAttribute(lambda line: {"energy_wh": line.order.energy_wh + 1, "amount_fen": 1050,
                                                 "status": line.order.status})
    found_at = factory.LazyFunction(timezone.now)


class DayEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DayEvent

    day = factory.SubFactory(BusinessDayFactory)
    action = DayAction.REOPENED
    reason = "运营商补发账单"
    user = factory.LazyFunction(lambda: get_user_model().objects.get_or_create(username="finance-lead")[0])
    at = factory.LazyFunction(timezone.now)


class ExportFactory(factory.django.DjangoModelFactory):
    """An export of one day that a finance clerk asked for, not yet written."""

    class Meta:
        model = Export

    day_from = dt.date(2026, 11, 30)
    day_to = dt.date(2026, 11, 30)
    requested_by = factory.LazyFunction(lambda: get_user_model().objects.get_or_create(username="finance-clerk")[0])
    requested_at = factory.LazyFunction(timezone.now)


class ChargingCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargingCard
        django_get_or_create = ("number",)

    number = factory.Sequence(lambda n: f"8800{n:04d}")
    holder = factory.Sequence(lambda n: f"持卡人 {n}")
    balance_fen = 5000
