"""Wanzhuang sending one session's finish_order many times at once, on PostgreSQL: the session settles once and
its card pays once, whether the copies come over HTTP (each signed afresh) or from the callback log."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests
from django.db import connection, transaction

from integrations.inbox import inbox_drain, inbox_work
from integrations.models import InboundMessage, InboundStatus
from integrations.wanzhuang.processor import finish_order_apply
from integrations.wanzhuang.protocol import FINISH_ORDER, callback_read
from orders.models import CardMovement, CardMovementKind, Order, OrderSettlement, OrderStatus
from tests.helpers import wsgi_server
from tests.integrations.wanzhuang.conftest import callback_body
from tests.integrations.wanzhuang.test_callbacks import finish_order
from tests.orders.factories import ChargingCardFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="proves row locks and unique keys across connections"),
    pytest.mark.django_db(transaction=True),
]

COPIES = 50


@pytest.fixture
def card_order(wz_ebike, wz_order):
    """A session on port 3 paid by a card of 30.00 yuan, authorised 3.00 yuan, charging."""
    card = ChargingCardFactory(number="88000001", balance_fen=3000)
    return wz_order(wz_ebike, port=3, status=OrderStatus.CHARGING, card=card, authorized_amount_fen=300)


def _all_at_once(function, arguments):
    start = threading.Barrier(len(arguments))

    def run(argument):
        start.wait(timeout=30)
        try:
            return function(argument)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        return list(pool.map(run, arguments))


def _paid_once(order):
    order.refresh_from_db()
    assert order.status == OrderStatus.SETTLED
    assert OrderSettlement.objects.filter(order=order).count() == 1
    movements = list(CardMovement.objects.filter(order=order).values_list("kind", "amount_fen"))
    # Two hours at 0.50 yuan an hour is 1.00 yuan, within the 3.00 authorised.
    assert movements == [(CardMovementKind.SESSION, -100)]
    order.card.refresh_from_db()
    assert order.card.balance_fen == 3000 - 100


def test_fifty_copies_over_http_with_workers_running_settle_once_and_debit_the_card_once(card_order, wanzhuang_keys):
    fields = finish_order(card_order)
    # Each copy signed afresh, as a retry is: its timestamp and signature differ, what it says does not.
    bodies = [urlencode(callback_body(fields, content_type="application/x-www-form-urlencoded",
                                      now=int(time.time()) - copy)) for copy in range(COPIES)]
    stop = threading.Event()

    def work():
        try:
            while not stop.is_set() or inbox_work().claimed:
                time.sleep(0.005)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(4)]
    with wsgi_server() as base:
        url = f"{base}/integrations/wanzhuang/callback/finish_order"
        for worker in workers:
            worker.start()
        answers = _all_at_once(lambda body: requests.post(
            url, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=60,
        ).json(), bodies)
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    inbox_drain()

    assert [answer["code"] for answer in answers] == [1] * COPIES
    statuses = list(InboundMessage.objects.values_list("status", flat=True))
    assert sorted(statuses) == sorted([InboundStatus.PROCESSED] + [InboundStatus.DUPLICATE] * (COPIES - 1))
    _paid_once(card_order)


def test_fifty_copies_from_the_callback_log_applied_at_once_settle_once_and_debit_the_card_once(card_order):
    # The reconciling task and the statement's repair apply the log's copy beside the inbox worker's.
    record = callback_read(FINISH_ORDER, finish_order(card_order), received_at=card_order.started_at)
    order = Order.objects.get(pk=card_order.pk)

    def apply(_copy):
        with transaction.atomic():
            finish_order_apply(record, received_at=order.started_at)

    _all_at_once(apply, list(range(COPIES)))

    _paid_once(card_order)
