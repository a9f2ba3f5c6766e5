"""Periodic work of the partner interface."""

from django.conf import settings

from integrations.partnerkit.access import partner_access_prune
from integrations.partnerkit.callbacks import final_callbacks_redrive as redrive

from .callbacks import KIND


def access_prune() -> int:
    return partner_access_prune()


def final_callbacks_redrive() -> int:
    return redrive(kind=KIND, days=settings.PARTNER_FINAL_CALLBACK_REDRIVE_DAYS)
