"""Tomda pushes at /integrations/tomda/push: every type in both encodings, duplicates, disorder, bad input."""

import datetime as dt
import json
import random

import pytest

from chargers.models import (
    Charger,
    ChargerEvent,
    ChargerTariffPush,
    Connector,
    ConnectorStatus,
    EventState,
    TariffPushResult,
)
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification
from orders.models import CloseReason, Order, OrderSample, OrderStatus
from tests.integrations.tomda.conftest import SESSION_START, local, work_item

pytestmark = pytest.mark.django_db

ENCODINGS = ["json", "form"]


def ok(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["errorCode"] == "200", body
    return body


def refused(response, code):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["errorCode"] == code, body
    assert body["errorDesc"], "an error reply must say what is wrong"
    return body


def order_data(order, *, energy_wh=21_000, seconds=10_800, cost=2205, close_type="EBIKE_SOCLIMITREACHED"):
    return {
        "serialNum": order.charger.serial,
        "connectorId": 0,
        "clientOrderId": order.order_no,
        "chargeStartTime": local(SESSION_START),
        "chargeEndTime": local(SESSION_START + dt.timedelta(seconds=seconds)),
        "chargeEnergy": energy_wh,
        "chargeTime": seconds,
        "chargeCost": cost,
        "orderStatus": "CLOSED",
        "closeType": close_type,
    }


# --- WORK_DATA ---


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_work_data_keeps_the_sample_and_moves_order_and_connector(push, charging_order, encoding):
    charging_order.status = OrderStatus.STARTING
    charging_order.save()
    content = {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=30, energy_wh=3500)]}

    ok(push("WORK_DATA", content, encoding=encoding))

    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.CHARGING
    assert order.vendor_status == "CHARGE"
    assert (order.energy_wh, order.charge_seconds, order.soc) == (3500, 1800, 50)
    assert order.last_data_at is not None
    sample = OrderSample.objects.get(order=order)
    assert (sample.energy_wh, sample.power_w, sample.voltage_dv, sample.current_da) == (3500, 7000, 2200, 318)
    assert sample.device_time == SESSION_START + dt.timedelta(minutes=30)
    connector = Connector.objects.get(charger__serial="1012300001")
    assert connector.status == ConnectorStatus.CHARGING
    message = InboundMessage.objects.get()
    assert (message.kind, message.status, message.charger_serial, message.order_no) == (
        "WORK_DATA", InboundStatus.PROCESSED, "1012300001", order.order_no
    )
    assert message.verification == Verification.UNCHECKED
    assert message.reply["errorCode"] == "200"


def test_work_data_of_a_single_gun_charger_without_connector_id_is_its_first_gun(push, charging_order):
    item = work_item(charging_order, minutes=5, energy_wh=580)
    del item["connectorId"]

    ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [item]}))

    assert Order.objects.get(pk=charging_order.pk).energy_wh == 580


def test_work_data_for_two_guns_moves_both_orders(push, ebike_charger):
    from tests.orders.factories import OrderFactory

    orders = [
        OrderFactory(connector=connector, status=OrderStatus.STARTING, started_at=SESSION_START, ended_at=None,
                     energy_wh=0, charge_seconds=0, electricity_fee_fen=0, service_fee_fen=0, total_fee_fen=0)
        for connector in ebike_charger.connectors.order_by("number")
    ]
    items = [
        work_item(orders[0], minutes=10, energy_wh=40, connector_id=1, power_w=240),
        work_item(orders[1], minutes=12, energy_wh=55, connector_id=2, power_w=260),
    ]

    ok(push("WORK_DATA", {"serialNum": "1012300002", "workDataInfo": items}))

    assert [Order.objects.get(pk=o.pk).energy_wh for o in orders] == [40, 55]
    assert list(ebike_charger.connectors.order_by("number").values_list("status", flat=True)) == [
        ConnectorStatus.CHARGING, ConnectorStatus.CHARGING
    ]


def test_work_data_in_any_order_ends_where_the_newest_news_is(push, charging_order):
    readings = [work_item(charging_order, minutes=m, energy_wh=m * 110, soc=20 + m // 2) for m in range(1, 31)]
    readings[-1]["chargerRunStatus"] = "FINISH"
    random.Random(7).shuffle(readings)

    for item in readings:
        ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [item]}))

    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.FINISHED
    assert (order.energy_wh, order.charge_seconds, order.soc, order.vendor_status) == (3300, 1800, 35, "FINISH")
    assert order.samples.count() == 30
    assert Connector.objects.get(charger__serial="1012300001").status == ConnectorStatus.OCCUPIED


