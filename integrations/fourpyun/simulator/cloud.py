"""The simulated 4pyun open platform: its two sync endpoints, its state behind one lock, its faults and its pushes."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from integrations.fourpyun.signing import json_sign, json_signing_string, masked, signature_matches
from integrations.fourpyun.simulator.checks import FINAL_STATES, check_device, check_record
from integrations.fourpyun.simulator.protocol import (
    BEIJING,
    CHARGING_STATUS,
    DEVICE_PATH,
    FAILED,
    NOT_FOUND_1002,
    OK,
    ORDER_INFO,
    PUSH_NAMES,
    RECORD_PATH,
    ROUTES,
    SIGN_TYPE,
    SIGNATURE_REFUSED,
    STATION_UNKNOWN,
    TIMESTAMP_WINDOW,
    UNAUTHORISED,
    UNAVAILABLE,
    ApiError,
    bad_request,
    envelope,
    parse_utc,
)
from integrations.fourpyun.simulator.pushes import PushRecord, PushSender, new_push, order_fields, signed_fields
from integrations.fourpyun.simulator.state import AcceptedRecord, DeviceSync, SeenRequest
from integrations.simulation import LoopbackServer, Request, Response, SimClock

logger = logging.getLogger(__name__)

T = TypeVar("T")
# How a fault answers: "1500" is 4pyun failing politely (HTTP 200), "503" its gateway with nobody behind it.
FAULT_MODES = {FAILED: 200, UNAVAILABLE: 503}
LOGGED_HINT = 160  # characters of a refusal's hint in the log


def _status_of(code: str) -> int:
    """The HTTP status 4pyun answers a code with: its HTTP-like codes (400, 401, 503, ...) as themselves."""
    return int(code) if code.isdigit() and 400 <= int(code) < 600 else 200


def _check_mode(mode: str) -> str:
    mode = str(mode)
    if mode not in FAULT_MODES:
        raise ValueError(f"a fault is one of {', '.join(FAULT_MODES)}, not {mode!r}")
    return mode


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


class FourpyunSimulator:
    """4pyun's open platform on loopback. Use as a context manager, or `start()` and `stop()`.

    It accepts the calls signed with `app_secret` under `app_id`, for the `stations` it knows (none given: any),
    and keeps every record and device sync it accepted, and every request with its answer. Its clock is
    `clock` (a `SimClock`, so a test can move it) or, without one, the real clock; the timestamp check uses it.
    With `push_base_url` set, each record it accepts in state 2 is pushed back as a charging-status, in state 3
    or -1 as an order-info, in the background and in order, `push_attempts` times at most.
    """

    def __init__(
        self,
        app_id: str = "op00simulator0001",
        app_secret: str = "sim-4pyun-secret",  # noqa: S107 - the simulator's own test secret
        *,
        stations: Iterable[str] = (),
        push_base_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: SimClock | None = None,
        push_attempts: int = 3,
        push_retry_delay: float = 0.2,
        push_timeout: float | tuple[float, float] = (3.0, 10.0),
    ):
        self.app_id = app_id
        self.app_secret = app_secret
        self.stations: set[str] = set(stations)
        self.push_base_url = push_base_url
        self.clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._records: list[AcceptedRecord] = []
        self._device_syncs: list[DeviceSync] = []
        self._devices: dict[str, DeviceSync] = {}
        self._calls: list[SeenRequest] = []
        self._down_until: float | None = None  # time.monotonic()
        self._down_mode = FAILED
        self._fail_next: deque[str] = deque()
        self._refused: dict[str, ApiError] = {}
        self._server = LoopbackServer(self.app, host=host, port=port, name="fourpyun-sim",
                                      server_version="FourpyunSimulator/1.0")
        self._sender = PushSender(attempts=push_attempts, retry_delay=push_retry_delay, timeout=push_timeout)

    # ---- life cycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> FourpyunSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (OSError when the port is taken) and start the pushes' thread."""
        self._server.start()
        self._sender.start()
        logger.info("4pyun simulator listening on %s", self.base_url)

    def stop(self) -> None:
        self._server.stop()
        self._sender.stop()

    @property
    def base_url(self) -> str:
        """Where the API answers, e.g. http://127.0.0.1:8604 (the paths are appended to it)."""
        if not self._server.running:
            raise RuntimeError("the simulator is not running")
        return self._server.base_url

    url = base_url

    @property
    def push_base_url(self) -> str | None:
        """Our push receiver's base (each push goes to `<base>/<name>`); None: no automatic pushes. A test may set
        it once it knows where its receiver listens."""
        return self._push_base_url

    @push_base_url.setter
    def push_base_url(self, url: str | None) -> None:
        self._push_base_url = url.rstrip("/") if url else None

    def now(self) -> dt.datetime:
        """The simulator's clock: its `SimClock`, or the real one."""
        return self.clock.now() if self.clock is not None else dt.datetime.now(dt.UTC)

    # ---- faults -----------------------------------------------------------------------------------------------

    def fail_for(self, seconds: float, mode: str = FAILED) -> None:
        """Fail every call for `seconds` of real time (fractions welcome): "1500" answers HTTP 200 code 1500
        (失败), "503" HTTP 503 code 503."""
        mode = _check_mode(mode)
        with self._cond:
            self._down_until = time.monotonic() + seconds
            self._down_mode = mode

    def fail_next(self, n: int = 1, mode: str = FAILED) -> None:
        """Fail the next `n` calls (after any `fail_for` is over), as `fail_for` does."""
        mode = _check_mode(mode)
        with self._cond:
            self._fail_next.extend([mode] * n)

    def refuse(self, order_no: str, code: str = "400", hint: str | None = None, message: str | None = None) -> None:
        """Refuse every later record of `order_no`, with `code` (HTTP 400 for 400, 200 for 4pyun's own codes)."""
        code = str(code)
        hint = hint if hint is not None else f"`order` 充电单 {order_no} 不予受理"
        with self._cond:
            self._refused[str(order_no)] = ApiError(_status_of(code), code, message, hint)

    def clear_faults(self) -> None:
        with self._cond:
            self._down_until = None
            self._fail_next.clear()
            self._refused.clear()

    # ---- reading ----------------------------------------------------------------------------------------------

    @property
    def records(self) -> list[AcceptedRecord]:
        """Every charging record accepted, in arrival order."""
        with self._cond:
            return list(self._records)

    def records_of(self, order_no: str) -> list[AcceptedRecord]:
        with self._cond:
            return [record for record in self._records if record.order == str(order_no)]

    def latest_of(self, order_no: str) -> AcceptedRecord | None:
        """The newest record of an order accepted, whatever its state."""
        records = self.records_of(order_no)
        return records[-1] if records else None

    def final_of(self, order_no: str) -> AcceptedRecord | None:
        """The newest record of an order accepted with a final state (3 充电完成, -1 启动失败/充电异常)."""
        finals = [record for record in self.records_of(order_no) if record.final]
        return finals[-1] if finals else None

    def orders(self) -> list[str]:
        """The orders with a record accepted, in the order their first record came."""
        with self._cond:
            return list(dict.fromkeys(record.order for record in self._records))

    def accepted_counts(self) -> Counter[str]:
        """How many times each record (`AcceptedRecord.key`: its fields but the public parameters) was accepted."""
        with self._cond:
            return Counter(record.key for record in self._records)

    def duplicates(self) -> dict[str, int]:
        """The records accepted more than once, with their counts: {} when each came once."""
        return {key: count for key, count in self.accepted_counts().items() if count > 1}

    def out_of_order(self) -> list[AcceptedRecord]:
        """Records that came after a newer one of their order: an earlier end, or not final after a final one.
        4pyun keeps the newest record it got, so each of these would have overwritten a better one."""
        late = []
        with self._cond:
            seen: dict[str, tuple[dt.datetime, bool]] = {}
            for record in self._records:
                end, final = record.end_time, record.final
                if record.order in seen:
                    newest_end, had_final = seen[record.order]
                    if end < newest_end or (had_final and not final):
                        late.append(record)
                    seen[record.order] = (max(end, newest_end), had_final or final)
                else:
                    seen[record.order] = (end, final)
        return late

    @property
    def device_syncs(self) -> list[DeviceSync]:
        """Every device sync accepted, in arrival order."""
        with self._cond:
            return list(self._device_syncs)

    @property
    def devices(self) -> dict[str, DeviceSync]:
        """The latest sync accepted of each device, by its `no`."""
        with self._cond:
            return dict(self._devices)

    def device(self, no: str) -> DeviceSync | None:
        with self._cond:
            return self._devices.get(str(no))

    @property
    def calls(self) -> list[SeenRequest]:
        """Every request, accepted or not, in arrival order, with the answer it got."""
        with self._cond:
            return list(self._calls)

    @property
    def refused_calls(self) -> list[SeenRequest]:
        return [call for call in self.calls if not call.accepted]

    def wait_for(self, predicate: Callable[[FourpyunSimulator], T], timeout: float = 10.0) -> T:
        """Block until `predicate(self)` is truthy (tried after each request) and return it; TimeoutError otherwise."""
        result: Any = None

        def holds() -> bool:
            nonlocal result
            result = predicate(self)
            return bool(result)

        with self._cond:
            if not self._cond.wait_for(holds, timeout=timeout):
                raise TimeoutError(f"not so after {timeout} s; {len(self._records)} records accepted, "
                                   f"{len(self._calls)} requests")
        return result

    def reset(self) -> None:
        """Forget every record, device sync, request and push seen, and the faults; keep the settings."""
        self.clear_faults()
        with self._cond:
            self._records.clear()
            self._device_syncs.clear()
            self._devices.clear()
            self._calls.clear()
        self._sender.forget()

    # ---- pushes -----------------------------------------------------------------------------------------------

    def push(self, name: str, fields: dict, *, sign: bool = True, tamper: bool = False,
             url: str | None = None) -> tuple[int | None, Any]:
        """POST a push now, once, on the caller's thread, to `url` or `<push_base_url>/<name>`.

        `fields` are the push's own (see `pushes.order_fields`, `pushes.result_fields`); app_id, timestamp and
        sign_type are added unless given, then `sign` unless `sign` is false; `tamper` changes a value after
        signing. Returns our answer: (HTTP status, its JSON object, else its text); (None, why) when nothing
        answered.
        """
        if name not in PUSH_NAMES:
            raise ValueError(f"a push is one of {', '.join(PUSH_NAMES)}, not {name!r}")
        if url is None:
            if not self.push_base_url:
                raise RuntimeError("the simulator has no push_base_url to push to")
            url = f"{self.push_base_url}/{name}"
        body = signed_fields(fields, app_id=self.app_id, secret=self.app_secret, sign=sign, tamper=tamper)
        record = self._sender.send(new_push(name, body, url=url), attempts=1)
        if record.status_code is None:
            return None, record.error
        return record.status_code, record.reply if record.reply is not None else record.text

    def pushes(self, name: str | None = None) -> list[PushRecord]:
        """Every push sent (automatic and through `push()`), oldest first, with how it went; of `name` if given.
        One still queued or being retried is not here yet: `drain()` first."""
        return [push for push in self._sender.deliveries if name is None or push.name == name]

    def drain(self, timeout: float = 10) -> None:
        """Block until every automatic push queued was sent, retries included; TimeoutError otherwise."""
        self._sender.drain(timeout)

    def _queue_push(self, record: AcceptedRecord) -> None:
        if not self.push_base_url:
            return
        if record.state == 2:
            name = CHARGING_STATUS
        elif record.state in FINAL_STATES:
            name = ORDER_INFO
        else:
            return  # 未充电: nothing happened that 4pyun would tell
        body = signed_fields(order_fields(record.body), app_id=self.app_id, secret=self.app_secret)
        self._sender.enqueue(new_push(name, body, url=f"{self.push_base_url}/{name}", automatic=True))

    # ---- the API ----------------------------------------------------------------------------------------------

    def app(self, request: Request) -> Response:
        """The LoopbackServer app: every answer is 4pyun's envelope, also for a path it does not have."""
        started = time.perf_counter()
        received_at = self.now()
        status, code, message, hint = 200, OK, None, None
        try:
            if request.method != "POST" or request.path not in ROUTES:
                raise ApiError(404, "404", hint=f"{request.method} {request.path}")
            self._fault()
            self._handle(request, received_at)
        except ApiError as exc:
            status, code, message, hint = exc.status, exc.code, exc.message, exc.hint
        answer = envelope(code, message=message, hint=hint, time_cost=round((time.perf_counter() - started) * 1000))
        seen = SeenRequest(method=request.method, path=request.path, body=request.body,
                           authorization=request.headers.get("Authorization"), received_at=received_at,
                           status=status, answer=answer)
        with self._cond:
            self._calls.append(seen)
            self._cond.notify_all()
        if code != OK:
            # A signature's hint is the whole body: the log keeps a line a line.
            shown = hint if not hint or len(hint) <= LOGGED_HINT else hint[:LOGGED_HINT] + " …"
            logger.info("REFUSED %s %s -> HTTP %s %s %s%s", request.method, request.path, status, code,
                        message or "", f" ({shown})" if shown else "")
        return Response.json(answer, status=status)

    def _fault(self) -> None:
        with self._cond:
            mode = None
            if self._down_until is not None:
                if time.monotonic() < self._down_until:
                    mode = self._down_mode
                else:
                    self._down_until = None
            if mode is None and self._fail_next:
                mode = self._fail_next.popleft()
        if mode is not None:
            raise ApiError(FAULT_MODES[mode], mode)

    def _handle(self, request: Request, received_at: dt.datetime) -> None:
        text, body = self._read(request)
        self._authenticate(request, text, body)
        if request.path == RECORD_PATH:
            check_record(body)
            self._known_station(body)
            with self._cond:
                refusal = self._refused.get(body["order"])
                if refusal is not None:
                    raise refusal
                record = AcceptedRecord(body=body, raw=request.body, received_at=received_at,
                                        seq=len(self._records) + 1)
                self._records.append(record)
                self._queue_push(record)
            self._log_record(record)
        else:
            assert request.path == DEVICE_PATH
            check_device(body)
            self._known_station(body)
            with self._cond:
                sync = DeviceSync(body=body, raw=request.body, received_at=received_at, seq=len(self._device_syncs) + 1)
                self._device_syncs.append(sync)
                self._devices[sync.no] = sync
            ports = " ".join(f"{port['no']}:{port['state']}" for port in body["port"])
            logger.info("DEVICE %s %s state %s %s, ports %s at station %s", body["no"], body["name"], body["state"],
                        body["state_desc"], ports, body["station_uuid"])

    @staticmethod
    def _read(request: Request) -> tuple[str, dict]:
        """The body's text (what the signature covers) and its JSON object."""
        content_type = request.headers.get_content_type() if request.headers.get("Content-Type") else ""
        charset = (request.headers.get_content_charset() or "utf-8").lower()
        if content_type != "application/json" or charset not in ("utf-8", "utf8"):
            raise bad_request(f"请求格式错误: 应为 application/json; charset=utf-8, 收到 "
                              f"{request.headers.get('Content-Type') or '无 Content-Type'}")
        try:
            text = request.body.decode("utf-8")
            body = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise bad_request("请求体不是 UTF-8 JSON") from None
        if not isinstance(body, dict):
            raise bad_request("请求体应为 JSON 对象")
        return text, body

    def _authenticate(self, request: Request, text: str, body: dict) -> None:
        """app_id, then the signature over the exact text, then the timestamp's window, then sign_type."""
        app_id = body.get("app_id")
        if app_id is None or app_id == "":
            raise bad_request("`app_id` required~")
        if app_id != self.app_id:
            raise ApiError(401, UNAUTHORISED, "应用不存在", f"`app_id` 无效: {app_id}")
        signing_string = json_signing_string(text, self.app_secret)
        given = request.headers.get("Authorization") or ""
        if not given or not signature_matches(given, json_sign(text, self.app_secret)):
            raise ApiError(401, UNAUTHORISED, SIGNATURE_REFUSED, masked(signing_string, self.app_secret))
        timestamp = body.get("timestamp")
        if timestamp is None or timestamp == "":
            raise bad_request("`timestamp` required~")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise bad_request("`timestamp` 必须为整数 (毫秒)")
        now = self.now()
        try:
            sent = dt.datetime.fromtimestamp(timestamp / 1000, dt.UTC)
        except (OverflowError, OSError, ValueError):
            sent = None
        if sent is None or abs(sent - now) > TIMESTAMP_WINDOW:
            server_ms = int(now.timestamp() * 1000)
            raise ApiError(401, UNAUTHORISED, "请求时间戳无效",
                           f"`timestamp` 与服务器时间相差超过10分钟: {timestamp}, 服务器时间 {server_ms}")
        sign_type = body.get("sign_type")
        if sign_type is None or sign_type == "":
            raise bad_request("`sign_type` required~")
        if sign_type != SIGN_TYPE:
            raise bad_request(f"`sign_type` 仅支持 {SIGN_TYPE}")

    def _known_station(self, body: dict) -> None:
        with self._cond:
            known = not self.stations or body["station_uuid"] in self.stations
        if not known:
            raise ApiError(200, NOT_FOUND_1002, STATION_UNKNOWN, f"`station_uuid` {body['station_uuid']}")

    @staticmethod
    def _log_record(record: AcceptedRecord) -> None:
        body = record.body
        start, end = parse_utc(body["start_time"]), parse_utc(body["end_time"])
        soc = f", soc {body['soc']}%" if body.get("soc") is not None else ""
        plate = f", plate {body['plate']}" if body.get("plate") else ""
        logger.info(
            "RECORD %s state %s %s: %.3f kWh, %s + %s yuan, %s-%s%s%s, device %s/%s at station %s",
            body["order"], body["state"], body["state_desc"], body["quantity"] / 1000, _yuan(body["energy_value"]),
            _yuan(body["fee_value"]), start.astimezone(BEIJING).strftime("%m-%d %H:%M:%S"),
            end.astimezone(BEIJING).strftime("%H:%M:%S"), soc, plate, body["device_no"], body["port_no"],
            body["station_uuid"],
        )

