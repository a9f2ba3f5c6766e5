"""The one HTTP client base: timeouts, typed errors and an `ApiCallLog` row for every call.

A vendor client subclasses `HttpClient`, sets `vendor`, `redacted` (parameter names whose values
never reach the log) and implements `parse(response)` to turn a vendor answer into data or a
`VendorError`. Errors are the domain's (`chargers.vendor`), so a service can catch them without
knowing which vendor it spoke to.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from django.utils import timezone

from chargers.vendor import VendorError, VendorUnavailable
from integrations.models import ApiCallLog, CallOutcome
from integrations.values import MappingError

logger = logging.getLogger(__name__)

LOGGED_BODY_CHARS = 4000
REDACTED = "***"


@dataclass(frozen=True)
class Answer:
    """What the other side answered, secrets redacted as in the call log.

    An error `request` raises after an answer came carries it as `response`, the attribute requests'
    own errors use, so whoever catches the error can tell what came back (the outbox keeps its status
    and first characters with the attempt).
    """

    status_code: int
    text: str


class BadResponse(VendorError):
    """The vendor answered with something that is not its protocol (not JSON, wrong shape)."""


def answer_read(mapper, *args, vendor: str):
    """Map a vendor's answer; one we cannot read is the vendor's error (BadResponse), not ours."""
    try:
        return mapper(*args)
    except MappingError as exc:
        raise BadResponse(f"{vendor} answered something we cannot read: {exc}", vendor=vendor) from exc


def redact(params: Mapping | None, names: frozenset[str]) -> dict:
    """A copy of `params` with the values of `names` replaced, nested JSON objects included."""

    def walk(value):
        if isinstance(value, Mapping):
            return {k: (REDACTED if k in names else walk(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(dict(params or {}))


def redact_json_text(text: str, names: frozenset[str]) -> str:
    """`text` with the values of `names` masked when it is a JSON document; other text as it was.

    Answers can carry secrets too (a token call answers with the token).
    """
    if not text or not any(name in text for name in names):
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return text
    return json.dumps(redact({"body": document}, names)["body"], ensure_ascii=False)


def multipart_fields(files: Mapping | None) -> dict | None:
    """The fields of a multipart body as logged: a `(None, text)` field by its text, a file by its name."""
    if not files:
        return None
    fields = {}
    for name, value in files.items():
        if isinstance(value, tuple):
            value = value[1] if value[0] is None else value[0]
        fields[name] = value
    return fields


class HttpClient:
    vendor: str = ""
    redacted: frozenset[str] = frozenset()

    def __init__(self, *, base_url: str, connect_timeout: float = 5.0, read_timeout: float = 15.0, session=None):
        self.base_url = base_url
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()

    def parse(self, response: requests.Response, *, operation: str):
        """The data of a successful answer; raises VendorError (with the vendor's code) otherwise."""
        raise NotImplementedError

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping | None = None,
        data: Mapping | None = None,
        json_body=None,
        files: Mapping | None = None,
        body: str | None = None,
        headers: Mapping | None = None,
        charger_serial: str = "",
        order_no: str = "",
    ):
        """Send one request, log it, and return `parse(response)`.

        `files` is requests' multipart body (a field is `(None, text)` or `(filename, content)`); its
        fields are logged as the form's are, a file by its name. `body` is a text sent as it is (UTF-8), for a
        protocol that writes its own JSON; the caller names its content type in `headers`.

        Raises VendorUnavailable when the outcome is unknown (timeout, connection failure, 5xx) and
        VendorError when the vendor answered and refused; an error raised after an answer came
        carries that `Answer` as `response`.
        """
        # An empty path is the base URL itself, as given (a partner's callback URL may end with a slash).
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}" if path else self.base_url
        logged = {"query": params, "form": data, "json": json_body, "multipart": multipart_fields(files), "body": body}
        log = ApiCallLog(
            vendor=self.vendor,
            operation=operation,
            method=method,
            url=url[:500],
            request_body=json.dumps(
                {k: redact(v, self.redacted) if isinstance(v, Mapping) else v for k, v in logged.items() if v},
                ensure_ascii=False,
                default=str,
            ),
            charger_serial=charger_serial,
            order_no=order_no,
            created_at=timezone.now(),
        )
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=body.encode("utf-8") if body is not None else data,
                json=json_body,
                files=files,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            self._finish(log, started, CallOutcome.TIMEOUT, error=str(exc))
            raise VendorUnavailable(
                f"{self.vendor} {operation}: no answer in time ({exc.__class__.__name__})", vendor=self.vendor
            ) from exc
        except requests.RequestException as exc:
            self._finish(log, started, CallOutcome.TRANSPORT_ERROR, error=str(exc))
            raise VendorUnavailable(f"{self.vendor} {operation}: {exc}", vendor=self.vendor) from exc

        answer = Answer(status_code=response.status_code, text=redact_json_text(response.text, self.redacted))
        log.status_code = answer.status_code
        log.response_body = answer.text[:LOGGED_BODY_CHARS]
        try:
            result = self.parse(response, operation=operation)
        except VendorError as exc:
            exc.response = answer
            if isinstance(exc, VendorUnavailable):
                outcome = CallOutcome.HTTP_ERROR
            elif isinstance(exc, BadResponse):
                outcome = CallOutcome.BAD_RESPONSE
            else:
                outcome = CallOutcome.VENDOR_ERROR
            self._finish(log, started, outcome, error=str(exc), code=exc.code, message=exc.message)
            raise
        self._finish(log, started, CallOutcome.OK, code=getattr(result, "vendor_code", ""))
        return result

    def _finish(self, log: ApiCallLog, started: float, outcome: str, *, error="", code="", message=""):
        log.duration_ms = int((time.monotonic() - started) * 1000)
        log.outcome = outcome
        log.error = error
        log.vendor_code = str(code or "")[:32]
        log.vendor_message = str(message or "")[:255]
        try:
            log.save()
        except Exception:
            # A call log must never turn a vendor's answer into our failure.
            logger.exception("could not store the API call log of %s %s", self.vendor, log.operation)
