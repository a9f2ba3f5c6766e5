"""Periodic work on sessions: ask a vendor about the ones whose news has stopped coming.

Each counterparty schedules these for its own vendor code and thresholds.
"""

import logging
from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from chargers.vendor import VendorError, VendorNotConfigured
from orders.models import Order, OrderStatus
from orders.selectors import orders_quiet
from orders.services import order_refresh

logger = logging.getLogger(__name__)

# Bookings too: a vendor may close an expired booking by itself and tell us nothing.
LIVE = (OrderStatus.BOOKED, OrderStatus.STARTING, OrderStatus.CHARGING)
ENDING = (OrderStatus.STOPPING, OrderStatus.FINISHED)
PER_RUN = 500  # orders asked about in one run; the rest wait for the next


def _refresh_all(orders: Sequence[Order], *, vendor: str, now: datetime, close_if_ended: bool = False) -> int:
    """Ask the vendor about each order; returns how many answers were applied."""
    refreshed = 0
    for order in orders:
        try:
            order_refresh(order=order, close_if_ended=close_if_ended, now=now)
            refreshed += 1
        except VendorNotConfigured:
            logger.warning("vendor %s is not configured; %d quiet orders wait", vendor, len(orders))
            break
        except VendorError as exc:
            logger.warning("asking vendor %s about order %s: %s", vendor, order.order_no, exc)
    return refreshed


def sessions_poll(*, vendor: str, quiet_minutes: int) -> int:
    """Ask `vendor` about its booked, starting and charging sessions with no news for `quiet_minutes`.

    The answers move them on (a booking the vendor closed is cancelled, an ended session finished); the
    vendor's settlement settles them. Returns how many were asked about and brought up to date.
    """
    now = timezone.now()
    quiet = orders_quiet(vendor=vendor, statuses=LIVE, minutes=quiet_minutes, now=now, limit=PER_RUN)
    return _refresh_all(quiet, vendor=vendor, now=now)


def sessions_stuck_check(*, vendor: str, quiet_minutes: int) -> int:
    """Ask `vendor` about its stopping and finished sessions whose settlement is `quiet_minutes` overdue.

    An ended one is closed from the answer, for the vendor's settlement to complete should it come after
    all. Returns how many were asked about and brought up to date.
    """
    now = timezone.now()
    quiet = orders_quiet(vendor=vendor, statuses=ENDING, minutes=quiet_minutes, now=now, limit=PER_RUN)
    return _refresh_all(quiet, vendor=vendor, now=now, close_if_ended=True)