def test_late_work_data_never_reopens_a_settled_order(push, charging_order):
    ok(push("ORDER_DATA", order_data(charging_order)))
    late = work_item(charging_order, minutes=60, energy_wh=7000)

    ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [late]}))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.status, order.energy_wh) == (OrderStatus.SETTLED, 21_000)
    assert order.samples.count() == 1  # the reading is kept on the curve all the same


# --- ORDER_DATA ---


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_order_data_settles_with_the_vendors_figures_and_our_price(push, charging_order, encoding):
    ok(push("ORDER_DATA", order_data(charging_order), encoding=encoding))

    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.SETTLED
    assert (order.energy_wh, order.charge_seconds, order.vendor_total_fen) == (21_000, 10_800, 2205)
    assert order.ended_at == SESSION_START + dt.timedelta(hours=3)
    assert (order.close_reason, order.vendor_close_code) == (CloseReason.FULL, "EBIKE_SOCLIMITREACHED")
    assert order.close_reason_text == "您的爱车已充满,请使用,注意出行安全"
    # Ours: 21 kWh at 0.65 + 0.40 yuan/kWh = 13.65 + 8.40 yuan.
    assert (order.electricity_fee_fen, order.service_fee_fen, order.total_fee_fen) == (1365, 840, 2205)


@pytest.mark.parametrize(
    ("close_type", "reason"),
    [
        ("EBIKE_DEAUTHORIZED", CloseReason.INSUFFICIENT_BALANCE),
        ("EBIKE_REMOTE", CloseReason.REMOTE_STOP),
        ("EBIKE_EVDISCONNECTED", CloseReason.UNPLUGGED),
        ("SOMETHING_NEW", CloseReason.OTHER),
    ],
)
def test_order_data_maps_the_close_type(push, charging_order, close_type, reason):
    ok(push("ORDER_DATA", order_data(charging_order, close_type=close_type)))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.close_reason, order.vendor_close_code) == (reason, close_type)


def test_a_second_different_settlement_changes_nothing(push, charging_order):
    ok(push("ORDER_DATA", order_data(charging_order)))

    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=99_000, cost=9999)))

    order = Order.objects.get(pk=charging_order.pk)
    assert (order.energy_wh, order.vendor_total_fen) == (21_000, 2205)


# --- duplicates ---


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_duplicate_push_is_acknowledged_and_changes_nothing(push, charging_order, encoding):
    content = {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=3, energy_wh=350)]}
    ok(push("WORK_DATA", content, encoding=encoding))

    body = ok(push("WORK_DATA", content, encoding=encoding, time="2026-11-21 10:05:00"))

    assert OrderSample.objects.filter(order=charging_order).count() == 1
    first, second = InboundMessage.objects.order_by("id")
    assert second.status == InboundStatus.DUPLICATE and second.duplicate_of == first
    assert str(first.pk) in body["errorDesc"]


# --- EVENT_DATA / EVENT_INFO ---


def event(code, status, minute, *, connector_id=1, source="CHARGER_PLUG"):
    return {
        "serialNum": "1012300002",
        "eventSource": source,
        "connectorId": connector_id,
        "eventCount": 1,
        "eventInfo": [
            {
                "eventCode": code,
                "eventName": "急停",
                "deviceTime": local(SESSION_START + dt.timedelta(minutes=minute)),
                "eventStatus": status,
            }
        ],
    }


@pytest.mark.parametrize("kind", ["EVENT_DATA", "EVENT_INFO"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_fault_marks_the_connector_and_its_recovery_clears_it(push, ebike_charger, kind, encoding):
    ok(push(kind, event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1), encoding=encoding))

    first, second = ebike_charger.connectors.order_by("number")
    assert first.status == ConnectorStatus.FAULT
    assert second.status == ConnectorStatus.FREE
    assert ChargerEvent.objects.get().state == EventState.HAPPENING

    ok(push(kind, event("TOMDA_EBIKE_FAULT_ES", "RECOVERED", 9), encoding=encoding))

    first.refresh_from_db()
    assert first.status == ConnectorStatus.FREE
    assert ChargerEvent.objects.count() == 2


def test_a_recovery_that_arrives_before_its_fault_leaves_the_connector_free(push, ebike_charger):
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "RECOVERED", 9)))
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1)))

    assert ebike_charger.connectors.get(number=1).status == ConnectorStatus.FREE


