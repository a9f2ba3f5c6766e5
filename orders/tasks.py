"""Periodic work on sessions (ask a vendor about the ones whose news has stopped coming), the nightly close
and the exports.

Each counterparty schedules these for its own vendor code and thresholds.
"""

from datetime import date, datetime, timedelta

from django.utils import timezone

from backoffice.days import business_day_of
from orders.models import Order, OrderStatus
from orders.reconciliation.services import statements_build
from orders.selectors import business_day_closed, orders_quiet
from orders.services import order_start_send, orders_refresh

# Bookings too: a vendor may close an expired booking by itself and tell us nothing.
LIVE = (OrderStatus.BOOKED, OrderStatus.STARTING, OrderStatus.CHARGING)
ENDING = (OrderStatus.STOPPING, OrderStatus.FINISHED)
PER_RUN = 500  # orders asked about in one run; the rest wait for the next


def session_start_send(order_id: int, start_by: str | None = None) -> str:
    """Ask the vendor to start an order written in another transaction (a card swipe's), by `start_by`."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "no such order"
    deadline = datetime.fromisoformat(start_by) if start_by else None
    return order_start_send(order=order, start_by=deadline).status


def sessions_poll(*, vendor: str, quiet_minutes: int) -> int:
    """Ask `vendor` about its booked, starting and charging sessions with no news for `quiet_minutes`.

    The answers move them on (a booking the vendor closed is cancelled, an ended session finished); the
    vendor's settlement settles them. Returns how many were asked about and brought up to date.
    """
    now = timezone.now()
    quiet = orders_quiet(vendor=vendor, statuses=LIVE, minutes=quiet_minutes, now=now, limit=PER_RUN)
    return orders_refresh(orders=quiet, vendor=vendor, now=now)


def sessions_stuck_check(*, vendor: str, quiet_minutes: int) -> int:
    """Ask `vendor` about its stopping and finished sessions whose settlement is `quiet_minutes` overdue.

    An ended one is closed from the answer, for the vendor's settlement to complete should it come after
    all. Returns how many were asked about and brought up to date.
    """
    now = timezone.now()
    quiet = orders_quiet(vendor=vendor, statuses=ENDING, minutes=quiet_minutes, now=now, limit=PER_RUN)
    return orders_refresh(orders=quiet, vendor=vendor, now=now, close_if_ended=True)


def statements_build_previous_day() -> int:
    """The nightly close: every source's statement of yesterday (Asia/Shanghai), each repairing first.

    Returns how many statements were built. A closed day is left alone.
    """
    day = business_day_of(timezone.now()) - timedelta(days=1)
    if business_day_closed(day=day):
        return 0
    return len(statements_build(day=day))


def statements_build_day(day: str) -> int:
    """Every source's statement of `day` (ISO date), each repairing first: a build asked for from the admin."""
    return len(statements_build(day=date.fromisoformat(day)))


def export_run(export_id: int) -> str:
    """Write an export finance requested (`orders.exports.export_request` queues it); returns its state."""
    # Imported here, so that this task stays one block of its own in a module others extend.
    from orders.exports import services as exports

    return exports.export_run(export_id=export_id).state
