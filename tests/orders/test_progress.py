"""The rules of a session's news, service by service: status rank, figures that only grow, the newest
reading's SOC, settlement once, the balance left, and a batch of readings equal to the same readings one
by one."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderSample, OrderStatus
from orders.selectors import order_balance_remaining, order_samples
from orders.services import Progress, Settlement, order_progress_record, order_settle, orders_progress_record
from orders.signals import order_progressed, order_settled
from tests.orders.factories import OrderFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing, in the flat factory tariff


def reading(minutes, energy_wh, *, status=OrderStatus.CHARGING, soc=None, vendor_status="CHARGE", cost=None):
    return Progress(
        at=START + dt.timedelta(minutes=minutes),
        status=status,
        vendor_status=vendor_status,
        energy_wh=energy_wh,
        charge_seconds=minutes * 60,
        power_w=7000,
        cost_fen=cost,
        soc=soc,
    )


@pytest.fixture
def session():
    return OrderFactory(
        status=OrderStatus.CHARGING, started_at=START, ended_at=None, energy_wh=0, charge_seconds=0,
        electricity_fee_fen=0, service_fee_fen=0, total_fee_fen=0, soc=None, close_reason="",
        authorized_amount_fen=1000, tariff_version=TariffVersionFactory(),
    )


def fresh(order):
    return Order.objects.get(pk=order.pk)


def test_news_of_a_lower_status_never_moves_the_order_back(session):
    order_progress_record(order=session, progress=reading(30, 3000, status=OrderStatus.FINISHED))

    order_progress_record(order=session, progress=reading(31, 3100, status=OrderStatus.CHARGING))

    assert fresh(session).status == OrderStatus.FINISHED


def test_news_of_a_higher_status_moves_the_order_forward(session):
    session.status = OrderStatus.STARTING
    session.save()

    order_progress_record(order=session, progress=reading(1, 100))

    assert fresh(session).status == OrderStatus.CHARGING


def test_cumulative_figures_keep_their_highest_value(session):
    order_progress_record(order=session, progress=reading(30, 3000, cost=300))

    order_progress_record(order=session, progress=reading(20, 2000, cost=200))

    order = fresh(session)
    assert (order.energy_wh, order.charge_seconds, order.vendor_total_fen) == (3000, 1800, 300)


def test_soc_and_the_vendor_status_follow_the_newest_reading_by_device_time(session):
    order_progress_record(order=session, progress=reading(30, 3000, soc=60, vendor_status="CHARGE"))

    order_progress_record(order=session, progress=reading(20, 2000, soc=40, vendor_status="PARK"))

    order = fresh(session)
    assert (order.soc, order.vendor_status) == (60, "CHARGE")
    assert session.samples.count() == 2  # the late reading is still kept on the curve


def test_a_settled_order_keeps_its_settlement_but_a_late_reading_joins_its_curve(session):
    order_settle(order=session, settlement=Settlement(
        started_at=START, ended_at=START + dt.timedelta(hours=1), energy_wh=5000, charge_seconds=3600,
        vendor_total_fen=525, close_reason="full", vendor_close_code="X", close_reason_text="",
    ))

    order_progress_record(order=session, progress=reading(70, 9000, status=OrderStatus.CHARGING, soc=99))

    order = fresh(session)
    assert (order.status, order.energy_wh, order.soc) == (OrderStatus.SETTLED, 5000, None)
    assert session.samples.count() == 1


def test_a_second_settlement_changes_nothing_and_signals_nothing(session):
    seen = []
    order_settled.connect(lambda sender, order, **kw: seen.append(order.pk), weak=False, dispatch_uid="t-settled")
    try:
        first = Settlement(started_at=START, ended_at=START + dt.timedelta(hours=1), energy_wh=5000,
                           charge_seconds=3600, vendor_total_fen=525, close_reason="full", vendor_close_code="A",
                           close_reason_text="")
        order_settle(order=session, settlement=first)

        order_settle(order=session, settlement=Settlement(**{**first.__dict__, "energy_wh": 9000,
                                                             "vendor_total_fen": 999}))
    finally:
        order_settled.disconnect(dispatch_uid="t-settled")

    order = fresh(session)
    assert (order.energy_wh, order.vendor_total_fen, order.total_fee_fen) == (5000, 525, 525)
    assert seen == [session.pk]


def closing(source_energy_wh=5000, *, code="A", total=525):
    return Settlement(started_at=START, ended_at=START + dt.timedelta(hours=1), energy_wh=source_energy_wh,
                      charge_seconds=3600, vendor_total_fen=total, close_reason="full", vendor_close_code=code,
                      close_reason_text="")


def test_the_vendors_settlement_completes_an_order_closed_from_a_progress_answer_and_both_are_kept(session):
    from orders.models import SettlementSource

    seen = []
    order_settled.connect(lambda sender, order, **kw: seen.append(order.pk), weak=False, dispatch_uid="t-settled")
    try:
        order_settle(order=session, settlement=closing(4000, code="", total=None), source=SettlementSource.PROGRESS)
        order_settle(order=session, settlement=closing(5000, code="EBIKE_REMOTE", total=530))
        order_settle(order=session, settlement=closing(9000, code="EBIKE_REMOTE", total=999))  # kept, not applied
    finally:
        order_settled.disconnect(dispatch_uid="t-settled")

    order = fresh(session)
    assert (order.settled_from, order.energy_wh, order.vendor_total_fen, order.vendor_close_code) == (
        SettlementSource.VENDOR, 5000, 530, "EBIKE_REMOTE"
    )
    assert order.total_fee_fen == 525  # our price of the vendor's 5 kWh
    assert list(order.settlements.values_list("source", "energy_wh", "applied")) == [
        (SettlementSource.PROGRESS, 4000, True), (SettlementSource.VENDOR, 5000, True),
        (SettlementSource.VENDOR, 9000, False),
    ]
    assert seen == [session.pk, session.pk]


def test_a_progress_answer_never_overrides_the_vendors_settlement(session):
    from orders.models import SettlementSource

    order_settle(order=session, settlement=closing(5000, code="EBIKE_REMOTE"))

    order_settle(order=session, settlement=closing(4000, code=""), source=SettlementSource.PROGRESS)

    order = fresh(session)
    assert (order.settled_from, order.energy_wh, order.settlements.count()) == (SettlementSource.VENDOR, 5000, 1)


def test_a_session_without_an_authorised_amount_has_no_limit_to_tell(session):
    Order.objects.filter(pk=session.pk).update(authorized_amount_fen=None)
    order_progress_record(order=session, progress=reading(600, 70_000))

    assert order_balance_remaining(order=fresh(session)) is None


def test_the_balance_left_is_the_authorised_amount_less_our_price(session):
    order_progress_record(order=session, progress=reading(60, 5000))  # 5 kWh at 1.05 yuan

    assert order_balance_remaining(order=fresh(session)) == 1000 - 525


def test_the_balance_left_never_goes_below_zero_when_spending_passes_the_authorised_amount(session):
    order_progress_record(order=session, progress=reading(120, 20_000))  # 21.00 yuan of a 10.00 yuan limit

    assert order_balance_remaining(order=fresh(session)) == 0


def test_a_batch_of_readings_ends_where_the_same_readings_one_by_one_end(session):
    # Given the same shuffled readings for two identical sessions, some repeated and some late
    twin = OrderFactory(
        connector__charger=session.charger, status=OrderStatus.STARTING, started_at=START, ended_at=None,
        energy_wh=0, charge_seconds=0, electricity_fee_fen=0, service_fee_fen=0, total_fee_fen=0, soc=None,
        close_reason="", tariff_version=session.tariff_version,
    )
    session.status = OrderStatus.STARTING
    session.save()
    readings = [reading(m, m * 100, soc=10 + m) for m in range(1, 40)]
    readings[-1] = reading(39, 3900, status=OrderStatus.FINISHED, soc=49, vendor_status="FINISH")
    readings += readings[5:8]
    random.Random(3).shuffle(readings)

    # When one takes them one by one and the other in one batch
    for progress in readings:
        order_progress_record(order=session, progress=progress)
    orders_progress_record(readings=[(twin.pk, progress) for progress in readings])

    # Then both end alike, sample for sample
    fields = ("status", "vendor_status", "energy_wh", "charge_seconds", "soc", "started_at")
    one, other = fresh(session), fresh(twin)
    assert [getattr(one, f) for f in fields] == [getattr(other, f) for f in fields]
    curve = ("device_time", "energy_wh", "soc")
    assert list(OrderSample.objects.filter(order=one).order_by("device_time", "id").values_list(*curve)) == list(
        OrderSample.objects.filter(order=other).order_by("device_time", "id").values_list(*curve)
    )
    assert (other.status, other.energy_wh, other.soc) == (OrderStatus.FINISHED, 3900, 49)


def test_a_batch_writes_each_order_once_and_all_samples_in_one_insert(session):
    # Orders no partner brought: a partner's progress callbacks cost queries of their own when one is due.
    Order.objects.filter(pk=session.pk).update(partner=None)
    others = [
        OrderFactory(status=OrderStatus.CHARGING, started_at=START, ended_at=None, energy_wh=0, charge_seconds=0,
                     partner=None, partner_order_no="")
        for _ in range(4)
    ]
    readings = [(order.pk, reading(m, m * 100)) for order in [session, *others] for m in range(1, 11)]

    with CaptureQueriesContext(connection) as captured:
        orders_progress_record(readings=readings)

    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    # lock and read the orders, insert the samples, one update sent for the 5 orders whose fields changed alike
    assert [sql.split()[0] for sql in statements] == ["SELECT", "INSERT", "5"]
    assert statements[2].startswith("5 times: UPDATE")

    assert OrderSample.objects.count() == 50
    assert {fresh(order).energy_wh for order in [session, *others]} == {1000}


def test_news_of_a_running_session_is_signalled_once_per_batch_and_of_a_closed_one_not_at_all(session):
    closed = OrderFactory(status=OrderStatus.SETTLED, started_at=START)
    seen = []
    order_progressed.connect(lambda sender, order, **kw: seen.append(order.pk), weak=False, dispatch_uid="t-prog")
    try:
        orders_progress_record(readings=[(session.pk, reading(1, 100)), (session.pk, reading(2, 200)),
                                         (closed.pk, reading(3, 300))])
    finally:
        order_progressed.disconnect(dispatch_uid="t-prog")

    assert seen == [session.pk]


def test_the_order_learns_when_its_last_sample_was_received_and_reads_its_curve_within_it(session):
    # Given two readings stored in two batches
    order_progress_record(order=session, progress=reading(10, 1000))
    order_progress_record(order=session, progress=reading(20, 2000))

    # Then the order's bound is the newest sample's receipt, and its curve read through it is whole
    order = fresh(session)
    newest = OrderSample.objects.filter(order=order).order_by("-received_at").first()
    assert order.samples_until == newest.received_at
    assert list(order_samples(order=order).order_by("device_time").values_list("energy_wh", flat=True)) == [
        1000, 2000]
