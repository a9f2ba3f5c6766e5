"""4pyun's pushes at /integrations/4pyun/push/<name>: start-result, stop-result, charging-status and order-info
received, verified, stored and applied as StatusReport rows that move nothing of our order; bad input refused
naming the field; signatures; the replies in 4pyun's envelope."""

import datetime as dt
import os
import time
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from backoffice.days import BEIJING
from integrations.fourpyun.models import ReportKind, StatusReport
from integrations.fourpyun.protocol import push_parse
from integrations.fourpyun.signing import form_sign
from integrations.inbox import inbound_replay, inbox_drain
from integrations.models import Counterparty, InboundMessage, InboundStatus, RejectReason, Verification
from integrations.values import WALL_TIME_FORMAT as TIME_FORMAT
from orders.models import OrderStatus
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
APP_ID = "op88641899bd20661"
APP_SECRET = "4pyun-test-secret"  # noqa: S105 - a test's own key
STATION_UUID = "40e06b24-7a51-4c1e-9b3f-0a6f1d2c3b4e"
OTHER_UUID = "9d1f6a2e-0b3c-4d5e-8f7a-1b2c3d4e5f60"
# The session 4pyun reports: two hours ago for an hour, 12.345 kWh, 8.02 + 4.94 yuan.
STARTED = (timezone.now() - dt.timedelta(hours=2)).replace(microsecond=0)
ENDED = STARTED + dt.timedelta(hours=1)


def wall(moment: dt.datetime) -> str:
    """A time as 4pyun pushes it: Beijing time, yyyy-MM-dd HH:mm:ss."""
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


@pytest.fixture
def fourpyun_keys(settings):
    """Our app at 4pyun, whose secret signs its pushes (`push` signs with it); every sender allowed, a signature
    checked when present, as by default."""
    settings.FOURPYUN_APP_ID = APP_ID
    settings.FOURPYUN_APP_SECRET = APP_SECRET
    settings.FOURPYUN_PUSH_SIGNATURE = "if-present"
    settings.FOURPYUN_PUSH_ALLOWED_IPS = []
    return settings


@pytest.fixture
def order(db):
    """A charging session of ours on a Tomda charger at a station mapped to 4pyun."""
    station = StationFactory(fourpyun_station_uuid=STATION_UUID)
    connector = ConnectorFactory(charger=ChargerFactory(station=station, serial="1012300001"), number=1)
    return OrderFactory(connector=connector, status=OrderStatus.CHARGING, started_at=STARTED, ended_at=None,
                        energy_wh=5_000, electricity_fee_fen=325, service_fee_fen=200, total_fee_fen=525)


def result_fields(order, *, state=2, state_desc="启动成功") -> dict:
    return {"station_uuid": order.station.fourpyun_station_uuid, "order": order.order_no,
            "device_no": order.charger.serial, "port_no": str(order.connector.number), "state": str(state),
            "state_desc": state_desc}


def charging_fields(order, *, state=3, quantity=12_345, energy=802, fee=494, total=None, start=STARTED,
                    end=ENDED) -> dict:
    return {
        **result_fields(order, state=state, state_desc="结束充电，SOC 达到 100%"),
        "device_type": "0", "energy_code": "CN_AC",
        "start_time": wall(start), "end_time": wall(end) if end else "",
        "replenish_time": "3540", "plate": "粤B12345",
        "quantity": str(quantity), "energy_value": str(energy), "fee_value": str(fee),
        "total_value": str(energy + fee if total is None else total),
    }


def signed(fields: dict, *, secret=APP_SECRET, app_id=APP_ID, now_ms=None) -> dict:
    """The fields as 4pyun signs a form: its public parameters, then `sign` over every non-empty field."""
    fields = {**fields, "app_id": app_id, "timestamp": str(now_ms or int(time.time() * 1000)), "sign_type": "MD5"}
    return {**fields, "sign": form_sign(fields, secret)}


