"""Plausible-looking values that must cost no money, data or worker: contradictions kept and flagged,
times and numbers bounded at the edge, a second settlement recorded, the order page true to its price."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from chargers.models import Charger, ChargerEvent, Connector, ConnectorStatus
from integrations.inbox import inbox_drain
from integrations.models import InboundMessage, InboundStatus
from orders.models import ConflictKind, Order, OrderConflict, OrderSample, OrderStatus, SampleExclusion
from tests.integrations.tomda.conftest import SESSION_START, local, work_item
from tests.integrations.tomda.test_push import device_info, ok, order_data, refused

pytestmark = pytest.mark.django_db

PARAMETER = "1401"  # our reply code for a push that names a field we cannot take


def readings(order, *items):
    return {"serialNum": order.charger.serial, "workDataInfo": [work_item(order, minutes=m, energy_wh=wh)
                                                                  for m, wh in items]}


def processed_all():
    assert not InboundMessage.objects.exclude(status__in=[InboundStatus.PROCESSED, InboundStatus.REJECTED,
                                                           InboundStatus.DUPLICATE]).exists(), list(
        InboundMessage.objects.values_list("kind", "status", "error"))


# --- 1. contradictory readings ------------------------------------------------------------------------


def test_energy_going_down_is_kept_flagged_and_left_out_of_pricing(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (55, 2000))))
    ok(push("WORK_DATA", readings(charging_order, (60, 1500))))
    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=3000, seconds=7200, cost=315)))

    processed_all()
    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.SETTLED
    assert (order.energy_wh, order.vendor_total_fen) == (3000, 315)
    # Ours from the readings that agree: 3 kWh at 0.65 + 0.40 yuan/kWh.
    assert (order.electricity_fee_fen, order.service_fee_fen, order.total_fee_fen) == (195, 120, 315)
    kept, flagged = OrderSample.objects.filter(order=order).order_by("device_time")
    assert (kept.energy_wh, kept.left_out) == (2000, "")
    assert (flagged.energy_wh, flagged.left_out) == (1500, SampleExclusion.ENERGY_DOWN)
    conflict = OrderConflict.objects.get(order=order)
    assert conflict.kind == ConflictKind.READING_LEFT_OUT
    assert "1500" in conflict.detail and "2000" in conflict.detail


def test_a_reading_earlier_than_the_newest_may_agree_or_contradict(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (30, 3000))))
    ok(push("WORK_DATA", readings(charging_order, (10, 1000))))  # late, and on the line: agrees
    ok(push("WORK_DATA", readings(charging_order, (20, 3500))))  # late, and above a later one

    samples = dict(OrderSample.objects.filter(order=charging_order).values_list("energy_wh", "left_out"))
    assert samples == {3000: "", 1000: "", 3500: SampleExclusion.ENERGY_UP_BEFORE_LATER}
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 3000  # the reading left out counts for nothing


def test_the_same_device_time_with_other_energy_is_left_out(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (30, 3000))))
    ok(push("WORK_DATA", readings(charging_order, (30, 3100))))
    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=4000, seconds=3600)))

    processed_all()
    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.SETTLED
    assert dict(order.samples.values_list("energy_wh", "left_out")) == {3000: "", 3100: SampleExclusion.SAME_TIME}


def test_contradictions_within_one_push_are_found_too(push, charging_order):
    content = readings(charging_order, (10, 1000), (20, 800), (30, 1200))

    ok(push("WORK_DATA", content))

    assert dict(charging_order.samples.values_list("energy_wh", "left_out")) == {
        1000: "", 800: SampleExclusion.ENERGY_DOWN, 1200: ""
    }


def test_a_settlement_whose_end_is_not_after_its_start_settles_and_is_flagged(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (30, 3000))))
    content = order_data(charging_order, energy_wh=4000) | {"chargeEndTime": local(SESSION_START)}

    ok(push("ORDER_DATA", content))

    processed_all()
    order = Order.objects.get(pk=charging_order.pk)
    assert (order.status, order.energy_wh, order.ended_at) == (OrderStatus.SETTLED, 4000, SESSION_START)
    assert OrderConflict.objects.filter(order=order, kind=ConflictKind.SETTLEMENT_TIMES).exists()


# --- 2. times far from now ----------------------------------------------------------------------------


@pytest.fixture
def window(settings):
    """The production window, around a clock at the fixtures' session."""
    settings.INBOX_TIME_AHEAD_HOURS = 24
    settings.INBOX_TIME_BEHIND_DAYS = 93
    return settings


@pytest.fixture
def at_session(monkeypatch):
    """Our clock at the fixtures' session, half an hour in."""
    now = SESSION_START + dt.timedelta(minutes=30)
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


