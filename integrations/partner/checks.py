"""Start-up checks of the partner interface's settings."""

from django.conf import settings
from django.core import checks
from rest_framework.throttling import SimpleRateThrottle

INTERFACES = ("getToken", "syncStubGroupInfo", "syncStubInfo", "getOrderInfo", "checkChargeOrders", "chargeStart",
              "chargeStop")
# PARTNER_RATES' keys: the interfaces, and refused attempts to authenticate per address.
RATED = (*INTERFACES, "authFailures")


def partner_settings_check(app_configs=None, **kwargs):
    errors = []
    for name in ("PARTNER_TOKEN_SECONDS", "PARTNER_START_TIME_WINDOW_SECONDS", "PARTNER_CHECK_MAX_DAYS",
                 "PARTNER_CALLBACK_PROGRESS_SECONDS", "PARTNER_AUTH_FAILURE_KEEP_DAYS",
                 "PARTNER_FINAL_CALLBACK_REDRIVE_DAYS"):
        if getattr(settings, name) <= 0:
            errors.append(checks.Error(f"{name} must be more than 0.", id="partner.E001"))
    for interface, rate in settings.PARTNER_RATES.items():
        if interface not in RATED:
            errors.append(checks.Error(f"PARTNER_RATES names {interface!r}, which is no interface; expected one of "
                                       f"{', '.join(RATED)}.", id="partner.E002"))
            continue
        try:
            SimpleRateThrottle.parse_rate(None, rate)
        except (ValueError, KeyError, IndexError):
            errors.append(checks.Error(f"PARTNER_RATES[{interface!r}] = {rate!r} is no rate; write it as "
                                       "<count>/<s|m|h|d>, e.g. 600/m.", id="partner.E003"))
    return errors