def changed(fields: dict, **changes) -> dict:
    """`fields` with some changed; a change to None leaves the field out."""
    result = dict(fields)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@pytest.fixture
def push(client, fourpyun_keys):
    """POST a 4pyun push to /integrations/4pyun/push/<name> as an urlencoded form, signed unless told otherwise,
    then let the inbox worker apply what was stored."""

    def send(name, fields, *, sign=True, drain=True, content_type=FORM):
        body = urlencode(signed(fields) if sign else fields)
        response = client.post(reverse("fourpyun_push", kwargs={"name": name}), body, content_type=content_type)
        if drain:
            inbox_drain()
        return response

    return send


def reply(response, *, status=200):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def ok(response):
    body = reply(response)
    assert body["code"] == "1001" and body["message"] == "成功", body
    return body


def refused(response, code, status):
    body = reply(response, status=status)
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "hint"}, body
    assert body["message"] and body["hint"], "a refusal must say what is wrong"
    return body


def message():
    """The one stored push."""
    return InboundMessage.objects.get()


# --- news, stored and applied ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [ReportKind.STATUS, ReportKind.ORDER])
def test_a_signed_charging_push_is_stored_verified_and_kept_as_a_report_in_house_units(push, order, name):
    body = push(name, charging_fields(order), drain=False)

    assert body.json() == {"code": "1001", "message": "成功"}
    stored = message()
    assert (stored.vendor, stored.kind, stored.status, stored.verification) == (
        Counterparty.FOURPYUN, name, InboundStatus.RECEIVED, Verification.PASSED)
    assert (stored.order_no, stored.charger_serial) == (order.order_no, "1012300001")
    assert stored.reply == body.json()
    assert not StatusReport.objects.exists()  # applied by the worker, not the receiver

    inbox_drain()

    report = StatusReport.objects.get()
    assert (report.order, report.kind, report.station_uuid, report.state) == (order, name, STATION_UUID, 3)
    assert report.state_desc == "结束充电，SOC 达到 100%"
    assert (report.started_at, report.ended_at, report.charge_seconds) == (STARTED, ENDED, 3540)
    assert report.plate == "粤B12345"
    assert report.energy_wh == 12_345  # 0.001 kWh is our Wh
    assert (report.electricity_fee_fen, report.service_fee_fen, report.total_fee_fen) == (802, 494, 1296)
    stored.refresh_from_db()
    assert stored.status == InboundStatus.PROCESSED
    assert report.inbound_id == stored.pk
    assert report.received_at == stored.received_at


@pytest.mark.parametrize(("name", "state"), [(ReportKind.START_RESULT, 2), (ReportKind.START_RESULT, -1),
                                             (ReportKind.STOP_RESULT, 3), (ReportKind.STOP_RESULT, 0)])
def test_a_start_or_stop_result_is_kept_as_a_report_with_its_state(push, order, name, state):
    ok(push(name, result_fields(order, state=state, state_desc="启动失败" if state == -1 else "成功")))

    report = StatusReport.objects.get()
    assert (report.kind, report.state, report.station_uuid) == (name, state, STATION_UUID)
    assert report.state_desc == ("启动失败" if state == -1 else "成功")
    assert report.energy_wh is None and report.total_fee_fen is None and report.started_at is None
    assert report.inbound_id == message().pk


def test_a_report_moves_nothing_of_our_order(push, order):
    before = {field: getattr(order, field) for field in (
        "status", "started_at", "ended_at", "energy_wh", "electricity_fee_fen", "service_fee_fen", "total_fee_fen",
        "charge_seconds", "close_reason", "vendor_status", "vendor_total_fen", "plate")}

    ok(push(ReportKind.ORDER, charging_fields(order, quantity=99_000, energy=5_000, fee=3_000)))
    ok(push(ReportKind.STOP_RESULT, result_fields(order, state=3)))

    order.refresh_from_db()
    assert {field: getattr(order, field) for field in before} == before
    assert StatusReport.objects.filter(order=order).count() == 2


