"""Wanzhuang as the inbox sees it: its callbacks (`protocol.py`), their checks and domain work (`processor.py`)
and their signature, in one `InboxProtocol` registered at start-up."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from chargers.models import Vendor
from integrations.inbox import InboundRejected, InboxProtocol, Parsed
from integrations.models import RejectReason, Verification

from . import signing
from .processor import callback_check, callbacks_apply
from .protocol import FAILED, OK, REPLY_CODES, callback_parse, envelope, form_fields


class WanzhuangInbox(InboxProtocol):
    vendor = Vendor.WANZHUANG
    allowed_ips_setting = "WANZHUANG_CALLBACK_ALLOWED_IPS"
    kept_headers = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Real-Ip")

    def verify(self, request) -> str:
        """A callback is checked as our calls are signed. One without a signature is refused unless
        WANZHUANG_CALLBACK_SIGNATURE_REQUIRED is turned off (Wanzhuang's pages do not show how it signs
        callbacks; an operator whose Wanzhuang sends them unsigned turns it off and sets the allow-list)."""
        try:
            fields = form_fields(body=request.body, content_type=request.META.get("CONTENT_TYPE", ""))
        except InboundRejected:
            return Verification.UNCHECKED  # unreadable: parse refuses it, naming why
        if not fields.get(signing.SIGN_FIELD):
            return Verification.FAILED if settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED else Verification.UNCHECKED
        if not settings.WANZHUANG_APP_SECRET or not settings.WANZHUANG_APP_ID:
            return Verification.FAILED  # without our key anyone could sign: nothing is signed for us
        if fields.get("app_id") != settings.WANZHUANG_APP_ID:
            return Verification.FAILED  # signed for another merchant, or for none
        valid = signing.signature_valid(fields, secret=settings.WANZHUANG_APP_SECRET,
                                        method=settings.WANZHUANG_SIGN_METHOD)
        # The timestamp is signed but not held to a window: Wanzhuang retries a callback, and whether a retry
        # keeps its first timestamp is not documented; a replay of a callback is deduplicated instead.
        return Verification.PASSED if valid else Verification.FAILED

    def parse(self, *, body: bytes, content_type: str, received_at: datetime | None = None, kind: str = "") -> Parsed:
        return callback_parse(kind=kind, body=body, content_type=content_type, received_at=received_at)

    def check(self, parsed: Parsed) -> list[InboundRejected]:
        callback_check(parsed.record)
        return []

    def apply(self, pushes: list[Parsed]) -> None:
        callbacks_apply(pushes)

    def reply_ok(self, data=None, *, description: str = "") -> dict:
        return envelope(OK, description or "success", data)

    def reply_refused(self, rejected: InboundRejected) -> tuple[dict, int]:
        status = 403 if rejected.reason == RejectReason.SENDER else 200
        return envelope(REPLY_CODES[rejected.reason], rejected.message), status

    def reply_duplicate(self, *, original_id: int) -> dict:
        return envelope(OK, _("Already received as message %(id)s.") % {"id": original_id})

    def reply_unanswered(self) -> dict:
        return envelope(FAILED, _("We could not answer this question now; please ask again."))

    def reply_unstored(self) -> tuple[dict, int]:
        return envelope(FAILED, _("We could not store the callback; please send it again.")), 503
