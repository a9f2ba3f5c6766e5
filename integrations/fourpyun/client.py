"""4pyun's open platform over the client base: the two sync endpoints we call, signed as 4pyun documents.

Every call is a JSON body that carries the public parameters (`app_id`, `timestamp` in milliseconds, `sign_type`
MD5) before the endpoint's fields, written once and signed as written (`signing.json_sign`) into the
`Authorization` header. A retry is a new call with a fresh timestamp: 4pyun refuses one more than ten minutes
from its clock.

4pyun answers `{code, message, hint, seqno, ...}` with `code` a string, on any HTTP status:

- `1001`: done; the answer is returned.
- `1500`, `500`, `503`, any HTTP 5xx, or no JSON on a 5xx: 4pyun failed or is away: `VendorUnavailable`, retried.
- `400`, `401`, HTTP 400 or 401: our request is wrong (a field, the signature, the clock) and no retry fixes it:
  `FourpyunRefused`.
- anything else (`1002` an unknown station, ...): refused as its message and hint say: `FourpyunError`, retried.

The error's text carries 4pyun's code, message and `hint` (which for a signature names the string 4pyun signed,
its secret masked), so the admin shows what to fix.
"""

from __future__ import annotations

import json
import time

from django.conf import settings

from chargers.vendor import VendorError, VendorNotConfigured, VendorUnavailable
from integrations.http import BadResponse, HttpClient
from integrations.models import Counterparty

from .signing import SIGN_TYPE, json_sign

RECORD_PATH = "/gate/1.0/energy/internal/replenish/sync"
DEVICE_PATH = "/gate/1.0/energy/internal/device/sync"
OK = "1001"
# Codes that say 4pyun could not do it now; anything it refuses for a reason of ours is the other table row.
UNAVAILABLE_CODES = frozenset({"1500", "500", "503"})
REFUSED_CODES = frozenset({"400", "401"})


class FourpyunError(VendorError):
    """4pyun refused a call; `hint` is its explanation, when it gave one."""

    def __init__(self, message: str, *, code: str = "", hint: str = ""):
        super().__init__(message, vendor=Counterparty.FOURPYUN, code=code)
        self.hint = hint


class FourpyunRefused(FourpyunError):
    """4pyun refused the request itself (its fields, its signature, its timestamp): sending it again is useless."""


def _answer(response) -> dict | None:
    try:
        answer = json.loads(response.text)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


class FourpyunClient(HttpClient):
    vendor = Counterparty.FOURPYUN

    def __init__(self, *, base_url: str, app_id: str, app_secret: str, **kwargs):
        super().__init__(base_url=base_url, **kwargs)
        self.app_id = app_id
        self.app_secret = app_secret

    @classmethod
    def from_settings(cls) -> FourpyunClient:
        missing = [name for name in ("FOURPYUN_BASE_URL", "FOURPYUN_APP_ID", "FOURPYUN_APP_SECRET")
                   if not getattr(settings, name)]
        if missing:
            raise VendorNotConfigured(f"4pyun is not configured: set {', '.join(missing)}.",
                                      vendor=Counterparty.FOURPYUN)
        return cls(base_url=settings.FOURPYUN_BASE_URL, app_id=settings.FOURPYUN_APP_ID,
                   app_secret=settings.FOURPYUN_APP_SECRET, connect_timeout=settings.FOURPYUN_CONNECT_TIMEOUT,
                   read_timeout=settings.FOURPYUN_READ_TIMEOUT)

    def body(self, fields: dict, *, now_ms: int | None = None) -> str:
        """The JSON text of a call: the public parameters, then `fields`, as sent and signed."""
        document = {"app_id": self.app_id, "timestamp": now_ms if now_ms is not None else int(time.time() * 1000),
                    "sign_type": SIGN_TYPE, **fields}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    def sync(self, path: str, fields: dict, *, operation: str, order_no: str = "", charger_serial: str = ""):
        """POST `fields` to `path`, signed; returns 4pyun's answer (the HTTP response) when it says 1001."""
        body = self.body(fields)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Authorization": json_sign(body, self.app_secret)}
        return self.request("POST", path, operation=operation, body=body, headers=headers, order_no=order_no,
                            charger_serial=charger_serial)

    def parse(self, response, *, operation: str):
        answer = _answer(response)
        if answer is None:
            if response.status_code >= 500:
                raise VendorUnavailable(f"4pyun {operation}: HTTP {response.status_code}", vendor=self.vendor)
            raise BadResponse(f"4pyun {operation}: HTTP {response.status_code}, and the answer is not a JSON object",
                              vendor=self.vendor)
        code = str(answer.get("code", ""))
        if code == OK and response.status_code < 300:
            return response  # the outbox keeps its status and first characters with the attempt
        message, hint = str(answer.get("message") or ""), str(answer.get("hint") or "")
        text = f"4pyun {operation}: {code or 'no code'} {message}".strip() + (f": {hint}" if hint else "")
        if response.status_code >= 500 or code in UNAVAILABLE_CODES:
            raise VendorUnavailable(text, vendor=self.vendor, code=code)
        if code in REFUSED_CODES or response.status_code in (400, 401):
            raise FourpyunRefused(text, code=code, hint=hint)
        raise FourpyunError(text, code=code, hint=hint)