def test_a_charging_status_of_a_session_under_way_may_leave_its_end_and_plate_blank(push, order):
    fields = changed(charging_fields(order, state=2, end=None), plate="", state_desc=None)

    ok(push(ReportKind.STATUS, fields))

    report = StatusReport.objects.get()
    assert (report.state, report.started_at, report.ended_at, report.plate, report.state_desc) == (
        2, STARTED, None, "", "")


def test_unknown_extra_fields_are_tolerated_and_signed_like_the_others(push, order):
    ok(push(ReportKind.STATUS, {**charging_fields(order), "soc": "80", "seqno": "abc"}))

    assert message().verification == Verification.PASSED
    assert StatusReport.objects.count() == 1


# --- duplicates ----------------------------------------------------------------------------------------------


def test_the_same_push_twice_is_applied_once_and_answered_success_both_times(push, order):
    fields = signed(charging_fields(order))

    first = ok(push(ReportKind.ORDER, fields, sign=False))
    second = ok(push(ReportKind.ORDER, fields, sign=False))

    assert StatusReport.objects.count() == 1
    original, copy = InboundMessage.objects.order_by("pk")
    assert (original.status, copy.status, copy.duplicate_of_id) == (
        InboundStatus.PROCESSED, InboundStatus.DUPLICATE, original.pk)
    assert first == {"code": "1001", "message": "成功"}
    assert str(original.pk) in second["hint"]


def test_the_same_news_signed_again_with_a_new_timestamp_is_a_duplicate(push, order):
    ok(push(ReportKind.STATUS, signed(charging_fields(order), now_ms=1_790_000_000_000), sign=False))
    ok(push(ReportKind.STATUS, signed(charging_fields(order), now_ms=1_790_000_060_000), sign=False))

    assert StatusReport.objects.count() == 1
    assert InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).count() == 1


def test_new_news_of_the_same_order_is_kept_as_another_report(push, order):
    ok(push(ReportKind.STATUS, charging_fields(order, state=2, end=None, quantity=4_000, energy=260, fee=160)))
    ok(push(ReportKind.STATUS, charging_fields(order, state=2, end=None, quantity=6_000, energy=390, fee=240)))
    ok(push(ReportKind.ORDER, charging_fields(order, state=2, end=None, quantity=6_000, energy=390, fee=240)))

    assert sorted(StatusReport.objects.values_list("kind", "energy_wh")) == [
        (ReportKind.STATUS, 4_000), (ReportKind.STATUS, 6_000), (ReportKind.ORDER, 6_000)]
    assert not InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).exists()


# --- bad input, named in the hint --------------------------------------------------------------------------


def bad(response, field, *, code="400", status=400, reason=RejectReason.MALFORMED):
    body = refused(response, code, status)
    assert field in body["hint"], body
    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, reason)
    assert stored.reply == body
    assert stored.body  # kept as it came
    inbox_drain()
    assert not StatusReport.objects.exists()
    return stored


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"station_uuid": None}, "station_uuid"),
        ({"order": None}, "order"),
        ({"order": "2" * 21}, "order"),
        ({"device_no": ""}, "device_no"),
        ({"port_no": None}, "port_no"),
        ({"quantity": None}, "quantity"),
        ({"quantity": "12.345"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "9000000"}, "quantity"),
        ({"total_value": "1297"}, "total_value"),
        ({"energy_value": None}, "energy_value"),
        ({"fee_value": "x"}, "fee_value"),
        ({"replenish_time": "99999999"}, "replenish_time"),
        ({"start_time": wall(timezone.now() + dt.timedelta(days=3))}, "start_time"),
        ({"start_time": "2026/11/21 10:00:00"}, "start_time"),
        ({"start_time": ""}, "start_time"),
        ({"end_time": ""}, "end_time"),
        ({"end_time": wall(STARTED - dt.timedelta(minutes=1))}, "end_time"),
        ({"state": "5"}, "state"),
        ({"state": "charging"}, "state"),
        ({"state": None}, "state"),
        ({"device_type": "2"}, "device_type"),
        ({"energy_code": "CN_XX"}, "energy_code"),
        ({"plate": "粤B" + "1" * 20}, "plate"),
        ({"start_time": f" {wall(STARTED)}"}, "start_time"),  # the form exactly, nothing around it
    ],
)
def test_a_charging_push_we_cannot_read_is_refused_with_400_naming_the_field(push, order, changes, field):
    stored = bad(push(ReportKind.ORDER, changed(charging_fields(order), **changes), drain=False), field)

    assert stored.kind == ReportKind.ORDER
    assert stored.verification == Verification.PASSED  # signed right: refused for what it says


