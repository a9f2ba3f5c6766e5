"""Receiving Tomda pushes through the inbox: stored in one statement and answered, applied later by the
worker; bad bytes stored and refused; only allowed senders; nothing stranded, nothing applied twice, and
nothing applied that failed verification."""

import datetime as dt
import json
from urllib.parse import urlencode

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from chargers.models import ChargerTariffPush, TariffPushResult
from integrations.inbox import inbound_replay, inbound_retry_failed, inbox_drain, inbox_work
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification
from orders.models import Order, OrderSample
from tests.integrations.factories import InboundMessageFactory
from tests.integrations.tomda.conftest import SESSION_START, local, work_item

pytestmark = pytest.mark.django_db

URL = "/integrations/tomda/push"


def post(client, kind, content, *, time="2026-11-21 10:00:00", **extra):
    body = json.dumps({"type": kind, "time": time, "content": content}, ensure_ascii=False)
    return client.post(URL, body, content_type="application/json", **extra)


def reply(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def work_data(order, minutes=3, energy_wh=350):
    return {"serialNum": order.charger.serial, "workDataInfo": [work_item(order, minutes=minutes, energy_wh=energy_wh)]}


# --- accept fast ---------------------------------------------------------------------------------------


def test_news_is_acknowledged_once_stored_and_applied_only_by_the_worker(client, charging_order):
    body = reply(post(client, "WORK_DATA", work_data(charging_order)))

    assert body == {"errorCode": "200", "errorDesc": "", "data": None}
    message = InboundMessage.objects.get()
    assert (message.status, message.attempts, message.order_no) == (InboundStatus.RECEIVED, 0, charging_order.order_no)
    assert message.reply == body
    assert not OrderSample.objects.exists()

    assert inbox_work().outcomes[InboundStatus.PROCESSED] == 1

    message.refresh_from_db()
    assert (message.status, message.attempts) == (InboundStatus.PROCESSED, 1)
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 350


def test_a_push_about_known_things_costs_one_statement(client, charging_order):
    post(client, "WORK_DATA", work_data(charging_order, minutes=1))  # the receiver now knows charger and order

    with CaptureQueriesContext(connection) as captured:
        reply(post(client, "WORK_DATA", work_data(charging_order, minutes=2)))

    statements = [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert len(statements) == 1 and "INSERT" in statements[0] and "ON CONFLICT DO NOTHING" in statements[0]


def test_questions_are_answered_inline_and_stored_with_their_answer(client, charging_order):
    body = reply(post(client, "QUERY_ORDER_BALANCE_INFO", {"clientOrderId": charging_order.order_no}))

    assert body["data"] == {"balance": 5000}
    message = InboundMessage.objects.get()
    assert (message.status, message.reply, message.attempts) == (InboundStatus.PROCESSED, body, 1)
    assert inbox_work().claimed == 0


def test_a_push_we_cannot_store_gets_a_5xx_so_tomda_sends_it_again(client, charging_order, monkeypatch):
    from integrations.inbox import receiver

    def broken(**values):
        raise DatabaseError("disk full")

    monkeypatch.setattr(receiver, "inbound_insert", broken)

    body = reply(post(client, "WORK_DATA", work_data(charging_order)), status=503)

    assert body["errorCode"] == "2002" and body["errorDesc"]


# --- whatever its bytes: stored, and refused in Tomda's words ----------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('{"type": "\\udc00", "time": "", "content": {}}', "type"),
        ('{"type": "WORK_DATA", "content": {"serialNum": "10123\\udc00", "workDataInfo": []}}', "content.serialNum"),
        ('{"type": "WORK_DATA", "content": {"serialNum": "1012300001\\u0000"}}', "NUL"),
        ('{"type": "WORK_DATA", "content": {"serialNum": "10123\\u0000"}}\x00', "JSON"),
        ('{"type": "DEVICE_INFO", "content": {"deviceType": "CHARGER", "deviceInfo": "1012300001"}}', "deviceInfo"),
        ('{"type": "WORK_DATA", "content": ' + "[" * 100_000 + "]" * 100_000 + "}", "16"),
        ('{"type": "WORK_DATA", "content": {"a": ' + '{"a": ' * 40 + "1" + "}" * 41 + "}", "16"),
        ('{"type": ["WORK_DATA"], "content": {}}', "type"),
        ('{"type": "WORK_DATA", "content": {"serialNum": "1012300001", "workDataInfo": [{"chargerRunStatus": '
         '"CHARGE", "deviceTime": "2026-11-21 10:00:00", "chargeEnergy": 99999999999999999999}]}}', "chargeEnergy"),
    ],
    ids=["surrogate-type", "surrogate-serial", "escaped-nul", "raw-nul", "device-info-string", "nested-100000",
         "nested-40", "type-list", "huge-number"],
)
def test_a_body_no_column_could_hold_is_stored_and_refused(client, ev_charger, body, fragment):
    answer = reply(client.post(URL, body.encode("utf-8", "surrogatepass"), content_type="application/json"))

    assert answer["errorCode"] == "1401"
    assert fragment.lower() in answer["errorDesc"].lower()
    message = InboundMessage.objects.get()
    assert (message.status, message.reject_reason) == (InboundStatus.REJECTED, RejectReason.MALFORMED)
    assert message.body  # kept, escaped where a column could not take it as it came
    assert message.reply == answer