def test_a_charger_wide_fault_marks_every_connector(push, ebike_charger):
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_TILT", "HAPPENING", 1, connector_id=None, source="CHARGER")))

    assert set(ebike_charger.connectors.values_list("status", flat=True)) == {ConnectorStatus.FAULT}


def test_one_recovered_fault_of_two_keeps_the_connector_faulty(push, ebike_charger):
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1)))
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_GND", "HAPPENING", 2)))
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "RECOVERED", 3)))

    assert ebike_charger.connectors.get(number=1).status == ConnectorStatus.FAULT


# --- DEVICE_INFO ---


def device_info(*, lost=0, status="FREE", connectors=(("1", "FREE"), ("2", "CHARGING"), ("3", "FREE"))):
    return {
        "deviceType": "CHARGER",
        "deviceInfo": {
            "serialNum": "1012300002",
            "lost": lost,
            "connectorCount": len(connectors),
            "chargerStatus": status,
            "chargerDeviceType": "TOMDA_EB10_T1",
            "chargerDeviceName": "10 路电动单车",
            "commuType": "GPRS",
            "deviceModel": "EB10",
            "hardwareVersion": "H2.1",
            "firmwareVersion": "F3.4.1",
            "connectorInfo": [{"connectorId": c, "connectorStatus": s} for c, s in connectors],
        },
    }


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_device_info_updates_the_charger_and_creates_missing_connectors(push, ebike_charger, encoding):
    ok(push("DEVICE_INFO", device_info(), encoding=encoding))

    charger = Charger.objects.get(pk=ebike_charger.pk)
    assert (charger.online, charger.vendor_status, charger.firmware_version, charger.communication_type) == (
        True, "FREE", "F3.4.1", "GPRS"
    )
    assert list(charger.connectors.order_by("number").values_list("number", "status")) == [
        (1, ConnectorStatus.FREE), (2, ConnectorStatus.CHARGING), (3, ConnectorStatus.FREE)
    ]


def test_device_info_of_a_lost_charger_marks_it_offline(push, ebike_charger):
    ok(push("DEVICE_INFO", device_info(lost=1)))

    charger = Charger.objects.get(pk=ebike_charger.pk)
    assert not charger.online and charger.status == ConnectorStatus.OFFLINE
    assert set(charger.connectors.values_list("status", flat=True)) == {ConnectorStatus.OFFLINE}


def test_an_older_device_info_does_not_undo_a_newer_one(push, ebike_charger):
    ok(push("DEVICE_INFO", device_info(lost=1), time="2026-11-21 10:05:00"))

    ok(push("DEVICE_INFO", device_info(lost=0), time="2026-11-21 10:01:00"))

    assert not Charger.objects.get(pk=ebike_charger.pk).online


def test_a_connector_described_without_a_status_takes_the_chargers(push, ebike_charger):
    info = device_info(status="MAINTAIN")
    for item in info["deviceInfo"]["connectorInfo"]:
        del item["connectorStatus"]

    ok(push("DEVICE_INFO", info))

    assert set(ebike_charger.connectors.values_list("status", "vendor_status")) == {
        (ConnectorStatus.MAINTENANCE, "MAINTAIN")
    }


def test_a_fault_an_event_set_outlasts_the_next_device_info_until_it_recovers(push, ebike_charger):
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1)))
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_TILT", "HAPPENING", 2, connector_id=None, source="CHARGER")))
    later = local(SESSION_START + dt.timedelta(minutes=5))

    # The charger reports its connectors free while both faults still happen
    ok(push("DEVICE_INFO", device_info(), time=later))

    assert set(ebike_charger.connectors.values_list("status", flat=True)) == {ConnectorStatus.FAULT}
    assert ebike_charger.connectors.get(number=2).vendor_status == "CHARGING"  # what the vendor said is kept
    # The charger-wide fault recovers: the connector with its own fault stays faulty, the others follow Tomda
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_TILT", "RECOVERED", 6, connector_id=None, source="CHARGER")))
    assert list(ebike_charger.connectors.order_by("number").values_list("status", flat=True)) == [
        ConnectorStatus.FAULT, ConnectorStatus.CHARGING, ConnectorStatus.FREE
    ]