def test_a_start_time_outside_the_window_behind_receipt_is_refused(push, order, settings):
    settings.INBOX_TIME_BEHIND_DAYS = 7
    fields = charging_fields(order, start=STARTED - dt.timedelta(days=8), end=STARTED - dt.timedelta(days=8, hours=-1))

    bad(push(ReportKind.STATUS, fields, drain=False), "start_time")


@pytest.mark.parametrize(("changes", "field"), [({"state": "7"}, "state"), ({"state": "ok"}, "state"),
                                                ({"order": None}, "order"), ({"station_uuid": ""}, "station_uuid")])
def test_a_start_result_we_cannot_read_is_refused_naming_the_field(push, order, changes, field):
    bad(push(ReportKind.START_RESULT, changed(result_fields(order), **changes), drain=False), field)


@pytest.mark.parametrize("timestamp", ["soon", "-1", "1793669425000.5", "9" * 14])
def test_a_push_whose_timestamp_is_no_time_in_milliseconds_is_refused_naming_it(push, order, timestamp):
    # Signed with it and not read: still milliseconds since 1970, or the push is not 4pyun's.
    fields = {**result_fields(order), "app_id": APP_ID, "timestamp": timestamp, "sign_type": "MD5"}
    fields["sign"] = form_sign(fields, APP_SECRET)

    stored = bad(push(ReportKind.START_RESULT, fields, sign=False, drain=False), "timestamp")

    assert stored.verification == Verification.PASSED


def test_a_refused_push_keeps_what_it_was_about_for_the_admins_filters(push, order):
    stored = bad(push(ReportKind.ORDER, changed(charging_fields(order), quantity="x"), drain=False), "quantity")

    assert (stored.kind, stored.order_no, stored.charger_serial) == (ReportKind.ORDER, order.order_no, "1012300001")


def test_an_unknown_push_name_is_refused_naming_it(push, order):
    stored = bad(push("replenish-refund", result_fields(order), drain=False), "replenish-refund",
                 reason=RejectReason.UNKNOWN_KIND)

    assert stored.kind == "replenish-refund"


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x", "text/plain"])
def test_a_body_that_is_not_an_urlencoded_form_is_refused_naming_its_type(push, order, content_type):
    stored = bad(push(ReportKind.STATUS, charging_fields(order), content_type=content_type, drain=False),
                 content_type.split(";")[0])

    assert stored.verification == Verification.UNCHECKED


def test_a_body_that_is_not_utf8_is_refused(client, fourpyun_keys, order):
    response = client.post(reverse("fourpyun_push", kwargs={"name": "start-result"}), b"order=%FF\xff",
                           content_type=FORM)

    refused(response, "400", 400)
    assert message().status == InboundStatus.REJECTED


# --- our references ----------------------------------------------------------------------------------------


def test_an_order_that_is_not_ours_is_refused_with_1002(push, order):
    stored = bad(push(ReportKind.STATUS, charging_fields(order) | {"order": "20261121100000999999"}, drain=False),
                 "20261121100000999999", code="1002", status=404, reason=RejectReason.UNKNOWN_ORDER)

    assert stored.error.startswith("order")
    assert message().reply["message"] == "订单不存在"


