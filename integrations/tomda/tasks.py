"""Periodic Tomda work (scheduled by `integrations.schedules`): ask about quiet sessions, keep the token fresh."""

from __future__ import annotations

from django.conf import settings

from chargers.models import Vendor
from chargers.vendor import VendorNotConfigured
from orders import tasks as order_tasks

from .client import TomdaClient


def sessions_poll() -> int:
    """Ask Tomda about booked, starting and charging sessions that have gone quiet (no push for a while)."""
    return order_tasks.sessions_poll(vendor=Vendor.TOMDA, quiet_minutes=settings.TOMDA_POLL_AFTER_MINUTES)


def sessions_stuck_check() -> int:
    """Ask Tomda about sessions whose settlement is long overdue; an ended one is closed from the answer."""
    return order_tasks.sessions_stuck_check(vendor=Vendor.TOMDA, quiet_minutes=settings.TOMDA_STUCK_AFTER_MINUTES)


def token_refresh() -> bool:
    """Renew the access token ahead of its expiry, so no user-facing call waits for it."""
    try:
        client = TomdaClient.from_settings()
    except VendorNotConfigured:
        return False
    client.token_refresh()
    return True
