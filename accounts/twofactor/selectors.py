"""Reads of the second factor: who must have an authenticator, and what a user must do before the admin opens."""

from base64 import b32encode

from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

# What a user must do before the admin opens; each is also the name of its page (`twofactor:<step>`).
VERIFY = "verify"  # has a confirmed authenticator: give its current code
ENROL = "enrol"  # must have one and has none: add one


def is_signed_in_staff(user) -> bool:
    """Whether `user` is signed-in active staff: whom the admin opens to."""
    return user.is_authenticated and user.is_active and user.is_staff


def twofactor_required(*, user) -> bool:
    """Whether `user` must sign in with an authenticator: a superuser when ADMIN_2FA_REQUIRED_FOR_SUPERUSERS is
    on, or a member of a group named in ADMIN_2FA_REQUIRED_GROUPS."""
    if not user.is_authenticated:
        return False
    if user.is_superuser and settings.ADMIN_2FA_REQUIRED_FOR_SUPERUSERS:
        return True
    groups = settings.ADMIN_2FA_REQUIRED_GROUPS
    return bool(groups) and user.groups.filter(name__in=groups).exists()


def totp_devices_confirmed(*, user):
    return TOTPDevice.objects.devices_for_user(user, confirmed=True)


def totp_device_confirmed(*, user) -> TOTPDevice | None:
    return totp_devices_confirmed(user=user).order_by("pk").first()


def twofactor_step(*, user) -> str | None:
    """What `user` (of a request passed through django-otp's middleware) must do before an admin page opens:
    VERIFY, ENROL, or None when nothing.

    A session verified by a device that has since been removed is no longer verified (the middleware drops it),
    so a removed authenticator takes effect on the next request.
    """
    if not user.is_authenticated or user.is_verified():
        return None
    if totp_devices_confirmed(user=user).exists():
        return VERIFY
    if twofactor_required(user=user):
        return ENROL
    return None


def totp_device_secret(*, device: TOTPDevice) -> str:
    """The device's key as authenticator apps take it typed in: base32, in groups of four."""
    text = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))
