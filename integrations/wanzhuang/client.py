"""The client of Wanzhuang's open API (万桩 wz-open): devices, ports, charge modes, charging, callbacks.

Every call carries `app_id`, `timestamp` (Unix seconds) and `sign` (`signing.py`) and is sent one of three
ways: GET with every parameter in the query string, POST with one JSON object as the body, or POST as a
multipart form (`saveMode`, the car pile's `saveMode`, `findMultiDevices`). Wanzhuang answers
`{"code", "message", "data", "timestamp"}` with code 1 for success; the client returns `data` and turns any
other code into a typed error whose message keeps Wanzhuang's own.

Charging commands (start, stop, saving a mode) are never repeated on a timeout: the outcome is unknown,
and the caller asks for the port's state or the session's callback log instead. The client repeats
nothing at all.

Where Wanzhuang's public pages are silent, we follow the wire document our simulator shares (to confirm
against Wanzhuang's dev environment, https://dev-api-open.wanzhuangkj.com/):

- the signature (`signing.py`): empty values left out, values as text, HMAC-SHA256 unless
  `WANZHUANG_SIGN_METHOD` says "sha256";
- a list parameter (`device_nums`, `port_fields`) travels as one parameter holding compact JSON text in a
  query string or a form, and as a JSON array in a JSON body;
- the error codes other than 1 (`constants.ERROR_TEXTS`) and what each means for the caller;
- the paths the pages do not show (`constants.DEFAULT_PATHS`, marked ASSUMED; `WANZHUANG_PATHS`
  overrides any) and the shapes of their answers;
- `charge_id` is our order number without its century (`constants.charge_id_of`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from chargers.vendor import VendorError, VendorNotConfigured, VendorUnavailable
from integrations.http import BadResponse, HttpClient
from integrations.wanzhuang import constants as c
from integrations.wanzhuang import signing

logger = logging.getLogger(__name__)

QUERY, JSON, MULTIPART = "query", "json", "multipart"
_ENCODINGS = (QUERY, JSON, MULTIPART)
# Fields the client adds to every call; a caller's fields never carry them.
_SIGNING_FIELDS = frozenset({"app_id", "timestamp", signing.SIGN_FIELD})


class WanzhuangError(VendorError):
    """Wanzhuang answered and refused; `code` is its code (as text) and the message is for operators."""


class WanzhuangAuthError(WanzhuangError):
    """1001: the signature, the app id or the timestamp was refused: check the settings and the clock."""


class WanzhuangInvalidRequest(WanzhuangError):
    """A parameter is missing or invalid, or the charge mode does not fit the device: not worth repeating."""


class WanzhuangNotFound(WanzhuangError):
    """The device or the charge_id is unknown to Wanzhuang: check the serial or the order."""


class WanzhuangDeviceUnavailable(WanzhuangError):
    """The device is offline or the port busy: the driver may try later."""


class WanzhuangConflict(WanzhuangError):
    """The request collides with what Wanzhuang has (a device already added)."""


class WanzhuangFailure(WanzhuangError):
    """Any other refusal, code 0 and codes we do not know included."""


ERROR_CLASSES: tuple[tuple[frozenset[int], type[WanzhuangError]], ...] = (
    (c.AUTH_CODES, WanzhuangAuthError),
    (c.INVALID_REQUEST_CODES, WanzhuangInvalidRequest),
    (c.NOT_FOUND_CODES, WanzhuangNotFound),
    (c.DEVICE_UNAVAILABLE_CODES, WanzhuangDeviceUnavailable),
    (c.CONFLICT_CODES, WanzhuangConflict),
)


def _code_number(code) -> int | None:
    try:
        return int(str(code).strip())
    except (TypeError, ValueError):
        return None


def error_class_for(code) -> type[WanzhuangError]:
    """The exception class of a code; codes in no group are plain failures."""
    number = _code_number(code)
    for codes, error_class in ERROR_CLASSES:
        if number in codes:
            return error_class
    return WanzhuangFailure


def error_message(code, message: str = "") -> str:
    """The operator's message: our text of the code and the code, then Wanzhuang's message, always kept."""
    text = c.ERROR_TEXTS.get(_code_number(code), c.UNKNOWN_ERROR_TEXT)
    result = f"万桩云：{text}（错误码 {code}）"
    extra = str(message or "").strip()
    if extra:
        result += f"：{extra}"
    return result


def wanzhuang_error(code, message: str = "") -> WanzhuangError:
    """The typed error of a refused call."""
    return error_class_for(code)(error_message(code, message), vendor=c.VENDOR, code=str(code))


def _order_no_or_blank(charge_id) -> str:
    """Our order number of a charge_id, for the call log; blank for an id that is not one of ours."""
    try:
        return c.order_no_of(charge_id)
    except ValueError:
        return ""


class WanzhuangClient(HttpClient):
    """wz-open as Python calls: keyword-only arguments in, Wanzhuang's `data` out, typed errors."""

    vendor = c.VENDOR
    redacted = frozenset({signing.SIGN_FIELD})

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        sign_method: str = signing.HMAC_SHA256,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if sign_method not in signing.SIGN_METHODS:
            raise ValueError(
                f"{signing.METHOD_SETTING} must be one of {', '.join(signing.SIGN_METHODS)}, not {sign_method!r}"
            )
        super().__init__(base_url=base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, session=session)
        self.app_id = app_id
        self.app_secret = app_secret
        self.sign_method = sign_method
        self.clock = clock

    @classmethod
    def from_settings(cls) -> WanzhuangClient:
        """A client configured from WANZHUANG_* settings; the integration is off until the three are set."""
        required = ("WANZHUANG_BASE_URL", "WANZHUANG_APP_ID", "WANZHUANG_APP_SECRET")
        missing = [name for name in required if not getattr(settings, name, "")]
        if missing:
            raise VendorNotConfigured(
                _("The Wanzhuang cloud is not configured: set %(settings)s.") % {"settings": ", ".join(missing)},
                vendor=c.VENDOR,
            )
        return cls(
            base_url=settings.WANZHUANG_BASE_URL,
            app_id=settings.WANZHUANG_APP_ID,
            app_secret=settings.WANZHUANG_APP_SECRET,
            sign_method=getattr(settings, "WANZHUANG_SIGN_METHOD", "") or signing.HMAC_SHA256,
            connect_timeout=settings.WANZHUANG_CONNECT_TIMEOUT,
            read_timeout=settings.WANZHUANG_READ_TIMEOUT,
        )

    # Answers and the wire

    def parse(self, response: requests.Response, *, operation: str):
        """The `data` of an answer with code 1; a typed error for any other answer."""
        status = response.status_code
        if status >= 500:
            raise VendorUnavailable(f"wanzhuang {operation}: HTTP {status}, outcome unknown", vendor=c.VENDOR)
        try:
            payload = response.json()
        except ValueError as exc:
            raise BadResponse(f"wanzhuang {operation}: HTTP {status}, the answer is not JSON", vendor=c.VENDOR) from exc
        if not isinstance(payload, dict) or payload.get("code") in (None, ""):
            raise BadResponse(f"wanzhuang {operation}: HTTP {status}, the answer has no code", vendor=c.VENDOR)
        code = _code_number(payload["code"])
        if code is None:
            raise BadResponse(
                f"wanzhuang {operation}: HTTP {status}, the code {payload['code']!r} is not a number", vendor=c.VENDOR
            )
        if code != c.SUCCESS_CODE:
            raise wanzhuang_error(code, str(payload.get("message") or ""))
        if not 200 <= status < 300:
            raise BadResponse(f"wanzhuang {operation}: HTTP {status} with a success code", vendor=c.VENDOR)
        return payload.get("data")

    def _call(
        self,
        method: str,
        operation: str,
        params: Mapping,
        *,
        encoding: str = QUERY,
        charger_serial: str = "",
        order_no: str = "",
    ):
        """One signed call of `operation` (its path from `constants.path`); returns Wanzhuang's `data`.

        Parameters that are None are left out. `encoding` is "query" (GET), "json" or "multipart" (POST).
        """
        if encoding not in _ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}")
        if (method == "GET") != (encoding == QUERY):
            raise ValueError(f"{operation}: a GET takes its parameters in the query, a POST in its body")
        fields = signing.signed(
            {name: value for name, value in params.items() if value is not None},
            app_id=self.app_id,
            secret=self.app_secret,
            method=self.sign_method,
            now=int(self.clock()),
        )
        as_text = {name: signing.text(value) for name, value in fields.items()}
        return self.request(
            method,
            c.path(operation),
            operation=operation,
            params=as_text if encoding == QUERY else None,
            json_body=fields if encoding == JSON else None,
            files={name: (None, value) for name, value in as_text.items()} if encoding == MULTIPART else None,
            charger_serial=charger_serial[:64],
            order_no=order_no,
        )

    @staticmethod
    def _dict(data, operation: str, *keys: str) -> dict:
        if not isinstance(data, dict) or any(key not in data for key in keys):
            wanted = f" with {', '.join(keys)}" if keys else ""
            raise BadResponse(f"wanzhuang {operation}: the answer's data is not an object{wanted}", vendor=c.VENDOR)
        return data

    @staticmethod
    def _list(data, operation: str) -> list:
        if not isinstance(data, list):
            raise BadResponse(f"wanzhuang {operation}: the answer's data is not a list", vendor=c.VENDOR)
        return data

    @classmethod
    def _result(cls, data, operation: str) -> dict:
        """The data of a command: {"result": true}; anything else does not confirm it was done."""
        data = cls._dict(data, operation, "result")
        if data["result"] is not True:
            raise BadResponse(
                f"wanzhuang {operation}: the answer does not confirm it (result {data['result']!r})", vendor=c.VENDOR
            )
        return data

    @classmethod
    def _page(cls, data, operation: str) -> dict:
        """A page: {"total": int, "list": [...]}."""
        data = cls._dict(data, operation, "list")
        if not isinstance(data["list"], list):
            raise BadResponse(f"wanzhuang {operation}: the page's list is not a list", vendor=c.VENDOR)
        try:
            total = int(data.get("total") or 0)
        except (TypeError, ValueError) as exc:
            raise BadResponse(f"wanzhuang {operation}: the page's total is not a number", vendor=c.VENDOR) from exc
        return {**data, "total": total}

    @staticmethod
    def _serials(device_nums: Sequence[str]) -> list[str]:
        if isinstance(device_nums, str):
            raise TypeError("device_nums is a list of device numbers, not one")
        return [str(device_num) for device_num in device_nums]

    # Devices

    def device_add(self, *, device_num: str) -> dict:
        """Add a device to our company's account: {"result": True}."""
        data = self._call("POST", "device_add", {"device_num": device_num}, encoding=JSON, charger_serial=device_num)
        return self._result(data, "device_add")

    def device_detail(self, *, device_num: str) -> dict:
        """One device record: device_num, device_type, device_name, port_num, online, version, signal, …"""
        data = self._call("GET", "device_detail", {"device_num": device_num}, charger_serial=device_num)
        return self._dict(data, "device_detail", "device_num")

    def devices_detail(self, *, device_nums: Sequence[str]) -> list[dict]:
        """The records of several devices (multipart, the numbers as one JSON text)."""
        serials = self._serials(device_nums)
        data = self._call(
            "POST",
            "devices_detail",
            {"device_nums": serials},
            encoding=MULTIPART,
            charger_serial=serials[0] if len(serials) == 1 else "",
        )
        return self._list(data, "devices_detail")

    def device_list(self, *, page: int = 1, page_size: int = 20) -> dict:
        """One page of our devices (pages count from 1): {"total": int, "list": [device records]}."""
        data = self._call("GET", "device_list", {"page": page, "page_size": page_size})
        return self._page(data, "device_list")

    def device_list_all(self, *, page_size: int = 100) -> Iterator[dict]:
        """Every device, page by page, until Wanzhuang has given `total` or an empty page."""
        page, seen = 1, 0
        while True:
            answer = self.device_list(page=page, page_size=page_size)
            yield from answer["list"]
            seen += len(answer["list"])
            if not answer["list"] or seen >= answer["total"]:
                return
            page += 1

    def device_delete(self, *, device_num: str) -> dict:
        """Remove a device from our account: {"result": True}."""
        data = self._call("GET", "device_delete", {"device_num": device_num}, charger_serial=device_num)
        return self._result(data, "device_delete")

    # Device state

    def port_status(self, *, device_num: str, port_fields: Sequence[str] | None = None) -> dict:
        """A device's ports: {"device_num", "online", "ports": [{"device_port", and the fields asked for}]}.

        `port_fields` (names in `constants.PORT_FIELDS`) selects the fields of each port; none: all.
        """
        params = {"device_num": device_num, "port_fields": list(port_fields) if port_fields else None}
        data = self._call("GET", "port_status", params, charger_serial=device_num)
        data = self._dict(data, "port_status", "ports")
        self._list(data["ports"], "port_status")
        return data

    def ports_status(self, *, device_nums: Sequence[str], port_fields: Sequence[str] | None = None) -> list[dict]:
        """The ports of several devices: a list of what `port_status` gives for each."""
        serials = self._serials(device_nums)
        params = {"device_nums": serials, "port_fields": list(port_fields) if port_fields else None}
        data = self._call("GET", "ports_status", params, charger_serial=serials[0] if len(serials) == 1 else "")
        return self._list(data, "ports_status")

    def port_fault_set(self, *, device_num: str, port: int, faulty: bool) -> dict:
        """Mark a port faulty (no session starts on it) or clear the mark: {"result": True}."""
        params = {"device_num": device_num, "device_port": str(port), "is_error": "1" if faulty else "0"}
        data = self._call("POST", "port_fault_set", params, encoding=JSON, charger_serial=device_num)
        return self._result(data, "port_fault_set")

    def force_offline(self, *, device_nums: Sequence[str]) -> dict:
        """Make devices offline: {"result": True}."""
        serials = self._serials(device_nums)
        data = self._call(
            "POST",
            "force_offline",
            {"device_nums": serials},
            encoding=JSON,
            charger_serial=serials[0] if len(serials) == 1 else "",
        )
        return self._result(data, "force_offline")

    def reboot(self, *, device_num: str) -> dict:
        """Restart a device: {"result": True}."""
        data = self._call("POST", "reboot", {"device_num": device_num}, encoding=JSON, charger_serial=device_num)
        return self._result(data, "reboot")

    def offline_revenue_set(self, *, device_num: str, coin: int, card: int) -> dict:
        """Set a device's running totals of coin and offline-card revenue, fen (0, 0 resets): {"result": True}."""
        params = {"device_num": device_num, "coin": coin, "card": card}
        data = self._call("POST", "offline_revenue_set", params, encoding=JSON, charger_serial=device_num)
        return self._result(data, "offline_revenue_set")

    # Charge modes

    @staticmethod
    def _mode_form(device_num: str, fields: Mapping, operation: str) -> dict:
        """The saveMode form: `device_num` and the mode's fields, every value as text, None left out."""
        clashing = sorted(_SIGNING_FIELDS & set(fields))
        if clashing:
            raise ValueError(f"{operation}: the client signs the call; the fields must not carry {clashing}")
        if "device_num" in fields and str(fields["device_num"]) != str(device_num):
            raise ValueError(f"{operation}: the fields are of device {fields['device_num']}, not {device_num}")
        form = {name: signing.text(value) for name, value in fields.items() if value is not None}
        form["device_num"] = str(device_num)
        return form

    def mode_save(self, *, device_num: str, fields: Mapping) -> dict:
        """Save a device's charge mode and settings (the saveMode form, `payloads.save_mode_fields` and the
        charger's settings): {"result": True}. Never repeated on a timeout."""
        form = self._mode_form(device_num, fields, "mode_save")
        data = self._call("POST", "mode_save", form, encoding=MULTIPART, charger_serial=device_num)
        return self._result(data, "mode_save")

    def mode_get(self, *, device_num: str) -> dict:
        """A device's charge mode: {"charge_mode": int, "device_num", the mode's and the settings' camelCase fields}."""
        data = self._call("GET", "mode_get", {"device_num": device_num}, charger_serial=device_num)
        return self._dict(data, "mode_get")

    def mode_settings(self, *, device_num: str, name: str) -> dict:
        """One settings page of a device (camelCase fields). `name` is the page's (getDeviceModeTimeInfo) or
        ours (time_info, `constants.MODE_SETTINGS`)."""
        if name in c.MODE_SETTINGS:
            operation = name
        else:
            by_page = {page: operation for operation, page in c.MODE_SETTINGS.items()}
            if name not in by_page:
                raise ValueError(f"unknown mode settings page {name!r}")
            operation = by_page[name]
        data = self._call("GET", operation, {"device_num": device_num}, charger_serial=device_num)
        return self._dict(data, operation)

    def not_disturb_info(self, *, device_num: str) -> dict:
        """免打扰: getDeviceModeNotDisturbInfo."""
        return self.mode_settings(device_num=device_num, name="not_disturb_info")

    def power2_info(self, *, device_num: str) -> dict:
        """功率模式2: getDeviceModePower2Info."""
        return self.mode_settings(device_num=device_num, name="power2_info")

    def power_info(self, *, device_num: str) -> dict:
        """功率模式: getDeviceModePowerInfo."""
        return self.mode_settings(device_num=device_num, name="power_info")

    def online_card_info(self, *, device_num: str) -> dict:
        """在线卡: getDeviceModeOnlineCardInfo."""
        return self.mode_settings(device_num=device_num, name="online_card_info")

    def safe_info(self, *, device_num: str) -> dict:
        """安全: getDeviceModeSafeInfo."""
        return self.mode_settings(device_num=device_num, name="safe_info")

    def coin_info(self, *, device_num: str) -> dict:
        """投币: getDeviceModeCoinInfo."""
        return self.mode_settings(device_num=device_num, name="coin_info")

    def time2_info(self, *, device_num: str) -> dict:
        """时间模式2: getDeviceModeTime2Info."""
        return self.mode_settings(device_num=device_num, name="time2_info")

    def time_info(self, *, device_num: str) -> dict:
        """时间模式: getDeviceModeTimeInfo."""
        return self.mode_settings(device_num=device_num, name="time_info")

    def user_info(self, *, device_num: str) -> dict:
        """用户设置: getDeviceModeUserInfo."""
        return self.mode_settings(device_num=device_num, name="user_info")

    def work2_info(self, *, device_num: str) -> dict:
        """电量模式2: getDeviceModeWork2Info."""
        return self.mode_settings(device_num=device_num, name="work2_info")

    def work_info(self, *, device_num: str) -> dict:
        """电量模式: getDeviceModeWorkInfo."""
        return self.mode_settings(device_num=device_num, name="work_info")

    def offline_card_info(self, *, device_num: str) -> dict:
        """离线卡: getDeviceModeOfflineCardInfo."""
        return self.mode_settings(device_num=device_num, name="offline_card_info")

    def car_mode_save(self, *, device_num: str, fields: Mapping) -> dict:
        """Save a car pile's charge mode (charge_mode 11, the one car mode; added when the fields lack it):
        {"result": True}. Never repeated on a timeout."""
        fields = dict(fields)
        mode = fields.setdefault("charge_mode", c.MODE_CAR_ENERGY)
        if str(mode) != str(c.MODE_CAR_ENERGY):
            raise ValueError(f"car_mode_save: a car pile takes charge_mode {c.MODE_CAR_ENERGY}, not {mode}")
        form = self._mode_form(device_num, fields, "car_mode_save")
        data = self._call("POST", "car_mode_save", form, encoding=MULTIPART, charger_serial=device_num)
        return self._result(data, "car_mode_save")

    def car_mode_get(self, *, device_num: str) -> dict:
        """A car pile's charge mode, as `mode_get` gives it."""
        data = self._call("GET", "car_mode_get", {"device_num": device_num}, charger_serial=device_num)
        return self._dict(data, "car_mode_get")

    # Charging

    def charge_start(
        self, *, device_num: str, device_port: int, charge_id: int, charge_mode: int, total_fee: int
    ) -> dict:
        """Start a session on a port under our charge_id (`constants.charge_id_of(order_no)`), prepaid with
        `total_fee` fen: {"result": True}; the start_power callback tells whether the port started.

        Never repeated on a timeout: ask `port_status` or `callback_log` instead.
        """
        if charge_mode not in c.CHARGE_MODES:
            raise ValueError(f"charge_start: unknown charge_mode {charge_mode!r}")
        params = {
            "device_num": device_num,
            "device_port": int(device_port),
            "charge_id": int(charge_id),
            "charge_mode": int(charge_mode),
            "total_fee": int(total_fee),
        }
        data = self._call(
            "POST",
            "charge_start",
            params,
            encoding=JSON,
            charger_serial=device_num,
            order_no=_order_no_or_blank(charge_id),
        )
        return self._result(data, "charge_start")

    def charge_stop(self, *, device_num: str, device_port: int, charge_id: int) -> dict:
        """Ask the port to end the session: {"result": True}; the finish_order callback settles it."""
        params = {"device_num": device_num, "device_port": int(device_port), "charge_id": int(charge_id)}
        data = self._call(
            "POST",
            "charge_stop",
            params,
            encoding=JSON,
            charger_serial=device_num,
            order_no=_order_no_or_blank(charge_id),
        )
        return self._result(data, "charge_stop")

    # Callbacks

    def callback_log(self, *, charge_id: int) -> list[dict]:
        """The callbacks Wanzhuang sent about a session: [{"type": "start_power"|"finish_order", "req": {the
        callback's fields, as text}, "res": our reply's text, "created_at": Unix s}]."""
        data = self._call("GET", "callback_log", {"charge_id": int(charge_id)}, order_no=_order_no_or_blank(charge_id))
        entries = self._list(data, "callback_log")
        if not all(isinstance(entry, dict) for entry in entries):
            raise BadResponse("wanzhuang callback_log: an entry is not an object", vendor=c.VENDOR)
        return entries

    def finish_callback_retry(self, *, charge_id: int) -> dict:
        """Have Wanzhuang send a session's finish_order callback again: {"result": True}."""
        data = self._call(
            "POST",
            "finish_callback_retry",
            {"charge_id": int(charge_id)},
            encoding=JSON,
            order_no=_order_no_or_blank(charge_id),
        )
        return self._result(data, "finish_callback_retry")

    # Device log

    def online_log(self, *, device_num: str, page: int = 1, page_size: int = 20) -> dict:
        """A device's online/offline history: {"total": int, "list": [{"online": 1|0, "time": Unix s}]}."""
        params = {"device_num": device_num, "page": page, "page_size": page_size}
        data = self._call("GET", "online_log", params, charger_serial=device_num)
        return self._page(data, "online_log")

    # Flow (SIM) card renewal

    def flow_card_renew_list(self, *, page: int = 1, page_size: int = 20) -> dict:
        """Our devices whose SIM card needs renewing: {"total": int, "list": [{"device_num", "iccid",
        "expire_time"}]}."""
        data = self._call("GET", "flow_card_renew_list", {"page": page, "page_size": page_size})
        return self._page(data, "flow_card_renew_list")

    def flow_card_renew_order(self, *, device_nums: Sequence[str]) -> dict:
        """Order the renewal of devices' SIM cards: {"order_no": Wanzhuang's renewal order number}."""
        serials = self._serials(device_nums)
        data = self._call(
            "POST",
            "flow_card_renew_order",
            {"device_nums": serials},
            encoding=JSON,
            charger_serial=serials[0] if len(serials) == 1 else "",
        )
        data = self._dict(data, "flow_card_renew_order", "order_no")
        if not data["order_no"]:
            raise BadResponse("wanzhuang flow_card_renew_order: the answer has no order_no", vendor=c.VENDOR)
        return data

    def flow_card_renew_status(self, *, order_no: str) -> dict:
        """A renewal order's state: {"order_no", "status": 0 pending, 1 paid, 2 done, 3 failed}.

        `order_no` is Wanzhuang's renewal order number, not one of our orders."""
        data = self._call("GET", "flow_card_renew_status", {"order_no": order_no})
        return self._dict(data, "flow_card_renew_status", "status")
