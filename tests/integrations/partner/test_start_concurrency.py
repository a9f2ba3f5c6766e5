"""One chargeStart sent many times at the same moment, over real HTTP, on PostgreSQL: each request runs in a thread
of the live server on its own database connection, yet there is one order and Tomda is asked to start once."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from orders.models import Order, OrderStatus
from tests.integrations.partner.conftest import API, vendor_starts

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="proves row locks and unique keys across connections"),
    pytest.mark.django_db(transaction=True),
]

COPIES = 20


def _all_at_once(url, params, copies):
    """GET `url` with `params` from `copies` threads released together; (HTTP status, envelope) of each."""
    gate = threading.Barrier(copies)

    def send(_number):
        gate.wait(timeout=30)
        try:
            response = requests.get(url, params=params, timeout=60)
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(send, range(copies)))


def test_twenty_identical_starts_at_once_make_one_order_and_one_vendor_start(live_server, partner, token, charger,
                                                                             tomda_sim):
    params = {"token": token, "outOrderId": "DD-RACE-1", "driverId": "13800000000", "stubId": charger.serial,
              "gunId": "1", "org": partner.org_code, "time": str(int(time.time()))}

    answers = _all_at_once(f"{live_server.url}{API}chargeStart", params, COPIES)

    # Then exactly one order, started once at Tomda
    order = Order.objects.get()
    assert (order.partner_order_no, order.status) == ("DD-RACE-1", OrderStatus.STARTING)
    assert [params["clientOrderId"] for params in vendor_starts(tomda_sim)] == [order.order_no]
    assert list(tomda_sim.sessions) == [order.order_no]
    # And every copy was answered with it
    assert Counter((status, envelope["code"]) for status, envelope in answers) == {(200, 0): COPIES}, answers
    assert {envelope["data"]["OrderId"] for _status, envelope in answers} == {order.order_no}
