"""Redis, the task broker, loses everything it held (restarted without persistence, failed over to an empty
replica, flushed by mistake) before any worker took the delivery tasks in it.

Tasks go to Redis as in production (a database of the fault tests' own, emptied before and after); the
partner is the partner simulator's receiver over real HTTP, noting every POST as it came. The broker is emptied
with FLUSHDB while no worker runs; then a task cluster (`manage.py qcluster`, Redis as its broker) starts, and the
sweeper runs as a task, as its schedule enqueues it every minute.

What must hold: the outbox in the database, not the broker, is what guarantees a delivery. The tasks lost with
Redis are nothing the cluster can find, yet the sweeper enqueues every delivery still waiting, and each arrives
once (a stable id on the wire, one successful attempt in our table).
"""

import time
from collections import Counter

import pytest
from django.db import transaction
from django_q.tasks import async_task

from integrations.models import DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.partnerkit.callbacks import order_callback_start
from tests.faults.conftest import FAULTS_REDIS_URL
from tests.helpers import WireReceiver, eventually

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = 6
QUEUE = "django_q:charging:q"  # the list django-q2 keeps a cluster's tasks in (Q_CLUSTER name "charging")


def test_delivery_tasks_lost_with_the_broker_are_sent_by_the_sweeper_each_once(
        redis_broker, task_cluster, partner_sessions):
    with WireReceiver() as receiver:
        # Given a partner's six sessions, and their start callbacks written, each in its own transaction: one send
        # task each waits in Redis, no worker running yet
        sessions = partner_sessions(SESSIONS, callback_url=receiver.url)
        for order in sessions:
            with transaction.atomic():
                order_callback_start(order=order)
        keys = [f"partner:DIDI:{order.order_no}:start" for order in sessions]
        assert redis_broker.llen(QUEUE) == SESSIONS

        # When Redis loses everything it held
        redis_broker.flushdb()

        # ... and a task cluster starts: it finds nothing to do
        task_cluster(Q_WORKERS="2", REDIS_URL=FAULTS_REDIS_URL)
        eventually(lambda: redis_broker.keys("django_q:charging:cluster:*"), timeout=30, interval=0.1)
        time.sleep(1)
        assert receiver.arrivals == []
        assert set(OutboundDelivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 0)}

        # When the sweeper runs (its schedule enqueues it as a task through the broker)
        async_task("integrations.tasks.deliveries_sweep")

        # Then every callback arrives, each once, and in our table is delivered by one successful attempt
        eventually(lambda: not OutboundDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists(),
                   timeout=30, interval=0.1)
        assert Counter(notify_id for notify_id, _header, _kind in receiver.arrivals) == Counter(keys)
        assert sorted(callback.notify_id for callback in receiver.callbacks()) == sorted(keys)
        successes = Counter(DeliveryAttempt.objects.filter(succeeded=True).values_list("delivery__key", flat=True))
        assert successes == Counter(keys)
        assert set(OutboundDelivery.objects.values_list("attempts", flat=True)) == {1}
        assert redis_broker.llen(QUEUE) == 0
