"""Tomda as the inbox sees it: its protocol (`protocol.py`), its checks and domain work (`processor.py`),
and its verification, in one `InboxProtocol` registered at start-up."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chargers.models import Vendor
from integrations.inbox import InboundRejected, InboxProtocol, Parsed
from integrations.models import RejectReason

from .processor import push_answer, push_check, pushes_apply
from .protocol import FAILED, OK, QUERIES, REPLY_CODES, envelope, push_parse
from .verification import push_verifier


class TomdaInbox(InboxProtocol):
    vendor = Vendor.TOMDA
    allowed_ips_setting = "TOMDA_PUSH_ALLOWED_IPS"
    # The verification token's header is not one of them.
    kept_headers = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Real-Ip")
    batched_kinds = frozenset({"WORK_DATA"})
    question_kinds = frozenset(QUERIES)

    def verify(self, request) -> str:
        return push_verifier().verify(request)

    def parse(self, *, body: bytes, content_type: str, received_at: datetime | None = None, kind: str = "") -> Parsed:
        # Tomda's pushes name their type in the body; they all come to one URL.
        return push_parse(body=body, content_type=content_type, received_at=received_at)

    def check(self, parsed: Parsed) -> list[InboundRejected]:
        return push_check(parsed.record)

    def answer(self, parsed: Parsed):
        return push_answer(parsed.record)

    def apply(self, pushes: list[Parsed]) -> None:
        pushes_apply(pushes)

    def reply_ok(self, data=None, *, description: str = "") -> dict:
        return envelope(OK, description, data)

    def reply_refused(self, rejected: InboundRejected) -> tuple[dict, int]:
        status = 403 if rejected.reason == RejectReason.SENDER else 200
        return envelope(REPLY_CODES[rejected.reason], rejected.message), status

    def reply_partly_refused(self, refused: list[InboundRejected]) -> dict:
        # Success, so that Tomda sends the readings we took no second time; each refused one is named with
        # the code it would have had alone.
        items = [
            {**refusal.item, "errorCode": REPLY_CODES[refusal.reason], "errorDesc": refusal.message}
            for refusal in refused
        ]
        description = ngettext(
            "%(count)s reading was refused; the others were taken.",
            "%(count)s readings were refused; the others were taken.",
            len(items),
        ) % {"count": len(items)}
        return envelope(OK, description, {"refused": items})

    def reply_duplicate(self, *, original_id: int) -> dict:
        return envelope(OK, _("Already received as message %(id)s.") % {"id": original_id})

    def reply_unanswered(self) -> dict:
        return envelope(FAILED, _("We could not answer this question now; please ask again."))

    def reply_unstored(self) -> tuple[dict, int]:
        return envelope(FAILED, _("We could not store the push; please send it again.")), 503
