"""The one endpoint Tomda pushes to (§5): store, verify, process, answer in Tomda's envelope."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.views import APIView

from chargers.models import Vendor
from integrations.inbox import InboundRejected, inbound_process, inbound_reject, inbound_store
from integrations.models import InboundMessage, RejectReason, Verification

from .push import FAILED, OK, QUERIES, REPLY_CODES, dedupe_key, envelope_parse, references
from .verification import push_verifier

logger = logging.getLogger(__name__)

# Request headers worth keeping with a push; the verification token header is not one of them.
KEPT_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Real-Ip")


def envelope(code: str, description: str = "", data=None) -> dict:
    """Tomda's reply shape (§5.2.3)."""
    return {"errorCode": code, "errorDesc": description, "data": data}


class TomdaPushView(APIView):
    """POST /integrations/tomda/push: every Tomda push type, as JSON or as form fields."""

    authentication_classes = []
    permission_classes = []
    parser_classes = []  # the raw body is ours to store and verify before anything reads it

    def post(self, request):
        # Tomda's engineers read Chinese; our replies speak it whatever the admin's language.
        with translation.override("zh-hans"):
            reply, status = self._handle(request)
        return Response(reply, status=status)

    def _handle(self, request) -> tuple[dict, int]:
        raw = request.body
        content_type = request.META.get("CONTENT_TYPE", "")
        verification = push_verifier().verify(request)
        parsed, problem = None, None
        try:
            parsed = envelope_parse(body=raw, content_type=content_type)
        except InboundRejected as exc:
            problem = exc
        serial, order_no = references(parsed) if parsed else ("", "")
        try:
            stored = inbound_store(
                vendor=Vendor.TOMDA,
                kind=parsed.type if parsed else "",
                body=raw.decode("utf-8", errors="replace"),
                content_type=content_type,
                headers={name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
                remote_addr=request.META.get("REMOTE_ADDR", ""),
                dedupe_key=dedupe_key(parsed) if parsed and verification != Verification.FAILED else "",
                verification=verification,
                charger_serial=serial,
                order_no=order_no,
            )
        except DatabaseError:
            logger.exception("could not store a Tomda push")
            return envelope(FAILED, _("We could not store the push; please send it again.")), 503
        message = stored.message
        if stored.duplicate:
            reply = envelope(OK, _("Already received as message %(id)s.") % {"id": message.duplicate_of_id})
            return self._answer(message, reply), 200
        if verification == Verification.FAILED:
            problem = InboundRejected(
                _("The push failed verification (TOMDA_PUSH_VERIFIER=%(verifier)s).")
                % {"verifier": push_verifier().__class__.__name__},
                reason=RejectReason.VERIFICATION,
                code=REPLY_CODES[RejectReason.VERIFICATION],
            )
        if problem is not None:
            reply = envelope(problem.code or REPLY_CODES[problem.reason], problem.message)
            inbound_reject(message=message, reason=problem.reason, error=problem.message, reply=reply)
            return reply, 200
        try:
            message, data = inbound_process(message=message)
        except InboundRejected as exc:
            return self._answer(message, envelope(exc.code or REPLY_CODES[exc.reason], exc.message)), 200
        except Exception:
            if parsed.type in QUERIES:
                reply = envelope(FAILED, _("We could not answer this question now; please ask again."))
            else:
                # Stored is as good as processed for the sender: the retry task finishes the work.
                reply = envelope(OK, _("Stored as message %(id)s; we will process it again.") % {"id": message.pk})
            return self._answer(message, reply), 200
        return self._answer(message, envelope(OK, "", data)), 200

    @staticmethod
    def _answer(message: InboundMessage, reply: dict) -> dict:
        message.reply = reply
        message.save(update_fields=["reply"])
        return reply
