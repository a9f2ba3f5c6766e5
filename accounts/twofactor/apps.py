from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.apps import DefaultConfig


class TOTPConfig(DefaultConfig):
    """django-otp's TOTP devices (label `otp_totp`, its migrations), under a name people read in the admin's index."""

    verbose_name = _("Two-factor authentication")
