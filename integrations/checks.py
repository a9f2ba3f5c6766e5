"""Start-up checks of the integration settings: a wrong value is named before the first push fails."""

import re

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

PUSH_TOKEN = re.compile(r"^[A-Za-z0-9]{5,20}$")
PUSH_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


@register()
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
