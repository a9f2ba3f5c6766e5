"""The Wanzhuang cloud itself: its state behind one lock, its clock, its life cycle and the state changes
that the API, the hooks and the passing of time share."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Iterable
from fractions import Fraction
from functools import partial

from integrations.simulation import LoopbackServer, SimClock, Ticker
from integrations.wanzhuang.simulator.api import WanzhuangApi
from integrations.wanzhuang.simulator.callbacks import CallbackPusher, CallbackRecord, WanzhuangCallbacks
from integrations.wanzhuang.simulator.handler import answer
from integrations.wanzhuang.simulator.hooks import WanzhuangHooks
from integrations.wanzhuang.simulator.protocol import (
    CHARGING,
    HMAC_SHA256,
    SIGN_METHODS,
    STOP_MONEY_USED,
    STOP_UNPLUGGED,
    WAIT_UNPLUG,
    ApiError,
    mode_fits,
    unix,
)
from integrations.wanzhuang.simulator.state import RenewalOrder, SimDevice, SimPort, SimSession
from integrations.wanzhuang.simulator.tariff import check_mode

logger = logging.getLogger(__name__)

RENEWAL_PAID_AFTER = dt.timedelta(minutes=1)  # simulated time from a renewal order to its payment
RENEWAL_DONE_AFTER = dt.timedelta(minutes=5)  # ... and to the cards being renewed
RENEWAL_DAYS = 365


def _seconds(value: float | int | Fraction) -> Fraction:
    # Millisecond resolution is plenty and keeps float inputs (0.1 s) exact afterwards.
    return Fraction(value).limit_denominator(1000)


class WanzhuangSimulator(WanzhuangApi, WanzhuangCallbacks, WanzhuangHooks):
    """The Wanzhuang cloud: state, API answers, callbacks and hooks. Use as a context manager.

    `tick_interval` (real seconds, 0: off) advances the simulated clock by `tick_interval × speed` each
    round, so sessions charge in (sped-up) real time; `offline_profit_interval` (real seconds, 0: off)
    has every e-bike device on our account and on line report its offline totals. `car_replug_after`
    (simulated seconds, None: never) lets a car pile's empty or finished port see the next car plug in
    (state 1) after that long, so a demo can keep starting it. `energy_unit_wh`: Wh in one unit of eq_used.
    """

    def __init__(
        self,
        app_id: str = "sim-app",
        app_secret: str = "sim-secret",  # noqa: S107 - the simulator's own test secret
        sign_method: str = HMAC_SHA256,
        devices: Iterable[SimDevice] = (),
        callback_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        start_time: dt.datetime | None = None,
        speed: float = 1.0,
        tick_interval: float = 0.0,
        callback_retries: int = 3,
        callback_retry_delay: float = 0.2,
        timestamp_tolerance: float = 300,
        *,
        offline_profit_interval: float = 0.0,
        car_replug_after: float | None = None,
        energy_unit_wh: int = 1,
        callback_timeout: float | tuple[float, float] = (3.0, 10.0),
    ):
        if sign_method not in SIGN_METHODS:
            raise ValueError(f"sign_method must be one of {', '.join(SIGN_METHODS)}, not {sign_method!r}")
        if energy_unit_wh < 1:
            raise ValueError("energy_unit_wh is a whole number of Wh, at least 1")
        self.app_id = app_id
        self.app_secret = app_secret
        self.sign_method = sign_method
        self.callback_url = callback_url.rstrip("/") if callback_url else None
        self.host = host
        self.port_number = port
        self.speed = speed
        self.tick_interval = tick_interval
        self.offline_profit_interval = offline_profit_interval
        self.car_replug_after = dt.timedelta(seconds=car_replug_after) if car_replug_after is not None else None
        self.callback_retries = callback_retries
        self.callback_retry_delay = callback_retry_delay
        self.timestamp_tolerance = timestamp_tolerance
        self.energy_unit_wh = energy_unit_wh

        self.lock = threading.RLock()
        self.clock = SimClock(start_time)
        self.devices: dict[str, SimDevice] = {}
        self.sessions: dict[int, SimSession] = {}
        self.renewals: dict[str, RenewalOrder] = {}
        self.calls: list[tuple[str, str, dict]] = []  # (method, path, parameters) of every call read
        self._renewal_seq = 0
        self._callbacks: list[CallbackRecord] = []
        self._callback_log: dict[int, list[CallbackRecord]] = {}
        self._lost_finishes: list[int | None] = []
        self._fail_starts: dict[tuple[str, int], int] = {}
        self._fail_next: dict[str, deque[tuple[int, str]]] = {}
        for device in devices:
            self._take_device(device)

        self._server = LoopbackServer(
            partial(answer, self), host=host, port=port, name="wanzhuang-sim", server_version="WanzhuangSimulator/1.0"
        )
        # How often and how soon wz-open re-sends a callback is not on its pages: a few tries, evenly spaced.
        self._pusher = (
            CallbackPusher(attempts=callback_retries, retry_delay=callback_retry_delay, timeout=callback_timeout)
            if self.callback_url
            else None
        )
        self._ticker: Ticker | None = None

    # ---- life cycle ---------------------------------------------------------------------------------

    def __enter__(self) -> WanzhuangSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Where the API answers, e.g. http://127.0.0.1:8602 (the paths are appended to it)."""
        if not self._server.running:
            raise RuntimeError("the simulator is not running")
        return self._server.base_url

    url = base_url

    def start(self) -> None:
        self._server.start()
        if self._pusher:
            self._pusher.start()
        self._ticker = Ticker(name="wanzhuang-sim")
        if self.tick_interval > 0:
            self._ticker.every(self.tick_interval, self._tick_round)
        if self.offline_profit_interval > 0:
            self._ticker.every(self.offline_profit_interval, self._offline_profit_round)
        self._ticker.start()
        logger.info("Wanzhuang simulator listening on %s", self.base_url)

    def stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
            self._ticker = None
        self._server.stop()
        if self._pusher:
            self._pusher.stop()

    def _tick_round(self) -> None:
        self.advance(self.tick_interval * self.speed)

    def _offline_profit_round(self) -> None:
        with self.lock:
            for device in self.devices.values():
                if device.added and device.online and not device.is_car:
                    self._queue_callback(
                        "offline_profit",
                        {
                            "device_num": device.device_num,
                            "coin": device.offline_coin,
                            "card": device.offline_card,
                            "time": unix(self.clock.now()),
                        },
                    )

    # ---- clock ----------------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The simulated moment every device time (start_time, end_time, ...) is written from."""
        with self.lock:
            return self.clock.now()

    def advance(self, seconds: float | int | Fraction) -> None:
        """Move simulated time: every session charging (state 2) accrues energy and cost for `seconds`; one
        whose cost reaches its prepaid amount ends at that moment (1, 金额用完)."""
        step = _seconds(seconds)
        with self.lock:
            start = self.clock.now()
            # The clock moves before any session ends, so callbacks are built at the new time.
            self.clock.advance(step)
            endings: list[tuple[dt.datetime, SimSession]] = []
            for session in list(self.sessions.values()):
                if not session.charging:
                    continue
                if self.devices[session.device_num].ports[session.port].state != CHARGING:
                    continue  # paused: nothing is drawn, nothing is billed
                run = step
                if session.rate > 0:
                    left = (session.total_fee - session.cost_exact) / session.rate
                    if left <= run:
                        self._accrue(session, left)
                        session.cost_exact = Fraction(session.total_fee)
                        endings.append((start + dt.timedelta(microseconds=int(left * 1_000_000)), session))
                        continue
                self._accrue(session, run)
            for ended, session in sorted(endings, key=lambda item: (item[0], item[1].charge_id)):
                self._end_session(session, STOP_MONEY_USED, at=ended)
            self._replug_car_ports()
            for order in self.renewals.values():
                self._progress_renewal(order)

    @staticmethod
    def _accrue(session: SimSession, seconds: Fraction) -> None:
        session.elapsed += seconds
        session.energy_ws += session.power_w * seconds
        session.cost_exact += session.rate * seconds

    # ---- state changes (called with the lock held) ------------------------------------------------------

    def _take_device(self, device: SimDevice) -> None:
        """Register a device: its given mode is checked as saveMode would check it."""
        if device.device_num in self.devices:
            raise ValueError(f"device {device.device_num} appears twice")
        if device.mode is not None:
            try:
                mode = int(device.mode.get("charge_mode", ""))
                if not mode_fits(mode, device.device_type):
                    raise ValueError(f"device type {device.device_type} does not take charge mode {mode}")
                device.mode = check_mode(device.mode, settings_required=False)
            except ApiError as exc:
                raise ValueError(f"device {device.device_num}: {exc.message}") from None
        now = self.clock.now()
        device.card_expire = unix(now) + device.card_days_left * 86400
        device.online_log.append((1 if device.online else 0, unix(now)))
        for port in device.ports.values():
            port.state_since = now
        self.devices[device.device_num] = device

    def _set_port_state(self, port: SimPort, state: int, *, at: dt.datetime | None = None) -> None:
        """A port's new state; a finished session waiting to be unplugged leaves with any other state."""
        if port.state != state:
            port.state_since = at or self.clock.now()
        port.state = state
        if port.session is not None and not port.session.charging and state != WAIT_UNPLUG:
            port.session = None

    def _set_online(self, device: SimDevice, online: bool) -> None:
        if device.online != online or not device.online_log:
            device.online_log.append((1 if online else 0, unix(self.clock.now())))
        device.online = online

    def _end_session(
        self, session: SimSession, stop_reason: int, *, at: dt.datetime | None = None, port_state: int | None = None
    ) -> None:
        """The port stops: e-bike ports are idle (0), a car pile waits for its plug to be pulled (19) unless
        the plug was pulled (4); then finish_order."""
        device = self.devices[session.device_num]
        port = device.ports[session.port]
        session.status = "finished"
        session.ended_at = at or self.clock.now()
        session.stop_reason = stop_reason
        if port.session is session:
            if port_state is None:
                port_state = WAIT_UNPLUG if device.is_car and stop_reason != STOP_UNPLUGGED else 0
            if port_state != WAIT_UNPLUG:
                port.session = None
            self._set_port_state(port, port_state, at=session.ended_at)
        self._queue_callback("finish_order", self._finish_fields(session), charge_id=session.charge_id)

    def _replug_car_ports(self) -> None:
        if self.car_replug_after is None:
            return
        now = self.clock.now()
        for device in self.devices.values():
            if not device.is_car:
                continue
            for port in device.ports.values():
                if port.state in (0, WAIT_UNPLUG) and now - port.state_since >= self.car_replug_after:
                    self._set_port_state(port, 1)

    def _progress_renewal(self, order: RenewalOrder) -> None:
        if order.forced or order.status in (2, 3):
            return
        age = self.clock.now() - order.created_at
        if age >= RENEWAL_DONE_AFTER:
            self._complete_renewal(order)
            order.status = 2
        elif age >= RENEWAL_PAID_AFTER:
            order.status = 1

    def _complete_renewal(self, order: RenewalOrder) -> None:
        now = unix(self.clock.now())
        for device_num in order.device_nums:
            device = self.devices.get(device_num)
            if device is not None:
                device.card_expire = max(device.card_expire, now) + RENEWAL_DAYS * 86400
