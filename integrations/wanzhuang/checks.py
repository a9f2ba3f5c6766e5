"""Start-up checks of Wanzhuang's settings: a wrong value is named before the first call fails."""

from django.conf import settings
from django.core.checks import Error

from .constants import DEFAULT_PATHS
from .signing import SIGN_METHODS


def wanzhuang_settings_check(app_configs, **kwargs):
    errors = []
    if settings.WANZHUANG_SIGN_METHOD not in SIGN_METHODS:
        errors.append(Error(f"WANZHUANG_SIGN_METHOD must be one of {', '.join(SIGN_METHODS)}.", id="wanzhuang.E001"))
    paths = settings.WANZHUANG_PATHS
    if not isinstance(paths, dict):
        errors.append(Error("WANZHUANG_PATHS must be a JSON object of operation → path.", id="wanzhuang.E002"))
    else:
        for operation, path in paths.items():
            if operation not in DEFAULT_PATHS:
                errors.append(Error(f"WANZHUANG_PATHS: {operation!r} is not a Wanzhuang operation; they are "
                                    f"{', '.join(sorted(DEFAULT_PATHS))}.", id="wanzhuang.E003"))
            elif not isinstance(path, str) or not path.startswith("/"):
                errors.append(Error(f"WANZHUANG_PATHS[{operation!r}] must be a path starting with /.",
                                    id="wanzhuang.E004"))
    if settings.WANZHUANG_ENERGY_UNIT_WH < 1:
        errors.append(Error("WANZHUANG_ENERGY_UNIT_WH must be 1 Wh or more.", id="wanzhuang.E005"))
    if not settings.WANZHUANG_START_OK_STATES:
        errors.append(Error("WANZHUANG_START_OK_STATES must name at least one start_power state.", id="wanzhuang.E006"))
    missing = [name for name in ("WANZHUANG_APP_ID", "WANZHUANG_APP_SECRET") if not getattr(settings, name)]
    if settings.WANZHUANG_BASE_URL and missing:
        errors.append(Error(f"WANZHUANG_BASE_URL is set: set {' and '.join(missing)} too, to sign our calls and "
                            "check Wanzhuang's callbacks.", id="wanzhuang.E007"))
    return errors


def wanzhuang_callbacks_open_check(app_configs, **kwargs):
    """Without a required signature or an allow-list, anyone who can reach the callback URLs can settle an order
    or spend a card's balance: an error, not a warning."""
    if not settings.WANZHUANG_BASE_URL:
        return []
    if not settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED and not settings.WANZHUANG_CALLBACK_ALLOWED_IPS:
        return [Error(
            "Wanzhuang is configured, but its callbacks need no signature and may come from anywhere: anyone "
            "could settle a session or spend a charging card.",
            hint="Keep WANZHUANG_CALLBACK_SIGNATURE_REQUIRED=true, or set WANZHUANG_CALLBACK_ALLOWED_IPS to "
                 "Wanzhuang's addresses.",
            id="wanzhuang.E008",
        )]
    return []
