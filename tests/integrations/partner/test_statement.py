"""The partners' statement of a day: the final callbacks each partner acknowledged beside our orders, what repair sends
again, and the summary with the reconciliation answer given for the day."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone, translation

from backoffice.days import business_day_bounds, business_day_of
from integrations.models import DeliveryStatus, OutboundDelivery
from integrations.outbox import delivery_attempt
from integrations.partnerkit.callbacks import order_callback_end
from orders.models import Order, OrderStatus, StatementCategory
from orders.reconciliation.services import statement_build
from orders.reconciliation.sources import statement_sources
from orders.services.corrections import order_correct
from tests.integrations.partner.conftest import call
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return business_day_of(timezone.now())


@pytest.fixture
def source():
    return statement_sources.get("partner")


@pytest.fixture
def settled_order(callback_partner, charger):
    """`settled_order(number=1, **fields)`: a settled session of the partner today, 10 kWh for 6.50 + 4.00 yuan."""

    def make(number=1, **fields):
        return OrderFactory(connector=charger.connectors.get(number=number), partner=callback_partner,
                            **{"status": OrderStatus.SETTLED, **fields})

    return make


def final_written(order):
    """The order's end callback, written as its settlement writes it."""
    with transaction.atomic():
        return order_callback_end(order=order)


def final_delivered(order):
    delivery = final_written(order)
    assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.DELIVERED
    return delivery


def build(source, day, *, repair=False):
    """The day's statement, its summary's words in English (the protocol's stay Chinese)."""
    with translation.override("en"):
        return statement_build(source=source, day=day, repair=repair)


def lines(statement):
    return {(line.category, line.key): line for line in statement.lines.all()}


# --- the comparison -------------------------------------------------------------------------------------------


def test_an_order_whose_final_callback_the_partner_acknowledged_shows_no_difference(
    source, today, settled_order, receiver
):
    order = settled_order()
    final_delivered(order)

    statement = build(source, today)

    assert lines(statement) == {}
    assert (statement.our_orders, statement.our_energy_wh, statement.our_amount_fen) == (1, 10_000, 1050)
    assert (statement.their_orders, statement.their_energy_wh, statement.their_amount_fen) == (1, 10_000, 1050)
    assert [callback.order_id for callback in receiver.callbacks()] == [order.order_no]


@pytest.mark.parametrize("status", [DeliveryStatus.PENDING, DeliveryStatus.DEAD])
def test_an_order_whose_final_callback_is_not_acknowledged_is_missing_on_their_side_until_it_is(
    source, today, settled_order, receiver, status
):
    order = settled_order()
    delivery = final_written(order)
    OutboundDelivery.objects.filter(pk=delivery.pk).update(status=status)

    missing = lines(build(source, today))

    assert list(missing) == [(StatementCategory.MISSING_THEIRS, order.order_no)]
    assert missing[(StatementCategory.MISSING_THEIRS, order.order_no)].ours == {
        "energy_wh": 10_000, "amount_fen": 1050, "status": "2"}
    # When it is delivered at last, the difference is gone
    OutboundDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING,
                                                           next_attempt_at=timezone.now())
    delivery_attempt(delivery_id=delivery.pk)
    assert lines(build(source, today)) == {}


def test_orders_not_owed_a_final_callback_are_not_missing(source, today, settled_order, partner, charger, receiver):
    running = settled_order(number=1, status=OrderStatus.CHARGING, ended_at=None)
    failed = settled_order(number=2, status=OrderStatus.START_FAILED, energy_wh=0, electricity_fee_fen=0,
                           service_fee_fen=0, total_fee_fen=0, close_reason="", close_reason_text="refused")
    final_delivered(failed)

    assert lines(build(source, today)) == {}
    assert running.status == OrderStatus.CHARGING

    # Nor are the orders of a partner that takes no callbacks
    access = partner.access
    access.callback_url = ""
    access.save()
    silent = settled_order(number=1)
    assert lines(build(source, today)) == {}
    assert OutboundDelivery.objects.filter(order_no=silent.order_no).count() == 0


def test_figures_changed_after_the_final_callback_are_differences_of_energy_and_amount(
    source, today, settled_order, receiver
):
    order = settled_order()
    delivery = final_delivered(order)
    # Given finance corrected the order after the partner acknowledged it
    order_correct(order=order, energy_wh=10_500, electricity_fee_fen=683, service_fee_fen=420)

    found = lines(build(source, today))

    assert set(found) == {(StatementCategory.ENERGY, order.order_no), (StatementCategory.AMOUNT, order.order_no)}
    energy = found[(StatementCategory.ENERGY, order.order_no)]
    assert energy.reference == delivery.key
    assert energy.ours == {"energy_wh": 10_500, "amount_fen": 1103, "status": "2"}
    named = ("energy_wh", "amount_fen", "status", "reference", "notify_id", "org")
    assert {key: energy.theirs[key] for key in named} == {
        "energy_wh": 10_000, "amount_fen": 1050, "status": "2", "reference": delivery.key, "notify_id": delivery.key,
        "org": "DIDI"}