def test_bytes_that_are_not_utf8_are_kept_escaped(client, db):
    reply(client.post(URL, b'{"type": "WORK_DATA\xff\xfe"}', content_type="application/json"))

    assert InboundMessage.objects.get().body == '{"type": "WORK_DATA\\xff\\xfe"}'


def test_a_body_larger_than_we_accept_is_recorded_and_refused(client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    answer = reply(client.post(URL, b'{"type": "WORK_DATA", "x": "' + b"a" * 2000 + b'"}',
                               content_type="application/json"), status=413)

    assert answer["errorCode"] == "1401"
    assert InboundMessage.objects.get().reject_reason == RejectReason.MALFORMED


# --- who may push --------------------------------------------------------------------------------------


def test_a_push_from_outside_the_allow_list_is_refused_and_kept(client, settings, charging_order):
    settings.TOMDA_PUSH_ALLOWED_IPS = ["203.0.113.0/24", "198.51.100.7"]

    answer = reply(post(client, "WORK_DATA", work_data(charging_order), REMOTE_ADDR="192.0.2.1"), status=403)
    inbox_drain()

    assert answer["errorCode"] == "2001" and "192.0.2.1" in answer["errorDesc"]
    message = InboundMessage.objects.get()
    assert (message.status, message.reject_reason, message.remote_addr) == (
        InboundStatus.REJECTED, RejectReason.SENDER, "192.0.2.1"
    )
    assert not OrderSample.objects.exists()


@pytest.mark.parametrize("address", ["203.0.113.200", "198.51.100.7"])
def test_a_push_from_an_allowed_address_or_range_is_accepted(client, settings, charging_order, address):
    settings.TOMDA_PUSH_ALLOWED_IPS = ["203.0.113.0/24", "198.51.100.7"]

    assert reply(post(client, "WORK_DATA", work_data(charging_order), REMOTE_ADDR=address))["errorCode"] == "200"


def test_the_forwarded_address_counts_only_from_a_trusted_proxy(client, settings, charging_order):
    settings.TOMDA_PUSH_ALLOWED_IPS = ["203.0.113.7"]
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}

    # From the internet, a header naming Tomda's address proves nothing
    assert post(client, "WORK_DATA", work_data(charging_order, minutes=1), REMOTE_ADDR="192.0.2.1",
                **forged).status_code == 403
    # Through our load balancer, the sender is the last address before it
    through_balancer = {"HTTP_X_FORWARDED_FOR": "192.0.2.99, 203.0.113.7"}
    answer = reply(post(client, "WORK_DATA", work_data(charging_order, minutes=2), REMOTE_ADDR="10.1.2.3",
                        **through_balancer))
    assert answer["errorCode"] == "200"
    assert InboundMessage.objects.order_by("-id").first().remote_addr == "203.0.113.7"


