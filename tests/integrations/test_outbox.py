"""The outbox: written in the business transaction, sent after it commits, retried, given up, retried by people.

Tasks run inline (Q_CLUSTER sync), so a task enqueued after a commit has run by the time the commit
returns. The receiver is a real HTTP server on loopback where the transport matters, a plain function
where it does not.
"""

import datetime as dt
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation

from chargers.vendor import VendorError
from integrations import outbox, tasks
from integrations.http import HttpClient
from integrations.models import Counterparty, DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.outbox import (
    OUTBOX_BACKOFF_CAP,
    OUTBOX_HORIZON,
    OUTBOX_LEASE,
    deliveries_sweep,
    delivery_attempt,
    delivery_backoff,
    delivery_enqueue,
    delivery_handler_get,
    delivery_handler_register,
    delivery_handler_unregister,
    delivery_retry,
)
from tests.integrations.factories import OutboundDeliveryFactory

pytestmark = pytest.mark.django_db

KIND = "test.notify"


class Receiver:
    """A plain-function handler: records what it was asked to send; fails while `failure` is set."""

    def __init__(self):
        self.sent = []
        self.failure = None
        self.during = None  # called with the delivery while it is being sent

    def __call__(self, delivery):
        if self.during:
            self.during(delivery)
        if self.failure:
            raise self.failure
        self.sent.append(delivery.key)


@pytest.fixture
def receiver():
    handler = Receiver()
    delivery_handler_register(KIND, handler)
    yield handler
    delivery_handler_unregister(KIND)


class PartnerServer:
    """A partner's callback endpoint on loopback: keeps every POST, answers with `status` after `delay`
    seconds, its body `answer` (by default the partner's usual one for the status)."""

    def __init__(self):
        self.posts = []
        self.status = 200
        self.answer = None
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.posts.append({"id": self.headers["X-Delivery-Id"], "body": json.loads(body)})
                time.sleep(server.delay)
                answer = server.answer
                if answer is None:
                    answer = '{"ret": 0}' if server.status == 200 else '{"ret": 500, "msg": "busy"}'
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.url = f"{self.base_url}/notify"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def partner():
    server = PartnerServer()

    def post(delivery):
        response = requests.post(server.url, json=delivery.payload, headers={"X-Delivery-Id": delivery.key}, timeout=5)
        response.raise_for_status()
        return response

    delivery_handler_register("test.http", post)
    yield server
    delivery_handler_unregister("test.http")
    server.close()


class PartnerClient(HttpClient):
    """The partner's callbacks through the house client: `ret` 0 is a receipt, anything else a refusal."""

    vendor = Counterparty.PARTNER

    def parse(self, response, *, operation):
        answer = response.json()
        if answer.get("ret") != 0:
            raise VendorError(answer.get("msg", ""), vendor=self.vendor, code=str(answer.get("ret")))
        return answer


@pytest.fixture
def partner_client(partner):
    """Deliveries of kind test.client are sent to the partner server through a `PartnerClient`."""
    client = PartnerClient(base_url=partner.base_url, connect_timeout=1, read_timeout=2)

    def notify(delivery):
        headers = {"X-Delivery-Id": delivery.key}
        return client.request("POST", "notify", operation="notify", json_body=delivery.payload, headers=headers)

    delivery_handler_register("test.client", notify)
    yield client
    delivery_handler_unregister("test.client")


def due_again(delivery):
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def attempt_rows(delivery):
    return list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))


def enqueue(key="order-1-settled", kind=KIND, **fields):
    return delivery_enqueue(
        vendor="partner",
        kind=kind,
        key=key,
        payload=fields.pop("payload", {"orderNo": "20261121100000000001", "station": "南山站"}),
        **fields,
    )


# --- enqueue ------------------------------------------------------------------------------------------


def test_a_delivery_written_in_a_transaction_is_posted_to_the_partner_after_the_commit(
    partner, django_capture_on_commit_callbacks
):
    # Given a business transaction that writes a delivery
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        delivery = enqueue(kind="test.http", order_no="20261121100000000001", charger_serial="1012300001")
        # Then nothing leaves before the commit
        assert partner.posts == []
        # When it commits

    # Then the partner got the payload with the delivery's stable id, and the row says so
    assert partner.posts == [
        {"id": "order-1-settled", "body": {"orderNo": "20261121100000000001", "station": "南山站"}}
    ]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None
    assert (delivery.order_no, delivery.charger_serial) == ("20261121100000000001", "1012300001")


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_sends_the_delivery_and_autocommit_is_no_transaction(receiver):
    # Given no test transaction around the test: what production sees
    # When a delivery is written in a transaction
    with transaction.atomic():
        delivery = enqueue()
        assert receiver.sent == []

    # Then its commit sent it
    assert receiver.sent == [delivery.key]
    assert OutboundDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED
    # And in autocommit there is no transaction to write it in
    with pytest.raises(RuntimeError, match="inside the transaction"):
        enqueue(key="order-2-settled")


