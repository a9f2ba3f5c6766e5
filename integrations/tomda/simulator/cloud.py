"""The Tomda cloud itself: its state behind one lock, its clock, its life cycle and the state changes
that the API, the test hooks and the passing of time share."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Iterable
from fractions import Fraction
from functools import partial

from integrations.simulation import LoopbackServer, Pusher, SimClock, Ticker
from integrations.tomda.simulator.api import TomdaApi
from integrations.tomda.simulator.handler import answer
from integrations.tomda.simulator.hooks import TomdaHooks
from integrations.tomda.simulator.protocol import API_PREFIX, BEIJING, wire_time
from integrations.tomda.simulator.pushes import PushRecord, TomdaPushes
from integrations.tomda.simulator.state import SimCharger, SimConnector, SimSession

logger = logging.getLogger(__name__)


def _seconds(value: float | int | Fraction) -> Fraction:
    # Millisecond resolution is plenty and keeps float inputs (0.1 s) exact afterwards.
    return Fraction(value).limit_denominator(1000)


class TomdaSimulator(TomdaApi, TomdaPushes, TomdaHooks):
    """The Tomda cloud: state, API answers, pushes and test hooks. Use as a context manager."""

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
        self._tokens: dict[str, float] = {}  # token → monotonic expiry
        self._fail_next: dict[str, deque[str]] = {}
        self.clock = SimClock(start_time, tz=BEIJING)

        self._server = LoopbackServer(
            partial(answer, self), host=host, port=port, name="tomda-sim", server_version="TomdaSimulator/1.0"
        )
        # How often and how soon the cloud re-sends a push is not documented: a few tries, evenly spaced.
        self._pusher = (
            Pusher(
                push_url,
                timeout=push_timeout,
                attempts=max(1, push_retries),
                retry_delay=push_retry_delay,
                backoff=1.0,
                name="tomda-sim",
                on_delivery=self._log_push,
            )
            if push_url
            else None
        )
        self._ticker: Ticker | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> TomdaSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self._server.running:
            raise RuntimeError("the simulator is not running")
        return self._server.base_url + API_PREFIX

    @property
    def pushes(self) -> list[PushRecord]:
        """Every push sent so far and what our receiver answered, oldest first."""
        return self._pusher.deliveries if self._pusher else []

    def start(self) -> None:
        self._server.start()
        if self._pusher:
            self._pusher.start()
            with self.lock:
                for charger in self.chargers.values():
                    self._queue_device_info(charger)
                if self.ask_fees:
                    for charger in self.chargers.values():
                        if charger.online:
                            self._queue_fee_query(charger)
        self._ticker = Ticker(name="tomda-sim")
        if self.work_interval > 0:
            self._ticker.every(self.work_interval, self._work_round)
        if self.device_interval > 0:
            self._ticker.every(self.device_interval, self._device_round)
        self._ticker.start()
        logger.info("Tomda simulator listening on %s", self.base_url)

    def stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        self._server.stop()
        if self._pusher:
            self._pusher.stop()

    def _work_round(self) -> None:
        self.advance(self.work_interval * self.speed)
        self.tick()

    def _device_round(self) -> None:
        with self.lock:
            for charger in self.chargers.values():
                self._queue_device_info(charger)

    # ---- clock -----------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The simulated Beijing time every time string is written from."""
        with self.lock:
            return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move simulated time: every running session accrues energy (and pile cost) for `seconds`."""
        step = _seconds(seconds)
        with self.lock:
            start = self.clock.now()
            # The clock moves before any session ends, so the pushes of those that did are stamped after
            # their end.
            now = self.clock.advance(step)
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
            for session, close_type, ended in endings:
                self._end_session(session, close_type, at=ended)
            if self.booking_timeout is not None:
                limit = dt.timedelta(seconds=self.booking_timeout)
                for session in list(self.sessions.values()):
                    if session.status == "BOOKED" and now - session.booked_at >= limit:
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

    # ---- state changes (called with the lock held) ------------------------------------------

    def _set_connector(
        self, charger: SimCharger, connector: SimConnector, status: str, order_no: str | None, *, announce: bool = True
    ) -> None:
        changed = connector.status != status
        connector.status, connector.order_no = status, order_no
        if changed and announce:
            self._queue_device_info(charger)

    def _close_booking(self, session: SimSession) -> None:
        """A booking ends without charging (cancelled, or expired): no settlement, the connector is free.
        The cloud tells the operator nothing but the connector's new state; the order reads CLOSED."""
        session.status, session.ended_at = "CLOSED", self.clock.now()
        charger = self.chargers[session.serial]
        self._set_connector(charger, charger.connectors[session.connector_id], "FREE", None)

    def _end_session(
        self,
        session: SimSession,
        close_type: str,
        *,
        at: dt.datetime | None = None,
        connector_status: str = "FREE",
        announce: bool = True,
    ) -> None:
        """The pile stops: final WORK_DATA (FINISH), ORDER_DATA (CLOSED), then the connector's new state."""
        charger = self.chargers[session.serial]
        session.status = "FINISH"
        session.ended_at = at or self.clock.now()
        session.close_type = close_type
        self._queue_work_data(charger, finishing=session)
        session.status = "CLOSED"
        self._queue(
            "ORDER_DATA",
            {
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
            },
        )
        self._set_connector(
            charger, charger.connectors[session.connector_id], connector_status, None, announce=announce
        )

    def _running(self, charger: SimCharger) -> list[SimSession]:
        return [
            self.sessions[c.order_no]
            for c in charger.connectors.values()
            if c.order_no and self.sessions[c.order_no].status == "CHARGE"
        ]