@pytest.mark.parametrize(
    "device_time", ["2100-01-01 00:00:00", "2026-11-22 11:00:00", "2026-08-01 00:00:00", "9999-12-31 23:59:59"]
)
def test_a_reading_far_from_our_clock_is_refused_naming_the_field(push, charging_order, window, at_session,
                                                                     device_time):
    item = work_item(charging_order, minutes=5, energy_wh=500) | {"deviceTime": device_time}

    body = refused(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [item]}), PARAMETER)

    assert "deviceTime" in body["errorDesc"]
    assert not OrderSample.objects.exists()


def test_a_fault_happening_in_9999_is_refused(push, ev_charger, window, at_session):
    event = {"eventCode": "CHARGER_PLUG_FAULT_X", "eventStatus": "HAPPENING", "deviceTime": "9999-12-31 00:00:00"}

    body = refused(push("EVENT_DATA", {"serialNum": "1012300001", "eventInfo": [event]}), PARAMETER)

    assert "deviceTime" in body["errorDesc"]
    assert not ChargerEvent.objects.exists()
    assert Connector.objects.get(charger=ev_charger).status != ConnectorStatus.FAULT


def test_a_device_report_dated_9999_is_refused_and_later_reports_count(push, ebike_charger, window, at_session):
    body = refused(push("DEVICE_INFO", device_info(lost=0), time="9999-12-31 00:00:00"), PARAMETER)
    assert "time" in body["errorDesc"]

    ok(push("DEVICE_INFO", device_info(lost=1), time=local(at_session)))

    assert not Charger.objects.get(pk=ebike_charger.pk).online


def test_a_time_within_the_window_is_taken(push, charging_order, window, at_session):
    ok(push("WORK_DATA", readings(charging_order, (25, 500))))

    assert OrderSample.objects.filter(order=charging_order).count() == 1


def test_the_window_is_around_receipt_so_news_applied_later_still_applies(client, charging_order, window,
                                                                           monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: SESSION_START + dt.timedelta(minutes=30))
    body = json.dumps({"type": "WORK_DATA", "time": "2026-11-21 10:30:00",
                       "content": readings(charging_order, (25, 500))})
    ok(client.post(reverse("tomda_push"), body, content_type="application/json"))
    monkeypatch.setattr(timezone, "now", lambda: SESSION_START + dt.timedelta(days=200))

    inbox_drain()

    assert OrderSample.objects.filter(order=charging_order).count() == 1


def test_a_settlement_longer_than_the_pricing_limit_settles_on_the_vendors_figures(push, charging_order, settings):
    settings.PRICING_MAX_SESSION_HOURS = 168
    content = order_data(charging_order, energy_wh=5000, seconds=8 * 86400)

    ok(push("ORDER_DATA", content))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.status, order.energy_wh, order.total_fee_fen) == (OrderStatus.SETTLED, 5000, 0)
    conflict = OrderConflict.objects.get(order=order)
    assert conflict.kind == ConflictKind.NOT_PRICED
    assert "168" in conflict.detail


# --- 3. numbers and text without bounds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content", "field"),
    [
        ("DEVICE_INFO", {"deviceInfo": {"serialNum": "1012300001", "connectorCount": 3000}}, "connectorCount"),
        ("DEVICE_INFO", {"deviceInfo": {"serialNum": "1012300001", "connectorCount": 10**30}}, "connectorCount"),
        ("EVENT_DATA", {"serialNum": "1012300001", "eventInfo": [
            {"eventCode": "X" * 65, "eventStatus": "HAPPENING", "deviceTime": "2026-11-21 10:00:00"}]}, "eventCode"),
    ],
)
def test_numbers_and_text_beyond_their_columns_are_refused(push, ev_charger, kind, content, field):
    body = refused(push(kind, content), PARAMETER)

    assert field in body["errorDesc"]
    assert Connector.objects.filter(charger=ev_charger).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chargeTime", 40_000_000),
        ("chargeEnergy", 2**31),
        ("chargeEnergy", 2**63),
        ("chargeCost", 2**31),
        ("closeType", "C" * 100),
        ("closeType", "A\x00B"),
        ("chargeStartTime", "0999-01-01 00:00:00"),
    ],
)
def test_a_settlement_value_no_column_takes_is_refused_naming_it(push, charging_order, field, value):
    body = refused(push("ORDER_DATA", order_data(charging_order) | {field: value}), PARAMETER)

    assert field in body["errorDesc"]
    assert Order.objects.get(pk=charging_order.pk).status == OrderStatus.CHARGING