# --- chargers we did not have ---


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_device_info_of_a_charger_we_lack_keeps_it_awaiting_a_station(push, db, encoding):
    body = ok(push("DEVICE_INFO", device_info(connectors=(("1", "FREE"), ("2", "CHARGING"))), encoding=encoding))

    charger = Charger.objects.get(serial="1012300002")
    assert body["errorDesc"] == ""
    assert charger.station is None
    assert (charger.kind, charger.device_type_code, charger.firmware_version, charger.online) == (
        "ebike", "TOMDA_EB10_T1", "F3.4.1", True
    )
    assert list(charger.connectors.order_by("number").values_list("number", "status")) == [
        (1, ConnectorStatus.FREE), (2, ConnectorStatus.CHARGING)
    ]
    assert InboundMessage.objects.get().status == InboundStatus.PROCESSED


def test_news_of_a_charger_awaiting_a_station_is_applied_and_its_questions_say_to_assign_it(push, db):
    ok(push("DEVICE_INFO", device_info()))
    ok(push("DEVICE_INFO", device_info(status="CHARGING", connectors=(("1", "CHARGING"),)),
            time="2026-11-21 10:03:00"))
    ok(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1, connector_id=3)))

    charger = Charger.objects.get(serial="1012300002")
    assert list(charger.connectors.order_by("number").values_list("status", flat=True)) == [
        ConnectorStatus.CHARGING, ConnectorStatus.CHARGING, ConnectorStatus.FAULT
    ]
    assert charger.events.get().connector.number == 3
    body = refused(push("QUERY_CHARGER_ELEC_FEE", {"serialNum": "1012300002"}), "1400")
    assert "尚未分配电站" in body["errorDesc"]  # Tomda is answered in Chinese


def test_an_event_right_after_a_new_chargers_first_report_is_taken_and_applied_after_it(client, db):
    from django.urls import reverse

    from integrations.inbox import inbox_drain

    def post(kind, content):
        body = json.dumps({"type": kind, "time": "2026-11-21 10:00:00", "content": content}, ensure_ascii=False)
        return client.post(reverse("tomda_push"), body, content_type="application/json")

    # The charger boots: it describes itself, and a fault follows before the worker has applied anything
    ok(post("DEVICE_INFO", device_info()))
    ok(post("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1, connector_id=2)))
    inbox_drain()

    charger = Charger.objects.get(serial="1012300002")
    assert charger.connectors.get(number=2).status == ConnectorStatus.FAULT
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}


def test_a_charger_of_a_device_type_we_do_not_know_takes_its_kind_from_the_station_it_is_assigned_to(push, db):
    from chargers.services import charger_import
    from chargers.vendor import ChargerInfo
    from tests.stations.factories import StationFactory

    info = device_info()
    info["deviceInfo"]["chargerDeviceType"] = "TOMDA_NEW_T9"
    ok(push("DEVICE_INFO", info))
    charger = Charger.objects.get(serial="1012300002")
    assert charger.kind == ""
    station = StationFactory(kind="ebike", tariff_template=None)

    charger_import(station=station, vendor="tomda", info=ChargerInfo(serial="1012300002", online=True,
                                                                    vendor_status="FREE", status="free"),
                   kind=station.kind, current_type="ac", rated_power_w=0)

    charger.refresh_from_db()
    assert (charger.station, charger.kind, charger.connectors.count()) == (station, "ebike", 3)


# --- questions ---


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_balance_question_is_answered_with_what_is_left_of_the_authorised_amount(push, charging_order, encoding):
    ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=60,
                                                                                    energy_wh=10_000)]}))

    body = ok(push("QUERY_ORDER_BALANCE_INFO", {"clientOrderId": charging_order.order_no}, encoding=encoding))

    # 50.00 yuan authorised, 10 kWh at 1.05 yuan/kWh spent.
    assert body["data"] == {"balance": 5000 - 1050}


def test_a_session_with_no_authorised_amount_is_answered_a_balance_it_never_reaches(push, charging_order, settings):
    Order.objects.filter(pk=charging_order.pk).update(authorized_amount_fen=None)
    ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=600,
                                                                                    energy_wh=70_000)]}))

    body = ok(push("QUERY_ORDER_BALANCE_INFO", {"clientOrderId": charging_order.order_no}))

    assert body["data"] == {"balance": settings.TOMDA_UNLIMITED_BALANCE_FEN} == {"balance": 9_999_999}


