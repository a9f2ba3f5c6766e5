"""Periodic Tomda work (scheduled by `integrations.schedules`): ask about quiet sessions, keep the token fresh."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from chargers.models import Vendor
from chargers.vendor import VendorError, VendorNotConfigured
from orders.models import Order, OrderStatus
from orders.services import order_refresh

from .client import TomdaClient

logger = logging.getLogger(__name__)

# Bookings too: Tomda closes an expired booking by itself and tells us nothing.
LIVE = (OrderStatus.BOOKED, OrderStatus.STARTING, OrderStatus.CHARGING)
ENDING = (OrderStatus.STOPPING, OrderStatus.FINISHED)


def _quiet(statuses, minutes: int, now) -> list[Order]:
    """Tomda orders in `statuses` the vendor has told us nothing about for `minutes`."""
    since = now - timedelta(minutes=minutes)
    quiet = Q(last_data_at__lt=since) | Q(last_data_at__isnull=True, created_at__lt=since)
    return list(
        Order.objects.filter(quiet, status__in=statuses, charger__vendor=Vendor.TOMDA)
        .select_related("charger", "connector", "tariff_version")
        .order_by("last_data_at", "id")[:500]
    )


def _refresh_all(orders: list[Order], now, *, close_if_ended: bool = False) -> int:
    refreshed = 0
    for order in orders:
        try:
            order_refresh(order=order, close_if_ended=close_if_ended, now=now)
            refreshed += 1
        except VendorNotConfigured:
            logger.warning("Tomda is not configured; %d quiet orders wait", len(orders))
            break
        except VendorError as exc:
            logger.warning("asking Tomda about order %s: %s", order.order_no, exc)
    return refreshed


def sessions_poll() -> int:
    """Ask Tomda about booked, starting and charging sessions that have gone quiet (no push for a while).

    The answers move them on (a booking Tomda closed is cancelled, an ended session finished); the
    settlement push settles them.
    """
    now = timezone.now()
    return _refresh_all(_quiet(LIVE, settings.TOMDA_POLL_AFTER_MINUTES, now), now)


def sessions_stuck_check() -> int:
    """Ask Tomda about sessions whose settlement is long overdue; an ended one is closed from the answer,
    for Tomda's settlement to complete should it come after all."""
    now = timezone.now()
    return _refresh_all(_quiet(ENDING, settings.TOMDA_STUCK_AFTER_MINUTES, now), now, close_if_ended=True)


def token_refresh() -> bool:
    """Renew the access token ahead of its expiry, so no user-facing call waits for it."""
    try:
        client = TomdaClient.from_settings()
    except VendorNotConfigured:
        return False
    client.token_refresh()
    return True