@pytest.mark.parametrize(
    ("field", "value"),
    [("chargeTime", 40_000_000), ("chargePower", 2**31), ("chargeVoltage", 10**9), ("chargeCurrent", 10**9),
     ("chargeCost", 2**40), ("chargeEnergy", 10**12)],
)
def test_a_reading_value_beyond_its_range_is_refused_naming_it(push, charging_order, field, value):
    item = work_item(charging_order, minutes=5, energy_wh=500) | {field: value}

    body = refused(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [item]}), PARAMETER)

    assert field in body["errorDesc"]
    assert not OrderSample.objects.exists()


EVENT = {"eventCode": "TOMDA_EV_FAULT_ES", "eventStatus": "HAPPENING", "deviceTime": "2026-11-21 10:00:00"}


@pytest.mark.parametrize(
    ("kind", "content", "field"),
    [
        # a charger-wide event names no connector, and a count of events is not used: both still checked
        ("EVENT_DATA", {"serialNum": "1012300001", "eventSource": "CHARGER", "connectorId": "A",
                        "eventInfo": [EVENT]}, "connectorId"),
        ("EVENT_DATA", {"serialNum": "1012300001", "eventCount": "many", "eventInfo": [EVENT]}, "eventCount"),
        # a charger described with its connectors needs no count of them
        ("DEVICE_INFO", {"deviceInfo": {"serialNum": "1012300001", "connectorCount": "two",
                                        "connectorInfo": [{"connectorId": 1}]}}, "connectorCount"),
        ("DEVICE_INFO", {"deviceInfo": {"serialNum": "1012300001", "connectorInfo": {}}}, "connectorInfo"),
        ("EVENT_DATA", {"serialNum": "1012300001", "eventSource": 0, "eventInfo": [EVENT]}, "eventSource"),
        ("EVENT_DATA", {"serialNum": "1012300001", "eventInfo": [EVENT | {"eventStatus": False}]}, "eventStatus"),
        # the spec's form, two digits a field
        ("EVENT_DATA", {"serialNum": "1012300001", "eventInfo": [EVENT | {"deviceTime": "2026-11-21 9:00:00"}]},
         "deviceTime"),
    ],
)
def test_a_field_sent_is_checked_even_where_it_is_not_used(push, ev_charger, kind, content, field):
    body = refused(push(kind, content), PARAMETER)

    assert field in body["errorDesc"]
    assert not ChargerEvent.objects.exists()


def test_a_settlement_naming_a_connector_that_is_no_number_is_refused(push, charging_order):
    body = refused(push("ORDER_DATA", order_data(charging_order) | {"connectorId": "A"}), PARAMETER)

    assert "connectorId" in body["errorDesc"]
    assert Order.objects.get(pk=charging_order.pk).status == OrderStatus.CHARGING


def test_a_push_time_that_is_true_or_false_is_refused(push, ev_charger):
    body = refused(push("DEVICE_INFO", {"deviceInfo": {"serialNum": "1012300001"}}, time=True), PARAMETER)

    assert "time" in body["errorDesc"]


def test_a_field_left_out_as_null_or_empty_is_read_as_left_out(push, ev_charger):
    # Tomda's cloud writes a field it leaves out as null or empty as often as not.
    ok(push("EVENT_DATA", {"serialNum": "1012300001", "eventSource": None, "connectorId": "", "eventCount": None,
                           "eventInfo": [EVENT | {"eventStatus": ""}]}, time=None))
    ok(push("DEVICE_INFO", {"deviceType": None, "deviceInfo": {"serialNum": "1012300001", "connectorInfo": None,
                                                               "connectorCount": None}}))

    event = ChargerEvent.objects.get()
    assert (event.code, event.connector) == ("TOMDA_EV_FAULT_ES", None)


# --- 4. a second, different settlement ------------------------------------------------------------------


def test_a_second_different_settlement_is_recorded_beside_the_first(push, charging_order):
    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=3000, cost=600)))

    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=9000, cost=9999)))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.energy_wh, order.vendor_total_fen) == (3000, 600)
    first, second = order.settlements.order_by("id")
    assert (first.energy_wh, first.applied, second.energy_wh, second.applied) == (3000, True, 9000, False)
    conflict = OrderConflict.objects.get(order=order)
    assert conflict.kind == ConflictKind.SETTLEMENT_DIFFERS
    assert all(figure in conflict.detail for figure in ("3000", "9000", "600", "9999"))


def test_the_same_settlement_again_records_nothing(push, charging_order):
    ok(push("ORDER_DATA", order_data(charging_order)))

    ok(push("ORDER_DATA", order_data(charging_order) | {"connectorId": "1"}))  # another push, same figures

    assert charging_order.settlements.count() == 1
    assert not OrderConflict.objects.exists()


# --- 5. the order page and readings after settlement -------------------------------------------------------