def test_an_authorised_amount_that_is_spent_is_answered_zero(push, charging_order):
    ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=600,
                                                                                    energy_wh=70_000)]}))

    body = ok(push("QUERY_ORDER_BALANCE_INFO", {"clientOrderId": charging_order.order_no}))

    assert body["data"] == {"balance": 0}  # 73.50 yuan priced against 50.00 authorised


def test_the_same_balance_question_twice_is_answered_twice(push, charging_order):
    content = {"clientOrderId": charging_order.order_no}

    assert ok(push("QUERY_ORDER_BALANCE_INFO", content))["data"] == {"balance": 5000}
    assert ok(push("QUERY_ORDER_BALANCE_INFO", content))["data"] == {"balance": 5000}
    assert not InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).exists()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fee_question_is_answered_with_the_tariff_in_force(push, ev_charger, encoding):
    body = ok(push("QUERY_CHARGER_ELEC_FEE", {"serialNum": "1012300001"}, encoding=encoding))

    model = body["data"]["elecFeeModelInfo"]
    template = ev_charger.station.tariff_template
    assert (model["clientElecFeeModelId"], model["modelType"], model["modelDetailCount"]) == (
        template.external_id, 1, 1
    )
    assert model["elecFeeModelDetail"][0]["elecFee"] == 65  # fen per kWh
    assert model["elecFeeModelDetail"][0]["serviceFee"] == 40


def test_fee_question_for_a_station_without_tariff_is_a_clear_error(push, ebike_charger):
    body = refused(push("QUERY_CHARGER_ELEC_FEE", {"serialNum": "1012300002"}), "1400")

    assert "1012300002" in body["errorDesc"]
    assert InboundMessage.objects.get().reject_reason == RejectReason.UNKNOWN_TEMPLATE


@pytest.mark.parametrize(("result", "expected"), [(1, TariffPushResult.ACCEPTED), (0, TariffPushResult.REFUSED)])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fee_result_records_the_chargers_answer(push, ev_charger, result, expected, encoding):
    version = ev_charger.station.tariff_template.versions.get()
    pending = ChargerTariffPush.objects.create(charger=ev_charger, tariff_version=version, requested_at=SESSION_START)
    content = {"serialNum": "1012300001", "clientElecFeeModelId": version.template.external_id, "pushResult": result}

    ok(push("PUSH_ELEC_FEE_RESULT", content, encoding=encoding))

    pending.refresh_from_db()
    assert pending.result == expected and pending.answered_at is not None


# --- bad input: a clear error, the row kept as rejected, nothing else changed ---


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"{not json", "application/json", "JSON"),
        (b'{"time": "2026-11-21 10:00:00", "content": {}}', "application/json", "type"),
        (b'{"type": "WORK_DATA", "content": "[1, 2"}', "application/json", "content"),
        (b"type=WORK_DATA&content=%7Bbroken", "application/x-www-form-urlencoded", "content"),
        (b'["WORK_DATA"]', "application/json", "JSON"),
        (b"\xff\xfe", "application/json", "UTF-8"),
    ],
)
def test_a_malformed_body_is_refused_and_kept(client, charging_order, body, content_type, fragment):
    response = client.post("/integrations/tomda/push", body, content_type=content_type)

    reply = refused(response, "1401")
    assert fragment in reply["errorDesc"] or fragment.lower() in reply["errorDesc"].lower()
    message = InboundMessage.objects.get()
    assert (message.status, message.reject_reason) == (InboundStatus.REJECTED, RejectReason.MALFORMED)
    assert message.reply == reply
    assert not OrderSample.objects.exists()


def test_an_unknown_push_type_is_refused_and_kept(push, charging_order):
    body = refused(push("WORK_DATA_V2", {"serialNum": "1012300001"}), "1401")

    assert "WORK_DATA_V2" in body["errorDesc"]
    assert InboundMessage.objects.get().reject_reason == RejectReason.UNKNOWN_KIND


def test_unreadable_fields_are_named(push, charging_order):
    item = work_item(charging_order, minutes=3, energy_wh=350)
    item["chargeEnergy"] = "lots"

    body = refused(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [item]}), "1401")

    assert "chargeEnergy" in body["errorDesc"]
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_news_of_an_unknown_charger_is_refused_kept_and_listed(push, db, encoding):
    body = refused(push("EVENT_DATA", {**event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1), "serialNum": "9999999999"},
                        encoding=encoding), "2003")

    assert "9999999999" in body["errorDesc"]
    message = InboundMessage.objects.get()
    assert (message.status, message.reject_reason, message.charger_serial) == (
        InboundStatus.REJECTED, RejectReason.UNKNOWN_CHARGER, "9999999999"
    )
    assert not Charger.objects.exists()


