"""A partner's callback endpoint down for an hour while its drivers charge (the partner's own outage or a deploy
gone wrong on their side).

The partner is the partner simulator's callback receiver over real HTTP, answering 503 for the hour. Our clock
is moved a minute at a time over the hour and past it, the sweeper running each minute as its schedule does, and
the sessions' news comes in during the hour, each piece writing its callback in its own transaction: the starts'
as the order_started signal writes them, readings and settlements through the domain services. Tasks run inline
(the suite's settings), so each sweep's sends are done when it returns.

What must hold once the partner is back: every callback arrives exactly once, each order's in the order they
were written (the simulator keeps what it took, in the order it took it), none was given up (the outbox's
horizon is days, not an hour), and while an order's oldest callback waited, the later ones were not tried.
"""

import datetime as dt
from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.models import DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.outbox import deliveries_sweep
from integrations.partner.simulator import CallbackReceiver
from integrations.partnerkit.callbacks import order_callback_start
from integrations.simulation import SimClock
from orders.models import CloseReason, Order, OrderStatus, SettlementSource
from orders.services import Progress, Settlement, order_settle, orders_progress_record

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = 4
OUTAGE = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def clock(monkeypatch):
    """Our clock (`django.utils.timezone.now`), moved by the test. Column defaults (`default=timezone.now`) keep the
    wall clock, on which the whole hour passes in seconds: a row's `created_at` reads as the start of the hour."""
    running = SimClock(timezone.now())
    monkeypatch.setattr(timezone, "now", running.now)
    return running


@pytest.fixture
def receiver():
    with CallbackReceiver() as running:
        yield running


@pytest.fixture
def sessions(partner_sessions, receiver, settings):
    """Four sessions of a partner taking order callbacks at the receiver."""
    settings.PARTNER_CALLBACK_PROGRESS_SECONDS = 0  # every reading is a progress callback
    return partner_sessions(SESSIONS, callback_url=receiver.url)


def started(order: Order, *, now: dt.datetime) -> None:
    with transaction.atomic():
        order_callback_start(order=order, now=now)


def reading(order: Order, *, now: dt.datetime, energy_wh: int) -> None:
    charged = int((now - order.started_at).total_seconds())
    progress = Progress(at=now, status=OrderStatus.CHARGING, vendor_status="CHARGE", energy_wh=energy_wh,
                        charge_seconds=charged, soc=40)
    orders_progress_record(readings=[(order.pk, progress)], now=now)


def settled(order: Order, *, now: dt.datetime, energy_wh: int) -> None:
    order = Order.objects.get(pk=order.pk)
    order_settle(order=order, source=SettlementSource.VENDOR, now=now, settlement=Settlement(
        started_at=order.started_at, ended_at=now, energy_wh=energy_wh,
        charge_seconds=int((now - order.started_at).total_seconds()), vendor_total_fen=None,
        close_reason=CloseReason.FULL, vendor_close_code="FULL", close_reason_text=""))


def test_callbacks_written_while_the_partner_is_down_for_an_hour_arrive_once_each_in_order(clock, receiver, sessions):
    # Given the partner's callback endpoint goes down
    receiver.down()
    outage_ends = clock.now() + OUTAGE

    # When, over the hour, each session starts, reports a reading every ten minutes, and half of them are settled
    # at minute 45 (the others go on charging), the sweeper running every minute
    for order in sessions:
        started(order, now=clock.now())
    ended = sessions[::2]
    minute = 0
    while clock.now() < outage_ends:
        now = clock.advance(MINUTE.total_seconds())
        minute += 1
        for order in sessions:
            if order in ended and minute == 45:
                settled(order, now=now, energy_wh=4_500)
            elif minute % 10 == 0 and not (order in ended and minute > 45):
                reading(order, now=now, energy_wh=minute * 100)
        deliveries_sweep(now=now)

    # Then during the hour the partner took nothing, and each order's oldest callback was tried again and again
    # while the ones after it waited, untried
    assert receiver.callbacks() == []
    assert receiver.refused > SESSIONS * 5
    written = {order.order_no: list(OutboundDelivery.objects.filter(order_no=order.order_no).order_by("id"))
               for order in sessions}
    for order_no, deliveries in written.items():
        events = [delivery.payload["event"] for delivery in deliveries]
        assert events[0] == "start" and len(events) >= 5, events
        assert events[-1] == ("end" if order_no in {order.order_no for order in ended} else "progress"), events
        assert deliveries[0].attempts > 5, order_no
        assert [d.attempts for d in deliveries[1:]] == [0] * (len(deliveries) - 1), order_no
    assert {d.status for deliveries in written.values() for d in deliveries} == {DeliveryStatus.PENDING}

    # When the partner is back, and the sweeper goes on each minute until nothing waits (at most a few hours)
    receiver.up()
    while OutboundDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
        assert clock.now() < outage_ends + dt.timedelta(hours=4), "deliveries still waiting four hours on"
        deliveries_sweep(now=clock.advance(MINUTE.total_seconds()))

    # Then the partner has every callback exactly once, each order's in the order written
    for order_no, deliveries in written.items():
        assert [callback.notify_id for callback in receiver.callbacks(order_no)] == [d.key for d in deliveries]
    assert receiver.duplicates == 0
    assert len(receiver.callbacks()) == sum(len(deliveries) for deliveries in written.values())

    # ... and in our table each is delivered by one successful attempt, none given up; the later callbacks of an
    # order by their first attempt
    rows = OutboundDelivery.objects.all()
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    successes = Counter(DeliveryAttempt.objects.filter(succeeded=True).values_list("delivery_id", flat=True))
    assert successes == Counter(rows.values_list("pk", flat=True))
    for deliveries in written.values():
        later = OutboundDelivery.objects.filter(pk__in=[d.pk for d in deliveries[1:]])
        assert set(later.values_list("attempts", flat=True)) == {1}
