"""Writes of the second factor: adding an authenticator, checking its codes, removing it.

A code is checked by django-otp's TOTP device, which refuses codes for a while after each wrong one (1, 2, 4, 8,
... seconds, `OTP_TOTP_THROTTLE_FACTOR` times 2^(failures-1)), the right code too, and never accepts one code
twice. Each check runs in a transaction that locks the device row, so two requests at once cannot both spend one
try (django_otp.verify_token does the same).
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.errors import DomainError

from . import selectors

DEVICE_NAME = "authenticator"


class TwoFactorError(DomainError):
    """A refusal of the second factor, in words for the user."""


@dataclass(frozen=True)
class CodeCheck:
    """What a code proved: the device it matched, or none, and until when further codes are refused."""

    device: TOTPDevice | None
    locked_until: dt.datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.device is not None


def _checked(device: TOTPDevice, token: str) -> CodeCheck:
    if device.verify_token(token):
        return CodeCheck(device=device)
    _allowed, details = device.verify_is_allowed()
    return CodeCheck(device=None, locked_until=(details or {}).get("locked_until"))


def totp_device_pending(*, user) -> TOTPDevice:
    """The authenticator `user` is adding: unconfirmed until a code of it is given; the same one (the same secret)
    on each visit of the enrolment page until then."""
    with transaction.atomic():
        pending = (TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first())
        if pending is not None:
            return pending
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_device_confirm(*, user, token: str) -> CodeCheck:
    """Confirm `user`'s pending authenticator with a code it shows; the device counts only from then on, and other
    pending ones are dropped. A user who has a confirmed authenticator adds no second one here."""
    with transaction.atomic():
        if selectors.totp_devices_confirmed(user=user).exists():
            raise TwoFactorError(gettext("Two-factor authentication is already on for your account."))
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            raise TwoFactorError(gettext("No authenticator is waiting to be confirmed: open the page to add one."))
        check = _checked(device, token)
        if check.accepted:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
        return check


def totp_device_verify(*, user, token: str) -> CodeCheck:
    """Check a code against `user`'s confirmed authenticators."""
    with transaction.atomic():
        check = CodeCheck(device=None)
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"):
            check = _checked(device, token)
            if check.accepted:
                return check
        return check


def totp_device_remove(*, device: TOTPDevice) -> None:
    """Remove an authenticator (a lost phone): its sessions lose their second factor at their next request, and a
    user who must have one is sent to add a new one."""
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).delete()

