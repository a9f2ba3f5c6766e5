"""4pyun as the inbox sees it: its pushes (`protocol.py`), their check and the reports they leave
(`processor.py`) and their signature, in one `InboxProtocol` registered at start-up."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from integrations.inbox import InboundRejected, InboxProtocol, Parsed
from integrations.models import Counterparty, RejectReason, Verification

from .processor import report_check, reports_apply
from .protocol import OK, UNAVAILABLE, envelope, form_fields, push_parse, refusal_reply
from .signing import form_sign, form_signing_string, masked, signature_matches

SIGN_FIELD = "sign"

# Why the request being received failed verification, in words 4pyun's engineers can act on (for a wrong sign,
# the string we signed, its secret masked). The receiver refuses a failed verification with a message of its own
# and hands us only that refusal to answer, so the detail is kept here between `verify` and `reply_refused`, for
# the request in hand: a context variable is its thread's (or task's), whatever the protocol object shared.
_verification_hint: ContextVar[str] = ContextVar("fourpyun_verification_hint", default="")


def mismatch_hint(fields: dict, secret: str) -> str:
    """What a push whose `sign` is wrong is told: the string we signed, as 4pyun's own refusals show it (its
    secret masked), so that 4pyun's engineers can compare it with theirs."""
    return _("sign does not match the form we received; we signed: %(string)s") % {
        "string": masked(form_signing_string(fields, secret), secret)}


def verification_hint(message: str, detail: str) -> str:
    """The hint of a push that failed verification: the receiver's refusal, then why."""
    return f"{message} {detail}" if detail else message


def _failed(hint: str) -> str:
    _verification_hint.set(hint)
    return Verification.FAILED


class FourpyunInbox(InboxProtocol):
    vendor = Counterparty.FOURPYUN
    allowed_ips_setting = "FOURPYUN_PUSH_ALLOWED_IPS"
    kept_headers = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Real-Ip")

    def verify(self, request) -> str:
        """A push is checked as 4pyun signs a form (`signing.form_sign`, with our app secret), as
        FOURPYUN_PUSH_SIGNATURE says: "off" checks nothing; "if-present" checks a push that carries `sign` and
        takes one without; "required" (and any other value, so that a misspelt setting never opens the door)
        refuses one without. 4pyun does not document how it signs its pushes: this is its open platform's form
        signature, which its payment notification carries.

        The timestamp is signed but not held to a window: 4pyun re-sends a push until it is answered 1001, and
        whether a copy keeps its first timestamp is not documented; a copy is deduplicated instead.
        """
        _verification_hint.set("")
        mode = settings.FOURPYUN_PUSH_SIGNATURE
        if mode == "off":
            return Verification.UNCHECKED
        try:
            fields = form_fields(body=request.body, content_type=request.META.get("CONTENT_TYPE", ""))
        except InboundRejected:
            return Verification.UNCHECKED  # unreadable: parse refuses it, naming why
        sign = (fields.get(SIGN_FIELD) or "").strip()
        if not sign:
            if mode == "if-present":
                return Verification.UNCHECKED
            return _failed(_("sign is missing: we take only signed pushes."))
        secret = settings.FOURPYUN_APP_SECRET
        if not secret:
            # Without our secret anyone could sign: nothing is signed for us.
            return _failed(_("We cannot check sign: our 4pyun app secret is not configured."))
        app_id = fields.get("app_id") or ""
        if app_id and app_id != settings.FOURPYUN_APP_ID:
            return _failed(_("app_id %(app_id)s is not the app we are at 4pyun.") % {"app_id": app_id})
        if not signature_matches(sign, form_sign(fields, secret)):
            return _failed(mismatch_hint(fields, secret))
        return Verification.PASSED

    def parse(self, *, body: bytes, content_type: str, received_at: datetime | None = None, kind: str = "") -> Parsed:
        return push_parse(kind=kind, body=body, content_type=content_type, received_at=received_at)

    def check(self, parsed: Parsed) -> list[InboundRejected]:
        report_check(parsed.record)
        return []

    def apply(self, pushes: list[Parsed]) -> None:
        reports_apply(pushes)

    def reply_ok(self, data=None, *, description: str = "") -> dict:
        return envelope(OK, description or None)

    def reply_refused(self, rejected: InboundRejected) -> tuple[dict, int]:
        hint = ""
        if rejected.reason == RejectReason.VERIFICATION:
            detail = _verification_hint.get()
            _verification_hint.set("")
            hint = verification_hint(rejected.message, detail)
        return refusal_reply(rejected, hint=hint)

    def reply_duplicate(self, *, original_id: int) -> dict:
        return envelope(OK, _("Already received as message %(id)s.") % {"id": original_id})

    def reply_unanswered(self) -> dict:
        # 4pyun asks us nothing: every push is news. Should one ever be a question, it is asked again.
        return envelope(UNAVAILABLE, _("We could not answer this question now; please ask again."))

    def reply_unstored(self) -> tuple[dict, int]:
        return envelope(UNAVAILABLE, _("We could not store the push; please send it again.")), 503
