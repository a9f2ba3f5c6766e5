"""Schemathesis hooks and checks of .ci/schemathesis: what a real caller of each protocol does before it sends, and
how a refusal is read in protocols that refuse with HTTP 200.

Before each call:
- a partner call that carries `token` carries the valid token the script got from getToken (PARTNER_TOKEN), so that
  generated station codes, order numbers, times and guns reach the interfaces themselves (a call generated without
  a token stays without one, and schemathesis re-validates the case after the change);
- a Wanzhuang callback or a 4pyun push generated as a form is signed as the vendor signs it, with our app id and
  the secret the server was given, so that its fields reach the protocol instead of stopping at verification. The
  schema's own examples keep their made-up signatures: they are the wrong-signature cases;
- a 4pyun charging push says what 4pyun's clock and arithmetic say: its well-formed start_time and end_time are
  those of a session that ended a minute ago, and its total_value is energy_value + fee_value. The schema states
  both in words, but JSON Schema can say neither (the window around our clock moves, and it has no arithmetic
  between fields); the receiver refuses a push that breaks them, as its tests show.

The check `negative_data_refused_in_envelope`: the partner interface, Tomda's push and Wanzhuang's callbacks answer
a refusal with HTTP 200 and a code in their envelope (`code` 0, `errorCode` "200" and `code` 1 are success), as
their protocols say and the schema documents. schemathesis's own negative_data_rejection reads only the HTTP status,
so .ci/schemathesis.toml lets it take 200 for those operations, and this check holds them to the same rule in their
own terms: data the schema forbids must not be answered with the envelope's success. When it is, the case is judged
by negative_data_rejection itself with its default statuses, so that the cases it knows to be harmless (a value
that is valid once serialised, say) pass here as they would there.

The server's settings (WANZHUANG_APP_ID, WANZHUANG_APP_SECRET, FOURPYUN_APP_ID, FOURPYUN_APP_SECRET) are in the
environment the script exports. The signing functions are the project's own (pure functions, no Django).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import schemathesis
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import negative_data_rejection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations.fourpyun.signing import form_sign  # noqa: E402
from integrations.wanzhuang.signing import HMAC_SHA256, sign  # noqa: E402

BEIJING = ZoneInfo("Asia/Shanghai")
WALL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# The envelope field that says success, and its value, by operationId prefix.
ENVELOPE_SUCCESS = {"partner_": ("code", 0), "tomda_push": ("errorCode", "200"), "wanzhuang_callback_": ("code", 1)}


def _operation_id(case) -> str:
    return case.operation.definition.raw.get("operationId", "")


def _phase(case) -> TestPhase | None:
    return case.meta.phase.name if case.meta is not None else None


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = _operation_id(case)
    if operation.startswith("partner_") and isinstance(case.query, dict) and "token" in case.query:
        case.query["token"] = os.environ["PARTNER_TOKEN"]
    if not isinstance(case.body, dict) or _phase(case) == TestPhase.EXAMPLES:
        return
    if operation.startswith("wanzhuang_callback_"):
        case.body["app_id"] = os.environ["WANZHUANG_APP_ID"]
        case.body["sign"] = sign(case.body, secret=os.environ["WANZHUANG_APP_SECRET"],
                                 method=os.environ.get("WANZHUANG_SIGN_METHOD", HMAC_SHA256))
    elif operation.startswith("fourpyun_push_"):
        _fourpyun_as_sent(case.body)
        if "sign" in case.body:
            case.body["app_id"] = os.environ["FOURPYUN_APP_ID"]
            case.body["sign"] = form_sign(case.body, os.environ["FOURPYUN_APP_SECRET"])


def _fourpyun_as_sent(body: dict) -> None:
    now = dt.datetime.now(BEIJING)
    for field, minutes in (("start_time", 40), ("end_time", 1)):
        if isinstance(body.get(field), str) and WALL_TIME.match(body[field]):
            body[field] = (now - dt.timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")
    parts = [body.get(field) for field in ("energy_value", "fee_value", "total_value")]
    if all(isinstance(part, int) and not isinstance(part, bool) for part in parts):
        body["total_value"] = parts[0] + parts[1]


class _DefaultStatuses:
    """A check context whose negative_data_rejection expects its default statuses (HTTP 200 not among them)."""

    def __init__(self, ctx):
        self._ctx = ctx
        self.config = _ChecksWithDefaultNegative(ctx.config)

    def __getattr__(self, name):
        return getattr(self._ctx, name)


class _ChecksWithDefaultNegative:
    negative_data_rejection = NegativeDataRejectionConfig()

    def __init__(self, config):
        self._config = config

    def __getattr__(self, name):
        return getattr(self._config, name)


@schemathesis.check
def negative_data_refused_in_envelope(ctx, response, case):
    operation = _operation_id(case)
    envelope = next((found for prefix, found in ENVELOPE_SUCCESS.items() if operation.startswith(prefix)), None)
    if envelope is None or response.status_code != 200 or case.meta is None:
        return None
    if not case.meta.generation.mode.is_negative:
        return None
    try:
        answer = json.loads(response.content)
    except ValueError:
        return None  # not the envelope: response_schema_conformance reports it
    field, success = envelope
    if not isinstance(answer, dict) or answer.get(field) != success:
        return True  # refused in the envelope
    return negative_data_rejection(_DefaultStatuses(ctx), response, case)