def test_a_token_in_the_query_string_is_never_accepted(client, settings, charging_order):
    settings.TOMDA_PUSH_VERIFIER = "token"
    settings.TOMDA_PUSH_TOKEN = "Abc12345"

    answer = reply(client.post(f"{URL}?token=Abc12345", json.dumps({"type": "WORK_DATA", "time": "",
                                                                     "content": work_data(charging_order)}),
                               content_type="application/json"))

    assert answer["errorCode"] == "2002"
    assert InboundMessage.objects.get().verification == Verification.FAILED


# --- nothing stranded, nothing applied twice ---------------------------------------------------------


def test_a_push_whose_processing_was_cut_off_is_applied_and_its_resend_is_not_taken_for_processed(
    client, charging_order
):
    # Given a push stored and acknowledged, whose worker died before committing (the row still waits)
    post(client, "WORK_DATA", work_data(charging_order))
    original = InboundMessage.objects.get()

    # When Tomda sends it again, and a worker runs
    answer = reply(post(client, "WORK_DATA", work_data(charging_order), time="2026-11-21 10:05:00"))
    inbox_drain()

    # Then the resend is a duplicate of the waiting push, and the push is applied once
    assert str(original.pk) in answer["errorDesc"]
    original.refresh_from_db()
    assert (original.status, original.attempts) == (InboundStatus.PROCESSED, 1)
    assert InboundMessage.objects.get(duplicate_of=original).status == InboundStatus.DUPLICATE
    assert OrderSample.objects.count() == 1


def test_a_push_refused_at_the_door_is_applied_when_sent_again_after_its_cause_is_fixed(client, charging_order):
    charger = charging_order.charger
    serial = charger.serial
    charger.serial = "1012300099"
    charger.save()
    assert reply(post(client, "WORK_DATA", work_data(charging_order) | {"serialNum": serial}))["errorCode"] == "2003"

    charger.serial = serial  # the operator imports the charger
    charger.save()
    answer = reply(post(client, "WORK_DATA", work_data(charging_order)))
    inbox_drain()

    assert answer["errorDesc"] == ""  # new news, not "already received"
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 1
    assert OrderSample.objects.count() == 1


def test_a_push_the_worker_refused_is_applied_when_sent_again_after_its_cause_is_fixed(client, ev_charger):
    version = ev_charger.station.tariff_template.versions.get()
    content = {"serialNum": ev_charger.serial, "clientElecFeeModelId": version.template.external_id, "pushResult": 1}
    post(client, "PUSH_ELEC_FEE_RESULT", content)
    inbox_drain()
    refused = InboundMessage.objects.get()
    assert (refused.status, refused.reject_reason) == (InboundStatus.REJECTED, RejectReason.UNKNOWN_TEMPLATE)

    sent = ChargerTariffPush.objects.create(charger=ev_charger, tariff_version=version, requested_at=SESSION_START)
    answer = reply(post(client, "PUSH_ELEC_FEE_RESULT", content))
    inbox_drain()

    assert answer["errorDesc"] == ""
    sent.refresh_from_db()
    assert sent.result == TariffPushResult.ACCEPTED
    assert InboundMessage.objects.exclude(pk=refused.pk).get().status == InboundStatus.PROCESSED


def test_one_bad_push_never_holds_back_the_rest_of_its_batch(client, charging_order, ebike_charger):
    from tests.orders.factories import OrderFactory

    doomed = OrderFactory(connector=ebike_charger.connectors.get(number=1), status="charging",
                          started_at=SESSION_START, ended_at=None, energy_wh=0)
    post(client, "WORK_DATA", work_data(charging_order, minutes=1, energy_wh=100))
    post(client, "WORK_DATA", {"serialNum": ebike_charger.serial,
                               "workDataInfo": [work_item(doomed, minutes=1, energy_wh=10, connector_id=1)]})
    post(client, "WORK_DATA", work_data(charging_order, minutes=2, energy_wh=200))
    OrderSample.objects.filter(order=doomed).delete()
    Order.objects.filter(pk=doomed.pk).delete()
    ebike_charger.delete()  # gone between receipt and the worker

    result = inbox_work()

    assert (result.outcomes[InboundStatus.PROCESSED], result.outcomes[InboundStatus.REJECTED]) == (2, 1)
    assert InboundMessage.objects.get(status=InboundStatus.REJECTED).reject_reason == RejectReason.UNKNOWN_CHARGER
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 200