def test_a_broker_that_is_down_after_the_commit_does_not_fail_the_business_change(
    receiver, monkeypatch, django_capture_on_commit_callbacks
):
    # Given a broker that refuses every task (a transport fault)
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(outbox, "async_task", broker_down)

    # When a business transaction with a delivery commits, the caller sees no error
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        delivery = enqueue()

    # Then the row waits, due, for the sweeper, which sends it once the broker is back
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    monkeypatch.undo()
    assert deliveries_sweep() == 1
    assert receiver.sent == [delivery.key]


def test_a_rolled_back_transaction_leaves_no_delivery_and_sends_nothing(receiver, django_capture_on_commit_callbacks):
    # Given a business transaction that writes a delivery and then fails
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        enqueue()
        1 / 0  # noqa: B018

    # Then there is no row, no task was queued and nothing was sent
    assert OutboundDelivery.objects.count() == 0
    assert callbacks == []
    assert receiver.sent == []


def test_enqueueing_outside_a_transaction_is_refused_with_the_reason(receiver):
    # Given no transaction of the caller's own (the test case's blocks do not count: they never commit)
    # When a delivery is enqueued
    with pytest.raises(RuntimeError, match="inside the transaction of the change it reports"):
        enqueue()

    # Then nothing was written
    assert OutboundDelivery.objects.count() == 0


