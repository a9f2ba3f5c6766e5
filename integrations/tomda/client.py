"""The Tomda cloud API client (spec section 4): access token, device commands, tariffs, charger archive.

Tomda takes every parameter form-encoded (query string for GET, form body for POST), JSON-typed
parameters as JSON text, and answers `{errorCode, errorDesc, data}` with errorCode "200" for success.
Every call but the token call carries a token that Tomda issues for a limited time; the token is kept
in the `VendorToken` row so every process shares one instead of each asking for its own.

Device commands (start, stop, reserve, tariff push) are never repeated on a timeout: the outcome is
unknown and the caller asks Tomda for the session's state instead. The one repeat the client makes is
after errorCode 1300 (token expired), which Tomda answers without acting on the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import timedelta

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.vendor import VendorError, VendorNotConfigured, VendorUnavailable
from integrations.http import BadResponse, HttpClient
from integrations.models import VendorToken
from integrations.tomda import constants as c

logger = logging.getLogger(__name__)


class TomdaError(VendorError):
    """Tomda answered and refused; `code` is its errorCode and the message is for operators, in Chinese."""


class TomdaTokenExpired(TomdaError):
    """1300: the token is no longer valid; Tomda did not act on the request."""


class TomdaNotFound(TomdaError):
    """The charger, connector or order is unknown to Tomda: check the serial or the order number."""


class TomdaInvalidRequest(TomdaError):
    """Tomda rejected the parameters: a fault in our data or code, not worth repeating as is."""


class TomdaChargerUnavailable(TomdaError):
    """The charger cannot take the command now (offline, busy, not plugged in): the driver may try later."""


class TomdaConflict(TomdaError):
    """The request collides with an existing order or record (duplicate order number, open session)."""


class TomdaFailure(TomdaError):
    """Any other refusal, including codes the appendix does not list."""


ERROR_CLASSES: tuple[tuple[frozenset[str], type[TomdaError]], ...] = (
    (frozenset({c.TOKEN_EXPIRED_CODE}), TomdaTokenExpired),
    (c.NOT_FOUND_CODES, TomdaNotFound),
    (c.INVALID_REQUEST_CODES, TomdaInvalidRequest),
    (c.CHARGER_UNAVAILABLE_CODES, TomdaChargerUnavailable),
    (c.CONFLICT_CODES, TomdaConflict),
)


def error_class_for(code: str) -> type[TomdaError]:
    """The exception class of an errorCode; codes in no group are plain failures."""
    for codes, error_class in ERROR_CLASSES:
        if code in codes:
            return error_class
    return TomdaFailure


def error_message(code: str, desc: str = "") -> str:
    """The operator's message: the appendix text and code, plus Tomda's errorDesc when it says more."""
    text = c.ERROR_TEXTS.get(code, "未知错误")
    message = f"汤姆达云：{text}（错误码 {code}）"
    extra = (desc or "").strip()
    if code in c.ERROR_TEXTS and extra.startswith(text):
        # errorDesc often repeats the appendix text before its detail; say the text once.
        extra = extra.removeprefix(text).lstrip(" :：,，;；-")
    if extra:
        message += f"：{extra}"
    return message


def tomda_error(code: str, desc: str = "") -> TomdaError:
    """The typed error for a refused call."""
    return error_class_for(code)(error_message(code, desc), vendor=c.VENDOR, code=code)


def form_value(value) -> str:
    """One parameter as Tomda reads it: JSON text for objects and arrays, true/false for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def form(params: Mapping) -> dict[str, str]:
    """The form of a call; parameters that are None are left out, as the spec allows for optional ones."""
    return {name: form_value(value) for name, value in params.items() if value is not None}


