"""Start-up checks of Tomda's settings: a wrong value is named before the first push fails."""

import re

from django.conf import settings
from django.core.checks import Error, Warning
from django.utils.module_loading import import_string

PUSH_TOKEN = re.compile(r"^[A-Za-z0-9]{5,20}$")
PUSH_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


def tomda_settings_check(app_configs, **kwargs):
    errors = []
    token, key, verifier = settings.TOMDA_PUSH_TOKEN, settings.TOMDA_PUSH_KEY, settings.TOMDA_PUSH_VERIFIER
    if token and not PUSH_TOKEN.match(token):
        errors.append(Error("TOMDA_PUSH_TOKEN must be 5 to 20 letters or digits (Tomda spec §5.1).", id="tomda.E001"))
    if key and not PUSH_KEY.match(key):
        errors.append(Error("TOMDA_PUSH_KEY must be 32 characters A-Z, a-z, 0-9 (Tomda spec §5.1).", id="tomda.E002"))
    if verifier == "token" and not token:
        errors.append(Error("TOMDA_PUSH_VERIFIER=token needs TOMDA_PUSH_TOKEN.", id="tomda.E003"))
    elif verifier not in ("", "none", "token"):
        try:
            import_string(verifier)
        except ImportError:
            errors.append(Error(f"TOMDA_PUSH_VERIFIER: cannot import {verifier!r}.", id="tomda.E004"))
    return errors


def tomda_push_open_check(app_configs, **kwargs):
    """Tomda documents no push verification we can build, so without an allow-list anyone who can reach
    the push URL can settle an order or fake a fault."""
    if not settings.TOMDA_BASE_URL:
        return []
    if settings.TOMDA_PUSH_VERIFIER in ("", "none") and not settings.TOMDA_PUSH_ALLOWED_IPS:
        return [
            Warning(
                "Tomda is configured, but its pushes are neither verified nor limited to known senders.",
                hint="Set TOMDA_PUSH_ALLOWED_IPS to Tomda's push addresses, or TOMDA_PUSH_VERIFIER.",
                id="tomda.W001",
            )
        ]
    return []