def test_readings_after_settlement_are_marked_and_the_page_shows_the_stored_price(push, charging_order,
                                                                                  operator_client):
    ok(push("WORK_DATA", readings(charging_order, (30, 1500))))
    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=3000, seconds=3600)))
    ok(push("WORK_DATA", readings(charging_order, (90, 5000))))

    order = Order.objects.get(pk=charging_order.pk)
    assert dict(order.samples.values_list("energy_wh", "left_out")) == {
        1500: "", 5000: SampleExclusion.AFTER_SETTLEMENT
    }
    page = operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "3.15" in page and "3.000" in page  # 3 kWh at 1.05 yuan/kWh, as stored
    assert "5.25" not in page  # what all readings would price (5 kWh)


# --- 7. what a vendor engineer trips over ------------------------------------------------------------------


def test_a_refusal_speaks_chinese_naming_the_field_as_tomda_does(push, charging_order):
    item = work_item(charging_order, minutes=5, energy_wh=500)
    del item["clientOrderId"]

    body = refused(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [item]}), PARAMETER)

    assert "clientOrderId" in body["errorDesc"]
    assert "missing" not in body["errorDesc"]
    assert "缺少" in body["errorDesc"]


def test_a_sample_without_a_cost_shows_the_empty_mark_not_none(operator_client, charging_order):
    OrderSample.objects.create(order=charging_order, device_time=SESSION_START, energy_wh=100, cost_fen=None)

    page = operator_client.get(reverse("admin:orders_order_change", args=[charging_order.pk])).content.decode()

    assert "None" not in page


@pytest.mark.parametrize("method", ["get", "options", "put", "delete", "patch"])
def test_other_methods_on_the_push_address_are_answered_in_tomdas_envelope(client, db, method):
    response = getattr(client, method)(reverse("tomda_push"))

    assert response.status_code == 405 and response["Allow"] == "POST"
    body = response.json()
    assert body["errorCode"] == PARAMETER and "POST" in body["errorDesc"]
    assert set(body) == {"errorCode", "errorDesc", "data"}


def test_a_session_running_longer_than_the_pricing_limit_has_no_balance_left(client, charging_order, settings):
    from tests.orders.factories import OrderSampleFactory

    settings.PRICING_MAX_SESSION_HOURS = 24
    OrderSampleFactory(order=charging_order, device_time=SESSION_START + dt.timedelta(hours=25), energy_wh=9000)
    body = json.dumps({"type": "QUERY_ORDER_BALANCE_INFO", "time": "2026-11-22 11:00:00",
                       "content": {"clientOrderId": charging_order.order_no}})

    answer = client.post(reverse("tomda_push"), body, content_type="application/json").json()

    assert (answer["errorCode"], answer["data"]) == ("200", {"balance": 0})


# --- the vendor's own points and spikes ---------------------------------------------------------------------


def test_a_spike_is_left_out_and_the_readings_after_it_price(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (1, 1_900_000))))
    ok(push("WORK_DATA", readings(charging_order, (10, 1000), (20, 2000), (30, 3000))))
    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=3000, seconds=3600)))

    order = Order.objects.get(pk=charging_order.pk)
    assert dict(order.samples.values_list("energy_wh", "left_out")) == {
        1_900_000: SampleExclusion.TOO_FAST, 1000: "", 2000: "", 3000: ""
    }
    assert order.total_fee_fen == 315  # 3 kWh at 1.05 yuan/kWh


def test_a_reading_at_the_sessions_end_or_start_instant_never_stops_pricing(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (0, 0), (30, 1500), (60, 2990))))

    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=3000, seconds=3600)))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.total_fee_fen, order.price_lines is not None) == (315, True)
    assert not OrderConflict.objects.exists()


def test_readings_above_the_vendors_final_energy_count_for_nothing(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (10, 1000), (20, 2000), (30, 3000))))

    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=1500, seconds=3600)))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.energy_wh, order.total_fee_fen) == (1500, 158)  # 1.5 kWh: 97.5 + 60 fen, each rounded up


def test_a_late_reading_is_judged_against_readings_of_its_own_batch(push, charging_order):
    ok(push("WORK_DATA", readings(charging_order, (30, 3000), (10, 4000))))

    assert dict(charging_order.samples.values_list("energy_wh", "left_out")) == {
        3000: "", 4000: SampleExclusion.ENERGY_UP_BEFORE_LATER
    }


def test_an_order_settled_before_settlements_were_kept_is_compared_with_its_own_figures(push, charging_order):
    content = order_data(charging_order, energy_wh=3000, cost=600)
    ok(push("ORDER_DATA", content))
    charging_order.settlements.all().delete()
    Order.objects.filter(pk=charging_order.pk).update(settled_from="")

    ok(push("ORDER_DATA", content | {"connectorId": "0"}))  # the same figures in another push

    assert not OrderConflict.objects.exists() and not charging_order.settlements.exists()