def test_an_order_at_another_station_is_refused_with_1002_naming_both(push, order):
    body = refused(push(ReportKind.STOP_RESULT, result_fields(order) | {"station_uuid": OTHER_UUID}, drain=False),
                   "1002", 404)

    assert OTHER_UUID in body["hint"] and STATION_UUID in body["hint"] and order.order_no in body["hint"]
    assert message().reject_reason == RejectReason.UNKNOWN_ORDER
    inbox_drain()
    assert not StatusReport.objects.exists()


def test_an_order_at_a_station_not_mapped_to_4pyun_is_refused_with_1002(push, order):
    order.station.fourpyun_station_uuid = ""
    order.station.save()

    body = refused(push(ReportKind.STATUS, charging_fields(order) | {"station_uuid": STATION_UUID}), "1002", 404)

    assert STATION_UUID in body["hint"] and order.order_no in body["hint"]


def test_a_push_refused_for_its_station_is_applied_when_sent_again_once_the_station_is_mapped(push, order):
    fields = signed(charging_fields(order))  # about STATION_UUID
    station = order.station
    station.fourpyun_station_uuid = OTHER_UUID
    station.save()
    refused(push(ReportKind.ORDER, fields, sign=False), "1002", 404)

    station.fourpyun_station_uuid = STATION_UUID
    station.save()
    ok(push(ReportKind.ORDER, fields, sign=False))

    assert StatusReport.objects.count() == 1


def test_the_worker_checks_the_station_again_when_it_applies_the_push(push, order):
    ok(push(ReportKind.STATUS, charging_fields(order), drain=False))
    order.station.fourpyun_station_uuid = OTHER_UUID
    order.station.save()

    inbox_drain()

    stored = message()
    assert (stored.status, stored.reject_reason) == (InboundStatus.REJECTED, RejectReason.UNKNOWN_ORDER)
    assert not StatusReport.objects.exists()


# --- signatures ----------------------------------------------------------------------------------------------


def test_a_signature_in_upper_case_hex_passes(push, order):
    fields = signed(result_fields(order))
    fields["sign"] = fields["sign"].upper()

    ok(push(ReportKind.START_RESULT, fields, sign=False))

    assert message().verification == Verification.PASSED


def test_a_push_signed_without_app_id_passes(push, order):
    fields = {**result_fields(order), "timestamp": "1790000000000"}

    ok(push(ReportKind.START_RESULT, {**fields, "sign": form_sign(fields, APP_SECRET)}, sign=False))

    assert message().verification == Verification.PASSED


@pytest.mark.parametrize("forgery", ["other secret", "field changed", "bad hex"])
def test_a_wrong_signature_is_refused_with_401_showing_the_string_we_signed(push, order, forgery):
    fields = signed(charging_fields(order), secret="not-our-secret" if forgery == "other secret" else APP_SECRET)  # noqa: S106
    if forgery == "field changed":
        fields["quantity"] = "99999"
    elif forgery == "bad hex":
        fields["sign"] = "zz" + fields["sign"][2:]

    body = refused(push(ReportKind.ORDER, fields, sign=False, drain=False), "401", 401)

    assert body["message"] == "请求签名校验不通过"
    # The string we signed, the secret masked, so that 4pyun's engineers can compare it with theirs
    assert "app_secret=***" in body["hint"] and APP_SECRET not in body["hint"]
    assert f"order={order.order_no}" in body["hint"] and "sign=" not in body["hint"].replace("sign_type", "")
    stored = message()
    assert (stored.status, stored.reject_reason, stored.verification) == (
        InboundStatus.REJECTED, RejectReason.VERIFICATION, Verification.FAILED)
    assert stored.reply == body and stored.body
    inbox_drain()
    assert not StatusReport.objects.exists()
    with pytest.raises(ValidationError):
        inbound_replay(message=stored)
    assert not StatusReport.objects.exists()


