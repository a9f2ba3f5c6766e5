"""`manage.py inbox_worker` as it runs in production: real processes sharing the stored pushes on PostgreSQL.

Pushes are stored through the real receiver, then applied by worker processes started as an operator
would start them. A test that holds a lock from a connection of its own stops a worker at a chosen
point of its batch, so a kill or a SIGTERM lands exactly there: a worker applies a batch's readings
first and its other news after, so holding back event inserts stops it after the readings' samples
are written.
"""

import datetime as dt
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
import requests
from django.db import connection
from django.urls import reverse

from chargers.models import Charger, ChargerEvent, ChargerTariffPush, Connector, ConnectorStatus
from integrations.models import InboundMessage, InboundStatus
from orders.models import Order, OrderSample, OrderStatus
from tests.helpers import charging_orders, eventually, inbox_workers, tomda_body, work_data, wsgi_server
from tests.integrations.tomda.conftest import SESSION_START, local

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="proves SKIP LOCKED and row locks across processes"),
    pytest.mark.django_db(transaction=True),
]


# --- Tomda pushes, as the bytes Tomda sends ------------------------------------------------------------


def event_data(charger, *, state: str, minutes: int) -> str:
    return tomda_body("EVENT_DATA", {
        "serialNum": charger.serial,
        "eventSource": "CHARGER_PLUG",
        "connectorId": 1,
        "eventInfo": [{"eventCode": "TOMDA_EV_FAULT_ES", "eventName": "急停", "eventStatus": state,
                       "deviceTime": local(SESSION_START + dt.timedelta(minutes=minutes))}],
    })


def device_info(charger, *, firmware: str) -> str:
    return tomda_body("DEVICE_INFO", {
        "deviceType": "CHARGER",
        "deviceInfo": {
            "serialNum": charger.serial, "lost": 0, "connectorCount": 1, "chargerStatus": "CHARGING",
            "chargerDeviceType": "TOMDA_EV7K_T4", "firmwareVersion": firmware,
            "connectorInfo": [{"connectorId": "1", "connectorStatus": "CHARGING"}],
        },
    }, time="2026-11-21 12:00:00")


def order_data(order, *, energy_wh: int, cost: int) -> str:
    return tomda_body("ORDER_DATA", {
        "serialNum": order.charger.serial, "connectorId": 0, "clientOrderId": order.order_no,
        "chargeStartTime": local(SESSION_START), "chargeEndTime": local(SESSION_START + dt.timedelta(hours=2)),
        "chargeEnergy": energy_wh, "chargeTime": 7200, "chargeCost": cost, "orderStatus": "CLOSED",
        "closeType": "EBIKE_SOCLIMITREACHED",
    }, time="2026-11-21 12:00:00")


def fee_result(charger, external_id: str) -> str:
    return tomda_body("PUSH_ELEC_FEE_RESULT", {"serialNum": charger.serial, "clientElecFeeModelId": external_id,
                                               "pushResult": 1}, time="2026-11-21 12:00:00")


def post(client, body: str) -> None:
    response = client.post(reverse("tomda_push"), body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["errorCode"] == "200", response.json()


# --- worker processes and the database seen from outside the test ---------------------------------------


@contextmanager
def outside_connection():
    """A connection of the test's own, beside Django's, for locks a worker must meet."""
    outside = psycopg.connect(**connection.get_connection_params())
    try:
        yield outside
    finally:
        outside.rollback()
        outside.close()


def hold_event_inserts(outside) -> None:
    """Make every insert of a charger event wait until `outside` ends its transaction."""
    outside.execute("LOCK TABLE chargers_chargerevent IN SHARE MODE")


def worker_connections() -> int:
    """Connections the inbox workers hold (each has one to work on and one listening)."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as probe:
        (count,) = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND application_name = 'inbox_worker'").fetchone()
    return count


def lock_waiters() -> list[int]:
    """The pids of the test database's backends waiting for a lock now."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as probe:
        return [pid for (pid,) in probe.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )]