def test_a_newer_final_callback_not_yet_acknowledged_makes_the_order_missing_on_their_side(
    source, today, settled_order, receiver
):
    order = settled_order()
    final_delivered(order)
    order_correct(order=order, energy_wh=10_500, electricity_fee_fen=683, service_fee_fen=420)
    newer = final_written(Order.objects.get(pk=order.pk))

    assert newer.key.endswith(":end:2")
    assert list(lines(build(source, today))) == [(StatementCategory.MISSING_THEIRS, order.order_no)]
    delivery_attempt(delivery_id=newer.pk)
    assert lines(build(source, today)) == {}


# --- repair ---------------------------------------------------------------------------------------------------


def test_repair_sends_a_missing_final_callback_retries_a_given_up_one_and_sends_a_correction(
    source, today, settled_order, receiver, django_capture_on_commit_callbacks
):
    never = settled_order(number=1)  # settled without its callback (written by no settlement of ours)
    given_up = settled_order(number=2)
    dead = final_written(given_up)
    OutboundDelivery.objects.filter(pk=dead.pk).update(status=DeliveryStatus.DEAD, attempts=9)
    acknowledged = OrderFactory(connector=never.connector, partner=never.partner, status=OrderStatus.SETTLED)
    final_delivered(acknowledged)
    order_correct(order=acknowledged, energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)

    with django_capture_on_commit_callbacks(execute=True):
        statement = build(source, today, repair=True)

    assert statement.repaired == 3
    keys = dict(OutboundDelivery.objects.values_list("key", "status"))
    assert keys == {
        f"partner:DIDI:{never.order_no}:end:1": DeliveryStatus.DELIVERED,
        f"partner:DIDI:{given_up.order_no}:end:1": DeliveryStatus.DELIVERED,
        f"partner:DIDI:{acknowledged.order_no}:end:1": DeliveryStatus.DELIVERED,
        f"partner:DIDI:{acknowledged.order_no}:end:2": DeliveryStatus.DELIVERED,
    }
    assert sorted((callback.notify_id, callback.data["power"]) for callback in receiver.callbacks()) == sorted([
        (f"partner:DIDI:{never.order_no}:end:1", Decimal("10.000")),
        (f"partner:DIDI:{given_up.order_no}:end:1", Decimal("10.000")),
        (f"partner:DIDI:{acknowledged.order_no}:end:1", Decimal("10.000")),
        (f"partner:DIDI:{acknowledged.order_no}:end:2", Decimal("12.000")),
    ])
    # And once they arrived, the day agrees
    assert lines(build(source, today)) == {}
    # While a repair with nothing owed sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert build(source, today, repair=True).repaired == 0
    assert OutboundDelivery.objects.count() == 4


# --- the summary ----------------------------------------------------------------------------------------------


def asked_for_the_day(client, token, day):
    start, end = business_day_bounds(day)
    return call(client, "checkChargeOrders", token=token, startTim=start.strftime("%Y-%m-%d %H:%M:%S"),
                endTim=end.strftime("%Y-%m-%d %H:%M:%S"))[1]["data"]


def test_the_summary_lists_the_partners_day_and_whether_its_reconciliation_answer_still_holds(
    client, token, source, today, settled_order, receiver
):
    first = settled_order(number=1, energy_wh=10_001, electricity_fee_fen=651, service_fee_fen=400,
                          total_fee_fen=1051)
    second = settled_order(number=2, energy_wh=2_500, electricity_fee_fen=163, service_fee_fen=100,
                           total_fee_fen=263)
    final_delivered(first)
    final_written(second)  # not acknowledged yet
    # A reconciliation answer for another window does not count; the one for exactly the day does
    call(client, "checkChargeOrders", token=token, startTim=f"{today:%Y-%m-%d} 00:00:00",
         endTim=f"{today:%Y-%m-%d} 12:00:00")
    answer = asked_for_the_day(client, token, today)

    summary = build(source, today).summary

    assert summary["title"] == "Partners' day"
    assert summary["rows"] == [["DIDI", "滴滴充电", 2, "12.501", "8.14", "5.00", "13.14", 1,
                                f"{answer['checkOrderNo']}: 2 / 12.501 / 13.14", "yes"]]
    assert summary["totals"] == ["", "", 2, "12.501", "8.14", "5.00", "13.14", 1, "", ""]
    assert len(summary["columns"]) == 10

    # When an order changes after the answer, the summary says it no longer holds
    order_correct(order=second, energy_wh=2_600, electricity_fee_fen=170, service_fee_fen=104)
    row = build(source, today).summary["rows"][0]
    assert row[2:8] == [2, "12.601", "8.21", "5.04", "13.25", 1]
    assert row[-1] == "no: the orders changed after the answer"


def test_a_day_without_partner_orders_has_no_summary(source, today, charger):
    OrderFactory(connector=charger.connectors.get(number=1), partner=None, partner_order_no="",
                 status=OrderStatus.SETTLED)

    statement = build(source, today)

    assert (statement.summary, statement.our_orders) == ({}, 0)