def test_a_push_signed_for_another_app_id_fails_verification(push, order):
    body = refused(push(ReportKind.START_RESULT, signed(result_fields(order), app_id="op00000000000000"), sign=False),
                   "401", 401)

    assert "op00000000000000" in body["hint"]
    assert message().verification == Verification.FAILED


def test_nothing_is_signed_for_us_while_our_secret_is_not_configured(push, order, settings):
    fields = signed(result_fields(order), secret="")
    settings.FOURPYUN_APP_SECRET = ""

    refused(push(ReportKind.START_RESULT, fields, sign=False), "401", 401)

    assert message().verification == Verification.FAILED
    assert not StatusReport.objects.exists()


def test_an_unsigned_push_is_refused_when_a_signature_is_required(push, order, settings):
    settings.FOURPYUN_PUSH_SIGNATURE = "required"

    body = refused(push(ReportKind.STATUS, charging_fields(order), sign=False), "401", 401)

    assert "sign" in body["hint"]
    stored = message()
    assert (stored.status, stored.verification) == (InboundStatus.REJECTED, Verification.FAILED)
    assert not StatusReport.objects.exists()


def test_a_signed_push_is_accepted_when_a_signature_is_required(push, order, settings):
    settings.FOURPYUN_PUSH_SIGNATURE = "required"

    ok(push(ReportKind.STATUS, charging_fields(order)))

    assert message().verification == Verification.PASSED
    assert StatusReport.objects.count() == 1


@pytest.mark.parametrize("sign", [None, ""])
def test_an_unsigned_push_is_accepted_unchecked_when_a_signature_is_checked_if_present(push, order, sign):
    fields = charging_fields(order) if sign is None else {**charging_fields(order), "sign": sign}

    ok(push(ReportKind.STATUS, fields, sign=False))

    assert message().verification == Verification.UNCHECKED
    assert StatusReport.objects.count() == 1


@pytest.mark.skipif("FOURPYUN_PUSH_SIGNATURE" in os.environ, reason="the environment chooses")
def test_a_signature_is_checked_if_present_by_default():
    from config.settings import base

    assert base.FOURPYUN_PUSH_SIGNATURE == "if-present"


def test_no_signature_is_checked_when_signatures_are_off(push, order, settings):
    settings.FOURPYUN_PUSH_SIGNATURE = "off"

    ok(push(ReportKind.STATUS, {**charging_fields(order), "sign": "0" * 32}, sign=False))

    assert message().verification == Verification.UNCHECKED
    assert StatusReport.objects.count() == 1


def test_a_rejected_signature_frees_the_dedupe_key_for_the_true_push(push, order):
    refused(push(ReportKind.ORDER, signed(charging_fields(order), secret="wrong"), sign=False), "401", 401)  # noqa: S106

    ok(push(ReportKind.ORDER, charging_fields(order)))

    assert StatusReport.objects.count() == 1


# --- senders, methods, replies -------------------------------------------------------------------------------


def test_a_push_from_outside_the_allowed_senders_is_refused_with_403(push, order, settings):
    settings.FOURPYUN_PUSH_ALLOWED_IPS = ["10.20.0.0/16"]

    body = refused(push(ReportKind.STATUS, charging_fields(order)), "403", 403)

    assert "FOURPYUN_PUSH_ALLOWED_IPS" in body["hint"]
    assert message().reject_reason == RejectReason.SENDER
    assert not StatusReport.objects.exists()