class TomdaClient(HttpClient):
    """Spec section 4 as Python calls: keyword-only arguments in, Tomda's `data` out, typed errors."""

    vendor = c.VENDOR
    redacted = frozenset({"apiKey", "token"})

    def __init__(
        self,
        *,
        base_url: str,
        api_id: str,
        api_key: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        refresh_margin: int = 300,
        session: requests.Session | None = None,
    ):
        super().__init__(base_url=base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, session=session)
        self.api_id = api_id
        self.api_key = api_key
        self.refresh_margin = timedelta(seconds=refresh_margin)

    @classmethod
    def from_settings(cls) -> TomdaClient:
        """A client configured from TOMDA_* settings; the integration is off until the three are set."""
        required = ("TOMDA_BASE_URL", "TOMDA_API_ID", "TOMDA_API_KEY")
        missing = [name for name in required if not getattr(settings, name, "")]
        if missing:
            raise VendorNotConfigured(
                _("The Tomda cloud is not configured: set %(settings)s.") % {"settings": ", ".join(missing)},
                vendor=c.VENDOR,
            )
        return cls(
            base_url=settings.TOMDA_BASE_URL,
            api_id=settings.TOMDA_API_ID,
            api_key=settings.TOMDA_API_KEY,
            connect_timeout=settings.TOMDA_CONNECT_TIMEOUT,
            read_timeout=settings.TOMDA_READ_TIMEOUT,
            refresh_margin=settings.TOMDA_TOKEN_REFRESH_MARGIN,
        )

    # Answers and the call log

    def parse(self, response: requests.Response, *, operation: str):
        """The `data` of an answer with errorCode 200; a typed error for any other answer."""
        if response.status_code >= 500:
            raise VendorUnavailable(f"tomda {operation}: HTTP {response.status_code}, outcome unknown", vendor=c.VENDOR)
        try:
            payload = response.json()
        except ValueError as exc:
            raise BadResponse(
                f"tomda {operation}: HTTP {response.status_code}, the answer is not JSON", vendor=c.VENDOR
            ) from exc
        if not isinstance(payload, dict) or payload.get("errorCode") in (None, ""):
            raise BadResponse(
                f"tomda {operation}: HTTP {response.status_code}, the answer has no errorCode", vendor=c.VENDOR
            )
        code = str(payload["errorCode"]).strip()
        if code != c.SUCCESS_CODE:
            raise tomda_error(code, str(payload.get("errorDesc") or ""))
        return payload.get("data")

    # Token

    def token(self) -> str:
        """A token valid for at least `refresh_margin` more seconds, from the shared row or fresh."""
        row = VendorToken.objects.filter(vendor=c.VENDOR).first()
        if row is not None and row.expires_at > timezone.now() + self.refresh_margin:
            return row.token
        return self.token_refresh().token

    def token_refresh(self) -> VendorToken:
        """Ask Tomda for a new token and store it for every process.

        Two processes refreshing at once both write the one row (update_or_create, unique vendor); the
        last writer's token stays. Should Tomda invalidate the other one, its holder gets 1300 on its
        next call and refreshes again, which `_call` already does.
        """
        # The spec's table spells the first parameter "apild", a misprint of apiId.
        data = self.request(
            "GET",
            c.TOKEN_PATH,
            operation="token_refresh",
            params={"apiId": self.api_id, "apiKey": self.api_key},
        )
        if not isinstance(data, dict) or not data.get("token"):
            raise BadResponse("tomda token_refresh: the answer has no token", vendor=c.VENDOR)
        try:
            lifetime = timedelta(seconds=int(data.get("timeout") or 7200))  # 7200: the spec's default
        except (TypeError, ValueError) as exc:
            raise BadResponse("tomda token_refresh: the token timeout is not a number", vendor=c.VENDOR) from exc
        now = timezone.now()
        row, _ = VendorToken.objects.update_or_create(
            vendor=c.VENDOR,
            defaults={"token": str(data["token"]), "expires_at": now + lifetime, "obtained_at": now},
        )
        return row

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping,
        charger_serial: str = "",
        order_no: str = "",
    ):
        """One authorised call; after 1300 the token is refreshed and the call made once more."""
        try:
            return self._send(method, path, self.token(), operation, params, charger_serial, order_no)
        except TomdaTokenExpired:
            logger.info("tomda %s: token expired, refreshing and repeating once", operation)
            token = self.token_refresh().token
            return self._send(method, path, token, operation, params, charger_serial, order_no)

    def _send(
        self, method: str, path: str, token: str, operation: str, params: Mapping, charger_serial: str, order_no: str
    ):
        """One call as Tomda wants it: every parameter form-encoded, in the query for GET, the body for POST."""
        fields = form({**params, "token": token})
        in_query = method == "GET"
        return self.request(
            method,
            path,
            operation=operation,
            params=fields if in_query else None,
            data=None if in_query else fields,
            charger_serial=charger_serial,
            order_no=order_no,
        )

    # Charging control (spec 4.5)

    def reserve(self, *, serial: str, connector_id: int | None, order_no: str) -> None:
        """Book a connector for an order (EV chargers only). A single-connector charger takes None."""
        params = {"serialNum": serial, "connectorId": connector_id, "clientOrderId": order_no}
        self._call("POST", c.RESERVE_PATH, operation="reserve", params=params, charger_serial=serial, order_no=order_no)

    def reservation_cancel(self, *, order_no: str) -> None:
        """Release the booking made for an order (EV chargers only)."""
        params = {"clientOrderId": order_no}
        self._call("POST", c.RESERVATION_CANCEL_PATH, operation="reservation_cancel", params=params, order_no=order_no)

    def start(
        self,
        *,
        charger_type: int,
        serial: str,
        connector_id: int,
        strategy: int,
        strategy_param: int,
        order_no: str,
        user_balance_fen: int | None = None,
    ) -> None:
        """Start a session under our order number.

        `charger_type` is 1 EV or 2 e-bike; `strategy` is 1 time (param in minutes), 2 amount (fen),
        3 energy (the spec says kW) or 4 until full (param 0). Units are the caller's to convert. The
        balance is only for chargers that price the session themselves.
        """
        params = {
            "chargerType": charger_type,
            "serialNum": serial,
            "connectorId": connector_id,
            "chargeStrategy": strategy,
            "chargeStrategyParam": strategy_param,
            "clientOrderId": order_no,
            "userBalance": user_balance_fen,
        }
        self._call("POST", c.START_PATH, operation="start", params=params, charger_serial=serial, order_no=order_no)

    def stop(self, *, order_no: str) -> None:
        """Ask the charger to end the order's session; the settlement arrives later as a push."""
        self._call("POST", c.STOP_PATH, operation="stop", params={"clientOrderId": order_no}, order_no=order_no)

    def progress(self, *, order_no: str) -> dict:
        """The order's progress as Tomda sent it (status, times, energy in 0.001 kWh, cost in fen)."""
        data = self._call(
            "POST", c.PROGRESS_PATH, operation="progress", params={"clientOrderId": order_no}, order_no=order_no
        )
        if not isinstance(data, dict):
            raise BadResponse("tomda progress: the answer has no progress data", vendor=c.VENDOR)
        return data

    def fee_set(self, *, serial: str, fee_model: dict) -> None:
        """Set one charger's tariff (for chargers that price sessions themselves).

        The spec lists this API without parameters. We send `serialNum` and `elecFeeModelInfo` (the
        4.3.2 template, as the station and tariff calls name it), an assumption to confirm with Tomda.
        """
        params = {"serialNum": serial, "elecFeeModelInfo": fee_model}
        self._call("POST", c.FEE_SET_PATH, operation="fee_set", params=params, charger_serial=serial)

    def station_sync(self, *, station_info: dict) -> None:
        """Create or update a station (4.5.6) with its chargers and, optionally, its tariff template."""
        self._call("POST", c.STATION_SYNC_PATH, operation="station_sync", params={"stationInfo": station_info})

    def fee_template_sync(self, *, fee_model: dict, sync_chargers: bool) -> None:
        """Create or update a tariff template (4.5.7); with sync_chargers Tomda pushes it to the chargers
        of every station that uses it."""
        # "sycnCharger" is Tomda's spelling of the parameter.
        params = {"elecFeeModelInfo": fee_model, "sycnCharger": 1 if sync_chargers else 0}
        self._call("POST", c.FEE_TEMPLATE_SYNC_PATH, operation="fee_template_sync", params=params)

    # Charger archive (spec 4.6)

    def charger_list(
        self, *, offset: int = 0, limit: int = 100, filters: list[dict] | None = None, count_only: bool = False
    ) -> dict:
        """One page of chargers: {"total": all matching, "content": this page's chargers (4.3.1)}.

        `offset` is the index of the first charger; each filter is {"key", "value", "type": exact|like}.
        """
        params = {"offset": offset, "limit": limit, "filters": filters or None, "countOnly": count_only}
        # The overview table (4.2) says GET, the API's own section (4.6.1) says POST; the detailed
        # section is the more specific statement, and a form body keeps long filters out of the URL.
        data = self._call("POST", c.CHARGER_LIST_PATH, operation="charger_list", params=params)
        if not isinstance(data, dict):
            raise BadResponse("tomda charger_list: the answer has no list", vendor=c.VENDOR)
        return {"total": int(data.get("total") or 0), "content": list(data.get("content") or [])}

    def charger_list_all(self, *, page_size: int = 100, filters: list[dict] | None = None) -> Iterator[dict]:
        """Every charger, page by page, until Tomda has given `total` or an empty page."""
        offset = 0
        while True:
            page = self.charger_list(offset=offset, limit=page_size, filters=filters)
            yield from page["content"]
            offset += len(page["content"])
            if not page["content"] or offset >= page["total"]:
                return

    def charger_detail(self, *, serial: str) -> dict:
        """One charger (4.3.1) with its connectors."""
        data = self._call(
            "GET",
            c.CHARGER_DETAIL_PATH,
            operation="charger_detail",
            params={"serialNum": serial},
            charger_serial=serial,
        )
        if not isinstance(data, dict) or not isinstance(data.get("charger"), dict):
            raise BadResponse("tomda charger_detail: the answer has no charger", vendor=c.VENDOR)
        return data["charger"]
