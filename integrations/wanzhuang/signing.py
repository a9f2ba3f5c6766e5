"""The signature of Wanzhuang's open API (wz-open): every call we make and every callback it sends.

What Wanzhuang's public pages say (接入指引, only partly readable): every call carries `app_id`,
`timestamp` (Unix seconds) and `sign`; the byte/file parameters and `sign` itself are left out, the
others are sorted by key (ASCII ascending) and joined as `key=value` with `&`; "将待签名字符串和商户私钥带入
sha256 算法", and the digest is hex text (the examples are 64 hex characters). Their worked example
starts from `device_num=19285526&device_port=2&is_error=true&app_id=3a7030ea45a08d&timestamp=1644902382`,
sorted to `app_id=3a7030ea45a08d&device_num=19285526&device_p…`; the rest of it was not readable.

What we assumed where they are silent (binding for our client and our simulator alike, `wz_wire.md`; to
confirm against Wanzhuang's dev environment, https://dev-api-open.wanzhuangkj.com/):

- parameters whose value is None or "" take no part in the string;
- a value is rendered as text the way it travels: `true`/`false` for booleans, `str()` for numbers,
  compact JSON (`ensure_ascii=False`, no spaces) for lists and objects, strings as they are; no
  URL-encoding;
- "带入 sha256 算法" with the merchant key is read as HMAC-SHA256 keyed with the secret (setting
  `WANZHUANG_SIGN_METHOD` = "hmac-sha256", the default); the other reading, SHA-256 of the string
  followed by the secret, is "sha256". Both give lowercase hex; a signature we check may be in either case.

Pure functions: no settings, no clock. The client passes the secret, the method and the time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

HMAC_SHA256 = "hmac-sha256"
SHA256 = "sha256"
SIGN_METHODS = (HMAC_SHA256, SHA256)

SIGN_FIELD = "sign"
METHOD_SETTING = "WANZHUANG_SIGN_METHOD"


def text(value) -> str:
    """One value as it is signed (and as it travels in a query string or a form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def signing_string(params: Mapping) -> str:
    """The sorted `key=value&…` string of every parameter but `sign` and the empty ones."""
    kept = {str(key): text(value) for key, value in params.items() if key != SIGN_FIELD and value not in (None, "")}
    return "&".join(f"{key}={kept[key]}" for key in sorted(kept))


def sign(params: Mapping, *, secret: str, method: str) -> str:
    """The lowercase hex signature of `params` with the merchant key `secret`."""
    string = signing_string(params)
    if method == HMAC_SHA256:
        return hmac.new(secret.encode("utf-8"), string.encode("utf-8"), hashlib.sha256).hexdigest()
    if method == SHA256:
        return hashlib.sha256((string + secret).encode("utf-8")).hexdigest()
    raise ValueError(f"{METHOD_SETTING} must be one of {', '.join(SIGN_METHODS)}, not {method!r}")


def signed(params: Mapping, *, app_id: str, secret: str, method: str, now: int) -> dict:
    """`params` with `app_id`, `timestamp` (`now`, Unix seconds) and their `sign` added."""
    fields = {key: value for key, value in params.items() if key != SIGN_FIELD}
    fields.update(app_id=app_id, timestamp=int(now))
    fields[SIGN_FIELD] = sign(fields, secret=secret, method=method)
    return fields


def signature_valid(params: Mapping, *, secret: str, method: str) -> bool:
    """Whether `params` carry the signature of the other parameters (hex in either case).

    The comparison takes the same time wherever the signatures differ. A missing or empty `sign` is not
    valid; an unknown `method` is a configuration fault and raises ValueError.
    """
    expected = sign(params, secret=secret, method=method)
    given = params.get(SIGN_FIELD)
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.lower().encode("utf-8"))
