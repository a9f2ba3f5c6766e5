"""Tomda pushing one settlement many times at once, over real HTTP, on PostgreSQL.

The endpoint only stores; the inbox worker applies. Whether the copies arrive before the worker runs
or while workers run, the order is settled once.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from integrations.inbox import inbox_drain, inbox_work
from integrations.models import InboundMessage, InboundStatus
from orders.models import Order, OrderStatus
from orders.signals import order_settled
from tests.helpers import wsgi_server
from tests.integrations.tomda.test_push import order_data

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="proves row locks and unique keys across connections"),
    pytest.mark.django_db(transaction=True),
]

SENDERS = 50


def _send_all(url, bodies):
    """POST every body at the same moment from its own thread; returns (status, reply) per body."""
    start = threading.Barrier(len(bodies))

    def send(body):
        start.wait(timeout=30)
        response = requests.post(
            url, data=body.encode(), headers={"Content-Type": "application/json"}, timeout=60
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def _workers(count, *, until):
    """`count` inbox workers in threads of their own, each on its own connection, applying batches until
    `until` is set and nothing waits; returns their threads."""

    def work():
        try:
            while True:
                done = until.is_set()  # read first: what was sent before it is stored by now
                result = inbox_work()
                if done and not result.claimed:
                    return
                if not result.claimed:
                    time.sleep(0.01)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.fixture
def server_url():
    with wsgi_server() as url:
        yield url


@pytest.fixture
def settlements():
    seen = []

    def count(sender, order, **kwargs):
        seen.append(order.order_no)

    order_settled.connect(count, dispatch_uid="count-settlements")
    yield seen
    order_settled.disconnect(dispatch_uid="count-settlements")


def test_fifty_identical_order_data_pushes_settle_once(server_url, charging_order, settlements):
    # Given a session under way, and its settlement
    body = json.dumps({"type": "ORDER_DATA", "time": "2026-11-21 13:00:00", "content": order_data(charging_order)})

    # When Tomda sends it 50 times at once, and the inbox worker then applies what was stored
    replies = _send_all(f"{server_url}/integrations/tomda/push", [body] * SENDERS)
    inbox_drain()

    # Then every copy is acknowledged, one is applied and the rest are its duplicates
    assert [status for status, _reply in replies] == [200] * SENDERS
    assert {reply["errorCode"] for _status, reply in replies} == {"200"}
    assert settlements == [charging_order.order_no]
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 1
    assert InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).count() == SENDERS - 1
    order = Order.objects.get(pk=charging_order.pk)
    assert (order.status, order.energy_wh, order.total_fee_fen) == (OrderStatus.SETTLED, 21_000, 2205)


def test_fifty_different_settlements_of_one_order_settle_it_once(server_url, charging_order, settlements):
    """Not deduplicated (each differs), so only the order's row lock keeps the settlement single."""
    # Given 50 settlements of one session, each with another bill
    bodies = [
        json.dumps({"type": "ORDER_DATA", "time": "2026-11-21 13:00:00",
                    "content": order_data(charging_order, cost=2200 + n)})
        for n in range(SENDERS)
    ]

    # When Tomda sends them all at once, and the inbox worker then applies what was stored
    replies = _send_all(f"{server_url}/integrations/tomda/push", bodies)
    inbox_drain()

    # Then each is applied, and only the first to get the order settles it
    assert {(status, reply["errorCode"]) for status, reply in replies} == {(200, "200")}
    assert settlements == [charging_order.order_no]
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == SENDERS
    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.SETTLED
    assert 2200 <= order.vendor_total_fen < 2200 + SENDERS


def test_fifty_identical_order_data_pushes_while_two_workers_run_settle_once(server_url, charging_order, settlements):
    # Given a session under way, and two inbox workers running
    body = json.dumps({"type": "ORDER_DATA", "time": "2026-11-21 13:00:00", "content": order_data(charging_order)})
    sent = threading.Event()
    workers = _workers(2, until=sent)

    # When Tomda sends its settlement 50 times at once, while the workers apply what arrives
    try:
        replies = _send_all(f"{server_url}/integrations/tomda/push", [body] * SENDERS)
    finally:
        sent.set()
        for worker in workers:
            worker.join(timeout=60)

    # Then every copy is acknowledged, one is applied once and the rest are its duplicates
    assert not any(worker.is_alive() for worker in workers)
    assert {(status, reply["errorCode"]) for status, reply in replies} == {(200, "200")}
    assert settlements == [charging_order.order_no]
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED, attempts=1).count() == 1
    assert InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).count() == SENDERS - 1
    order = Order.objects.get(pk=charging_order.pk)
    assert (order.status, order.energy_wh, order.total_fee_fen) == (OrderStatus.SETTLED, 21_000, 2205)