def test_a_work_data_whose_every_reading_is_unknown_is_refused_whole(push, charging_order):
    stranger = work_item(charging_order, minutes=2, energy_wh=200)
    stranger["clientOrderId"] = "20261121000000999999"

    body = refused(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [stranger]}), "2013")

    assert "20261121000000999999" in body["errorDesc"]
    assert not OrderSample.objects.exists()
    assert InboundMessage.objects.get().reject_reason == RejectReason.UNKNOWN_ORDER


def test_an_unknown_reading_is_refused_by_itself_and_the_others_are_applied(push, charging_order):
    stranger = work_item(charging_order, minutes=2, energy_wh=200)
    stranger["clientOrderId"] = "20261121000000999999"
    known = work_item(charging_order, minutes=3, energy_wh=300)

    body = ok(push("WORK_DATA", {"serialNum": "1012300001", "workDataInfo": [known, stranger]}))

    # Success, so Tomda sends the reading we took no second time; the refused one is named with its code.
    [item] = body["data"]["refused"]
    assert (item["index"], item["clientOrderId"], item["errorCode"]) == (1, "20261121000000999999", "2013")
    assert "20261121000000999999" in item["errorDesc"]
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 300
    assert list(OrderSample.objects.values_list("energy_wh", flat=True)) == [300]
    message = InboundMessage.objects.get()
    assert (message.status, message.reply) == (InboundStatus.PROCESSED, body)


def test_an_order_of_another_charger_is_not_moved_by_this_chargers_push(push, charging_order, ebike_charger):
    item = work_item(charging_order, minutes=2, energy_wh=200, connector_id=1)

    refused(push("WORK_DATA", {"serialNum": "1012300002", "workDataInfo": [item]}), "2013")

    assert Order.objects.get(pk=charging_order.pk).energy_wh == 0


def test_a_rejected_push_is_accepted_on_replay_once_its_charger_exists(push, ebike_charger):
    from integrations.inbox import inbound_replay

    ebike_charger.serial = "1012300099"
    ebike_charger.save()
    refused(push("EVENT_DATA", event("TOMDA_EBIKE_FAULT_ES", "HAPPENING", 1)), "2003")
    ebike_charger.serial = "1012300002"
    ebike_charger.save()

    message = inbound_replay(message=InboundMessage.objects.get()).message

    assert message.status == InboundStatus.PROCESSED
    assert ebike_charger.connectors.get(number=1).status == ConnectorStatus.FAULT


# --- verification ---


def test_with_the_token_verifier_a_push_without_the_token_is_refused(push, settings, charging_order):
    settings.TOMDA_PUSH_VERIFIER = "token"
    settings.TOMDA_PUSH_TOKEN = "Abc12345"
    content = {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=3, energy_wh=350)]}

    refused(push("WORK_DATA", content, HTTP_X_TOMDA_TOKEN="wrong"), "2002")
    ok(push("WORK_DATA", content, HTTP_X_TOMDA_TOKEN="Abc12345"))

    refused_row, accepted_row = InboundMessage.objects.order_by("id")
    assert (refused_row.verification, refused_row.reject_reason) == (Verification.FAILED, RejectReason.VERIFICATION)
    assert accepted_row.verification == Verification.PASSED
    # A forged copy does not take the real push's dedupe key: the real one was processed.
    assert accepted_row.status == InboundStatus.PROCESSED
    assert "X-Tomda-Token" not in json.dumps(accepted_row.headers)


# --- failures of our own ---


def test_a_processing_failure_keeps_the_row_failed_and_acknowledges_it(push, charging_order, monkeypatch):
    from integrations.inbox import inbound_retry_failed
    from integrations.tomda import processor as tomda_processor

    def broken(pushes):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tomda_processor, "_work_data_apply", broken)
    content = {"serialNum": "1012300001", "workDataInfo": [work_item(charging_order, minutes=3, energy_wh=350)]}

    ok(push("WORK_DATA", content))

    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.FAILED and "database went away" in message.error
    assert message.attempts == 1

    monkeypatch.undo()
    assert inbound_retry_failed() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (InboundStatus.PROCESSED, 2)
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 350
