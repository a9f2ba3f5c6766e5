import datetime as dt

import factory
from django.utils import timezone

from chargers.vendor import ChargeStrategy
from orders.models import CloseReason, ConflictKind, Order, OrderConflict, OrderSample, OrderStatus, Partner
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


class OrderConflictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderConflict

    order = factory.SubFactory(OrderFactory)
    kind = ConflictKind.SETTLEMENT_TIMES
    figures = factory.LazyAttribute(lambda c: {"started_at": c.order.started_at.isoformat(),
                                               "ended_at": c.order.started_at.isoformat()})
    recorded_at = factory.LazyFunction(timezone.now)
