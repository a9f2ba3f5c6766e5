"""Periodic Wanzhuang work (scheduled by `integrations.schedules`)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from chargers.models import Vendor
from chargers.services import chargers_discover
from chargers.vendor import VendorNotConfigured
from orders import tasks as order_tasks
from orders.selectors import orders_quiet

from .recovery import orders_recover

# Sessions whose finish callback may be overdue: every state before settled but a booking.
UNSETTLED = (*order_tasks.LIVE[1:], *order_tasks.ENDING)


def sessions_poll() -> int:
    """Ask the ports of starting and charging sessions that have gone quiet where they stand."""
    return order_tasks.sessions_poll(vendor=Vendor.WANZHUANG, quiet_minutes=settings.WANZHUANG_POLL_AFTER_MINUTES)


def finish_callbacks_reconcile() -> int:
    """Ask the callback log about sessions whose finish callback is overdue, and apply what it holds: a lost
    start_power or finish_order is applied as if it had come. Returns how many orders it brought up to date."""
    quiet = orders_quiet(vendor=Vendor.WANZHUANG, statuses=UNSETTLED,
                         minutes=settings.WANZHUANG_FINISH_OVERDUE_MINUTES, now=timezone.now(),
                         limit=order_tasks.PER_RUN)
    return orders_recover(orders=quiet)


def devices_sync() -> int:
    """Read Wanzhuang's device list: a device we do not know appears awaiting a station, the others are
    brought up to date. Returns how many devices it read."""
    try:
        return len(chargers_discover(vendor=Vendor.WANZHUANG))
    except VendorNotConfigured:
        return 0
