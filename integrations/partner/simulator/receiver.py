"""The partner's callback endpoint: it keeps every order callback we POST and answers as the partner would.

A partner drops a notifyId it has seen (the contract's rule), so a retry is acknowledged again but kept only as a
count. Tests make it fail on purpose: down (HTTP 503), busy (HTTP 200 with code 1), or refusing one notifyType;
a refused callback is not kept and its notifyId not remembered, so our retry of it is kept once it comes back up.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.partner.simulator.protocol import BEIJING, NOTIFY_RANK, loads
from integrations.simulation import LoopbackServer, Request, Response

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
ACK = {"code": 0, "msg": "ok"}
BUSY = {"code": 1, "msg": "busy"}


@dataclass(frozen=True)
class ReceivedCallback:
    """One callback as it arrived: the raw body, the parsed one (numbers as Decimal), the header, the time."""

    raw: bytes
    body: dict
    header_notify_id: str | None
    received_at: dt.datetime  # the real clock, Beijing
    problems: tuple[str, ...] = ()  # what about it breaks the contract without making it unreadable

    @property
    def notify_id(self) -> str:
        return str(self.body.get("notifyId"))

    @property
    def notify_type(self) -> str | None:
        return self.body.get("notifyType")

    @property
    def notify_time(self) -> str | None:
        return self.body.get("notifyTime")

    @property
    def org(self) -> str | None:
        return self.body.get("org")

    @property
    def data(self) -> dict:
        data = self.body.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def order_id(self) -> str | None:
        order_id = self.data.get("OrderId")
        return None if order_id is None else str(order_id)


@dataclass
class _Failing:
    status: int
    body: dict
    notify_type: str | None = None  # None: every callback


def _problems(body: dict, header: str | None) -> tuple[str, ...]:
    problems = []
    if header is None:
        problems.append("no X-Notify-Id header")
    elif header != str(body.get("notifyId")):
        problems.append(f"X-Notify-Id {header!r} is not the body's notifyId {body.get('notifyId')!r}")
    if body.get("notifyType") not in NOTIFY_RANK:
        problems.append(f"unknown notifyType {body.get('notifyType')!r}")
    if not isinstance(body.get("data"), dict) or not body["data"].get("OrderId"):
        problems.append("data is not an order detail with an OrderId")
    return tuple(problems)


@dataclass
class _State:
    callbacks: list[ReceivedCallback] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0
    refused: int = 0
    invalid: list[bytes] = field(default_factory=list)


class CallbackReceiver:
    """A LoopbackServer app at `path` (POST only); `start()`/`stop()` or use it as a context manager.

    `on_callback(callback)` is told of every new (not duplicate) callback, after it is kept; a
    `PartnerRecords.add` fits. Everything it keeps is read through methods that copy under its lock.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, path: str = CALLBACK_PATH,
                 on_callback: Callable[[ReceivedCallback], Any] | None = None):
        self.path = path
        self.on_callback = on_callback
        self.server = LoopbackServer(self.app, host=host, port=port, name="partner-receiver",
                                     server_version="PartnerSim/1.0")
        self._cond = threading.Condition()
        self._state = _State()
        self._failing: _Failing | None = None

    # ---- running ---------------------------------------------------------------------------------------------

    def start(self) -> CallbackReceiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The full callback URL, for the partner's access in our back office."""
        return self.server.base_url + self.path

    # ---- failing on purpose ----------------------------------------------------------------------------------

    def down(self, *, busy: bool = False) -> None:
        """Fail every callback: HTTP 503, or with `busy` HTTP 200 and `{"code": 1, "msg": "busy"}`."""
        with self._cond:
            self._failing = _Failing(200, BUSY) if busy else _Failing(503, {"code": 503, "msg": "unavailable"})

    def busy(self) -> None:
        self.down(busy=True)

    def refuse(self, notify_type: str = "end", *, busy: bool = False) -> None:
        """Fail only callbacks of `notify_type` (as `down` does) and take the others, until `up()`."""
        if notify_type not in NOTIFY_RANK:
            raise ValueError(f"notifyType is one of {', '.join(NOTIFY_RANK)}")
        with self._cond:
            status, body = (200, BUSY) if busy else (503, {"code": 503, "msg": "unavailable"})
            self._failing = _Failing(status, body, notify_type)

    def up(self) -> None:
        with self._cond:
            self._failing = None

    # ---- reading ---------------------------------------------------------------------------------------------

    def callbacks(self, order_id: str | None = None) -> list[ReceivedCallback]:
        """The callbacks kept (each notifyId once), in arrival order; only those of `order_id` if given."""
        with self._cond:
            kept = list(self._state.callbacks)
        return kept if order_id is None else [callback for callback in kept if callback.order_id == str(order_id)]

    @property
    def duplicates(self) -> int:
        """Callbacks acknowledged again for a notifyId already kept."""
        with self._cond:
            return self._state.duplicates

    @property
    def refused(self) -> int:
        """Callbacks answered with a failure because the receiver was told to fail them."""
        with self._cond:
            return self._state.refused

    @property
    def invalid(self) -> list[bytes]:
        """Bodies answered HTTP 400: not a JSON object, or without a notifyId."""
        with self._cond:
            return list(self._state.invalid)

    def wait_for(self, predicate: Callable[[list[ReceivedCallback]], Any], timeout: float = 10.0):
        """Block until `predicate(callbacks())` is truthy and return its value; TimeoutError otherwise."""
        result = None

        def holds() -> bool:
            nonlocal result
            result = predicate(list(self._state.callbacks))
            return bool(result)

        with self._cond:
            if not self._cond.wait_for(holds, timeout=timeout):
                raise TimeoutError(f"no such callbacks after {timeout} s; kept {len(self._state.callbacks)}")
        return result

    def clear(self) -> None:
        with self._cond:
            self._state = _State()

    # ---- the app ---------------------------------------------------------------------------------------------

    def app(self, request: Request) -> Response:
        if request.path != self.path:
            return Response.json({"code": 404, "msg": "not found"}, status=404)
        if request.method != "POST":
            return Response.json({"code": 405, "msg": "POST only"}, status=405)
        try:
            body = loads(request.body)
        except ValueError:  # UnicodeDecodeError is one
            body = None
        if not isinstance(body, dict) or body.get("notifyId") in (None, ""):
            with self._cond:
                self._state.invalid.append(request.body)
            logger.warning("partner receiver: unreadable callback %r", request.body[:200])
            return Response.json({"code": 400, "msg": "bad callback"}, status=400)
        header = request.headers.get("X-Notify-Id")
        callback = ReceivedCallback(raw=request.body, body=body, header_notify_id=header,
                                    received_at=dt.datetime.now(BEIJING), problems=_problems(body, header))
        with self._cond:
            failing = self._failing
            if failing is not None and failing.notify_type in (None, callback.notify_type):
                # Nothing kept and the notifyId not remembered: the retry must be taken as new once up again.
                self._state.refused += 1
                return Response.json(failing.body, status=failing.status)
            if callback.notify_id in self._state.seen:
                self._state.duplicates += 1
                return Response.json(ACK)
            self._state.seen.add(callback.notify_id)
            self._state.callbacks.append(callback)
            self._cond.notify_all()
        if self.on_callback is not None:
            try:
                self.on_callback(callback)
            except Exception:  # the partner's own bookkeeping failing is no reason to refuse what it kept
                logger.exception("partner receiver: handling callback %s failed", callback.notify_id)
        return Response.json(ACK)
