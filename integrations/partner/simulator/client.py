"""The partner's side of the API: a token, then GETs of the interfaces, every answer an envelope."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests

from integrations.partner.simulator.protocol import API_PREFIX, OK, TOKEN_RETRY_CODES, loads, wire_time

# A token is renewed this long before it expires, so a call never leaves with one about to lapse.
TOKEN_MARGIN_SECONDS = 60


class PartnerApiError(Exception):
    """An envelope whose code is not 0; `data` is what came with it (chargeStart's 4004 carries the order)."""

    def __init__(self, code: int, msg: str, data: Any = None, *, http_status: int | None = None,
                 retry_after: float | None = None):
        self.code = code
        self.msg = msg
        self.data = data
        self.http_status = http_status
        self.retry_after = retry_after  # seconds, from a 429's Retry-After
        super().__init__(f"{code} {msg}")


class PartnerProtocolError(Exception):
    """An answer that is not an envelope at all (an HTML error page, a body that is not JSON)."""

    def __init__(self, message: str, *, http_status: int | None = None, body: bytes = b""):
        self.http_status = http_status
        self.body = body
        super().__init__(message)


class PartnerClient:
    """Calls our partner API as a partner platform would: `org` and `secret` buy a token, the rest are GETs.

    `call()` returns each envelope as it came (codes are for the caller to read); the named methods return its
    `data` and raise `PartnerApiError` for any other code. Transport failures raise `requests.RequestException`
    and a non-envelope answer `PartnerProtocolError`, from both. The last answer's HTTP status and headers are
    kept in `last_status` and `last_headers` (a 429's Retry-After, say).
    """

    def __init__(self, base_url: str, org: str, secret: str, timeout: float | tuple[float, float] = (3.05, 10.0),
                 session: requests.Session | None = None):
        base = base_url.rstrip("/")
        # The base URL is the site ("http://127.0.0.1:8000"); one that already names the API prefix works too.
        self.api_url = base + "/" if base.endswith(API_PREFIX.rstrip("/")) else base + API_PREFIX
        self.org = org
        self.secret = secret
        self.timeout = timeout
        self.session = session or requests.Session()
        self.last_status: int | None = None
        self.last_headers: Mapping[str, str] = {}
        self.tokens_fetched = 0  # how many getToken calls succeeded: tests see a re-fetch happen
        self._token: str | None = None
        self._token_expires: float = 0.0  # monotonic
        self._lock = threading.Lock()

    # ---- token -----------------------------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        return self._token

    def forget_token(self) -> None:
        with self._lock:
            self._token, self._token_expires = None, 0.0

    def get_token(self) -> str:
        """A new token (POST getToken); PartnerApiError when refused (2004 wrong org/secret, 2005 disabled)."""
        envelope = self._fetch_token()
        if envelope.get("code") != OK:
            raise self._error(envelope)
        return self._token

    def _fetch_token(self) -> dict:
        envelope = self._send("POST", "getToken", {"org": self.org, "secret": self.secret})
        data = envelope.get("data")
        if envelope.get("code") == OK and isinstance(data, dict) and data.get("token"):
            expires_in = data.get("expiresIn")
            # The contract says 7200 s; an answer without a usable figure is taken at that word.
            valid = isinstance(expires_in, int | Decimal) and not isinstance(expires_in, bool)
            lifetime = float(expires_in) if valid else 7200.0
            with self._lock:
                self._token = str(data["token"])
                self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
                self.tokens_fetched += 1
        return envelope

    def _current_token(self) -> tuple[str | None, dict | None]:
        """The token to send, fetching one when there is none or it is about to expire; else getToken's refusal."""
        with self._lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token, None
        envelope = self._fetch_token()
        if envelope.get("code") != OK:
            return None, envelope
        return self._token, None

    # ---- low level -------------------------------------------------------------------------------------------

    def call(self, name: str, **params) -> dict:
        """The envelope of interface `name` with `params` (None values left out), whatever its code.

        getToken is POSTed with `org` and `secret` (unless given); the rest are GETs with the token. An answer
        of 2002 or 2003 gets a new token and asks once more, as a partner would.
        """
        params = {key: value for key, value in params.items() if value is not None}
        if name == "getToken":
            params.setdefault("org", self.org)
            params.setdefault("secret", self.secret)
            return self._send("POST", name, params)
        token, refusal = self._current_token()
        if refusal is not None:
            return refusal
        envelope = self._send("GET", name, {**params, "token": token})
        if envelope.get("code") in TOKEN_RETRY_CODES:
            self.forget_token()
            token, refusal = self._current_token()
            if refusal is not None:
                return refusal
            envelope = self._send("GET", name, {**params, "token": token})
        return envelope

    def _send(self, method: str, name: str, params: dict) -> dict:
        url = self.api_url + name
        text_params = {key: str(value) for key, value in params.items()}
        if method == "POST":
            response = self.session.post(url, data=text_params, timeout=self.timeout)
        else:
            response = self.session.get(url, params=text_params, timeout=self.timeout)
        self.last_status = response.status_code
        self.last_headers = response.headers  # case-insensitive
        try:
            envelope = loads(response.content)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int):
            raise PartnerProtocolError(
                f"{name}: HTTP {response.status_code}, not an envelope: {response.content[:200]!r}",
                http_status=response.status_code, body=response.content,
            )
        return envelope

    # ---- interfaces ------------------------------------------------------------------------------------------

    def stations(self, city_code: str, group_type: str | int | None = None) -> list[dict]:
        return self._data("syncStubGroupInfo", cityCode=city_code, stubGroupType=group_type)

    def stub_info(self, station_code: str) -> dict:
        return self._data("syncStubInfo", stubGroupId=station_code)

    def start(self, out_order_id: str, driver_id: str, stub_id: str, gun_id: str,
              at: dt.datetime | None = None) -> dict:
        """chargeStart; `at` (aware) is the request's `time`, now by default."""
        if at is not None and at.tzinfo is None:
            raise ValueError("`at` must be an aware datetime")
        seconds = int(at.timestamp()) if at is not None else int(time.time())
        return self._data("chargeStart", outOrderId=out_order_id, driverId=driver_id, stubId=stub_id, gunId=gun_id,
                          org=self.org, time=seconds)

    def order(self, order_id: str) -> dict:
        return self._data("getOrderInfo", orderId=order_id)

    def stop(self, order_id: str) -> dict:
        return self._data("chargeStop", orderId=order_id)

    def check(self, start: dt.datetime, end: dt.datetime) -> dict:
        """checkChargeOrders for orders created in [start, end) (aware datetimes, sent as Beijing time)."""
        return self._data("checkChargeOrders", startTim=wire_time(start), endTim=wire_time(end))

    def _data(self, name: str, **params):
        envelope = self.call(name, **params)
        if envelope.get("code") != OK:
            raise self._error(envelope)
        return envelope.get("data")

    def _error(self, envelope: dict) -> PartnerApiError:
        retry_after = None
        header = self.last_headers.get("Retry-After")
        if header:
            try:
                retry_after = float(header)
            except ValueError:
                retry_after = None
        return PartnerApiError(envelope.get("code"), envelope.get("msg") or "", envelope.get("data"),
                               http_status=self.last_status, retry_after=retry_after)