def test_a_push_that_fails_after_writing_leaves_no_trace_and_its_row_failed(client, charging_order, monkeypatch):
    from integrations.tomda import processor as tomda_processor

    def broken(*, connectors):
        raise RuntimeError("connector table is read-only")

    # Samples and the order are written first; the connectors last, and that fails
    monkeypatch.setattr(tomda_processor, "connectors_save_status", broken)
    post(client, "WORK_DATA", work_data(charging_order))

    inbox_work()

    message = InboundMessage.objects.get()
    assert (message.status, message.attempts) == (InboundStatus.FAILED, 1)
    assert "read-only" in message.error
    assert not OrderSample.objects.exists()
    assert Order.objects.get(pk=charging_order.pk).energy_wh == 0


# --- what failed verification is never applied ------------------------------------------------------


@pytest.fixture
def forged(charging_order):
    """A push that failed verification, as the database holds it."""
    body = json.dumps({"type": "WORK_DATA", "time": "", "content": work_data(charging_order)})
    return InboundMessageFactory(body=body, kind="WORK_DATA", verification=Verification.FAILED,
                                 reject_reason=RejectReason.VERIFICATION, status=InboundStatus.REJECTED,
                                 order_no=charging_order.order_no, attempts=0)


def test_the_worker_never_applies_a_push_that_failed_verification(forged):
    InboundMessage.objects.filter(pk=forged.pk).update(status=InboundStatus.RECEIVED, reject_reason="")

    assert inbox_work().claimed == 0
    assert not OrderSample.objects.exists()


def test_the_retry_task_never_applies_a_push_that_failed_verification(forged):
    InboundMessage.objects.filter(pk=forged.pk).update(status=InboundStatus.FAILED, reject_reason="")

    assert inbound_retry_failed() == 0
    assert not OrderSample.objects.exists()


@pytest.mark.parametrize("reason", [RejectReason.VERIFICATION, RejectReason.SENDER])
def test_a_replay_never_applies_a_push_refused_for_its_sender(forged, reason):
    from django.core.exceptions import ValidationError

    InboundMessage.objects.filter(pk=forged.pk).update(reject_reason=reason, verification=Verification.UNCHECKED
                                                       if reason == RejectReason.SENDER else Verification.FAILED)

    with translation.override("en"), pytest.raises(ValidationError, match="never applied"):
        inbound_replay(message=forged)
    assert not OrderSample.objects.exists()
    assert InboundMessage.objects.get(pk=forged.pk).status == InboundStatus.REJECTED


def test_the_backlog_is_shown_above_the_list(operator_client, charging_order):
    post(operator_client, "WORK_DATA", work_data(charging_order))
    InboundMessage.objects.update(received_at=SESSION_START - dt.timedelta(minutes=5))

    page = operator_client.get("/admin/integrations/inboundmessage/").content.decode()

    assert "1 push is waiting to be applied" in page
    assert "No inbox worker seems to be running" in page
    inbox_drain()
    page = operator_client.get("/admin/integrations/inboundmessage/").content.decode()
    assert "No push is waiting to be applied." in page


def test_a_form_whose_content_holds_a_lone_surrogate_is_stored_and_refused(client, ev_charger):
    content = '{"serialNum": "10123\\udc00", "workDataInfo": []}'
    body = urlencode({"type": "WORK_DATA", "time": "2026-11-21 10:00:00", "content": content})

    answer = reply(client.post(URL, body, content_type="application/x-www-form-urlencoded"))

    assert answer["errorCode"] == "1401" and "content.serialNum" in answer["errorDesc"]
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED


def test_a_push_over_plain_http_is_answered_not_redirected(client, settings, charging_order):
    settings.SECURE_SSL_REDIRECT = True

    assert reply(post(client, "WORK_DATA", work_data(charging_order)))["errorCode"] == "200"
    assert client.get("/admin/").status_code == 301  # the rest of the site still goes to HTTPS


# --- a batch ends where the same pushes one by one end ---------------------------------------------


