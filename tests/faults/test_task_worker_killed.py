"""A task cluster (`manage.py qcluster`) killed with SIGKILL while it sends partner callbacks (the OOM killer,
a machine lost, `kill -9` during a deploy).

The cluster is a process group of its own on the test database, with django-q2's ORM broker on PostgreSQL and
one worker; the partner is the partner simulator's receiver over real HTTP, noting every POST as it came, and
holding one chosen callback without answering, so that the kill lands while that callback is on the wire. The
cluster is then started again, and the sweeper runs as its schedule would (here every half second).

What "once" means here: delivery is at least once on the wire and exactly once in our state. The callback in
flight when the cluster died had reached the partner, but we never heard its answer, so it is sent again; it
carries the same stable id (body and X-Notify-Id header) both times, and the partner drops the copy. In our
table every delivery ends delivered, by exactly one successful attempt, and none is lost: the claim's lease runs
out and the sweeper enqueues the row again, and a task the dead cluster had taken from the broker without running
it is made up for the same way.
"""

import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django_q.tasks import async_task

from integrations.models import DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.partnerkit.callbacks import order_callback_start
from tests.helpers import WireReceiver

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the ORM broker and the claims shared by processes"),
    pytest.mark.django_db(transaction=True),
]

SESSIONS = 8
HELD = 3  # the third session's start callback is the one on the wire when the cluster dies
LEASE_SECONDS = "3"  # the cluster's OUTBOX_LEASE: the held callback is due again three seconds after its claim


class HoldingReceiver(WireReceiver):
    """The partner's receiver, holding the first POST of the notifyId `hold` names until `release()`: it has the
    request, and answers only when released. What it held it then keeps, as a partner that took the callback would."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.held: str | None = None
        self.holding = threading.Event()
        self._released = threading.Event()

    def hold(self, notify_id: str) -> None:
        self.held = notify_id

    def app(self, request):
        if request.headers.get("X-Notify-Id") == self.held and not self.holding.is_set():
            self.holding.set()
            self._released.wait(timeout=60)
        return super().app(request)

    def release(self) -> None:
        self._released.set()


def sweep_until(condition, *, timeout: float) -> None:
    """Run the sweeper as a task every half second, as the cluster's schedule does every minute, until
    `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not so within {timeout} s"
        async_task("integrations.tasks.deliveries_sweep")
        time.sleep(0.5)


def test_a_task_cluster_killed_mid_send_loses_no_callback_and_records_none_twice(
        orm_broker, task_cluster, partner_sessions):
    # Given a partner's eight sessions, and the partner's receiver holding the third one's start callback
    with HoldingReceiver() as receiver:
        sessions = partner_sessions(SESSIONS, callback_url=receiver.url)
        keys = [f"partner:DIDI:{order.order_no}:start" for order in sessions]
        receiver.hold(keys[HELD - 1])

        # ... and a task cluster of one worker running
        first = task_cluster(Q_WORKERS="1", OUTBOX_LEASE_SECONDS=LEASE_SECONDS)

        # When the sessions' start callbacks are written, each in its own transaction, and so enqueued
        for order in sessions:
            with transaction.atomic():
                order_callback_start(order=order)

        # ... and the cluster is killed (its whole process group, SIGKILL) while the held callback is on the wire
        assert receiver.holding.wait(timeout=60), first.log()
        first.kill()
        receiver.release()

        # Then our table does not take it for delivered: it is claimed (one attempt counted), without a result
        in_flight = OutboundDelivery.objects.get(key=receiver.held)
        assert (in_flight.status, in_flight.attempts) == (DeliveryStatus.PENDING, 1)
        assert not DeliveryAttempt.objects.filter(delivery=in_flight).exists()
        # ... and callbacks after it wait for a cluster
        assert OutboundDelivery.objects.exclude(key=in_flight.key).exclude(status=DeliveryStatus.DELIVERED).exists()

        # When the cluster is started again and the sweeper runs
        task_cluster(Q_WORKERS="1", OUTBOX_LEASE_SECONDS=LEASE_SECONDS)
        sweep_until(lambda: not OutboundDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists(),
                    timeout=60)

        # Then every callback is delivered, in our table by exactly one successful attempt
        rows = OutboundDelivery.objects.filter(key__in=keys)
        assert rows.count() == SESSIONS
        assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
        successes = Counter(DeliveryAttempt.objects.filter(succeeded=True).values_list("delivery__key", flat=True))
        assert successes == Counter(keys)
        assert not DeliveryAttempt.objects.filter(succeeded=False).exists()
        # ... the one in flight took a second claim, the others one
        assert dict(rows.values_list("key", "attempts")) == {key: 2 if key == receiver.held else 1 for key in keys}

        # ... on the wire, the one in flight came twice under the same id, in its body and its header alike, and
        # every other callback once; the partner kept each once, dropping the copy
        wire = Counter(notify_id for notify_id, _header, _kind in receiver.arrivals)
        assert wire == Counter({key: 2 if key == receiver.held else 1 for key in keys})
        assert {(notify_id, header) for notify_id, header, _kind in receiver.arrivals} == {(k, k) for k in keys}
        assert sorted(callback.notify_id for callback in receiver.callbacks()) == sorted(keys)
        assert receiver.duplicates == 1