def waiting_on_lock(*, count: int = 1, timeout: float = 30) -> list[int]:
    """The pids of backends waiting for a lock, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = lock_waiters()
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    pytest.fail(f"{count} backend(s) should be waiting for a lock within {timeout} s")


def gone(pid: int, *, timeout: float = 30) -> None:
    """Wait until backend `pid` has ended (a killed client's backend ends once it runs again)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as probe:
        while probe.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            if time.monotonic() > deadline:
                pytest.fail(f"backend {pid} is still there after {timeout} s")
            time.sleep(0.05)


def all_processed() -> bool:
    return not InboundMessage.objects.filter(status=InboundStatus.RECEIVED).exists()


# --- two workers share the work ---------------------------------------------------------------------------


def test_two_workers_apply_two_thousand_mixed_pushes_each_exactly_once(client, tmp_path):
    # Given 20 chargers with a session each, and 2,000 pushes stored in a random order: 85 readings a
    # session, a fault and its recovery and a device report a charger, a settlement for every other
    # session, and exact copies of some of them sent again
    orders = charging_orders(20)
    readings = {(order.pk, minute): minute * 100 for order in orders for minute in range(1, 86)}
    by_pk = {order.pk: order for order in orders}
    settled = {order.pk: (9_000 + n, 1_000 + n) for n, order in enumerate(orders[::2])}  # energy, cost
    bodies = [work_data(by_pk[pk], minutes=minute, energy_wh=wh) for (pk, minute), wh in readings.items()]
    for n, order in enumerate(orders):
        bodies += [event_data(order.charger, state="HAPPENING", minutes=10),
                   event_data(order.charger, state="RECOVERED", minutes=20),
                   device_info(order.charger, firmware=f"F3.{n}")]
    bodies += [order_data(by_pk[pk], energy_wh=wh, cost=cost) for pk, (wh, cost) in settled.items()]
    distinct = len(bodies)
    rng = random.Random(20261121)
    bodies += rng.sample(bodies, 2_000 - distinct)
    rng.shuffle(bodies)
    for body in bodies:
        post(client, body)
    assert InboundMessage.objects.filter(status=InboundStatus.RECEIVED).count() == distinct

    # When two worker processes start at the same instant (both wait behind a table lock the test
    # holds, so neither has a head start) and run until nothing waits
    with outside_connection() as outside, inbox_workers(tmp_path, 2, "--idle-exit", "--batch-size", "100") as pair:
        outside.execute("LOCK TABLE integrations_inboundmessage IN EXCLUSIVE MODE")
        waiting_on_lock(count=2)
        outside.commit()
        codes = [worker.wait(timeout=120) for worker in pair]

        # Then both took part, and between them every push was applied once
        assert codes == [0, 0], [worker.log() for worker in pair]
        shares = [worker.processed() for worker in pair]
    assert all(share > 0 for share in shares), shares
    assert sum(shares) == distinct
    assert InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).count() == 2_000 - distinct
    rows = InboundMessage.objects.exclude(status=InboundStatus.DUPLICATE)
    assert set(rows.values_list("status", "attempts").distinct()) == {(InboundStatus.PROCESSED, 1)}
    assert rows.count() == distinct
    # ... each reading is one sample, and each session stands at its highest reading or its settlement
    assert OrderSample.objects.count() == len(readings)
    for order in Order.objects.filter(pk__in=by_pk):
        assert order.samples.count() == 85
        if order.pk in settled:
            assert order.status == OrderStatus.SETTLED
            assert (order.energy_wh, order.vendor_total_fen) == settled[order.pk]
        else:
            assert (order.status, order.energy_wh) == (OrderStatus.CHARGING, 8_500)
    # ... each event is kept once and each device report applied
    assert ChargerEvent.objects.count() == 2 * len(orders)
    assert sorted(Charger.objects.values_list("firmware_version", flat=True)) == sorted(
        f"F3.{n}" for n in range(len(orders))
    )