def plug_event(charger, code, state, minute):
    return {"serialNum": charger.serial, "eventSource": "CHARGER_PLUG", "connectorId": 1, "eventInfo": [
        {"eventCode": code, "eventName": "急停", "eventStatus": state,
         "deviceTime": local(SESSION_START + dt.timedelta(minutes=minute))}]}


def lost_charger(charger):
    return {"deviceType": "CHARGER", "deviceInfo": {"serialNum": charger.serial, "lost": 1, "connectorCount": 1,
                                                    "chargerStatus": "FREE",
                                                    "connectorInfo": [{"connectorId": 1, "connectorStatus": "FREE"}]}}


@pytest.mark.parametrize(
    ("pushes", "expected"),
    [
        ([("EVENT_DATA", "fault", 30), ("WORK_DATA", "reading", 40)], "fault"),
        ([("DEVICE_INFO", "lost", 30), ("WORK_DATA", "reading", 40)], "offline"),
        ([("EVENT_DATA", "fault", 10), ("EVENT_DATA", "recovered", 20), ("WORK_DATA", "reading", 30)], "charging"),
        ([("WORK_DATA", "reading", 10), ("EVENT_DATA", "fault", 20), ("WORK_DATA", "reading", 30)], "fault"),
        # A fault older (by the charger's clock) than the reading before it does not win: news in order
        ([("WORK_DATA", "reading", 40), ("EVENT_DATA", "fault", 30)], "charging"),
    ],
    ids=["fault-then-reading", "offline-then-reading", "recovery-then-reading", "reading-fault-reading",
         "reading-then-older-fault"],
)
def test_one_batch_of_mixed_news_ends_where_the_same_news_one_by_one_ends(client, charging_order, pushes, expected):
    charger = charging_order.charger
    charger.last_seen_at = None  # no device report yet
    charger.save()

    def content(what, minute):
        if what == "reading":
            return work_data(charging_order, minutes=minute, energy_wh=minute * 100)
        if what == "lost":
            return lost_charger(charger)
        state = "HAPPENING" if what == "fault" else "RECOVERED"
        return plug_event(charger, "TOMDA_EV_FAULT_ES", state, minute)

    for kind, what, minute in pushes:
        post(client, kind, content(what, minute), time=local(SESSION_START + dt.timedelta(minutes=minute)))

    assert inbox_work().outcomes[InboundStatus.PROCESSED] == len(pushes)

    assert charger.connectors.get().status == expected
    assert Order.objects.get(pk=charging_order.pk).samples.count() == sum(1 for _k, w, _m in pushes if w == "reading")


# --- input that must never cost a 500, a lost push or an unappliable one -------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"serialNum": "10123\\udc00"}', "content.serialNum"),
        ({"deviceType": "CHARGER", "deviceInfo": {"serialNum": "1012300001", "connectorCount": 2**31 - 1}},
         "connectorCount"),
        ({"deviceType": "CHARGER", "deviceInfo": {"serialNum": "1012300001", "firmwareVersion": "F" * 65}},
         "firmwareVersion"),
        ({"serialNum": "1012300001", "workDataInfo": [
            {"clientOrderId": "1", "chargerRunStatus": "CHARGE", "deviceTime": "2026-11-21 10:00:00",
             "chargeEnergy": 1, "chargeTime": 2**31 - 1}]}, "chargeTime"),
        ({"serialNum": "1012300001", "clientOrderId": "1", "chargeStartTime": "0001-01-01 00:00:00",
          "chargeEndTime": "2026-11-21 10:00:00", "chargeEnergy": 1}, "chargeStartTime"),
        ({"serialNum": "1012300001", "clientOrderId": "1", "chargeStartTime": "2026-11-21 09:00:00",
          "chargeEndTime": "2026-11-21 10:00:00", "chargeEnergy": 1, "orderStatus": "C" * 33}, "orderStatus"),
    ],
    ids=["surrogate-in-content-text", "connector-count", "long-firmware", "charge-time",
         "year-one", "long-order-status"],
)
def test_values_no_column_could_hold_are_refused_at_once(client, ev_charger, content, fragment):
    kind = "DEVICE_INFO" if "deviceInfo" in content else "ORDER_DATA" if "chargeStartTime" in content else "WORK_DATA"
    body = json.dumps({"type": kind, "time": "2026-11-21 10:00:00", "content": content})

    answer = reply(client.post(URL, body, content_type="application/json"))

    assert answer["errorCode"] == "1401", answer
    assert fragment in answer["errorDesc"]
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED


def test_a_number_longer_than_python_reads_is_refused_at_once_by_its_field(client, charging_order):
    item = work_data(charging_order)["workDataInfo"][0]
    body = json.dumps({"type": "WORK_DATA", "content": {"serialNum": "1012300001", "workDataInfo": [
        item | {"chargeEnergy": "ENERGY"}]}}).replace('"ENERGY"', "9" * 5000)

    answer = reply(client.post(URL, body, content_type="application/json"))

    assert answer["errorCode"] == "1401" and "chargeEnergy" in answer["errorDesc"]
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED


def test_a_nul_in_a_header_is_kept_escaped(client, charging_order):
    body = json.dumps({"type": "WORK_DATA", "time": "", "content": work_data(charging_order)})

    reply(client.post(URL, body, content_type="application/json\x00" + "x" * 200))

    message = InboundMessage.objects.get()
    assert message.content_type.startswith("application/json\\x00") and len(message.content_type) == 128


def test_a_fault_of_ours_in_reading_a_push_is_kept_and_answered_5xx_and_never_applied_twice(
    client, charging_order, monkeypatch
):
    from integrations.tomda import protocol as tomda_protocol

    content = work_data(charging_order)
    real_reader = tomda_protocol.READERS["WORK_DATA"]
    monkeypatch.setitem(tomda_protocol.READERS, "WORK_DATA", lambda envelope: 1 / 0)

    answer = reply(post(client, "WORK_DATA", content), status=503)

    assert answer["errorCode"] == "2002"
    failed = InboundMessage.objects.get()
    assert (failed.status, failed.body != "") == (InboundStatus.FAILED, True)
    assert "ZeroDivisionError" in failed.error

    # Once the fault is fixed, Tomda's copy is applied; the retry task leaves the kept row alone, and a
    # person's replay of it finds the copy instead of applying the push a second time
    monkeypatch.setitem(tomda_protocol.READERS, "WORK_DATA", real_reader)
    reply(post(client, "WORK_DATA", content))
    inbox_drain()
    assert inbound_retry_failed() == 0
    assert inbound_replay(message=failed).message.status == InboundStatus.DUPLICATE
    assert OrderSample.objects.count() == 1


def test_a_question_we_failed_to_answer_is_never_answered_later(client, charging_order, monkeypatch):
    from integrations.tomda import processor as tomda_processor

    def broken(*, order):
        raise RuntimeError("pricing unavailable")

    monkeypatch.setattr(tomda_processor, "order_balance_remaining", broken)
    answer = reply(post(client, "QUERY_ORDER_BALANCE_INFO", {"clientOrderId": charging_order.order_no}))
    assert answer["errorCode"] == "2002"
    monkeypatch.undo()

    assert inbound_retry_failed() == 0
    untouched = InboundMessage.objects.get()
    assert (untouched.attempts, "pricing unavailable" in untouched.error) == (1, True)
    message = inbound_replay(message=untouched).message
    assert message.status == InboundStatus.FAILED
    assert message.reply == answer  # what Tomda was told stays what the row says


def test_a_replayed_refusal_whose_copy_was_applied_meanwhile_is_not_applied_twice(client, charging_order):
    charger = charging_order.charger
    serial = charger.serial
    charger.serial = "1012300099"
    charger.save()
    post(client, "WORK_DATA", work_data(charging_order) | {"serialNum": serial})
    refused = InboundMessage.objects.get()
    charger.serial = serial
    charger.save()
    post(client, "WORK_DATA", work_data(charging_order))  # Tomda's copy, accepted and applied
    inbox_drain()

    replayed = inbound_replay(message=refused).message

    assert replayed.status == InboundStatus.DUPLICATE and replayed.duplicate_of is not None
    assert OrderSample.objects.count() == 1


