"""Start-up checks of 4pyun's settings: a wrong value is named before the first record is refused."""

from django.conf import settings
from django.core.checks import Error

PUSH_SIGNATURE_MODES = ("if-present", "required", "off")


def fourpyun_settings_check(app_configs, **kwargs):
    errors = []
    if settings.FOURPYUN_PUSH_SIGNATURE not in PUSH_SIGNATURE_MODES:
        errors.append(Error(f"FOURPYUN_PUSH_SIGNATURE must be one of {', '.join(PUSH_SIGNATURE_MODES)}.",
                            id="fourpyun.E001"))
    missing = [name for name in ("FOURPYUN_APP_ID", "FOURPYUN_APP_SECRET") if not getattr(settings, name)]
    if settings.FOURPYUN_BASE_URL and missing:
        errors.append(Error(f"FOURPYUN_BASE_URL is set: set {' and '.join(missing)} too, to sign our records and "
                            "check 4pyun's pushes.", id="fourpyun.E002"))
    if settings.FOURPYUN_RECORD_PROGRESS_SECONDS < 0:
        errors.append(Error("FOURPYUN_RECORD_PROGRESS_SECONDS must be 0 (every reading) or more.", id="fourpyun.E003"))
    return errors