def test_two_workers_meeting_the_first_reports_of_new_chargers_create_each_charger_once(client, tmp_path):
    # Given 40 reports each of 5 chargers we do not have, a minute apart, stored in a random order
    serials = [f"10125{n:05d}" for n in range(5)]
    bodies = [
        tomda_body("DEVICE_INFO", {"deviceType": "CHARGER", "deviceInfo": {
            "serialNum": serial, "lost": 0, "chargerStatus": "FREE", "chargerDeviceType": "TOMDA_EB10_T1",
            "connectorInfo": [{"connectorId": c, "connectorStatus": "FREE"} for c in range(1, 11)],
        }}, time=local(SESSION_START + dt.timedelta(minutes=minute)))
        for serial in serials for minute in range(40)
    ]
    random.Random(5).shuffle(bodies)
    for body in bodies:
        post(client, body)

    # When two workers start at the same instant, in small batches so that both meet every charger
    with outside_connection() as outside, inbox_workers(tmp_path, 2, "--idle-exit", "--batch-size", "10") as pair:
        outside.execute("LOCK TABLE integrations_inboundmessage IN EXCLUSIVE MODE")
        waiting_on_lock(count=2)
        outside.commit()
        codes = [worker.wait(timeout=120) for worker in pair]
        assert codes == [0, 0], [worker.log() for worker in pair]

    # Then each charger exists once, awaiting a station, with its ten connectors once, and every report applied
    assert sorted(Charger.objects.filter(station__isnull=True).values_list("serial", flat=True)) == serials
    assert Connector.objects.count() == 5 * 10
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}, list(
        InboundMessage.objects.exclude(status=InboundStatus.PROCESSED).values_list("error", flat=True)[:3]
    )
    last = SESSION_START + dt.timedelta(minutes=39)
    assert set(Charger.objects.values_list("last_seen_at", flat=True)) == {last}


# --- a worker dies mid-batch --------------------------------------------------------------------------------


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(client, tmp_path):
    # Given readings and a fault stored for a charger, and event inserts held back by another connection:
    # a worker applies the readings, then waits to record the fault
    (order,) = charging_orders(1)
    charger = order.charger
    readings = [work_data(order, minutes=minute, energy_wh=minute * 100) for minute in range(1, 11)]
    for body in [*readings, event_data(charger, state="HAPPENING", minutes=30)]:
        post(client, body)
    with outside_connection() as outside, inbox_workers(tmp_path, 1, "--idle-exit") as (worker,):
        hold_event_inserts(outside)
        (blocked,) = waiting_on_lock()
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as probe:
            writing_samples = probe.execute(
                "SELECT 1 FROM pg_locks JOIN pg_class ON pg_class.oid = relation"
                " WHERE pid = %s AND relname = 'orders_ordersample' AND mode = 'RowExclusiveLock'", [blocked],
            ).fetchone()
        assert writing_samples, "the worker should be stopped after writing its samples"

        # When the worker is killed there, and the lock released
        worker.kill()
        outside.rollback()
        gone(blocked)

    # Then none of its batch is applied, and every push still waits as it was
    assert OrderSample.objects.count() == 0
    assert set(InboundMessage.objects.values_list("status", "attempts").distinct()) == {(InboundStatus.RECEIVED, 0)}

    # When the sender, meanwhile, sends a reading again
    post(client, readings[3])

    # Then it is kept as a copy of the push still waiting, which stays waiting
    copy = InboundMessage.objects.latest("id")
    assert copy.status == InboundStatus.DUPLICATE
    assert copy.duplicate_of.status == InboundStatus.RECEIVED

    # When a worker starts again
    with inbox_workers(tmp_path, 1, "--idle-exit") as (worker,):
        assert worker.wait(timeout=120) == 0, worker.log()

    # Then every reading is applied once, the fault too, and each push once
    assert OrderSample.objects.filter(order=order).count() == len(readings)
    assert Order.objects.get(pk=order.pk).energy_wh == 1_000
    assert ChargerEvent.objects.filter(charger=charger).count() == 1
    assert Connector.objects.get(charger=charger).status == ConnectorStatus.FAULT
    rows = InboundMessage.objects.exclude(status=InboundStatus.DUPLICATE)
    assert rows.count() == len(readings) + 1
    assert set(rows.values_list("status", "attempts").distinct()) == {(InboundStatus.PROCESSED, 1)}


# --- a long-running worker: woken by a push, stopped by SIGTERM ----------------------------------------------


