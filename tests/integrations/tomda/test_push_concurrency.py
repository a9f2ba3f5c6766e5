"""Tomda pushing one settlement many times at once, over real HTTP, on PostgreSQL."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

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
    body = json.dumps({"type": "ORDER_DATA", "time": "2026-11-21 13:00:00", "content": order_data(charging_order)})

    replies = _send_all(f"{server_url}/integrations/tomda/push", [body] * SENDERS)

    assert [status for status, _reply in replies] == [200] * SENDERS
    assert {reply["errorCode"] for _status, reply in replies} == {"200"}
    assert settlements == [charging_order.order_no]
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 1
    assert InboundMessage.objects.filter(status=InboundStatus.DUPLICATE).count() == SENDERS - 1
    order = Order.objects.get(pk=charging_order.pk)
    assert (order.status, order.energy_wh, order.total_fee_fen) == (OrderStatus.SETTLED, 21_000, 2205)


def test_fifty_different_settlements_of_one_order_settle_it_once(server_url, charging_order, settlements):
    """Not deduplicated (each differs), so only the order's row lock keeps the settlement single."""
    bodies = [
        json.dumps({"type": "ORDER_DATA", "time": "2026-11-21 13:00:00",
                    "content": order_data(charging_order, cost=2200 + n)})
        for n in range(SENDERS)
    ]

    replies = _send_all(f"{server_url}/integrations/tomda/push", bodies)

    assert {(status, reply["errorCode"]) for status, reply in replies} == {(200, "200")}
    assert settlements == [charging_order.order_no]
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == SENDERS
    order = Order.objects.get(pk=charging_order.pk)
    assert order.status == OrderStatus.SETTLED
    assert 2200 <= order.vendor_total_fen < 2200 + SENDERS
