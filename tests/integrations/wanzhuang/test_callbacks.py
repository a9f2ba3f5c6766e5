"""Wanzhuang's callbacks at /integrations/wanzhuang/callback/<name>: start_power, finish_order, icc_pay_req and
offline_profit received, stored and applied; bad input refused naming the field; signatures; the replies."""

import datetime as dt
import os
import time

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from chargers.models import Charger, Connector, ConnectorStatus, OfflineRevenueReading, Vendor
from chargers.selectors import offline_revenue_between
from chargers.vendor import ChargeStrategy, VendorAdapter, registry
from integrations.inbox import inbox_drain
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification
from integrations.wanzhuang import signing
from integrations.wanzhuang import tasks as wanzhuang_tasks
from integrations.wanzhuang.constants import charge_id_of
from integrations.wanzhuang.protocol import SWIPE_MAX_AGE
from orders.models import CardMovement, ChargingCard, CloseReason, Order, OrderSettlement, OrderStatus
from tariffs.models import TariffVersion
from tests.integrations.wanzhuang.conftest import (
    CAR_SERIAL,
    EBIKE_SERIAL,
    EBIKE_TIER,
    MULTIPART,
    SESSION_START,
    unix,
)
from tests.tariffs.builders import ebike_tiers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wanzhuang_keys")]

OK, FAILED, AUTH, BAD_REQUEST, UNKNOWN_DEVICE, UNKNOWN_ORDER = 1, 0, 1001, 1002, 1003, 1006


def reply(response, *, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "data"}, body
    assert isinstance(body["message"], str) and isinstance(body["data"], dict)
    return body


def ok(response):
    body = reply(response)
    assert body["code"] == OK, body
    return body


def refused(response, code, *, status=200):
    body = reply(response, status=status)
    assert body["code"] == code, body
    assert body["message"], "a refusal must say what is wrong"
    return body


def message():
    """The one stored callback."""
    return InboundMessage.objects.get()


# --- the callbacks' fields -----------------------------------------------------------------------------


def start_power(order, *, state=1, port=None):
    return {"device_num": order.charger.serial, "device_port": str(port or order.connector.number),
            "charge_id": str(charge_id_of(order.order_no)), "state": str(state)}


def finish_order(order, *, stop_reason=2, seconds=7200, eq_used=350, pay_amount=300, pay_used=95, refund=None,
                 start=SESSION_START):
    return {
        "device_num": order.charger.serial,
        "device_port": str(order.connector.number),
        "charge_id": str(charge_id_of(order.order_no)),
        "stop_reason": str(stop_reason),
        "start_time": unix(start),
        "end_time": unix(start + dt.timedelta(seconds=seconds)),
        "time_used": str(seconds),
        "eq_used": str(eq_used),
        "pay_amount": str(pay_amount),
        "pay_used": str(pay_used),
        "refund_amount": str(pay_amount - pay_used if refund is None else refund),
    }


def card_swipe(card_number, *, port=4, amount=0, serial=EBIKE_SERIAL):
    return {"device_num": serial, "device_port": str(port), "icc_id": card_number, "pay_amount": str(amount)}


def offline_profit(*, coin, card, at, serial=EBIKE_SERIAL):
    return {"device_num": serial, "coin": str(coin), "card": str(card), "time": unix(at)}


def changed(fields, **changes):
    """`fields` with some changed; a change to None leaves the field out."""
    result = dict(fields)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


# --- start_power ---------------------------------------------------------------------------------------


