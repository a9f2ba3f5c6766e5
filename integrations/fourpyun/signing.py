"""4pyun's open-platform signature (doc.4pyun.com/openapi §1.2), both forms it takes.

- A JSON request (every `energy/internal/*/sync`): MD5 of the exact body text followed by `&app_secret=<secret>`,
  as 32 hex digits in the `Authorization` header (no scheme word). The bytes signed are the bytes sent: a body is
  written once and never serialised again.
- A form or query-string request: every parameter but `sign` whose value is not empty, sorted by name (ASCII),
  joined as `name=value&…` with the raw values (not URL-encoded), then `&app_secret=<secret>`, MD5 in hex, sent
  as the `sign` parameter. `sign_type` is signed like any other parameter when it is sent.

4pyun compares the hex digits without regard to case; so do we. Its published vectors are reproduced in
`tests/integrations/fourpyun/test_signing.py`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGN_TYPE = "MD5"
SECRET_FIELD = "app_secret"  # noqa: S105 - the name of the field, not a secret


def _md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def json_signing_string(body: str, secret: str) -> str:
    return f"{body}&{SECRET_FIELD}={secret}"


def json_sign(body: str, secret: str) -> str:
    """The `Authorization` value of a JSON request whose body is exactly `body` (lower-case hex)."""
    return _md5_hex(json_signing_string(body, secret))


def form_signing_string(params: Mapping[str, object], secret: str) -> str:
    """The text a form request's `sign` is the MD5 of: non-empty parameters but `sign`, sorted by name."""
    pairs = sorted((str(name), str(value)) for name, value in params.items()
                   if name != "sign" and value is not None and str(value) != "")
    return "&".join([*(f"{name}={value}" for name, value in pairs), f"{SECRET_FIELD}={secret}"])


def form_sign(params: Mapping[str, object], secret: str) -> str:
    """The `sign` of a form request with `params` (lower-case hex)."""
    return _md5_hex(form_signing_string(params, secret))


def signature_matches(given: str, expected: str) -> bool:
    """Whether a signature someone sent is `expected`, in constant time and whatever the case of its hex digits."""
    return hmac.compare_digest(given.strip().lower().encode("ascii", "replace"), expected.lower().encode("ascii"))


def masked(signing_string: str, secret: str) -> str:
    """A signing string with its secret masked, as 4pyun's refusal hints show it (for the other side's debugging)."""
    return signing_string.replace(f"{SECRET_FIELD}={secret}", f"{SECRET_FIELD}=***")