def test_an_idle_worker_wakes_on_a_push_and_stops_on_sigterm(client, tmp_path):
    # Given a worker running, that has applied what was stored and waits
    (order,) = charging_orders(1)
    with inbox_workers(tmp_path, 1) as (worker,):
        for minute in range(1, 6):
            post(client, work_data(order, minutes=minute, energy_wh=minute * 100))
        eventually(all_processed, timeout=30)
        time.sleep(0.5)  # idle, waiting for news
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as probe:
            listening = probe.execute("SELECT count(*) FROM pg_stat_activity"
                                      " WHERE datname = current_database() AND query = 'LISTEN inbox'").fetchone()
        assert listening == (1,), "the worker should wait for PostgreSQL's NOTIFY, not poll"

        # When one more push arrives
        post(client, work_data(order, minutes=6, energy_wh=600))

        # Then it is applied within moments
        eventually(all_processed, timeout=2)
        assert OrderSample.objects.filter(order=order).count() == 6

        # When the worker is told to stop
        worker.process.send_signal(signal.SIGTERM)

        # Then it stops cleanly, saying what it did
        assert worker.wait(timeout=10) == 0, worker.log()
        assert worker.stopped_line() == "processed 6"


def test_ctrl_c_stops_an_idle_worker_as_sigterm_does(client, tmp_path):
    with inbox_workers(tmp_path, 1) as (worker,):
        eventually(lambda: worker_connections() == 2, timeout=30)

        worker.process.send_signal(signal.SIGINT)

        assert worker.wait(timeout=10) == 0, worker.log()
        assert worker.stopped_line() == "nothing"


def test_sigterm_mid_batch_finishes_the_batch_then_stops(client, tmp_path):
    # Given a reading and a fault stored, event inserts held back by another connection, and a worker
    # started: it writes the reading, then waits to record the fault
    (order,) = charging_orders(1)
    charger = order.charger
    for body in [work_data(order, minutes=1, energy_wh=100), event_data(charger, state="HAPPENING", minutes=30)]:
        post(client, body)
    with outside_connection() as outside:
        hold_event_inserts(outside)
        with inbox_workers(tmp_path, 1) as (worker,):
            waiting_on_lock()

            # When it is told to stop, and then may insert
            worker.process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            outside.rollback()

            # Then it finishes the batch, commits it, and stops cleanly
            assert worker.wait(timeout=10) == 0, worker.log()
            assert worker.stopped_line() == "processed 2"
    assert OrderSample.objects.filter(order=order).count() == 1
    assert ChargerEvent.objects.filter(charger=charger).count() == 1
    assert set(InboundMessage.objects.values_list("status", "attempts").distinct()) == {(InboundStatus.PROCESSED, 1)}


# --- workers beside each other and beside the receiver -------------------------------------------------------


def test_a_copy_of_a_push_in_a_batch_in_hand_is_stored_without_waiting_for_the_batch(client, tmp_path):
    # Given a reading stored, and a worker stopped mid-batch with it (event inserts held back elsewhere)
    (order,) = charging_orders(1)
    reading = work_data(order, minutes=1, energy_wh=100)
    for body in [reading, event_data(order.charger, state="HAPPENING", minutes=30)]:
        post(client, body)
    with wsgi_server() as url, ThreadPoolExecutor(1) as sender, outside_connection() as outside:
        hold_event_inserts(outside)
        with inbox_workers(tmp_path, 1, "--idle-exit") as (worker,):
            waiting_on_lock()

            # When Tomda sends the reading again
            reply = sender.submit(requests.post, f"{url}/integrations/tomda/push", data=reading.encode(),
                                  headers={"Content-Type": "application/json"}, timeout=60)

            # Then it is stored and answered while the batch still waits, not queued behind it
            try:
                while not reply.done():
                    assert len(lock_waiters()) == 1, "the copy's insert waits for the worker's batch"
                    time.sleep(0.02)
            finally:
                worker.kill()
                outside.rollback()
    assert reply.result().json()["errorCode"] == "200"