def test_a_push_for_a_host_we_do_not_serve_is_refused_like_any_request(client, charging_order):
    response = post(client, "WORK_DATA", work_data(charging_order), HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("prepared", [True, False])
def test_pushes_are_stored_with_or_without_a_prepared_statement(client, settings, charging_order, prepared):
    settings.INBOX_PREPARED_INSERT = prepared

    for minute in (1, 2):
        reply(post(client, "WORK_DATA", work_data(charging_order, minutes=minute)))
    reply(post(client, "WORK_DATA", work_data(charging_order, minutes=2)))  # a copy

    assert list(InboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
        InboundStatus.RECEIVED, InboundStatus.RECEIVED, InboundStatus.DUPLICATE
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL checks foreign keys at commit unless told")
@pytest.mark.django_db(transaction=True)
def test_a_row_deleted_under_a_push_fails_that_push_not_the_batch(client, charging_order, monkeypatch):
    from integrations.tomda import processor as tomda_processor
    from tests.chargers.factories import ConnectorFactory

    spare = ConnectorFactory(charger=charging_order.charger, number=2)
    real_record = tomda_processor.charger_event_record

    def record_after_an_operator_deleted_the_connector(**fields):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM chargers_connector WHERE id = %s", [spare.pk])
        return real_record(**fields)

    monkeypatch.setattr(tomda_processor, "charger_event_record", record_after_an_operator_deleted_the_connector)
    post(client, "WORK_DATA", work_data(charging_order))
    notice = plug_event(charging_order.charger, "TOMDA_EV_PLUG_IN", "HAPPENING", 5) | {"connectorId": 2}
    post(client, "EVENT_DATA", notice)

    result = inbox_work()

    assert (result.outcomes[InboundStatus.PROCESSED], result.outcomes[InboundStatus.FAILED]) == (1, 1)
    assert OrderSample.objects.count() == 1


def test_an_outsider_is_refused_as_an_outsider_whatever_the_size_of_its_body(client, settings, db):
    settings.TOMDA_PUSH_ALLOWED_IPS = ["203.0.113.7"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    answer = reply(client.post(URL, b"x" * 2000, content_type="application/json", REMOTE_ADDR="192.0.2.1"), status=403)

    assert answer["errorCode"] == "2001"
    assert InboundMessage.objects.get().reject_reason == RejectReason.SENDER


def test_replaying_a_chain_of_copies_applies_the_push_once(operator_client, charging_order):
    # Given a push stored, a copy of it, the push refused when applied (its charger gone for a moment), and
    # Tomda's next copy applied once the charger is back
    client = operator_client
    charger = charging_order.charger
    post(client, "WORK_DATA", work_data(charging_order))
    post(client, "WORK_DATA", work_data(charging_order), time="2026-11-21 10:05:00")
    refused, copy = InboundMessage.objects.order_by("id")
    serial = charger.serial
    charger.serial = "1012300099"
    charger.save()
    inbox_drain()
    charger.serial = serial
    charger.save()
    post(client, "WORK_DATA", work_data(charging_order))
    inbox_drain()
    refused.refresh_from_db()
    assert refused.status == InboundStatus.REJECTED and OrderSample.objects.count() == 1

    # When an operator replays the refused push and its copy together
    response = client.post("/admin/integrations/inboundmessage/",
                           {"action": "replay", "_selected_action": [refused.pk, copy.pk]}, follow=True)

    # Then both are found applied already, and nothing is applied twice
    texts = [str(message) for message in response.context["messages"]]
    assert len(texts) == 1 and "applied already" in texts[0]
    assert OrderSample.objects.count() == 1
    refused.refresh_from_db()
    assert (refused.status, refused.reject_reason, refused.error) == (InboundStatus.DUPLICATE, "", "")
    assert InboundMessage.objects.get(pk=copy.pk).duplicate_of_id == refused.duplicate_of_id


def test_an_older_answer_to_a_tariff_push_does_not_overwrite_a_newer_one(client, ev_charger):
    version = ev_charger.station.tariff_template.versions.get()
    sent = ChargerTariffPush.objects.create(charger=ev_charger, tariff_version=version, requested_at=SESSION_START)
    answer = {"serialNum": ev_charger.serial, "clientElecFeeModelId": version.template.external_id}
    post(client, "PUSH_ELEC_FEE_RESULT", answer | {"pushResult": 1}, time="2026-11-21 10:05:00")
    post(client, "PUSH_ELEC_FEE_RESULT", answer | {"pushResult": 0}, time="2026-11-21 10:01:00")

    inbox_drain()

    sent.refresh_from_db()
    assert sent.result == TariffPushResult.ACCEPTED
    assert sent.answered_at == dt.datetime(2026, 11, 21, 2, 5, tzinfo=dt.UTC)


def test_a_settlement_of_a_session_longer_than_a_month_is_refused(client, charging_order):
    content = {"serialNum": charging_order.charger.serial, "clientOrderId": charging_order.order_no,
               "chargeStartTime": "2026-10-01 00:00:00", "chargeEndTime": "2026-11-21 10:00:00", "chargeEnergy": 1}

    answer = reply(post(client, "ORDER_DATA", content))

    assert answer["errorCode"] == "1401" and "chargeEndTime" in answer["errorDesc"]


def test_a_content_length_that_is_not_a_number_is_refused_and_kept(client, charging_order):
    body = json.dumps({"type": "WORK_DATA", "time": "", "content": work_data(charging_order)})

    answer = reply(client.post(URL, body, content_type="application/json", CONTENT_LENGTH="abc"), status=413)

    assert answer["errorCode"] == "1401"
    assert InboundMessage.objects.get().reject_reason == RejectReason.MALFORMED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="NOTIFY is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_stored_push_wakes_the_workers_listening(client, charging_order, monkeypatch):
    import psycopg

    from integrations.inbox import receiver

    monkeypatch.setattr(receiver, "_last_notified", 0.0)  # no wake-up sent lately by this process
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as listener:
        listener.execute("LISTEN inbox")

        post(client, "WORK_DATA", work_data(charging_order))

        woken = list(listener.notifies(timeout=5, stop_after=1))
    assert [notification.channel for notification in woken] == ["inbox"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks held by another connection")
@pytest.mark.django_db(transaction=True)
def test_pushes_about_a_charger_held_elsewhere_never_hold_back_the_rest(client, charging_order, ebike_charger):
    import psycopg

    from tests.orders.factories import OrderFactory

    other = OrderFactory(connector=ebike_charger.connectors.get(number=1), status="charging",
                         started_at=SESSION_START, ended_at=None, energy_wh=0)
    for minute in (1, 2, 3):
        post(client, "WORK_DATA", work_data(charging_order, minutes=minute, energy_wh=minute * 100))
    post(client, "WORK_DATA", {"serialNum": ebike_charger.serial,
                               "workDataInfo": [work_item(other, minutes=1, energy_wh=10, connector_id=1)]})
    with psycopg.connect(**connection.get_connection_params()) as holder:
        holder.execute("SELECT id FROM chargers_charger WHERE id = %s FOR UPDATE", [charging_order.charger_id])

        result = inbox_work(batch_size=3)

        holder.rollback()
    assert (result.deferred, result.outcomes[InboundStatus.PROCESSED]) == (3, 1)
    assert Order.objects.get(pk=other.pk).energy_wh == 10


def test_a_replay_follows_a_chain_of_duplicates_to_the_push_that_was_applied(client, charging_order):
    # Given a push applied, a row kept as its duplicate, and a copy of that duplicate (a chain)
    post(client, "WORK_DATA", work_data(charging_order))
    inbox_drain()
    applied = InboundMessage.objects.get()
    middle = InboundMessageFactory(vendor="tomda", kind="WORK_DATA", body=applied.body, dedupe_key=applied.dedupe_key,
                                   duplicate_of=applied, status=InboundStatus.DUPLICATE)
    last = InboundMessageFactory(vendor="tomda", kind="WORK_DATA", body=applied.body, dedupe_key=applied.dedupe_key,
                                 duplicate_of=middle, status=InboundStatus.DUPLICATE)

    replayed = inbound_replay(message=last)
    assert (replayed.message.pk, replayed.already_applied) == (applied.pk, True)
    assert OrderSample.objects.count() == 1