def test_start_power_ok_charges_the_order_and_the_port(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, port=3)

    body = ok(callback("start_power", start_power(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING
    assert order.vendor_status == "start_power 1"
    connector = Connector.objects.get(charger=wz_ebike, number=3)
    assert (connector.status, connector.vendor_status) == (ConnectorStatus.CHARGING, "2")
    assert Connector.objects.get(charger=wz_ebike, number=4).status == ConnectorStatus.FREE
    stored = message()
    assert (stored.kind, stored.status, stored.charger_serial, stored.order_no) == (
        "start_power", InboundStatus.PROCESSED, EBIKE_SERIAL, order.order_no)
    assert stored.verification == Verification.PASSED
    assert stored.reply == body


def test_start_power_on_a_car_pile_charges_its_order(callback, wz_car, wz_order):
    order = wz_order(wz_car)

    ok(callback("start_power", start_power(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING
    assert wz_car.connectors.get().status == ConnectorStatus.CHARGING


@pytest.mark.parametrize("state", [0, 2, -16, 17, 41])
def test_start_power_with_another_state_fails_the_start_keeping_the_state(callback, wz_ebike, wz_order, state):
    order = wz_order(wz_ebike, port=3)

    ok(callback("start_power", start_power(order, state=state)))

    order.refresh_from_db()
    assert order.status == OrderStatus.START_FAILED
    assert order.vendor_close_code == f"start_power {state}"
    assert str(state) in order.close_reason_text
    assert order.ended_at is None
    assert Connector.objects.get(charger=wz_ebike, number=3).status == ConnectorStatus.FREE


def test_the_states_that_mean_started_are_a_setting(callback, wz_ebike, wz_order, settings):
    settings.WANZHUANG_START_OK_STATES = [1, 2]
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order, state=2)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


def test_a_late_failed_start_power_does_not_undo_a_charging_order(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    ok(callback("start_power", start_power(order, state=17)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


def test_a_start_power_about_another_port_than_its_orders_is_refused_at_once(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, port=3)

    body = refused(callback("start_power", start_power(order, port=4), drain=False), FAILED)

    assert body["message"].startswith("device_port")
    assert order.order_no in body["message"]
    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    inbox_drain()
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING
    assert Connector.objects.get(charger=wz_ebike, number=4).status == ConnectorStatus.FREE


def test_a_start_power_after_the_finish_leaves_the_port_as_the_finish_left_it(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, port=3)
    ok(callback("finish_order", finish_order(order)))

    ok(callback("start_power", start_power(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.SETTLED
    assert Connector.objects.get(charger=wz_ebike, number=3).status != ConnectorStatus.CHARGING


# --- finish_order --------------------------------------------------------------------------------------


def test_finish_order_settles_with_our_price_and_wanzhuangs_bill(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, port=3, status=OrderStatus.CHARGING)

    ok(callback("finish_order", finish_order(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.SETTLED
    assert (order.started_at, order.ended_at) == (SESSION_START, SESSION_START + dt.timedelta(hours=2))
    assert (order.energy_wh, order.charge_seconds, order.vendor_total_fen) == (350, 7200, 95)
    assert (order.close_reason, order.vendor_close_code, order.close_reason_text, order.vendor_status) == (
        CloseReason.FULL, "2", "2 充电完成", "stop_reason 2")
    # Ours: two hours at 0.30 + 0.20 yuan an hour.
    assert (order.electricity_fee_fen, order.service_fee_fen, order.total_fee_fen) == (60, 40, 100)
    assert order.price_lines is not None
    assert message().status == InboundStatus.PROCESSED


def test_finish_order_of_a_car_pile_is_priced_by_energy(callback, wz_car, wz_order):
    order = wz_order(wz_car, status=OrderStatus.CHARGING)

    ok(callback("finish_order", finish_order(order, eq_used=10_000, pay_amount=2000, pay_used=1049)))

    order.refresh_from_db()
    assert (order.status, order.energy_wh, order.vendor_total_fen) == (OrderStatus.SETTLED, 10_000, 1049)
    # Ours: 10 kWh at 0.65 + 0.40 yuan per kWh.
    assert (order.electricity_fee_fen, order.service_fee_fen, order.total_fee_fen) == (650, 400, 1050)


def test_finish_order_of_a_session_whose_start_power_was_lost_settles_it(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.STARTING)

    ok(callback("finish_order", finish_order(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.SETTLED


def test_after_the_finish_the_port_is_no_longer_charging(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, port=3)
    ok(callback("start_power", start_power(order)))

    ok(callback("finish_order", finish_order(order)))

    assert Connector.objects.get(charger=wz_ebike, number=3).status != ConnectorStatus.CHARGING


@pytest.mark.parametrize(
    ("stop_reason", "close_reason", "text"),
    [
        (0, CloseReason.TIME_REACHED, "0 充电超时"),
        (1, CloseReason.AMOUNT_REACHED, "1 金额用完"),
        (4, CloseReason.UNPLUGGED, "4 插头拔掉"),
        (12, CloseReason.REMOTE_STOP, "12 服务器下发"),
        (47, CloseReason.ENERGY_REACHED, "47 达到上限电量"),
        (50, CloseReason.OTHER, "50 切换充电模式"),
    ],
)
def test_finish_order_maps_the_stop_reason(callback, wz_ebike, wz_order, stop_reason, close_reason, text):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    ok(callback("finish_order", finish_order(order, stop_reason=stop_reason)))

    order.refresh_from_db()
    assert (order.close_reason, order.vendor_close_code, order.close_reason_text) == (
        close_reason, str(stop_reason), text)


def test_an_unlisted_stop_reason_settles_as_other_keeping_its_number(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    ok(callback("finish_order", finish_order(order, stop_reason=77)))

    order.refresh_from_db()
    assert (order.status, order.close_reason, order.vendor_close_code) == (OrderStatus.SETTLED, CloseReason.OTHER,
                                                                          "77")
    assert order.close_reason_text.startswith("77 ")


@pytest.mark.parametrize(("unit", "eq_used", "energy_wh"), [(1, 350, 350), (10, 35, 350), (1000, 3, 3000)])
def test_finish_order_energy_is_eq_used_in_the_configured_unit(callback, wz_car, wz_order, settings, unit,
                                                               eq_used, energy_wh):
    settings.WANZHUANG_ENERGY_UNIT_WH = unit
    order = wz_order(wz_car, status=OrderStatus.CHARGING)

    ok(callback("finish_order", finish_order(order, eq_used=eq_used)))

    order.refresh_from_db()
    assert order.energy_wh == energy_wh


def test_the_same_finish_sent_again_is_a_duplicate_and_settles_once(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)
    fields = finish_order(order)
    ok(callback("finish_order", fields, now=int(time.time()) - 60))

    body = ok(callback("finish_order", fields))  # Wanzhuang's retry: signed anew, a later timestamp

    first, second = InboundMessage.objects.order_by("id")
    assert first.status == InboundStatus.PROCESSED
    assert second.status == InboundStatus.DUPLICATE and second.duplicate_of == first
    assert str(first.pk) in body["message"]
    assert OrderSettlement.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert (order.status, order.vendor_total_fen, order.total_fee_fen) == (OrderStatus.SETTLED, 95, 100)


def test_a_signed_finish_replayed_with_an_empty_field_added_is_a_duplicate_and_settles_nothing_more(
        callback, wz_ebike, wz_order):
    card = ChargingCard.objects.create(number="C0001", balance_fen=1000)
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING, card=card, authorized_amount_fen=1000)
    fields, signed_at = finish_order(order), int(time.time())
    ok(callback("finish_order", fields, now=signed_at))

    body = ok(callback("finish_order", {**fields, "x": ""}, now=signed_at))

    first, second = InboundMessage.objects.order_by("id")
    assert "x=" in second.body
    assert second.status == InboundStatus.DUPLICATE and second.duplicate_of == first
    assert str(first.pk) in body["message"]
    assert OrderSettlement.objects.filter(order=order).count() == 1
    assert list(CardMovement.objects.values_list("kind", "amount_fen")) == [("session", -100)]


def test_a_finish_about_another_port_than_its_orders_is_refused_at_once(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, port=3, status=OrderStatus.CHARGING)

    body = refused(callback("finish_order", changed(finish_order(order), device_port="4"), drain=False), FAILED)

    assert body["message"].startswith("device_port")
    assert order.order_no in body["message"]
    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    inbox_drain()
    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING
    assert not OrderSettlement.objects.exists()


def test_a_different_finish_of_a_settled_order_changes_nothing_and_is_kept(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)
    ok(callback("finish_order", finish_order(order)))

    ok(callback("finish_order", finish_order(order, pay_used=250, eq_used=900)))

    order.refresh_from_db()
    assert (order.energy_wh, order.vendor_total_fen) == (350, 95)
    assert list(order.settlements.values_list("vendor_total_fen", "applied")) == [(95, True), (250, False)]


def test_finish_order_takes_a_card_sessions_cost_from_its_card_once(callback, wz_ebike, wz_order):
    card = ChargingCard.objects.create(number="C0001", balance_fen=1000)
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING, card=card, authorized_amount_fen=1000)
    fields = finish_order(order)

    ok(callback("finish_order", fields))
    ok(callback("finish_order", fields))

    card.refresh_from_db()
    assert card.balance_fen == 900  # our price, 100 fen
    assert list(CardMovement.objects.values_list("kind", "amount_fen", "order")) == [("session", -100, order.pk)]


# --- icc_pay_req ---------------------------------------------------------------------------------------


class FakeWanzhuang(VendorAdapter):
    """Wanzhuang's adapter as the domain sees it: the starts it was asked for, and the orders they named."""

    code = Vendor.WANZHUANG

    def __init__(self):
        self.started = []
        self.found = []  # (status, card) of the order each start names, as the database held it then

    def strategies(self, *, kind):
        return (ChargeStrategy.AMOUNT, ChargeStrategy.FULL)

    def session_start(self, *, command):
        self.started.append(command)
        self.found += list(Order.objects.filter(order_no=command.order_no).values_list("status", "card"))


@pytest.fixture
def wanzhuang_adapter(monkeypatch):
    fake = FakeWanzhuang()
    monkeypatch.setitem(registry._factories, Vendor.WANZHUANG, lambda: fake)
    return fake


@pytest.fixture
def card(db):
    return ChargingCard.objects.create(number="C0001", holder="张三", balance_fen=5000)


@pytest.mark.parametrize(("amount", "authorized"), [(0, 5000), (1200, 1200), (5000, 5000)])
def test_a_swipe_of_a_good_card_is_accepted_and_starts_a_session_through_the_adapter(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks, amount, authorized):
    with django_capture_on_commit_callbacks(execute=True):
        body = ok(callback("icc_pay_req", card_swipe("C0001", port=4, amount=amount)))

    order = Order.objects.get()
    assert (order.status, order.card, order.connector.number, order.charger) == (
        OrderStatus.STARTING, card, 4, wz_ebike)
    assert (order.authorized_amount_fen, order.strategy, order.driver_id) == (
        authorized, ChargeStrategy.AMOUNT, "card:C0001")
    [command] = wanzhuang_adapter.started
    assert (command.order_no, command.serial, command.connector_number) == (order.order_no, EBIKE_SERIAL, 4)
    assert (command.strategy, command.strategy_param, command.balance_fen) == (
        ChargeStrategy.AMOUNT, authorized, authorized)
    assert message().status == InboundStatus.PROCESSED
    assert body["message"]


def test_a_swipe_is_answered_before_it_is_applied(callback, wz_ebike, card, wanzhuang_adapter):
    # The receiver answers and stores it; the inbox worker applies it later
    ok(callback("icc_pay_req", card_swipe("C0001"), drain=False))

    assert message().status == InboundStatus.RECEIVED
    assert not Order.objects.exists()
    assert wanzhuang_adapter.started == []


def test_the_worker_writes_the_swipes_order_and_asks_for_the_start_once_its_transaction_commits(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as on_commit:
        ok(callback("icc_pay_req", card_swipe("C0001", port=4)))

        # The order is the worker's own work, in its transaction: no start is sent before that commits
        order = Order.objects.get()
        assert (order.status, order.card, order.connector.number, order.authorized_amount_fen) == (
            OrderStatus.STARTING, card, 4, 5000)
        assert wanzhuang_adapter.started == []
    assert message().status == InboundStatus.PROCESSED
    assert wanzhuang_adapter.started == []
    [send] = on_commit

    send()  # the worker's commit

    [command] = wanzhuang_adapter.started
    assert (command.order_no, command.connector_number, command.balance_fen) == (order.order_no, 4, 5000)
    assert wanzhuang_adapter.found == [(OrderStatus.STARTING, card.pk)]


@pytest.mark.django_db(transaction=True)
def test_the_worker_itself_starts_the_swiped_session_when_its_batch_commits(callback, wz_ebike, card,
                                                                           wanzhuang_adapter):
    # No test transaction holds the worker's commit back here: draining the inbox is the whole path
    ok(callback("icc_pay_req", card_swipe("C0001", port=6, amount=1500), drain=False))
    assert wanzhuang_adapter.started == []

    inbox_drain()

    order = Order.objects.get()
    assert (order.status, order.card, order.connector.number, order.authorized_amount_fen) == (
        OrderStatus.STARTING, card, 6, 1500)
    [command] = wanzhuang_adapter.started
    assert (command.order_no, command.serial, command.connector_number, command.balance_fen) == (
        order.order_no, EBIKE_SERIAL, 6, 1500)
    # Committed before the start was sent: the start_power that follows finds it
    assert wanzhuang_adapter.found == [(OrderStatus.STARTING, card.pk)]
    assert message().status == InboundStatus.PROCESSED


def test_the_start_a_swipe_sends_names_the_card_the_port_and_the_amount_without_a_task(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", port=7, amount=800)))

    order = Order.objects.get()
    assert (order.card, order.driver_id, order.connector.number) == (card, "card:C0001", 7)
    [command] = wanzhuang_adapter.started
    assert (command.order_no, command.serial, command.connector_number) == (order.order_no, EBIKE_SERIAL, 7)
    assert (command.strategy, command.strategy_param, command.balance_fen) == (ChargeStrategy.AMOUNT, 800, 800)
    # The worker starts the session itself: there is no task of a swipe to queue
    assert not hasattr(wanzhuang_tasks, "card_session_start")


def max_pay(charger, fen):
    """The station's tariff in force with a maximum payment of `fen` a session."""
    TariffVersion.objects.filter(template=charger.station.tariff_template).update(
        content=ebike_tiers([EBIKE_TIER], max_pay_fen=fen).to_content())


@pytest.mark.parametrize(("cap", "held", "authorized"), [(2000, 0, 2000), (2000, 3500, 1500), (0, 0, 5000),
                                                         (9000, 0, 5000)])
def test_a_swipe_for_what_the_balance_allows_is_capped_at_the_tariffs_maximum_payment(
        callback, wz_ebike, wz_order, card, wanzhuang_adapter, django_capture_on_commit_callbacks, cap, held,
        authorized):
    max_pay(wz_ebike, cap)
    if held:
        wz_order(wz_ebike, port=1, status=OrderStatus.CHARGING, card=card, authorized_amount_fen=held)

    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", port=4, amount=0)))

    order = Order.objects.get(connector__number=4)
    assert (order.authorized_amount_fen, order.strategy_param) == (authorized, authorized)
    [command] = wanzhuang_adapter.started
    assert command.balance_fen == authorized


def test_a_swipe_for_an_amount_authorises_that_amount_whatever_the_cap(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks):
    max_pay(wz_ebike, 2000)

    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", port=4, amount=1200)))

    assert Order.objects.get().authorized_amount_fen == 1200


def swipe_refused(callback, number, **swipe):
    body = refused(callback("icc_pay_req", card_swipe(number, **swipe)), FAILED)
    assert body["message"].startswith("icc_id")
    assert number in body["message"]
    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    return body


def test_a_swipe_of_an_unknown_card_is_refused_at_once(callback, wz_ebike, wanzhuang_adapter,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        swipe_refused(callback, "C9999")

    assert not Order.objects.exists() and wanzhuang_adapter.started == []


def test_a_swipe_of_a_disabled_card_is_refused(callback, wz_ebike, card):
    card.enabled = False
    card.save()

    swipe_refused(callback, "C0001")


def test_a_swipe_of_a_card_without_balance_is_refused(callback, wz_ebike):
    ChargingCard.objects.create(number="C0002", balance_fen=0)

    swipe_refused(callback, "C0002")


def test_a_swipe_of_a_card_whose_balance_live_sessions_hold_is_refused(callback, wz_ebike, wz_order, card):
    wz_order(wz_ebike, port=1, status=OrderStatus.CHARGING, card=card, authorized_amount_fen=5000)

    swipe_refused(callback, "C0001", port=2)

    assert Order.objects.count() == 1


def test_a_swipe_asking_more_than_the_available_balance_is_refused(callback, wz_ebike, wz_order, card):
    wz_order(wz_ebike, port=1, status=OrderStatus.CHARGING, card=card, authorized_amount_fen=3000)

    swipe_refused(callback, "C0001", port=2, amount=2001)


def test_a_swipe_on_a_port_a_session_holds_is_refused_and_leaves_the_session(
        callback, wz_ebike, wz_order, card, wanzhuang_adapter, django_capture_on_commit_callbacks):
    live = wz_order(wz_ebike, port=4, status=OrderStatus.CHARGING)

    with django_capture_on_commit_callbacks(execute=True):
        body = refused(callback("icc_pay_req", card_swipe("C0001", port=4), drain=False), FAILED)

    # Refused when it came, not left for the worker
    assert body["message"].startswith("device_port")
    assert live.order_no in body["message"]
    assert (message().status, message().reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    inbox_drain()
    assert list(Order.objects.values_list("pk", "status")) == [(live.pk, OrderStatus.CHARGING)]
    assert wanzhuang_adapter.started == []
    card.refresh_from_db()
    assert card.balance_fen == 5000


def test_a_swipe_on_a_port_the_device_lacks_is_refused(callback, wz_ebike, card):
    body = refused(callback("icc_pay_req", card_swipe("C0001", port=11)), BAD_REQUEST)

    assert body["message"].startswith("device_port")


@pytest.mark.parametrize("cause", ["faulty port", "port in maintenance", "offline port", "charger offline",
                                   "charger awaiting a station"])
def test_a_swipe_on_a_port_that_cannot_start_is_refused_at_once_naming_the_port(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks, cause):
    port = Connector.objects.filter(charger=wz_ebike, number=4)
    if cause == "faulty port":
        port.update(status=ConnectorStatus.FAULT)
    elif cause == "port in maintenance":
        port.update(status=ConnectorStatus.MAINTENANCE)
    elif cause == "offline port":
        port.update(status=ConnectorStatus.OFFLINE)
    elif cause == "charger offline":
        Charger.objects.filter(pk=wz_ebike.pk).update(online=False)
    else:
        Charger.objects.filter(pk=wz_ebike.pk).update(station=None)

    with django_capture_on_commit_callbacks(execute=True):
        body = refused(callback("icc_pay_req", card_swipe("C0001", port=4), drain=False), FAILED)
        inbox_drain()

    assert body["message"].startswith("device_port")
    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    assert not Order.objects.exists() and wanzhuang_adapter.started == []


@pytest.mark.parametrize("seconds", [-330, 330, -3600])
def test_a_swipe_signed_more_than_five_minutes_from_our_clock_is_refused_at_once(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks, seconds):
    assert dt.timedelta(minutes=5) == SWIPE_MAX_AGE

    with django_capture_on_commit_callbacks(execute=True):
        body = refused(callback("icc_pay_req", card_swipe("C0001"), now=int(time.time()) + seconds, drain=False),
                       FAILED)
        inbox_drain()

    assert body["message"].startswith("timestamp")
    stored = message()
    assert (stored.status, stored.reject_reason, stored.verification) == (
        InboundStatus.REJECTED, RejectReason.INVALID, Verification.PASSED)
    assert not Order.objects.exists() and wanzhuang_adapter.started == []


def test_a_swipe_signed_within_five_minutes_of_our_clock_is_taken(callback, wz_ebike, card, wanzhuang_adapter,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001"), now=int(time.time()) - 240))

    assert Order.objects.get().status == OrderStatus.STARTING
    assert len(wanzhuang_adapter.started) == 1


@pytest.mark.parametrize(("minutes", "starts"), [(4, True), (6, False)])
def test_a_swipe_the_worker_applies_more_than_five_minutes_after_it_came_starts_nothing(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks, monkeypatch, minutes,
        starts):
    ok(callback("icc_pay_req", card_swipe("C0001"), drain=False))
    later = timezone.now() + dt.timedelta(minutes=minutes)  # a backlog: the worker's clock is this far on
    monkeypatch.setattr(timezone, "now", lambda: later)

    with django_capture_on_commit_callbacks(execute=True), override("en"):
        inbox_drain()

    stored = message()
    if starts:
        assert stored.status == InboundStatus.PROCESSED
        assert Order.objects.get().status == OrderStatus.STARTING and len(wanzhuang_adapter.started) == 1
        return
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    assert "The swipe of card C0001 was received at" in stored.error
    assert "more than 5 minutes ago" in stored.error
    assert not Order.objects.exists() and wanzhuang_adapter.started == []
    card.refresh_from_db()
    assert card.balance_fen == 5000 and not CardMovement.objects.exists()


def test_an_unsigned_swipe_replayed_from_a_backlog_starts_nothing(callback, wz_ebike, card, wanzhuang_adapter,
                                                                  django_capture_on_commit_callbacks, settings):
    # Unsigned (the opt-out), a swipe has no timestamp: only when we received it tells its age
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False
    ok(callback("icc_pay_req", card_swipe("C0001"), signed=False, drain=False))
    InboundMessage.objects.update(received_at=F("received_at") - SWIPE_MAX_AGE - dt.timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True), override("en"):
        inbox_drain()

    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.INVALID)
    assert "more than 5 minutes ago" in stored.error
    assert not Order.objects.exists() and wanzhuang_adapter.started == []


def test_a_second_unsigned_swipe_of_the_same_card_on_the_same_port_starts_a_second_session(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks, settings):
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False  # a Wanzhuang that does not sign, behind an allow-list
    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", amount=1000), signed=False))
    first = Order.objects.get()
    first.status = OrderStatus.SETTLED  # the session ended; the driver comes back the next day
    first.save()

    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", amount=1000), signed=False))

    assert Order.objects.count() == 2
    assert len(wanzhuang_adapter.started) == 2


def test_two_signed_swipes_of_the_same_card_are_two_requests(callback, wz_ebike, card, wanzhuang_adapter,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", amount=1000), now=int(time.time()) - 120))
    Order.objects.update(status=OrderStatus.SETTLED)

    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", card_swipe("C0001", amount=1000)))

    assert Order.objects.count() == 2
    assert not InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).exists()


def test_a_signed_swipe_replayed_with_an_empty_field_added_is_a_duplicate_and_starts_nothing_more(
        callback, wz_ebike, card, wanzhuang_adapter, django_capture_on_commit_callbacks):
    fields, signed_at = card_swipe("C0001", amount=1000), int(time.time())
    with django_capture_on_commit_callbacks(execute=True):
        ok(callback("icc_pay_req", fields, now=signed_at))
    Order.objects.update(status=OrderStatus.SETTLED)  # were it new news, the port and the card could start again

    with django_capture_on_commit_callbacks(execute=True):
        # The same signature: an empty field is not signed
        body = ok(callback("icc_pay_req", {**fields, "x": ""}, now=signed_at))

    first, second = InboundMessage.objects.order_by("id")
    assert "x=" in second.body and "x=" not in first.body
    assert second.status == InboundStatus.DUPLICATE and second.duplicate_of == first
    assert str(first.pk) in body["message"]
    assert Order.objects.count() == 1
    assert len(wanzhuang_adapter.started) == 1


# --- offline_profit ------------------------------------------------------------------------------------


def test_offline_profit_comes_as_multipart(callback, wz_ebike):
    ok(callback("offline_profit", offline_profit(coin=1000, card=500, at=SESSION_START)))

    stored = message()
    assert stored.content_type.startswith(MULTIPART)
    assert stored.status == InboundStatus.PROCESSED
    reading = OfflineRevenueReading.objects.get()
    assert (reading.charger, reading.device_time, reading.coin_total_fen, reading.card_total_fen) == (
        wz_ebike, SESSION_START, 1000, 500)
    assert (reading.coin_fen, reading.card_fen, reading.counted, reading.reset) == (0, 0, True, False)
    assert reading.received_at == stored.received_at


def test_offline_profit_counts_increments_keeps_an_older_reading_uncounted_and_takes_a_reset_as_a_new_baseline(
        callback, wz_ebike):
    hour = dt.timedelta(hours=1)
    ok(callback("offline_profit", offline_profit(coin=1000, card=500, at=SESSION_START)))  # the baseline
    ok(callback("offline_profit", offline_profit(coin=1300, card=800, at=SESSION_START + hour)))
    ok(callback("offline_profit", offline_profit(coin=1200, card=700, at=SESSION_START + hour / 2)))  # late
    ok(callback("offline_profit", offline_profit(coin=100, card=50, at=SESSION_START + 2 * hour)))  # reset
    ok(callback("offline_profit", offline_profit(coin=160, card=50, at=SESSION_START + 3 * hour)))

    # The reset adds nothing (never its whole new totals): the next reading counts from it
    rows = OfflineRevenueReading.objects.order_by("id").values_list("coin_fen", "card_fen", "counted", "reset")
    assert list(rows) == [(0, 0, True, False), (300, 300, True, False), (0, 0, False, False),
                          (0, 0, True, True), (60, 0, True, False)]
    day = dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC)  # 2026-11-21 in Beijing
    assert offline_revenue_between(vendor=Vendor.WANZHUANG, start=day, end=day + dt.timedelta(days=1)) == [
        {"serial": EBIKE_SERIAL, "station": wz_ebike.station.name, "coin_fen": 360, "card_fen": 300, "readings": 4,
         "resets": 1}]


def test_offline_profit_of_a_device_we_lack_is_refused(callback, db):
    body = refused(callback("offline_profit", offline_profit(coin=1, card=1, at=SESSION_START, serial="777")),
                   UNKNOWN_DEVICE)

    assert body["message"].startswith("device_num")
    assert not OfflineRevenueReading.objects.exists()


# --- bad input, named in the reply ---------------------------------------------------------------------


def bad(callback, name, fields, field, code=BAD_REQUEST, **kwargs):
    body = refused(callback(name, fields, **kwargs), code)
    assert field in body["message"], body
    stored = message()
    assert stored.status == InboundStatus.REJECTED
    assert stored.reply == body
    return stored


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"device_num": None}, "device_num"),
        ({"device_num": ""}, "device_num"),
        ({"device_num": "1" * 65}, "device_num"),
        ({"device_port": None}, "device_port"),
        ({"device_port": "0"}, "device_port"),
        ({"device_port": "abc"}, "device_port"),
        ({"device_port": "300"}, "device_port"),
        ({"charge_id": None}, "charge_id"),
        ({"charge_id": "0"}, "charge_id"),
        ({"charge_id": "abc"}, "charge_id"),
        ({"charge_id": "1000000000000000000"}, "charge_id"),
        ({"state": None}, "state"),
        ({"state": "ok"}, "state"),
    ],
)
def test_a_start_power_we_cannot_read_is_refused_naming_the_field(callback, wz_ebike, wz_order, changes, field):
    order = wz_order(wz_ebike)

    stored = bad(callback, "start_power", changed(start_power(order), **changes), field)

    assert stored.reject_reason == RejectReason.MALFORMED
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stop_reason": None}, "stop_reason"),
        ({"stop_reason": "full"}, "stop_reason"),
        ({"stop_reason": "-1"}, "stop_reason"),
        ({"start_time": None}, "start_time"),
        ({"start_time": "2026-11-21 10:00:00"}, "start_time"),
        ({"start_time": str(int(time.time()) + 3 * 86_400)}, "start_time"),
        ({"end_time": "0"}, "end_time"),
        ({"end_time": unix(SESSION_START + dt.timedelta(days=32))}, "end_time"),
        ({"pay_used": None}, "pay_used"),
        ({"pay_used": "301"}, "pay_used"),
        ({"refund_amount": "301"}, "refund_amount"),
        ({"eq_used": "-5"}, "eq_used"),
        ({"time_used": "abc"}, "time_used"),
    ],
)
def test_a_finish_order_we_cannot_read_is_refused_naming_the_field(callback, wz_ebike, wz_order, changes, field):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    bad(callback, "finish_order", changed(finish_order(order), **changes), field)

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


def test_a_start_time_outside_the_window_around_receipt_is_refused(callback, wz_ebike, wz_order, settings):
    settings.INBOX_TIME_BEHIND_DAYS = 7  # SESSION_START is more than a week ago
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    bad(callback, "finish_order", finish_order(order), "start_time")


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"icc_id": None}, "icc_id"), ({"icc_id": "C" * 33}, "icc_id"), ({"pay_amount": "-1"}, "pay_amount"),
     ({"pay_amount": "10000001"}, "pay_amount"), ({"device_port": None}, "device_port")],
)
def test_a_swipe_we_cannot_read_is_refused_naming_the_field(callback, wz_ebike, card, changes, field):
    bad(callback, "icc_pay_req", changed(card_swipe("C0001"), **changes), field)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"coin": None}, "coin"), ({"coin": "-1"}, "coin"), ({"card": "x"}, "card"), ({"time": None}, "time"),
     ({"time": str(int(time.time()) + 3 * 86_400)}, "time")],
)
def test_an_offline_profit_we_cannot_read_is_refused_naming_the_field(callback, wz_ebike, changes, field):
    bad(callback, "offline_profit", changed(offline_profit(coin=1, card=1, at=SESSION_START), **changes), field)

    assert not OfflineRevenueReading.objects.exists()


@pytest.mark.parametrize("timestamp", ["yesterday", "-5", "1.5e9", "99999999999"])
def test_a_callback_whose_timestamp_is_no_unix_time_is_refused_naming_it(callback, wz_ebike, settings, timestamp):
    # Signed with it, and but for a swipe not read: still Unix seconds, or the callback is not Wanzhuang's.
    fields = offline_profit(coin=1, card=1, at=SESSION_START) | {"app_id": settings.WANZHUANG_APP_ID,
                                                                  "timestamp": timestamp}
    fields["sign"] = signing.sign(fields, secret=settings.WANZHUANG_APP_SECRET, method=settings.WANZHUANG_SIGN_METHOD)

    bad(callback, "offline_profit", fields, "timestamp", signed=False)

    assert not OfflineRevenueReading.objects.exists()


def test_a_charge_id_that_is_not_ours_is_refused(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)
    fields = changed(start_power(order), charge_id=str(charge_id_of(order.order_no) + 1))

    stored = bad(callback, "start_power", fields, "charge_id", code=UNKNOWN_ORDER)

    assert stored.reject_reason == RejectReason.UNKNOWN_ORDER


def test_an_order_of_another_device_is_refused(callback, wz_ebike, wz_car, wz_order):
    order = wz_order(wz_car)

    bad(callback, "start_power", changed(start_power(order), device_num=EBIKE_SERIAL), "charge_id",
        code=UNKNOWN_ORDER)

    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING


def test_a_callback_about_a_device_we_lack_is_refused_with_1003(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    stored = bad(callback, "start_power", changed(start_power(order), device_num="88888888"), "device_num",
                 code=UNKNOWN_DEVICE)

    assert stored.reject_reason == RejectReason.UNKNOWN_CHARGER
    assert "88888888" in stored.error


def test_a_callback_about_a_port_the_device_lacks_is_refused(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    bad(callback, "start_power", start_power(order, port=11), "device_port")


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/xml"])
def test_a_body_that_is_not_a_form_is_refused_naming_its_type(callback, wz_ebike, wz_order, content_type):
    order = wz_order(wz_ebike)

    stored = bad(callback, "start_power", start_power(order), content_type, content_type=content_type)

    assert stored.reject_reason == RejectReason.MALFORMED
    assert stored.verification == Verification.UNCHECKED


def test_a_multipart_start_power_is_read_as_well(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order), content_type=MULTIPART))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


def test_an_unknown_callback_name_is_refused_naming_it(callback, wz_ebike):
    stored = bad(callback, "order_refund", {"device_num": EBIKE_SERIAL}, "order_refund")

    assert (stored.kind, stored.reject_reason) == ("order_refund", RejectReason.UNKNOWN_KIND)


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_anything_but_a_post_is_refused_with_405(client, db, method):
    response = getattr(client, method)(reverse("wanzhuang_callback", kwargs={"name": "finish_order"}))

    body = refused(response, BAD_REQUEST, status=405)
    assert response["Allow"] == "POST"
    assert method.upper() in body["message"]
    assert not InboundMessage.objects.exists()


def test_the_callback_url_is_wanzhuangs(db):
    assert reverse("wanzhuang_callback", kwargs={"name": "finish_order"}) == (
        "/integrations/wanzhuang/callback/finish_order")


def test_a_refused_callback_sent_again_once_its_cause_is_fixed_is_applied(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)
    wz_ebike.serial = "19280000"
    wz_ebike.save()
    refused(callback("start_power", changed(start_power(order), device_num=EBIKE_SERIAL)), UNKNOWN_DEVICE)
    wz_ebike.serial = EBIKE_SERIAL
    wz_ebike.save()
    from integrations.inbox import known_clear_all

    known_clear_all()

    ok(callback("start_power", start_power(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


# --- signatures ----------------------------------------------------------------------------------------


def test_a_correct_signature_passes(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order)))

    assert message().verification == Verification.PASSED


def test_a_signature_in_upper_case_hex_passes(client, wz_ebike, wz_order, settings):
    from urllib.parse import urlencode

    order = wz_order(wz_ebike)
    fields = signing.signed(start_power(order), app_id=settings.WANZHUANG_APP_ID,
                            secret=settings.WANZHUANG_APP_SECRET, method=signing.HMAC_SHA256, now=int(time.time()))
    fields["sign"] = fields["sign"].upper()

    ok(client.post(reverse("wanzhuang_callback", kwargs={"name": "start_power"}), urlencode(fields),
                   content_type="application/x-www-form-urlencoded"))
    inbox_drain()

    assert message().verification == Verification.PASSED


def test_the_sha256_reading_of_the_signature_is_a_setting(callback, wz_ebike, wz_order, settings):
    settings.WANZHUANG_SIGN_METHOD = signing.SHA256
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order)))

    assert message().verification == Verification.PASSED


def test_a_multipart_callback_is_verified_too(callback, wz_ebike):
    ok(callback("offline_profit", offline_profit(coin=1, card=1, at=SESSION_START)))

    assert message().verification == Verification.PASSED


@pytest.mark.parametrize("forgery", ["other secret", "field changed", "bad hex"])
def test_a_wrong_signature_is_refused_with_1001_and_kept_as_rejected(callback, wz_ebike, wz_order, settings,
                                                                    client, forgery):
    from urllib.parse import urlencode

    order = wz_order(wz_ebike)
    secret = "not-our-secret" if forgery == "other secret" else settings.WANZHUANG_APP_SECRET  # noqa: S105
    fields = signing.signed(start_power(order), app_id=settings.WANZHUANG_APP_ID, secret=secret,
                            method=signing.HMAC_SHA256, now=int(time.time()))
    if forgery == "field changed":
        fields["state"] = "2"
    elif forgery == "bad hex":
        fields["sign"] = "zz" + fields["sign"][2:]

    response = client.post(reverse("wanzhuang_callback", kwargs={"name": "start_power"}), urlencode(fields),
                           content_type="application/x-www-form-urlencoded")
    inbox_drain()

    refused(response, AUTH)
    stored = message()
    assert (stored.status, stored.reject_reason, stored.verification) == (
        InboundStatus.REJECTED, RejectReason.VERIFICATION, Verification.FAILED)
    assert stored.body  # kept as it came
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING


def unsigned_refused(response, order):
    refused(response, AUTH)
    stored = message()
    assert (stored.status, stored.reject_reason, stored.verification) == (
        InboundStatus.REJECTED, RejectReason.VERIFICATION, Verification.FAILED)
    assert stored.body  # kept as it came
    inbox_drain()
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING


@pytest.mark.skipif("WANZHUANG_CALLBACK_SIGNATURE_REQUIRED" in os.environ, reason="the environment chooses")
def test_a_callback_signature_is_required_by_default():
    from config.settings import base

    assert base.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED is True


def test_no_signature_is_refused_with_1001_and_kept_as_rejected(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    unsigned_refused(callback("start_power", start_power(order), signed=False, drain=False), order)


def test_an_empty_signature_is_no_signature_and_is_refused(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    unsigned_refused(callback("start_power", {**start_power(order), "sign": ""}, signed=False, drain=False), order)


def test_an_unsigned_swipe_is_refused_and_starts_nothing(callback, wz_ebike, card, wanzhuang_adapter,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        refused(callback("icc_pay_req", card_swipe("C0001"), signed=False), AUTH)

    assert message().verification == Verification.FAILED
    assert not Order.objects.exists() and wanzhuang_adapter.started == []


def test_no_signature_is_accepted_unchecked_when_signatures_are_not_required(callback, wz_ebike, wz_order, settings):
    # The opt-out for a Wanzhuang that does not sign its callbacks (used with an allow-list)
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order), signed=False))

    assert message().verification == Verification.UNCHECKED
    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


def test_an_empty_signature_is_no_signature_when_signatures_are_not_required(callback, wz_ebike, wz_order,
                                                                             settings):
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False
    order = wz_order(wz_ebike)

    ok(callback("start_power", {**start_power(order), "sign": ""}, signed=False))

    assert message().verification == Verification.UNCHECKED


def test_a_signature_that_is_present_is_checked_when_signatures_are_not_required(callback, wz_ebike, wz_order,
                                                                                 settings):
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = False
    order = wz_order(wz_ebike)

    refused(callback("start_power", {**start_power(order), "sign": "0" * 64}, signed=False), AUTH)

    assert message().verification == Verification.FAILED


def test_a_correct_signature_is_accepted_when_one_is_required(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order)))

    assert message().verification == Verification.PASSED


def test_a_callback_signed_for_another_app_id_fails_verification(client, wz_ebike, wz_order, settings):
    from urllib.parse import urlencode

    order = wz_order(wz_ebike)
    # Our secret, another merchant's app_id
    fields = signing.signed(start_power(order), app_id="another-app", secret=settings.WANZHUANG_APP_SECRET,
                            method=signing.HMAC_SHA256, now=int(time.time()))

    response = client.post(reverse("wanzhuang_callback", kwargs={"name": "start_power"}), urlencode(fields),
                           content_type="application/x-www-form-urlencoded")

    unsigned_refused(response, order)


@pytest.mark.parametrize("unset", ["WANZHUANG_APP_SECRET", "WANZHUANG_APP_ID"])
def test_nothing_is_signed_for_us_while_our_key_or_app_id_is_not_configured(client, wz_ebike, wz_order, settings,
                                                                             unset):
    from urllib.parse import urlencode

    order = wz_order(wz_ebike)
    # Signed with whatever is configured (an empty key is a key anyone has)
    fields = signing.signed(start_power(order), app_id=settings.WANZHUANG_APP_ID,
                            secret=settings.WANZHUANG_APP_SECRET if unset != "WANZHUANG_APP_SECRET" else "",
                            method=signing.HMAC_SHA256, now=int(time.time()))
    setattr(settings, unset, "")

    response = client.post(reverse("wanzhuang_callback", kwargs={"name": "start_power"}), urlencode(fields),
                           content_type="application/x-www-form-urlencoded")

    unsigned_refused(response, order)


def test_a_rejected_signature_frees_the_dedupe_key_for_the_true_callback(callback, wz_ebike, wz_order, settings,
                                                                        client):
    from urllib.parse import urlencode

    order = wz_order(wz_ebike)
    forged = signing.signed(start_power(order), app_id="x", secret="wrong", method=signing.HMAC_SHA256,  # noqa: S106
                            now=int(time.time()))
    refused(client.post(reverse("wanzhuang_callback", kwargs={"name": "start_power"}), urlencode(forged),
                        content_type="application/x-www-form-urlencoded"), AUTH)

    ok(callback("start_power", start_power(order)))

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING


def test_a_callback_from_outside_the_allowed_senders_is_refused_with_403(callback, wz_ebike, wz_order, settings):
    settings.WANZHUANG_CALLBACK_ALLOWED_IPS = ["10.20.0.0/16"]
    order = wz_order(wz_ebike)

    body = refused(callback("start_power", start_power(order)), AUTH, status=403)

    assert "WANZHUANG_CALLBACK_ALLOWED_IPS" in body["message"]
    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.SENDER)
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING


def test_a_callback_from_an_allowed_sender_is_taken(callback, wz_ebike, wz_order, settings):
    settings.WANZHUANG_CALLBACK_ALLOWED_IPS = ["127.0.0.0/8"]
    order = wz_order(wz_ebike)

    ok(callback("start_power", start_power(order)))


# --- replies -------------------------------------------------------------------------------------------


def test_replies_are_json_code_message_data_with_chinese_unescaped(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    response = callback("finish_order", changed(finish_order(order), device_num="设备"))

    body = refused(response, UNKNOWN_DEVICE)
    assert "设备" in response.content.decode("utf-8")  # not \u escapes
    assert body["data"] == {}


def test_an_accepted_callback_is_stored_with_its_reply(callback, wz_ebike, wz_order):
    order = wz_order(wz_ebike, status=OrderStatus.CHARGING)

    body = ok(callback("finish_order", finish_order(order)))

    stored = message()
    assert stored.reply == body == {"code": 1, "message": "success", "data": {}}
    assert stored.processed_at is not None and stored.processed_at <= timezone.now()
    assert stored.charger_serial == EBIKE_SERIAL and CAR_SERIAL not in stored.body
