"""A Tomda cloud on loopback: the API of spec section 4 and the pushes of section 5, over real HTTP.

End-to-end tests point our client and push receiver at it, and `manage.py tomda_simulator` runs it
for the demo. It plays the vendor, so it imports nothing of ours (no Django, no models): whatever it
believes about the protocol comes from the vendor's document, not from our interpretation of it.

Three parts:
- `TomdaSimulator` holds the state (chargers, sessions, tokens, fee templates) behind one lock,
  answers API calls (`handle_api`) and offers the test hooks (`advance`, `fault`, `finish`, ...).
- `_Handler` turns HTTP requests into `handle_api` calls; every answer is HTTP 200 with Tomda's
  `{errorCode, errorDesc, data}` envelope, as the real cloud does.
- `_Pusher` sends pushes to our receiver from one queue, in order, on one thread, so a test sees
  them in the order the events happened (WORK_DATA FINISH before ORDER_DATA before DEVICE_INFO).

Time is simulated: a clock that starts at `start_time` (default: now) and moves only through
`advance()` and the work-data ticks, so energy, cost and every time string are deterministic.
Wire times are Beijing local `yyyy-MM-dd HH:mm:ss`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests

logger = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
WIRE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
API_PREFIX = "/Manage"
SUCCESS = "200"

# Appendix 4, verbatim: the cloud answers an error with its code and this text.
ERROR_TEXTS = {
    "200": "成功",
    "1300": "Token 超时",
    "1400": "请求的资源不存在",
    "1401": "参数错误",
    "1405": "前置条件不符",
    "1408": "充电桩未插枪",
    "1409": "数据唯一性出错",
    "1419": "请求开始充电超时,充电桩未响应,请重试",
    "1423": "充电桩离线",
    "1424": "充电桩类型错误",
    "1427": "充电桩状态不为空闲",
    "1430": "充电桩锁定超时",
    "1433": "充电桩已被他人使用",
    "1434": "充电桩繁忙",
    "1435": "充电桩没有连接上线",
    "1440": "充电桩处于不可预约状态",
    "1441": "存在未关闭的订单",
    "1446": "充电口号状态不为空闲",
    "1447": "充电口有未结算的订单",
    "1505": "服务器控制充电桩失败",
    "1511": "下发更新订单时间/金额类型不一致",
    "1512": "下发更新订单时间/金额频繁",
    "2001": "对接平台不存在",
    "2002": "对接业务处理失败",
    "2003": "充电桩不存在",
    "2004": "对接业务设置费率, 电费类型错误",
    "2005": "对接业务设置费率失败",
    "2006": "对接业务添加充电桩——充电桩已存在",
    "2007": "充电桩类型错误",
    "2008": "外部订单号重复",
    "2009": "订单正在充电中",
    "2010": "充电口不存在",
    "2011": "充电口不为空闲",
    "2012": "充电策略错误",
    "2013": "订单不存在",
}

# Appendix 6.
DEVICE_TYPE_NAMES = {
    "TOMDA_EB10_T1": "10 路电动单车",
    "TOMDA_EB10_T2": "10 路电动单车广告机",
    "TOMDA_EV7K_T3": "7KW 电动汽车广告机",
    "TOMDA_EV7K_T4": "7KW 电动汽车",
    "TOMDA_EB10_T5": "电单车充电柜",
    "TOMDA_EV14K_T6": "电动汽车双枪交流",
    "TOMDA_EB10_T7": "电单车售卖机",
}

# Appendix 5.
EVENT_NAMES = {
    "TOMDA_EBIKE_FAULT_ES": "急停",
    "TOMDA_EBIKE_FAULT_VOLTAGE_UPLIMIT": "电压过高",
    "TOMDA_EBIKE_FAULT_VOLTAGE_DOWNLIMIT": "电压过低",
    "TOMDA_EBIKE_FAULT_CURRENT_UPLIMIT": "电流过高",
    "TOMDA_EBIKE_FAULT_CURRENT_DOWNLIMIT": "电流过低",
    "TOMDA_EBIKE_FAULT_TEMPERATURE_UPLIMIT": "温度过高",
    "TOMDA_EBIKE_FAULT_TEMPERATURE_DOWNLIMIT": "温度过低",
    "TOMDA_EBIKE_FAULT_LEAK_CURRENT": "漏电流过高",
    "TOMDA_EBIKE_FAULT_GND": "接地异常",
    "TOMDA_EBIKE_FAULT_TILT": "电桩倾斜",
    "TOMDA_EBIKE_FAULT_EM_ERROR": "电表故障",
    "TOMDA_EBIKE_FAULT_GUN_TEMPERATURE_UPLIMIT": "枪温度高",
    "TOMDA_EBIKE_FAULT_GUN_TEMPERATURE_DOWNLIMIT": "枪温度低",
}

KIND_DEFAULTS = {  # kind → (device type, power W per session)
    "ev": ("TOMDA_EV7K_T4", 7000),
    "ebike": ("TOMDA_EB10_T1", 250),
}
CHARGER_TYPES = {"1": "ev", "2": "ebike"}  # chargerType of the start call
MODEL_TYPES = {1: "ev", 2: "ebike"}  # modelType of a fee template
ALLOWED_STRATEGIES = {"ev": {"4"}, "ebike": {"1", "4"}}
LINE_VOLTAGE_DV = 2200  # 220.0 V in 0.1 V: the AC piles Tomda makes are single-phase
EV_BATTERY_WH = 60_000  # only to report a plausible, rising SOC for EV sessions
EV_START_SOC = 20

# Charger fields a charger-list filter may name (spec 4.3.1; connectorInfo is a list, not filterable).
FILTERABLE_FIELDS = (
    "serialNum", "lost", "connectorCount", "chargerStatus", "chargerDeviceType", "chargerDeviceName",
    "commuType", "deviceModel", "hardwareVersion", "firmwareVersion",
)
DEFAULT_LIST_LIMIT = 20


def wire_time(moment: dt.datetime) -> str:
    return moment.astimezone(BEIJING).strftime(WIRE_TIME_FORMAT)


def round_half_up(value: Fraction) -> int:
    """Fen from an exact non-negative amount, 0.5 rounding up (the pile's rounding, and ours)."""
    return int((value + Fraction(1, 2)) // 1)


def _seconds(value: float | int | Fraction) -> Fraction:
    # Millisecond resolution is plenty and keeps float inputs (0.1 s) exact afterwards.
    return Fraction(value).limit_denominator(1000)


class ApiError(Exception):
    """An answer other than 200.

    errorDesc is the appendix text of the code, as the cloud sends it; only "no such resource" (1400)
    and "parameter error" (1401) add what exactly was wrong, since a caller cannot fix those without
    it. Other details reach the simulator's log only.
    """

    VERBOSE_CODES = ("1400", "1401")

    def __init__(self, code: str, detail: str = ""):
        self.code = str(code)
        self.detail = detail
        text = ERROR_TEXTS.get(self.code, "")
        if detail and self.code in self.VERBOSE_CODES:
            self.desc = f"{text}: {detail}"
        else:
            self.desc = text or detail
        super().__init__(f"{self.code} {text} {detail}".strip())


def _bad(detail: str) -> ApiError:
    return ApiError("1401", detail)


class _Params:
    """Typed access to form parameters; a malformed value is a 1401 that names the parameter."""

    def __init__(self, raw: dict[str, str]):
        self.raw = raw

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.raw.get(name, "")
        if value == "":
            if required:
                raise _bad(f"missing parameter {name}")
            return None
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            raise _bad(f"{name} must be an integer, got {value!r}") from None

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self.text(name, required=False)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise _bad(f"{name} must be true or false, got {value!r}")

    def json(self, name: str, expected: type, *, required: bool = True):
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise _bad(f"{name} is not valid JSON ({exc})") from None
        if not isinstance(parsed, expected):
            shape = "a JSON object" if expected is dict else "a JSON array"
            raise _bad(f"{name} must be {shape}")
        return parsed


def _int_field(obj: dict, name: str, where: str, *, required: bool = True) -> int | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise _bad(f"{where}.{name} is required")
        return None
    if isinstance(value, bool):
        raise _bad(f"{where}.{name} must be an integer, got {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise _bad(f"{where}.{name} must be an integer, got {value!r}") from None


class FeeSchedule:
    """A fee template (spec 4.3.2) the pile bills with.

    modelType 1 (EV): rows are day periods; a row ends at endValueOne:endValueTwo (hour:minute) and
    starts where the previous one ended (the first at 00:00); elecFee + serviceFee are fen per kWh.
    modelType 2 (e-bike): rows are power tiers; endValueOne is the tier's upper bound in W and the
    fees are fen per hour. freeChargeTime (seconds) at the start of a session is not billed.
    """

    def __init__(self, model: dict):
        if not isinstance(model, dict):
            raise _bad("elecFeeModelInfo must be a JSON object")
        self.model_id = str(model.get("clientElecFeeModelId") or "")
        if not self.model_id:
            raise _bad("elecFeeModelInfo.clientElecFeeModelId is required")
        model_type = _int_field(model, "modelType", "elecFeeModelInfo")
        if model_type not in MODEL_TYPES:
            raise _bad(f"elecFeeModelInfo.modelType must be 1 (EV) or 2 (e-bike), got {model_type}")
        self.kind = MODEL_TYPES[model_type]
        self.free_seconds = _int_field(model, "freeChargeTime", "elecFeeModelInfo", required=False) or 0
        details = model.get("elecFeeModelDetail")
        if not isinstance(details, list) or not details:
            raise _bad("elecFeeModelInfo.elecFeeModelDetail must be a non-empty JSON array")
        count = _int_field(model, "modelDetailCount", "elecFeeModelInfo")
        if count != len(details):
            raise _bad(f"modelDetailCount is {count} but elecFeeModelDetail has {len(details)} rows")
        rows = []
        for index, row in enumerate(details):
            where = f"elecFeeModelDetail[{index}]"
            if not isinstance(row, dict):
                raise _bad(f"{where} must be a JSON object")
            rows.append(
                (
                    _int_field(row, "position", where),
                    _int_field(row, "endValueOne", where),
                    _int_field(row, "endValueTwo", where, required=False) or 0,
                    _int_field(row, "elecFee", where) + _int_field(row, "serviceFee", where),
                )
            )
        rows.sort()
        if self.kind == "ev":
            # (start second of day, end second of day, fen per kWh)
            self.periods: list[tuple[int, int, int]] = []
            start = 0
            for _position, hours, minutes, fee in rows:
                end = hours * 3600 + minutes * 60
                if not 0 <= minutes < 60 or not start < end <= 86400:
                    raise _bad(
                        f"period ending {hours:02d}:{minutes:02d} must end after {start // 3600:02d}:"
                        f"{start % 3600 // 60:02d} and by 24:00"
                    )
                self.periods.append((start, end, fee))
                start = end
        else:
            # (upper bound W, fen per hour), lowest bound first
            self.tiers = sorted((bound, fee) for _position, bound, _minutes, fee in rows)

    def rate(self, *, second_of_day: Fraction, elapsed: Fraction, power_w: int) -> tuple[Fraction, Fraction | None]:
        """(fen per simulated second, seconds until that rate may change; None: not before the end)."""
        if elapsed < self.free_seconds:
            return Fraction(0), self.free_seconds - elapsed
        if self.kind == "ev":
            for start, end, fee in self.periods:
                if start <= second_of_day < end:
                    return Fraction(fee * power_w, 3_600_000), end - second_of_day
            # After the last period's end (a template ending before 24:00): its fee holds to midnight.
            return Fraction(self.periods[-1][2] * power_w, 3_600_000), 86400 - second_of_day
        fee = next((fee for bound, fee in self.tiers if power_w <= bound), self.tiers[-1][1])
        return Fraction(fee, 3600), None


class SimConnector:
    def __init__(self, connector_id: int):
        self.connector_id = connector_id
        self.status = "FREE"
        self.order_no: str | None = None  # the booked or charging session

    def __repr__(self):
        return f"SimConnector({self.connector_id}, {self.status}, order={self.order_no})"


class SimCharger:
    """A pile as the cloud knows it. `connectors` is a count here and a dict {id: SimConnector} after."""

    def __init__(
        self,
        serial: str,
        kind: str = "ev",
        connectors: int = 1,
        power_w: int | None = None,
        device_type: str | None = None,
        online: bool = True,
        *,
        commu_type: str = "GPRS",
        device_model: str | None = None,
        hardware_version: str = "V1.0",
        firmware_version: str = "V2.1.0",
    ):
        if kind not in KIND_DEFAULTS:
            raise ValueError(f"kind must be 'ev' or 'ebike', not {kind!r}")
        if connectors < 1:
            raise ValueError("a charger has at least one connector")
        default_type, default_power = KIND_DEFAULTS[kind]
        self.serial = str(serial)
        self.kind = kind
        self.power_w = int(power_w or default_power)  # drawn by each session on this charger
        self.device_type = device_type or default_type
        self.online = online
        self.commu_type = commu_type
        self.device_model = device_model or self.device_type.removeprefix("TOMDA_").replace("_", "-")
        self.hardware_version = hardware_version
        self.firmware_version = firmware_version
        self.connectors = {number: SimConnector(number) for number in range(1, connectors + 1)}
        self.fee_model: dict | None = None  # the template the pile bills with; None: we bill
        self.fault = False  # a charger-level fault (eventSource CHARGER)

    def __repr__(self):
        return f"SimCharger({self.serial!r}, {self.kind}, {len(self.connectors)} connectors)"

    @property
    def single_gun(self) -> bool:
        return len(self.connectors) == 1

    def wire_connector_id(self, connector_id: int) -> int:
        # Spec 5.5.1/5.5.3: a single-gun charger reports connector 0.
        return 0 if self.single_gun else connector_id

    def resolve_connector(self, connector_id: int | None) -> SimConnector:
        """The connector a caller means; a single-gun charger answers to 0, 1 or nothing."""
        if self.single_gun and connector_id in (None, 0, 1):
            return self.connectors[1]
        if connector_id not in self.connectors:
            raise ApiError("2010", f"charger {self.serial} has no connector {connector_id}")
        return self.connectors[connector_id]

    @property
    def status(self) -> str:
        statuses = [c.status for c in self.connectors.values()]
        if self.fault or all(s == "FAULT" for s in statuses):
            return "FAULT"
        for candidate in ("CHARGING", "BOOKED", "PARKING", "MAINTAIN"):
            if candidate in statuses:
                return candidate
        return "FREE"

    def as_wire(self) -> dict:
        """The charger object of spec 4.3.1."""
        return {
            "serialNum": self.serial,
            "lost": 0 if self.online else 1,
            "connectorCount": len(self.connectors),
            "chargerStatus": self.status,
            "chargerDeviceType": self.device_type,
            "chargerDeviceName": DEVICE_TYPE_NAMES.get(self.device_type, self.device_type),
            "commuType": self.commu_type,
            "deviceModel": self.device_model,
            "hardwareVersion": self.hardware_version,
            "firmwareVersion": self.firmware_version,
            "connectorInfo": [
                {"connectorId": c.connector_id, "connectorStatus": c.status} for c in self.connectors.values()
            ],
        }


@dataclass
class SimSession:
    order_no: str
    serial: str
    connector_id: int  # the physical connector, from 1
    power_w: int
    status: str = "BOOKED"  # appendix 3: BOOKED, CHARGE, FINISH, CLOSED
    strategy: str = "4"
    limit_seconds: int | None = None  # e-bike "timed" strategy
    user_balance: int | None = None  # fen, for pile billing
    schedule: FeeSchedule | None = None  # None: third-party billing (we bill, the pile reports 0)
    booked_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    close_type: str | None = None
    elapsed: Fraction = Fraction(0)  # simulated seconds charged
    energy_ws: Fraction = Fraction(0)  # watt-seconds, exact
    cost_exact: Fraction = Fraction(0)  # fen, exact; rounded once when read

    @property
    def energy_wh(self) -> int:
        return int(self.energy_ws // 3600)

    @property
    def cost_fen(self) -> int:
        return round_half_up(self.cost_exact) if self.schedule else 0

    @property
    def charge_seconds(self) -> int:
        return int(self.elapsed)

    @property
    def soc(self) -> int:
        return min(100, EV_START_SOC + int(self.energy_ws / 3600 * 100 / EV_BATTERY_WH))


@dataclass
class PushRecord:
    """One push and what our receiver answered; `reply` is None when there was no JSON answer."""

    type: str
    content: dict
    time: str
    encoding: str
    status_code: int | None = None
    reply: dict | None = None
    error: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and bool(self.reply) and str(self.reply.get("errorCode")) == SUCCESS


@dataclass
class _QueuedPush:
    type: str
    content: dict
    time: str
    on_reply: Callable[[PushRecord], None] | None = field(default=None)


class _Pusher:
    """Sends pushes to our receiver: queued ones in order on one thread, hook ones at once."""

    def __init__(self, *, url, encoding, timeout, retries, retry_delay, record):
        self.url = url
        self.encoding = encoding
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self._record = record
        self._queue: deque[_QueuedPush] = deque()
        self._cond = threading.Condition()
        self._unfinished = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def enqueue(self, item: _QueuedPush) -> None:
        with self._cond:
            self._queue.append(item)
            self._unfinished += 1
            self._cond.notify_all()

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="tomda-sim-pusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=30)
            self._thread = None

    def drain(self, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._unfinished == 0, timeout=timeout):
                raise TimeoutError(f"{self._unfinished} Tomda pushes still pending after {timeout} s")

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                item = self._queue.popleft()
            try:
                record = self.send(item.type, item.content, item.time)
                if item.on_reply:
                    item.on_reply(record)
            except Exception:  # a bug in a reaction must not kill the only pusher thread
                logger.exception("Tomda simulator: handling the %s push failed", item.type)
            finally:
                with self._cond:
                    self._unfinished -= 1
                    self._cond.notify_all()

    def send(self, push_type: str, content: dict, push_time: str, encoding: str | None = None) -> PushRecord:
        encoding = encoding or self.encoding
        content_json = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        if encoding == "form":
            # As deployed clouds send it: form fields, content a JSON string (vendors.md §2).
            kwargs = {"data": {"type": push_type, "time": push_time, "content": content_json}}
        else:
            body = f'{{"type":{json.dumps(push_type)},"time":{json.dumps(push_time)},"content":{content_json}}}'
            kwargs = {
                "data": body.encode("utf-8"),
                "headers": {"Content-Type": "application/json; charset=utf-8"},
            }
        record = PushRecord(type=push_type, content=content, time=push_time, encoding=encoding)
        for attempt in range(1, self.retries + 1):
            record.attempts = attempt
            try:
                response = requests.post(self.url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                record.status_code, record.reply, record.error = None, None, f"{type(exc).__name__}: {exc}"
            else:
                record.status_code, record.error = response.status_code, None
                try:
                    reply = response.json()
                except ValueError:
                    reply = None
                record.reply = reply if isinstance(reply, dict) else None
                if response.status_code < 500:
                    break
                record.error = f"HTTP {response.status_code}"
            if attempt < self.retries:
                time.sleep(self.retry_delay)
        self._record(record)
        return record


class _Handler(BaseHTTPRequestHandler):
    """HTTP front of the simulator; `self.server.simulator` does the work."""

    server_version = "TomdaSimulator/1.0"

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def log_message(self, format, *args):
        pass  # the simulator logs each call itself, on one line

    def _serve(self, method: str) -> None:
        sim: TomdaSimulator = self.server.simulator
        url = urlsplit(self.path)
        path = url.path
        try:
            if not path.startswith(API_PREFIX + "/"):
                raise ApiError("1400", f"{path} is not under {API_PREFIX}")
            path = path[len(API_PREFIX):]
            params = self._params(method, url.query)
        except ApiError as exc:
            envelope = {"errorCode": exc.code, "errorDesc": exc.desc, "data": None}
        else:
            envelope = sim.handle_api(method, path, params)
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _params(self, method: str, query: str) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if method == "GET":
            source = query
        else:
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if raw and content_type != "application/x-www-form-urlencoded":
                raise _bad(f"parameters must be form-encoded (application/x-www-form-urlencoded), not {content_type!r}")
            if not raw and query:
                raise _bad("a POST carries its parameters in the form body, not in the query string")
            try:
                source = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _bad("the form body is not UTF-8") from None
        try:
            parsed = parse_qs(source, keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError:
            raise _bad("parameters are not UTF-8 after URL decoding") from None
        return {key: values[0] for key, values in parsed.items()}


class TomdaSimulator:
    """The Tomda cloud: state, API answers, pushes and test hooks. Use as a context manager."""

    ROUTES = {  # path → (allowed methods, handler); the charger list answers both (the spec says both)
        "/api/sys/token/get": (("GET",), "_api_token"),
        "/api/sys/charger/order": (("POST",), "_api_reserve"),
        "/api/sys/charger/cancel": (("POST",), "_api_cancel"),
        "/api/sys/charger/start": (("POST",), "_api_start"),
        "/api/sys/charger/stop": (("POST",), "_api_stop"),
        "/api/sys/charger/sync": (("POST",), "_api_sync"),
        "/api/sys/charger/fee": (("POST",), "_api_charger_fee"),
        "/api/sys/station/sync": (("POST",), "_api_station_sync"),
        "/api/sys/station/elecFeeInfo": (("POST",), "_api_fee_template"),
        "/api/sys/charger/list": (("GET", "POST"), "_api_charger_list"),
        "/api/sys/charger/info": (("GET",), "_api_charger_info"),
    }

    def __init__(
        self,
        api_id: str = "sim-id",
        api_key: str = "sim-key",
        chargers: Iterable[SimCharger] = (),
        push_url: str | None = None,
        push_encoding: str = "json",
        token_ttl: float = 7200,
        work_interval: float = 0.0,
        device_interval: float = 0.0,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        event_type: str = "EVENT_DATA",
        ask_fees: bool = True,
        *,
        booking_timeout: float | None = None,
        start_time: dt.datetime | None = None,
        push_timeout: tuple[float, float] = (3.0, 10.0),
        push_retries: int = 3,
        push_retry_delay: float = 0.2,
    ):
        if push_encoding not in ("json", "form"):
            raise ValueError("push_encoding is 'json' or 'form'")
        if event_type not in ("EVENT_DATA", "EVENT_INFO"):
            raise ValueError("event_type is 'EVENT_DATA' (our copy of the spec) or 'EVENT_INFO' (deployed clouds)")
        self.api_id = api_id
        self.api_key = api_key
        self.push_url = push_url
        self.push_encoding = push_encoding
        self.token_ttl = token_ttl
        self.work_interval = work_interval
        self.device_interval = device_interval
        self.speed = speed
        self.host = host
        self.port = port
        self.event_type = event_type
        self.ask_fees = ask_fees
        self.booking_timeout = booking_timeout  # simulated seconds a booking holds its connector; None: forever

        self.lock = threading.RLock()
        self.chargers: dict[str, SimCharger] = {}
        for charger in chargers:
            if charger.serial in self.chargers:
                raise ValueError(f"serial {charger.serial} appears twice")
            self.chargers[charger.serial] = charger
        self.sessions: dict[str, SimSession] = {}
        self.fee_templates: dict[str, dict] = {}
        self.stations: dict[str, dict] = {}
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.pushes: list[PushRecord] = []
        self._tokens: dict[str, float] = {}  # token → monotonic expiry
        self._fail_next: dict[str, deque[str]] = {}
        self._clock = (start_time or dt.datetime.now(BEIJING)).astimezone(BEIJING)

        self._pusher = _Pusher(
            url=push_url, encoding=push_encoding, timeout=push_timeout, retries=max(1, push_retries),
            retry_delay=push_retry_delay, record=self._record_push,
        )
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop_ticker = threading.Event()

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> TomdaSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    def start(self) -> None:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.simulator = self
        self._server = server
        serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                 name="tomda-sim-http", daemon=True)
        serve.start()
        self._threads = [serve]
        if self.push_url:
            self._pusher.start()
            with self.lock:
                for charger in self.chargers.values():
                    self._queue_device_info(charger)
                if self.ask_fees:
                    for charger in self.chargers.values():
                        if charger.online:
                            self._queue_fee_query(charger)
        if self.work_interval > 0 or self.device_interval > 0:
            self._stop_ticker.clear()
            ticker = threading.Thread(target=self._tick_forever, name="tomda-sim-ticker", daemon=True)
            ticker.start()
            self._threads.append(ticker)
        logger.info("Tomda simulator listening on %s", self.base_url)

    def stop(self) -> None:
        self._stop_ticker.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._pusher.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []
        self._server = None

    def _tick_forever(self) -> None:
        next_work = time.monotonic() + self.work_interval if self.work_interval > 0 else None
        next_device = time.monotonic() + self.device_interval if self.device_interval > 0 else None
        while True:
            due = min(t for t in (next_work, next_device) if t is not None)
            if self._stop_ticker.wait(max(0.0, due - time.monotonic())):
                return
            now = time.monotonic()
            try:
                if next_work is not None and now >= next_work:
                    next_work += self.work_interval
                    self.advance(self.work_interval * self.speed)
                    self.tick()
                if next_device is not None and now >= next_device:
                    next_device += self.device_interval
                    with self.lock:
                        for charger in self.chargers.values():
                            self._queue_device_info(charger)
            except Exception:  # keep ticking: one bad round must not freeze the demo
                logger.exception("Tomda simulator: a periodic round failed")

    # ---- clock -----------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The simulated Beijing time every time string is written from."""
        with self.lock:
            return self._clock

    def advance(self, seconds: float) -> None:
        """Move simulated time: every running session accrues energy (and pile cost) for `seconds`."""
        step = _seconds(seconds)
        if step < 0:
            raise ValueError("time runs forward")
        with self.lock:
            start = self._clock
            endings = []
            for session in list(self.sessions.values()):
                if session.status != "CHARGE":
                    continue
                run = step
                if session.limit_seconds is not None:
                    run = min(run, session.limit_seconds - session.elapsed)
                self._accrue(session, start, run)
                if session.limit_seconds is not None and session.elapsed >= session.limit_seconds:
                    ended = session.started_at + dt.timedelta(seconds=session.limit_seconds)
                    endings.append((session, "EBIKE_TIMELIMITREACHED", ended))
                elif session.schedule and session.user_balance is not None and session.cost_fen >= session.user_balance:
                    # Pile billing with the balance we passed at start: the pile stops once it is spent.
                    endings.append((session, "EBIKE_DEAUTHORIZED", None))
            # Move the clock first, so the pushes of the sessions that ended are stamped after their end.
            self._clock = start + _delta(step)
            for session, close_type, ended in endings:
                self._end_session(session, close_type, at=ended)
            if self.booking_timeout is not None:
                limit = dt.timedelta(seconds=self.booking_timeout)
                for session in list(self.sessions.values()):
                    if session.status == "BOOKED" and self._clock - session.booked_at >= limit:
                        self._close_booking(session)

    def _accrue(self, session: SimSession, start: dt.datetime, seconds: Fraction) -> None:
        """Add `seconds` of charging from `start`, billed slice by slice where the price changes."""
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        second_of_day = _seconds((start - midnight).total_seconds())
        left = seconds
        while left > 0:
            step, rate = left, Fraction(0)
            if session.schedule:
                rate, until = session.schedule.rate(
                    second_of_day=second_of_day, elapsed=session.elapsed, power_w=session.power_w
                )
                if until is not None:
                    step = min(step, until)
            session.elapsed += step
            session.energy_ws += session.power_w * step
            session.cost_exact += rate * step
            second_of_day = (second_of_day + step) % 86400
            left -= step

    # ---- API -------------------------------------------------------------------------------

    def handle_api(self, method: str, path: str, params: dict[str, str]) -> dict:
        """Tomda's answer envelope for one call; `path` is relative to /Manage."""
        with self.lock:
            self.calls.append((method, path, dict(params)))
            try:
                route = self.ROUTES.get(path)
                if route is None:
                    raise ApiError("1400", f"no API at {API_PREFIX}{path}")
                methods, handler = route
                if method not in methods:
                    raise ApiError("1400", f"{path} is called with {' or '.join(methods)}, not {method}")
                queued = self._fail_next.get(path)
                if queued:
                    raise ApiError(queued.popleft())
                args = _Params(params)
                if path != "/api/sys/token/get":
                    self._check_token(args.text("token", required=False))
                data = getattr(self, handler)(args)
                envelope = {"errorCode": SUCCESS, "errorDesc": "", "data": data}
            except ApiError as exc:
                envelope = {"errorCode": exc.code, "errorDesc": exc.desc, "data": None}
                why = exc.detail
            else:
                why = ""
        shown = {k: ("***" if k in ("token", "apiKey") else v) for k, v in params.items()}
        logger.info("API %s %s %s -> %s %s", method, path, json.dumps(shown, ensure_ascii=False),
                    envelope["errorCode"], why or envelope["errorDesc"])
        return envelope

    def _check_token(self, token: str | None) -> None:
        expiry = self._tokens.get(token or "")
        if expiry is None or expiry <= time.monotonic():
            raise ApiError("1300")

    def _charger(self, serial: str | None) -> SimCharger:
        charger = self.chargers.get(serial or "")
        if charger is None:
            raise ApiError("2003", f"no charger {serial}")
        return charger

    def _session(self, order_no: str | None) -> SimSession:
        session = self.sessions.get(order_no or "")
        if session is None:
            raise ApiError("2013", f"no order {order_no}")
        return session

    def _api_token(self, args: _Params):
        if args.text("apiId", required=False) != self.api_id:
            raise ApiError("2001")
        if args.text("apiKey", required=False) != self.api_key:
            raise _bad("apiKey is wrong")
        token = secrets.token_hex(16)
        self._tokens[token] = time.monotonic() + self.token_ttl
        return {"token": token, "timeout": int(self.token_ttl)}

    def _api_reserve(self, args: _Params):
        charger = self._charger(args.text("serialNum"))
        order_no = args.text("clientOrderId")
        if charger.kind != "ev":
            raise ApiError("1440", "only EV chargers take reservations")
        connector_id = args.integer("connectorId", required=False)
        if charger.single_gun and connector_id not in (None, 0):
            # §4.5.1: "单枪桩传0或者不传" (a single-gun pile: 0 or nothing), unlike the start call's 1.
            raise _bad(f"charger {charger.serial} has one connector: send connectorId 0 or none, not {connector_id}")
        connector = charger.resolve_connector(connector_id)
        if not charger.online:
            raise ApiError("1423")
        if connector.status != "FREE":
            raise ApiError("2011", f"connector is {connector.status}")
        if order_no in self.sessions:
            raise ApiError("2008")
        self.sessions[order_no] = SimSession(
            order_no=order_no, serial=charger.serial, connector_id=connector.connector_id,
            power_w=charger.power_w, status="BOOKED", booked_at=self._clock,
        )
        self._set_connector(charger, connector, "BOOKED", order_no)
        return None

    def _api_cancel(self, args: _Params):
        session = self._session(args.text("clientOrderId"))
        if session.status != "BOOKED":
            raise ApiError("1405", f"order {session.order_no} is {session.status}, not BOOKED")
        self._close_booking(session)
        return None

    def _close_booking(self, session: SimSession) -> None:
        """A booking ends without charging (cancelled, or expired): no settlement, the connector is free.
        The cloud tells the operator nothing but the connector's new state; the order reads CLOSED."""
        session.status, session.ended_at = "CLOSED", self._clock
        charger = self.chargers[session.serial]
        self._set_connector(charger, charger.connectors[session.connector_id], "FREE", None)

    def _api_start(self, args: _Params):
        charger_type = args.text("chargerType")
        serial = args.text("serialNum")
        connector_id = args.integer("connectorId")
        strategy = args.text("chargeStrategy").strip()
        strategy_param = args.text("chargeStrategyParam", required=False) or "0"
        order_no = args.text("clientOrderId")
        user_balance = args.integer("userBalance", required=False)

        charger = self._charger(serial)
        if CHARGER_TYPES.get(charger_type.strip()) != charger.kind:
            raise ApiError("2007", f"charger {serial} is {charger.kind}, chargerType {charger_type} is not")
        connector = charger.resolve_connector(connector_id)
        if not charger.online:
            raise ApiError("1423")
        booked_here = connector.status == "BOOKED" and connector.order_no == order_no
        if connector.status != "FREE" and not booked_here:
            raise ApiError("2011", f"connector is {connector.status}")
        if order_no in self.sessions and not booked_here:
            raise ApiError("2008")
        if strategy not in ALLOWED_STRATEGIES[charger.kind]:
            allowed = " or ".join(sorted(ALLOWED_STRATEGIES[charger.kind]))
            raise ApiError("2012", f"{charger.kind} chargers accept chargeStrategy {allowed}")
        limit_seconds = None
        if strategy == "1":
            try:
                minutes = int(strategy_param.strip())
            except ValueError:
                raise _bad(f"chargeStrategyParam must be whole minutes, got {strategy_param!r}") from None
            if minutes <= 0:
                raise ApiError("2012", "a timed charge needs a positive number of minutes")
            limit_seconds = minutes * 60

        session = self.sessions.get(order_no) or SimSession(
            order_no=order_no, serial=charger.serial, connector_id=connector.connector_id, power_w=charger.power_w
        )
        session.status = "CHARGE"
        session.strategy = strategy
        session.limit_seconds = limit_seconds
        session.user_balance = user_balance
        # The pile prices the session with the template it holds when the session starts.
        session.schedule = FeeSchedule(charger.fee_model) if charger.fee_model else None
        session.started_at = self._clock
        self.sessions[order_no] = session
        self._set_connector(charger, connector, "CHARGING", order_no)
        self._queue_work_data(charger)
        return None

    def _api_stop(self, args: _Params):
        session = self._session(args.text("clientOrderId"))
        if session.status != "CHARGE":
            raise ApiError("1405", f"order {session.order_no} is {session.status}, not charging")
        self._end_session(session, "EBIKE_REMOTE")
        return None

    def _api_sync(self, args: _Params):
        session = self._session(args.text("clientOrderId"))
        charger = self.chargers[session.serial]
        # §4.5.5 requires chargeStartTime: a booking that never charged reports when it was booked.
        started = session.started_at or session.booked_at
        park_end = session.ended_at or self._clock
        return {
            "clientOrderId": session.order_no,
            "status": session.status,
            "serialNum": session.serial,
            "connectorId": charger.wire_connector_id(session.connector_id),
            "chargeStartTime": wire_time(started) if started else None,
            "chargeEndTime": wire_time(session.ended_at) if started and session.ended_at else None,
            "parkTime": int((park_end - started).total_seconds()) if started else 0,
            "chargeTime": session.charge_seconds,
            "chargeEnergy": session.energy_wh,
            "chargeCost": session.cost_fen,
        }

    def _api_charger_fee(self, args: _Params):
        # The spec lists no parameters for this call; these are the ones it would need.
        charger = self._charger(args.text("serialNum"))
        model = args.json("elecFeeModelInfo", dict)
        schedule = FeeSchedule(model)
        if schedule.kind != charger.kind:
            raise ApiError("2004", f"a {schedule.kind} template cannot bill {charger.kind} charger {charger.serial}")
        self.fee_templates[schedule.model_id] = model
        self._send_fee_to(charger, model, schedule)
        return None

    def _api_station_sync(self, args: _Params):
        station = args.json("stationInfo", dict)
        station_id = str(station.get("clientStationId") or "")
        if not station_id:
            raise _bad("stationInfo.clientStationId is required")
        model = station.get("elecFeeModelInfo")
        model_id = str(station.get("clientElecFeeModelId") or "")
        if not model_id and not model:
            raise _bad("stationInfo needs clientElecFeeModelId or elecFeeModelInfo")
        if model:
            schedule = FeeSchedule(model)
            if model_id and model_id != schedule.model_id:
                raise _bad(f"stationInfo.clientElecFeeModelId {model_id} differs from its elecFeeModelInfo's "
                           f"{schedule.model_id}")
            self.fee_templates[schedule.model_id] = model
            model_id = schedule.model_id
        serials = [s.strip() for s in str(station.get("serialNums") or "").split(",") if s.strip()]
        self.stations[station_id] = {**station, "clientElecFeeModelId": model_id}
        # The station's chargers bill with its template from now on, when the cloud knows it.
        template = self.fee_templates.get(model_id)
        if template:
            kind = FeeSchedule(template).kind
            for serial in serials:
                charger = self.chargers.get(serial)
                if charger and charger.kind == kind:
                    charger.fee_model = template
        return None

    def _api_fee_template(self, args: _Params):
        sync = args.integer("sycnCharger", required=False)  # sic: the spec spells it "sycn"
        if sync not in (0, 1):
            raise _bad("sycnCharger (spelt so) must be 1 or 0")
        model = args.json("elecFeeModelInfo", dict)
        schedule = FeeSchedule(model)
        self.fee_templates[schedule.model_id] = model
        if sync == 1:
            targets: dict[str, SimCharger] = {}
            for station in self.stations.values():
                if station.get("clientElecFeeModelId") != schedule.model_id:
                    continue
                for serial in str(station.get("serialNums") or "").split(","):
                    charger = self.chargers.get(serial.strip())
                    if charger:
                        targets[charger.serial] = charger
            for charger in targets.values():
                self._send_fee_to(charger, model, schedule)
        return None

    def _send_fee_to(self, charger: SimCharger, model: dict, schedule: FeeSchedule) -> None:
        """Download a template to a pile; only an online pile of the template's kind takes it."""
        taken = charger.online and schedule.kind == charger.kind
        if taken:
            charger.fee_model = model
        self._queue(
            "PUSH_ELEC_FEE_RESULT",
            {"serialNum": charger.serial, "clientElecFeeModelId": schedule.model_id, "pushResult": 1 if taken else 0},
        )

    def _api_charger_list(self, args: _Params):
        offset = args.integer("offset", required=False) or 0
        limit = args.integer("limit", required=False)
        limit = DEFAULT_LIST_LIMIT if limit is None else limit
        if offset < 0 or limit < 0:
            raise _bad("offset and limit cannot be negative")
        filters = args.json("filters", list, required=False) or []
        count_only = args.boolean("countOnly", default=False)
        chargers = [c.as_wire() for _serial, c in sorted(self.chargers.items())]
        for index, rule in enumerate(filters):
            if not isinstance(rule, dict):
                raise _bad(f"filters[{index}] must be an object {{key, value, type}}")
            key, value, kind = rule.get("key"), rule.get("value"), rule.get("type") or "exact"
            if key not in FILTERABLE_FIELDS:
                raise _bad(f"filters[{index}].key must be one of {', '.join(FILTERABLE_FIELDS)} (case-sensitive)")
            if kind not in ("exact", "like"):
                raise _bad(f"filters[{index}].type must be exact or like")
            wanted = "" if value is None else str(value)
            if kind == "exact":
                chargers = [c for c in chargers if str(c[key]) == wanted]
            else:
                needle = wanted.strip("%").lower()
                chargers = [c for c in chargers if needle in str(c[key]).lower()]
        return {"total": len(chargers), "content": [] if count_only else chargers[offset:offset + limit]}

    def _api_charger_info(self, args: _Params):
        return {"charger": self._charger(args.text("serialNum")).as_wire()}

    # ---- state changes (called with the lock held) ------------------------------------------

    def _set_connector(self, charger: SimCharger, connector: SimConnector, status: str, order_no: str | None,
                       *, announce: bool = True) -> None:
        changed = connector.status != status
        connector.status, connector.order_no = status, order_no
        if changed and announce:
            self._queue_device_info(charger)

    def _end_session(self, session: SimSession, close_type: str, *, at: dt.datetime | None = None,
                     connector_status: str = "FREE", announce: bool = True) -> None:
        """The pile stops: final WORK_DATA (FINISH), ORDER_DATA (CLOSED), then the connector's new state."""
        charger = self.chargers[session.serial]
        session.status = "FINISH"
        session.ended_at = at or self._clock
        session.close_type = close_type
        self._queue_work_data(charger, finishing=session)
        session.status = "CLOSED"
        self._queue("ORDER_DATA", {
            "serialNum": charger.serial,
            "connectorId": charger.wire_connector_id(session.connector_id),
            "clientOrderId": session.order_no,
            "chargeStartTime": wire_time(session.started_at),
            "chargeEndTime": wire_time(session.ended_at),
            "chargeEnergy": session.energy_wh,
            "chargeTime": session.charge_seconds,
            "chargeCost": session.cost_fen,
            "orderStatus": "CLOSED",
            "closeType": close_type,
        })
        self._set_connector(charger, charger.connectors[session.connector_id], connector_status, None,
                            announce=announce)

    def _running(self, charger: SimCharger) -> list[SimSession]:
        return [
            self.sessions[c.order_no] for c in charger.connectors.values()
            if c.order_no and self.sessions[c.order_no].status == "CHARGE"
        ]

    def _work_item(self, charger: SimCharger, session: SimSession) -> dict:
        finished = session.status != "CHARGE"
        power = 0 if finished else session.power_w
        item = {
            "connectorId": charger.wire_connector_id(session.connector_id),
            "clientOrderId": session.order_no,
            "deviceTime": wire_time(session.ended_at if finished else self._clock),
            "chargerRunStatus": session.status,
            "chargeTime": session.charge_seconds // 60,
            "chargeVoltage": LINE_VOLTAGE_DV,
            "chargeCurrent": round(power * 100 / LINE_VOLTAGE_DV),  # 0.1 A: P / U, U in 0.1 V
            "chargePower": power,
            "chargeEnergy": session.energy_wh,
            "chargeCost": session.cost_fen,
        }
        if charger.kind == "ev":  # an e-bike pile cannot know the battery's charge
            item["soc"] = session.soc
        return item

    # ---- pushes ----------------------------------------------------------------------------

    def _queue(self, push_type: str, content: dict, on_reply=None) -> None:
        if self.push_url:
            self._pusher.enqueue(_QueuedPush(push_type, content, wire_time(self._clock), on_reply))

    def _queue_device_info(self, charger: SimCharger) -> None:
        self._queue("DEVICE_INFO", {"deviceType": "CHARGER", "deviceInfo": charger.as_wire()})

    def _queue_work_data(self, charger: SimCharger, finishing: SimSession | None = None) -> None:
        sessions = [finishing] if finishing else self._running(charger)
        if sessions:
            items = [self._work_item(charger, s) for s in sessions]
            self._queue("WORK_DATA", {"serialNum": charger.serial, "workDataInfo": items})

    def _queue_fee_query(self, charger: SimCharger) -> None:
        self._queue("QUERY_CHARGER_ELEC_FEE", {"serialNum": charger.serial},
                    on_reply=lambda record: self._take_fee_reply(charger.serial, record))

    def _take_fee_reply(self, serial: str, record: PushRecord) -> None:
        data = (record.reply or {}).get("data") if record.ok else None
        model = data.get("elecFeeModelInfo") if isinstance(data, dict) else None
        if isinstance(model, str):
            try:
                model = json.loads(model)
            except ValueError:
                model = None
        if not model:
            return
        with self.lock:
            charger = self.chargers[serial]
            try:
                schedule = FeeSchedule(model)
            except ApiError as exc:
                logger.warning("Tomda simulator: ignoring the fee model answered for %s: %s", serial, exc.desc)
                return
            if schedule.kind != charger.kind:
                logger.warning("Tomda simulator: a %s fee model was answered for the %s charger %s",
                               schedule.kind, charger.kind, serial)
                return
            self.fee_templates[schedule.model_id] = model
            charger.fee_model = model

    def _take_balance_reply(self, order_no: str, record: PushRecord) -> None:
        data = (record.reply or {}).get("data") if record.ok else None
        balance = data.get("balance") if isinstance(data, dict) else None
        try:
            balance = int(balance)
        except (TypeError, ValueError):
            return  # no usable answer: the pile keeps charging, as it would on a lost query
        with self.lock:
            session = self.sessions.get(order_no)
            if balance <= 0 and session and session.status == "CHARGE":
                self._end_session(session, "EBIKE_DEAUTHORIZED")

    def _record_push(self, record: PushRecord) -> None:
        with self.lock:
            self.pushes.append(record)
        reply = record.reply or {}
        logger.info("PUSH %s %s -> %s %s %s", record.type, json.dumps(record.content, ensure_ascii=False),
                    record.status_code or record.error, reply.get("errorCode", ""), reply.get("errorDesc", ""))

    # ---- test hooks ------------------------------------------------------------------------

    def tick(self) -> None:
        """One work-data round now: WORK_DATA per online charger with sessions, and balance queries."""
        with self.lock:
            for charger in self.chargers.values():
                running = self._running(charger)
                if not running or not charger.online:
                    continue
                self._queue_work_data(charger)
                for session in running:
                    if session.schedule is None:  # third-party billing: ask us whether the user can pay on
                        self._queue("QUERY_ORDER_BALANCE_INFO", {"clientOrderId": session.order_no},
                                    on_reply=lambda record, no=session.order_no: self._take_balance_reply(no, record))

    def drain(self, timeout: float = 10) -> None:
        """Block until every queued push was sent and answered; TimeoutError otherwise."""
        self._pusher.drain(timeout)

    def push(self, push_type: str, content: dict, encoding: str | None = None) -> dict | None:
        """Send one push now (not via the queue) and return our reply."""
        self._require_push_url()
        return self._pusher.send(push_type, content, wire_time(self.now()), encoding).reply

    def _require_push_url(self) -> None:
        if not self.push_url:
            raise RuntimeError("the simulator has no push_url to send to")

    def query_balance(self, order_no: str) -> dict | None:
        """Ask us for the balance behind an order now; a balance of 0 ends that session, as on a tick."""
        self._require_push_url()
        record = self._pusher.send("QUERY_ORDER_BALANCE_INFO", {"clientOrderId": order_no}, wire_time(self.now()))
        self._take_balance_reply(order_no, record)
        return record.reply

    def query_fee(self, serial: str) -> dict | None:
        """Ask us for a charger's fee model now; the answered template becomes the pile's."""
        self._require_push_url()
        self._charger_or_key_error(serial)
        record = self._pusher.send("QUERY_CHARGER_ELEC_FEE", {"serialNum": serial}, wire_time(self.now()))
        self._take_fee_reply(serial, record)
        return record.reply

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    def fail_next(self, path: str, error_code: str | int) -> None:
        """The next call to `path` (e.g. "/api/sys/charger/start") answers `error_code` and does nothing."""
        path = path.removeprefix(API_PREFIX)
        with self.lock:
            self._fail_next.setdefault(path, deque()).append(str(error_code))

    def set_online(self, serial: str, online: bool) -> None:
        """The pile drops off (lost=1) or (re)connects; a connecting pile asks us for its fee model."""
        with self.lock:
            charger = self._charger_or_key_error(serial)
            charger.online = online
            self._queue_device_info(charger)
            if online:
                self._queue_fee_query(charger)

    def expire_booking(self, order_no: str) -> None:
        """The booking of `order_no` runs out now, as `booking_timeout` makes bookings do."""
        with self.lock:
            session = self.sessions[order_no]
            if session.status != "BOOKED":
                raise ValueError(f"order {order_no} is {session.status}, not booked")
            self._close_booking(session)

    def finish(self, order_no: str, close_type: str = "EBIKE_SOCLIMITREACHED") -> None:
        """The pile ends a running session by itself (battery full, plug pulled, ...)."""
        with self.lock:
            session = self.sessions[order_no]
            if session.status != "CHARGE":
                raise ValueError(f"order {order_no} is {session.status}, not charging")
            self._end_session(session, close_type)

    def fault(self, serial: str, connector_id: int | None = None, code: str = "TOMDA_EBIKE_FAULT_ES") -> None:
        """A fault starts on a connector (or, with None, the whole charger); sessions there end."""
        with self.lock:
            charger = self._charger_or_key_error(serial)
            connectors = self._event_connectors(charger, connector_id)
            self._queue_event(charger, connector_id, code, "HAPPENING")
            whole = connector_id is None
            if whole:
                charger.fault = True
            for connector in connectors:
                # One DEVICE_INFO for a whole-charger fault, not one per connector.
                session = self.sessions.get(connector.order_no or "")
                if session and session.status == "CHARGE":
                    self._end_session(session, "EBIKE_GROUNDFAULT", connector_status="FAULT", announce=not whole)
                    continue
                if session and session.status == "BOOKED":
                    session.status, session.ended_at = "CLOSED", self._clock
                self._set_connector(charger, connector, "FAULT", None, announce=not whole)
            if whole:
                self._queue_device_info(charger)

    def recover(self, serial: str, connector_id: int | None = None, code: str = "TOMDA_EBIKE_FAULT_ES") -> None:
        """The fault is over: the connector (or every connector) is FREE again."""
        with self.lock:
            charger = self._charger_or_key_error(serial)
            connectors = self._event_connectors(charger, connector_id)
            self._queue_event(charger, connector_id, code, "RECOVERED")
            whole = connector_id is None
            if whole:
                charger.fault = False
            for connector in connectors:
                if connector.status == "FAULT":
                    self._set_connector(charger, connector, "FREE", None, announce=not whole)
            if whole:
                self._queue_device_info(charger)

    def _charger_or_key_error(self, serial: str) -> SimCharger:
        if serial not in self.chargers:
            raise KeyError(f"the simulator has no charger {serial}")
        return self.chargers[serial]

    def _event_connectors(self, charger: SimCharger, connector_id: int | None) -> list[SimConnector]:
        if connector_id is None:
            return list(charger.connectors.values())
        try:
            return [charger.resolve_connector(connector_id)]
        except ApiError:
            raise KeyError(f"charger {charger.serial} has no connector {connector_id}") from None

    def _queue_event(self, charger: SimCharger, connector_id: int | None, code: str, status: str) -> None:
        content: dict[str, Any] = {"serialNum": charger.serial, "eventSource": "CHARGER"}
        if connector_id is not None:
            content["eventSource"] = "CHARGER_PLUG"
            content["connectorId"] = charger.resolve_connector(connector_id).connector_id
        content["eventCount"] = 1
        content["eventInfo"] = [{
            "eventCode": code,
            "eventName": EVENT_NAMES.get(code, code),
            "deviceTime": wire_time(self._clock),
            "eventStatus": status,
        }]
        self._queue(self.event_type, content)

    def pushed(self, push_type: str) -> list[PushRecord]:
        """The recorded pushes of one type, oldest first."""
        with self.lock:
            return [p for p in self.pushes if p.type == push_type]


def _delta(seconds: Fraction) -> dt.timedelta:
    return dt.timedelta(microseconds=round(seconds * 1_000_000))