def test_enqueueing_a_key_again_returns_the_first_delivery_unchanged_and_sends_it_once(
    receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = enqueue(payload={"v": 1})
        again = enqueue(payload={"v": 2})

    assert again.pk == first.pk
    assert again.payload == {"v": 1}
    assert len(callbacks) == 1
    assert receiver.sent == ["order-1-settled"]
    assert OutboundDelivery.objects.count() == 1


def test_an_unknown_counterparty_is_refused(receiver):
    with pytest.raises(ValueError, match="Unknown counterparty"), transaction.atomic():
        delivery_enqueue(vendor="acme", kind=KIND, key="k", payload={})


# --- attempts, backoff, horizon ----------------------------------------------------------------------


def test_the_backoff_doubles_from_30_seconds_with_equal_jitter_and_stops_growing_at_6_hours():
    for attempts in range(1, 25):
        nominal = min(30 * 2 ** (attempts - 1), OUTBOX_BACKOFF_CAP.total_seconds())
        waits = [delivery_backoff(attempts=attempts, rng=random.Random(seed)).total_seconds() for seed in range(50)]
        # Never sooner than half the nominal wait, never later than all of it, and actually spread
        assert all(nominal / 2 <= wait <= nominal for wait in waits), attempts
        assert len(set(waits)) > 40


def test_the_backoff_is_reproducible_with_a_seeded_generator():
    first = [delivery_backoff(attempts=n, rng=random.Random(7)) for n in range(1, 6)]
    again = [delivery_backoff(attempts=n, rng=random.Random(7)) for n in range(1, 6)]

    assert first == again
    assert first[0] == dt.timedelta(seconds=15 + random.Random(7).uniform(0, 15))


def test_a_failed_attempt_counts_keeps_the_error_and_waits_a_jittered_backoff(receiver):
    # Given a waiting delivery whose receiver is down
    delivery = OutboundDeliveryFactory(kind=KIND)
    receiver.failure = ConnectionError("partner answered 503 Service Unavailable")
    before = timezone.now()

    # When it is attempted
    result = delivery_attempt(delivery_id=delivery.pk)
    after = timezone.now()

    # Then it still waits, with the error, for a retry between 15 and 30 seconds later
    assert result.status == DeliveryStatus.PENDING
    assert result.attempts == 1
    assert result.last_error == "partner answered 503 Service Unavailable"
    assert before + dt.timedelta(seconds=15) <= result.next_attempt_at <= after + dt.timedelta(seconds=30)
    result.refresh_from_db()
    assert result.attempts == 1


def test_the_fourth_failed_attempt_waits_between_2_and_4_minutes(receiver):
    delivery = OutboundDeliveryFactory(kind=KIND, attempts=3)
    receiver.failure = TimeoutError("read timed out")
    before = timezone.now()

    result = delivery_attempt(delivery_id=delivery.pk)

    assert result.attempts == 4
    assert before + dt.timedelta(minutes=2) <= result.next_attempt_at <= timezone.now() + dt.timedelta(minutes=4)


def test_an_attempt_after_failures_that_succeeds_delivers_the_row(receiver):
    delivery = OutboundDeliveryFactory(kind=KIND, attempts=2, last_error="read timed out")

    result = delivery_attempt(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.DELIVERED
    assert result.attempts == 3
    assert result.delivered_at is not None
    assert receiver.sent == [delivery.key]


def test_a_delivery_whose_next_attempt_would_fall_past_the_horizon_is_given_up(receiver):
    # Given a delivery created almost three days ago that fails once more
    created = timezone.now() - OUTBOX_HORIZON + dt.timedelta(seconds=10)
    delivery = OutboundDeliveryFactory(kind=KIND, created_at=created, next_attempt_at=created, attempts=20)
    receiver.failure = ConnectionError("connection refused")

    # When it is attempted
    result = delivery_attempt(delivery_id=delivery.pk)

    # Then it is dead-lettered with its last error, and nothing sends it again by itself
    assert result.status == DeliveryStatus.DEAD
    assert result.attempts == 21
    assert result.last_error == "connection refused"
    assert deliveries_sweep() == 0


def test_a_young_delivery_that_fails_is_not_given_up(receiver):
    delivery = OutboundDeliveryFactory(kind=KIND, created_at=timezone.now() - dt.timedelta(days=2))
    receiver.failure = ConnectionError("connection refused")

    assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.PENDING


def test_a_kind_without_a_handler_is_a_failed_attempt_that_names_the_kind():
    delivery = OutboundDeliveryFactory(kind="nobody.sends.this")

    result = delivery_attempt(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.PENDING
    assert result.attempts == 1
    assert "No handler is registered" in result.last_error
    assert "nobody.sends.this" in result.last_error


def test_an_exception_without_text_is_recorded_by_its_name(receiver):
    delivery = OutboundDeliveryFactory(kind=KIND)
    receiver.failure = ConnectionResetError()

    assert delivery_attempt(delivery_id=delivery.pk).last_error == "ConnectionResetError"


def test_a_partner_answering_500_over_http_is_a_failed_attempt(partner):
    delivery = OutboundDeliveryFactory(kind="test.http")
    partner.status = 500

    result = delivery_attempt(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.PENDING
    assert "500 Server Error" in result.last_error
    assert len(partner.posts) == 1


# --- the attempts' history ---------------------------------------------------------------------------


def test_a_partner_that_fails_twice_then_takes_it_leaves_one_row_per_attempt_with_its_answer(partner):
    # Given a delivery to a partner whose gateway first answers with a long error page, then with its
    # own refusal, then (slowly) takes it
    delivery = OutboundDeliveryFactory(kind="test.http")
    gateway_page = "<html><body>" + "502 Bad Gateway " * 300 + "</body></html>"
    outcomes = []
    for status, answer, delay in ((502, gateway_page, 0), (500, None, 0), (200, None, 0.05)):
        partner.status, partner.answer, partner.delay = status, answer, delay
        before = timezone.now()
        # When it is attempted each time it is due
        outcomes.append(delivery_attempt(delivery_id=delivery.pk).status)
        due_again(delivery)
    assert outcomes == [DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]

    # Then each attempt left one row: its number, time, status, the answer's first characters and error
    first, second, third = attempt_rows(delivery)
    assert [row.number for row in (first, second, third)] == [1, 2, 3]
    assert (first.succeeded, first.http_status, first.response_head) == (False, 502, gateway_page[:1000])
    assert len(first.response_head) == 1000
    assert "502 Server Error" in first.error
    assert (second.succeeded, second.http_status, second.response_head) == (False, 500, '{"ret": 500, "msg": "busy"}')
    assert "500 Server Error" in second.error
    assert (third.succeeded, third.http_status, third.response_head, third.error) == (True, 200, '{"ret": 0}', "")
    assert before <= third.started_at <= timezone.now()
    assert third.duration_ms >= 50
    assert len(partner.posts) == 3


def test_the_fields_a_handler_names_secret_are_masked_in_the_answer_its_attempt_keeps(partner):
    # Given the partner's handler registered with its answers' "token" field secret, and a partner that
    # echoes a token in its answer
    delivery_handler_register("test.http", delivery_handler_get("test.http"), redacted=frozenset({"token"}))
    delivery = OutboundDeliveryFactory(kind="test.http")
    partner.answer = '{"ret": 0, "token": "s3cr3t-token"}'

    # When it is delivered
    delivery_attempt(delivery_id=delivery.pk)

    # Then the attempt keeps the answer with the token masked
    [row] = attempt_rows(delivery)
    assert row.succeeded and "s3cr3t-token" not in row.response_head
    assert json.loads(row.response_head) == {"ret": 0, "token": "***"}


def test_a_refusal_through_the_http_client_keeps_the_partners_status_and_answer(partner, partner_client):
    # Given a partner that answers 200 with its own refusal code
    delivery = OutboundDeliveryFactory(kind="test.client")
    partner.answer = '{"ret": 4001, "msg": "订单不存在"}'

    # When the delivery is attempted through the HTTP client
    result = delivery_attempt(delivery_id=delivery.pk)

    # Then the attempt failed with the partner's words, and its row keeps what the partner answered
    assert result.status == DeliveryStatus.PENDING
    [row] = attempt_rows(delivery)
    assert (row.succeeded, row.http_status, row.response_head) == (False, 200, '{"ret": 4001, "msg": "订单不存在"}')
    assert row.error == result.last_error == "[4001] 订单不存在"


def test_a_transport_fault_is_an_attempt_without_an_answer_that_keeps_the_error(partner, partner_client, monkeypatch):
    # Given a partner that cannot be reached in time (the fault injected into the client's session)
    def unreachable(*args, **kwargs):
        raise requests.ConnectTimeout("connect timed out")

    monkeypatch.setattr(partner_client.session, "request", unreachable)
    delivery = OutboundDeliveryFactory(kind="test.client")

    # When it is attempted
    result = delivery_attempt(delivery_id=delivery.pk)

    # Then the attempt's row has the error and no status or answer
    [row] = attempt_rows(delivery)
    assert (row.number, row.succeeded, row.http_status, row.response_head) == (1, False, None, "")
    assert "no answer in time" in row.error
    assert row.error == result.last_error
    assert partner.posts == []


def test_a_plain_function_handler_and_a_missing_one_leave_rows_too(receiver):
    # Given a handler that returns nothing, and a kind that has none
    sent = OutboundDeliveryFactory(kind=KIND)
    orphan = OutboundDeliveryFactory(kind="nobody.sends.this")

    # When both are attempted
    delivery_attempt(delivery_id=sent.pk)
    delivery_attempt(delivery_id=orphan.pk)

    # Then each attempt has its row, without an answer
    [success] = attempt_rows(sent)
    assert (success.succeeded, success.http_status, success.response_head, success.error) == (True, None, "", "")
    [failure] = attempt_rows(orphan)
    assert (failure.succeeded, failure.http_status) == (False, None)
    assert "No handler is registered" in failure.error


def test_an_attempt_row_is_written_in_the_transaction_that_records_the_deliverys_state(receiver, monkeypatch):
    # Given an attempt whose result cannot be recorded on the delivery (the database fails meanwhile)
    delivery = OutboundDeliveryFactory(kind=KIND)

    def database_fails(*args, **kwargs):
        raise DatabaseError("connection lost")

    receiver.during = lambda sending: monkeypatch.setattr(OutboundDelivery, "save", database_fails)

    # When it is attempted
    with pytest.raises(DatabaseError):
        delivery_attempt(delivery_id=delivery.pk)

    # Then no attempt row is left behind without the delivery's state it belongs with
    assert DeliveryAttempt.objects.count() == 0


def test_a_deliverys_attempts_are_deleted_with_it(receiver):
    delivery = OutboundDeliveryFactory(kind=KIND)
    delivery_attempt(delivery_id=delivery.pk)
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1

    OutboundDelivery.objects.filter(pk=delivery.pk).delete()

    assert DeliveryAttempt.objects.count() == 0


# --- claims: one attempt at a time --------------------------------------------------------------------


def test_a_row_that_is_not_due_is_left_alone(receiver):
    # Given a delivery another worker has claimed (its lease puts the next attempt in the future)
    delivery = OutboundDeliveryFactory(kind=KIND, attempts=1, next_attempt_at=timezone.now() + dt.timedelta(minutes=4))

    # When a second task for it runs
    result = delivery_attempt(delivery_id=delivery.pk)

    # Then it neither sends nor counts an attempt
    assert receiver.sent == []
    assert result.attempts == 1
    assert result.next_attempt_at == delivery.next_attempt_at


def test_delivered_and_given_up_rows_are_not_attempted(receiver):
    delivered = OutboundDeliveryFactory(kind=KIND, status=DeliveryStatus.DELIVERED, attempts=1)
    dead = OutboundDeliveryFactory(kind=KIND, status=DeliveryStatus.DEAD, attempts=9)

    assert delivery_attempt(delivery_id=delivered.pk).attempts == 1
    assert delivery_attempt(delivery_id=dead.pk).attempts == 9
    assert receiver.sent == []


def test_while_a_delivery_is_being_sent_it_is_leased_and_a_second_worker_does_not_send_it(receiver):
    # Given a due delivery, and a second worker that tries the same row while the first is sending it
    delivery = OutboundDeliveryFactory(kind=KIND)
    seen = {}

    def second_worker(sending):
        row = OutboundDelivery.objects.get(pk=sending.pk)
        seen["attempts"], seen["next_attempt_at"] = row.attempts, row.next_attempt_at
        seen["second"] = delivery_attempt(delivery_id=sending.pk)

    receiver.during = second_worker
    started = timezone.now()

    # When the first worker sends it
    result = delivery_attempt(delivery_id=delivery.pk)

    # Then during the send the row was claimed for the lease, the second worker left it alone,
    # and it was sent exactly once
    assert seen["attempts"] == 1
    assert seen["next_attempt_at"] >= started + OUTBOX_LEASE
    assert seen["second"].attempts == 1
    assert receiver.sent == [delivery.key]
    assert result.status == DeliveryStatus.DELIVERED


def test_a_late_failure_does_not_undo_a_delivery_recorded_meanwhile(receiver):
    # Given an attempt that fails after another attempt (a person's retry) delivered the row
    delivery = OutboundDeliveryFactory(kind=KIND)

    def delivered_meanwhile(sending):
        OutboundDelivery.objects.filter(pk=sending.pk).update(
            status=DeliveryStatus.DELIVERED, delivered_at=timezone.now(), attempts=2
        )

    receiver.during = delivered_meanwhile
    receiver.failure = TimeoutError("read timed out")

    # When the failure is recorded
    result = delivery_attempt(delivery_id=delivery.pk)

    # Then the row stays delivered, and the failed attempt is kept all the same
    assert result.status == DeliveryStatus.DELIVERED
    assert result.last_error == ""
    [row] = attempt_rows(delivery)
    assert (row.number, row.succeeded, row.error) == (1, False, "read timed out")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks held by another connection")
@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_a_row_another_worker_holds_locked_instead_of_waiting(receiver):
    # Given a due delivery whose row another worker holds locked (it is claiming it right now)
    delivery = OutboundDeliveryFactory(kind=KIND)
    results = {}

    def worker():
        try:
            results["row"] = delivery_attempt(delivery_id=delivery.pk)
        finally:
            connection.close()

    second = threading.Thread(target=worker)
    with transaction.atomic():
        OutboundDelivery.objects.select_for_update().get(pk=delivery.pk)
        # When a second worker attempts it meanwhile
        second.start()
        second.join(timeout=10)
        # (a worker waiting for the lock would still be alive here: the lock is held until this block ends)
        still_running = second.is_alive()
    second.join(timeout=10)

    # Then it returned at once without waiting for the lock, sending or counting an attempt
    assert not still_running
    assert results["row"].attempts == 0
    assert receiver.sent == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


# --- the sweeper -----------------------------------------------------------------------------------


def test_the_sweeper_sends_only_waiting_rows_that_are_due(receiver):
    # Given rows in every state, due and not
    now = timezone.now()
    due = OutboundDeliveryFactory(kind=KIND, next_attempt_at=now - dt.timedelta(minutes=1), attempts=1)
    OutboundDeliveryFactory(kind=KIND, next_attempt_at=now + dt.timedelta(minutes=1), attempts=1)
    OutboundDeliveryFactory(kind=KIND, status=DeliveryStatus.DEAD, next_attempt_at=now - dt.timedelta(hours=1))
    OutboundDeliveryFactory(kind=KIND, status=DeliveryStatus.DELIVERED, next_attempt_at=now - dt.timedelta(hours=1))

    # When the sweeper runs (its tasks run inline)
    swept = deliveries_sweep(now=now)

    # Then only the due waiting row was enqueued and sent
    assert swept == 1
    assert receiver.sent == [due.key]
    due.refresh_from_db()
    assert due.status == DeliveryStatus.DELIVERED


def test_the_sweeper_takes_the_longest_waiting_rows_first_up_to_its_limit(receiver):
    now = timezone.now()
    rows = [
        OutboundDeliveryFactory(kind=KIND, next_attempt_at=now - dt.timedelta(minutes=minutes))
        for minutes in (1, 30, 10)
    ]

    assert deliveries_sweep(now=now, limit=2) == 2
    assert receiver.sent == [rows[1].key, rows[2].key]


def test_a_delivery_whose_task_the_broker_lost_is_sent_by_the_next_sweep(receiver, django_capture_on_commit_callbacks):
    # Given a committed delivery whose send task never ran (the broker lost it)
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        delivery = enqueue()
    assert receiver.sent == []

    # When the sweeper task runs
    assert tasks.deliveries_sweep() == 1

    # Then it is delivered
    assert receiver.sent == [delivery.key]


# --- a person's retry ---------------------------------------------------------------------------------


def test_retrying_a_given_up_delivery_sends_it_now(receiver, django_capture_on_commit_callbacks):
    dead = OutboundDeliveryFactory(
        kind=KIND,
        status=DeliveryStatus.DEAD,
        attempts=21,
        last_error="connection refused",
        created_at=timezone.now() - dt.timedelta(days=4),
    )

    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(delivery=dead, by_name="值班员")

    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DELIVERED
    assert dead.attempts == 22
    assert receiver.sent == [dead.key]


def test_a_retried_delivery_past_its_horizon_that_fails_again_is_given_up_again(
    receiver, django_capture_on_commit_callbacks
):
    dead = OutboundDeliveryFactory(
        kind=KIND, status=DeliveryStatus.DEAD, attempts=21, created_at=timezone.now() - dt.timedelta(days=4)
    )
    receiver.failure = ConnectionError("still refused")

    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(delivery=dead, by_name="值班员")

    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.last_error) == (DeliveryStatus.DEAD, 22, "still refused")


def test_retrying_a_waiting_delivery_skips_its_backoff(receiver, django_capture_on_commit_callbacks):
    waiting = OutboundDeliveryFactory(kind=KIND, attempts=5, next_attempt_at=timezone.now() + dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(delivery=waiting, by_name="值班员")

    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.DELIVERED
    assert waiting.attempts == 6


def test_retrying_a_delivered_delivery_is_refused_in_words(receiver, django_capture_on_commit_callbacks):
    delivered = OutboundDeliveryFactory(kind=KIND, status=DeliveryStatus.DELIVERED, key="order-9-settled")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ValidationError) as excinfo:
        delivery_retry(delivery=delivered, by_name="值班员")

    with translation.override("en"):
        assert "order-9-settled was already delivered" in " ".join(excinfo.value.messages)
    assert callbacks == []
    assert receiver.sent == []


# --- tasks ------------------------------------------------------------------------------------------


def test_the_send_task_attempts_the_delivery_and_reports_its_status(receiver):
    delivery = OutboundDeliveryFactory(kind=KIND)

    assert tasks.delivery_send(delivery.pk) == DeliveryStatus.DELIVERED
    assert tasks.delivery_send(delivery.pk) == DeliveryStatus.DELIVERED  # a second run sends nothing more
    assert receiver.sent == [delivery.key]


def test_the_send_task_of_a_missing_row_does_nothing():
    assert tasks.delivery_send(987654) is None


def test_sending_runs_outside_the_lease_transaction(receiver):
    """The handler's network I/O must not hold the row lock: it runs after the claim committed."""
    delivery = OutboundDeliveryFactory(kind=KIND)
    depth = {}
    outer = len(connection.atomic_blocks)
    receiver.during = lambda sending: depth.setdefault("blocks", len(connection.atomic_blocks))

    delivery_attempt(delivery_id=delivery.pk)

    assert depth["blocks"] == outer