def test_a_reading_applied_beside_a_fault_does_not_undo_the_fault(client, tmp_path):
    # Given a worker mid-batch that has marked a connector faulty (a fault at 10:30) and then waits for the
    # tariff answer of another charger, whose row another connection holds
    first, second = charging_orders(2)
    version = second.tariff_version
    sent = ChargerTariffPush.objects.create(charger=second.charger, tariff_version=version, requested_at=SESSION_START)
    for body in [event_data(first.charger, state="HAPPENING", minutes=30),
                 fee_result(second.charger, version.template.external_id)]:
        post(client, body)
    with outside_connection() as outside:
        outside.execute("SELECT id FROM chargers_chargertariffpush WHERE id = %s FOR UPDATE", [sent.pk])
        with inbox_workers(tmp_path, 1, "--idle-exit") as (faulting,):
            waiting_on_lock()

            # When a reading of 10:10 on that connector reaches a second worker meanwhile, and the first
            # worker then commits
            post(client, work_data(first, minutes=10, energy_wh=1_000))
            with inbox_workers(tmp_path, 1, "--idle-exit") as (reading,):
                eventually(lambda: worker_connections() == 4, timeout=30)  # both workers are at work
                time.sleep(0.5)  # a few rounds of its loop: each meets the charger the first worker holds
                assert InboundMessage.objects.get(kind="WORK_DATA").status == InboundStatus.RECEIVED
                outside.rollback()
                assert (faulting.wait(timeout=60), reading.wait(timeout=60)) == (0, 0)

    # Then the reading was applied after the fault, and the connector is faulty, as when the two are
    # applied one after the other
    assert OrderSample.objects.filter(order=first).count() == 1
    assert Connector.objects.get(charger=first.charger).status == ConnectorStatus.FAULT



def test_the_retry_task_leaves_a_failed_push_about_a_charger_a_worker_holds_for_its_next_run(client, tmp_path):
    # Given a worker mid-batch on a charger (it waits to record a fault), and a failed reading of that
    # charger waiting for the retry task
    (order,) = charging_orders(1)
    post(client, work_data(order, minutes=1, energy_wh=100))
    post(client, event_data(order.charger, state="HAPPENING", minutes=30))
    post(client, work_data(order, minutes=2, energy_wh=200))
    failed = InboundMessage.objects.latest("id")
    InboundMessage.objects.filter(pk=failed.pk).update(status=InboundStatus.FAILED, attempts=1)
    with outside_connection() as outside, ThreadPoolExecutor(1) as task:
        hold_event_inserts(outside)
        try:
            with inbox_workers(tmp_path, 1, "--idle-exit") as (worker,):
                waiting_on_lock()

                # When the retry task runs meanwhile
                retried = task.submit(_retry_in_a_thread).result(timeout=10)

                # Then it leaves the reading for its next run instead of racing the worker
                assert retried == 0
                assert InboundMessage.objects.get(pk=failed.pk).attempts == 1
                outside.rollback()
                assert worker.wait(timeout=60) == 0, worker.log()
        finally:
            outside.rollback()

    # And its next run applies it
    assert _retry_in_a_thread() == 1
    assert Order.objects.get(pk=order.pk).energy_wh == 200


def _retry_in_a_thread() -> int:
    from integrations.inbox import inbound_retry_failed

    try:
        return inbound_retry_failed()
    finally:
        connection.close()


def test_a_replay_waits_for_the_worker_applying_its_charger(client, tmp_path):
    # Given a worker mid-batch on a charger (it waits for the row of a tariff answer), and a failed fault
    # of that charger an operator replays meanwhile
    (order,) = charging_orders(1)
    version = order.tariff_version
    sent = ChargerTariffPush.objects.create(charger=order.charger, tariff_version=version, requested_at=SESSION_START)
    post(client, fee_result(order.charger, version.template.external_id))
    post(client, event_data(order.charger, state="HAPPENING", minutes=30))
    fault = InboundMessage.objects.latest("id")
    InboundMessage.objects.filter(pk=fault.pk).update(status=InboundStatus.FAILED, attempts=1)
    with outside_connection() as outside, ThreadPoolExecutor(1) as operator:
        outside.execute("SELECT id FROM chargers_chargertariffpush WHERE id = %s FOR UPDATE", [sent.pk])
        try:
            with inbox_workers(tmp_path, 1, "--idle-exit") as (worker,):
                waiting_on_lock()

                # When the replay runs
                replay = operator.submit(_replay_in_a_thread, fault.pk)

                # Then it waits for the worker's batch rather than race it, and goes through after it
                time.sleep(1.5)
                assert not replay.done()
                outside.rollback()
                assert worker.wait(timeout=60) == 0, worker.log()
                assert replay.result(timeout=30) == InboundStatus.PROCESSED
        finally:
            outside.rollback()
    assert Connector.objects.get(charger=order.charger).status == ConnectorStatus.FAULT


def _replay_in_a_thread(pk: int) -> str:
    from integrations.inbox import inbound_replay

    try:
        return inbound_replay(message=InboundMessage.objects.get(pk=pk)).message.status
    finally:
        connection.close()