def test_a_push_from_an_allowed_sender_is_taken(push, order, settings):
    settings.FOURPYUN_PUSH_ALLOWED_IPS = ["127.0.0.0/8"]

    ok(push(ReportKind.STATUS, charging_fields(order)))


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_anything_but_a_post_is_refused_with_405(client, db, method):
    response = getattr(client, method)(reverse("fourpyun_push", kwargs={"name": "order-info"}))

    body = refused(response, "400", 405)
    assert response["Allow"] == "POST"
    assert method.upper() in body["hint"]
    assert not InboundMessage.objects.exists()


def test_the_push_urls_are_4pyuns(db):
    for kind in ReportKind:
        assert reverse("fourpyun_push", kwargs={"name": kind}) == f"/integrations/4pyun/push/{kind.value}"


def test_replies_speak_chinese_unescaped(push, order):
    response = push(ReportKind.STATUS, charging_fields(order) | {"quantity": "x"})

    assert "参数错误" in response.content.decode("utf-8")  # not \u escapes


def test_we_could_not_store_the_push_is_a_503_in_4pyuns_envelope():
    from integrations.fourpyun.inbox import FourpyunInbox

    reply_body, status = FourpyunInbox().reply_unstored()

    assert status == 503 and reply_body["code"] == "503" and reply_body["hint"]


def test_the_protocol_reads_a_push_without_the_database(order, django_assert_num_queries):
    body = urlencode(signed(charging_fields(order))).encode()

    with django_assert_num_queries(0):
        parsed = push_parse(kind=ReportKind.ORDER, body=body, content_type=FORM, received_at=timezone.now())

    assert (parsed.kind, parsed.order_no, parsed.charger_serial) == (ReportKind.ORDER, order.order_no, "1012300001")
    assert parsed.dedupe_key.startswith(f"order-info:{order.order_no}:")


# --- the schema ----------------------------------------------------------------------------------------------


def pushes_documented() -> dict:
    """{kind: the OpenAPI operation of its push}: each kind is documented at its own URL, with its own body."""
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"}).json()
    return {kind: schema["paths"][f"/integrations/4pyun/push/{kind}"]["post"] for kind in ReportKind.values}, schema


def test_the_push_paths_are_documented_and_their_examples_are_read_by_the_protocol():
    from integrations.fourpyun.protocol import report_read

    operations, _schema = pushes_documented()
    for kind, operation in operations.items():
        assert operation["operationId"] == f"fourpyun_push_{kind.replace('-', '_')}"
        assert "parameters" not in operation
        assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "413", "503"}
        (example,) = operation["requestBody"]["content"][FORM]["examples"].values()
        fields = {key: str(value) for key, value in example["value"].items()}
        received = dt.datetime.fromtimestamp(int(fields["timestamp"]) / 1000, dt.UTC)
        assert report_read(kind, fields, received_at=received).kind == kind
        codes = {example["value"]["code"] for response in operation["responses"].values()
                 for example in response["content"]["application/json"]["examples"].values()}
        assert codes == {"1001", "400", "401", "403", "1002", "503"}


@pytest.mark.parametrize("kind", ReportKind.values)
def test_the_documented_examples_are_true_to_their_schemas_and_the_replies_speak_chinese(kind):
    from jsonschema import Draft202012Validator

    operations, schema = pushes_documented()
    operation = operations[kind]
    components = {"components": {"schemas": schema["components"]["schemas"]}}
    contents = [operation["requestBody"]["content"][FORM],
                *(response["content"]["application/json"] for response in operation["responses"].values())]
    for content in contents:
        validator = Draft202012Validator({**content["schema"], **components})
        for key, example in content["examples"].items():
            assert list(validator.iter_errors(example["value"])) == [], key
    wrong_sign = operation["responses"]["401"]["content"]["application/json"]["examples"]["wrong_sign"]["value"]
    assert "app_secret=***" in wrong_sign["hint"] and "example-secret" not in wrong_sign["hint"]
    for status, response in operation["responses"].items():
        for key, example in response["content"]["application/json"]["examples"].items():
            assert any("\u4e00" <= char <= "\u9fff" for char in example["value"]["message"]), (status, key)
