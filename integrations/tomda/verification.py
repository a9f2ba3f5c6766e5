"""Verifying that a push comes from our Tomda cloud.

Section 5.1 of the spec has the integrator configure a verification token (5–20 letters or digits)
and a 32-character message key, but appendix 6.1, which should say how they are used, is empty, and
the deployed receivers we know of check nothing. What is knowable is built: the settings and their
formats (see `integrations.checks`), plaintext pushes, and a pluggable verifier chosen by
`TOMDA_PUSH_VERIFIER`:

- `none` (default): nothing is checked; each row records "not checked".
- `token`: ASSUMPTION, to confirm with Tomda: the push carries the verification token in the
  `X-Tomda-Token` header; it is compared in constant time. A token in the query string is never
  accepted, because access logs record query strings in clear.
- a dotted path to a class with the same `verify(request) -> Verification` method, for the real
  algorithm once Tomda publishes it.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.utils.module_loading import import_string

from integrations.models import Verification

TOKEN_HEADER = "X-Tomda-Token"  # noqa: S105 (a header name, not a secret)


class Unverified:
    def verify(self, request) -> str:
        return Verification.UNCHECKED


class TokenVerifier:
    def __init__(self, token: str | None = None):
        self.token = token if token is not None else settings.TOMDA_PUSH_TOKEN

    def verify(self, request) -> str:
        # Only the header: a token in the query string would be written in clear to every access log.
        sent = request.headers.get(TOKEN_HEADER) or ""
        if self.token and hmac.compare_digest(sent.encode(), self.token.encode()):
            return Verification.PASSED
        return Verification.FAILED


BUILT_IN = {"none": Unverified, "token": TokenVerifier}


def push_verifier():
    """The verifier the settings name."""
    name = settings.TOMDA_PUSH_VERIFIER or "none"
    return (BUILT_IN.get(name) or import_string(name))()
