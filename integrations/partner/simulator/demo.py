"""The partner platform at work for `make demo`: it starts, watches, stops and reconciles charging sessions.

One thread does everything in rounds (`step()`), so the order of events on screen is the order they happened;
callbacks arrive on the receiver's threads and are printed as they come. An error code or a connection failure
is printed and the round goes on; a failure that says "later" (connection, 4290, 5000, 5003, a refused token)
pauses every call for a while, longer each time, so a back office still starting is not hammered.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from integrations.partner.simulator.client import PartnerApiError, PartnerClient, PartnerProtocolError
from integrations.partner.simulator.protocol import BEIJING, FINAL_STATUSES, IDLE, TRANSIENT_CODES
from integrations.partner.simulator.receiver import CallbackReceiver, ReceivedCallback
from integrations.partner.simulator.records import PartnerRecords

# Stub status that rules a stub out whatever its guns say: fault, maintenance, offline, construction,
# upgrading, deleted.
UNUSABLE_STUB = frozenset({"2", "4", "5", "6", "7", "99"})
STATIONS_REFRESH_SECONDS = 120.0
MAX_BACKOFF_SECONDS = 60.0
# How long after a session ended its end callback may take before the reconciliation stops waiting for it
# (and reports it missing, which is then what went wrong).
END_CALLBACK_GRACE_SECONDS = 600.0


@dataclass
class DemoSession:
    out_order_id: str
    order_id: str
    stub_id: str
    gun_id: str
    requested_at: dt.datetime  # when chargeStart was sent: our order is created about then
    stop_due: float  # monotonic
    next_poll: float  # monotonic
    stopping: bool = False
    ended_at: float | None = None  # monotonic, when getOrderInfo first said it ended


def _figures(detail: dict) -> str:
    soc = detail.get("soc")
    text = f"status {detail.get('status')}, {detail.get('power')} kWh, {detail.get('feeTotal')} yuan"
    return text + (f", soc {soc}%" if soc is not None else "")


def _short(exc: Exception) -> str:
    """A transport failure in a few words: requests' own messages run to several lines of pool details."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    text = str(exc)
    return f"{type(exc).__name__}: {text[:160]}{'...' if len(text) > 160 else ''}"


class PartnerDemo:
    """Plays the partner against our API; `run()` until `stop_event` is set, then `close()`."""

    def __init__(self, client: PartnerClient, receiver: CallbackReceiver, records: PartnerRecords, *,
                 city_code: str, every: float = 60.0, charge_minutes: float = 3.0, poll_every: float = 5.0,
                 sessions_per_cycle: int = 3, max_sessions: int = 4, emit: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.receiver = receiver
        self.records = records
        self.city_code = city_code
        self.every = every
        self.charge_seconds = charge_minutes * 60
        self.poll_every = poll_every
        self.sessions_per_cycle = max(1, sessions_per_cycle)
        self.max_sessions = max(1, max_sessions)
        self._emit = emit
        self._emit_lock = threading.Lock()
        self._clock = clock
        # Reconciling from our own start: orders of an earlier run today are not in these books.
        self.started_at = dt.datetime.now(BEIJING).replace(microsecond=0)
        self.sessions: dict[str, DemoSession] = {}
        self._stations: list[dict] | None = None
        self._stations_at = 0.0
        self._station_turn = 0
        self._next_start = clock()
        self._pause_until = 0.0
        self._backoff = 0.0
        self._seq = itertools.count(1)
        self._ended_since_reconcile = 0
        self._tokens_seen = 0
        receiver.on_callback = self.on_callback

    # ---- output ----------------------------------------------------------------------------------------------

    def emit(self, line: str) -> None:
        with self._emit_lock:  # callbacks print from the receiver's threads
            self._emit(line)

    def on_callback(self, callback: ReceivedCallback) -> None:
        self.records.add(callback)
        problems = f" [{'; '.join(callback.problems)}]" if callback.problems else ""
        self.emit(f"callback {callback.notify_type} {callback.order_id}: {_figures(callback.data)}{problems}")

    # ---- running ---------------------------------------------------------------------------------------------

    def run(self, stop_event: threading.Event, tick: float = 0.5) -> None:
        while not stop_event.is_set():
            try:
                self.step()
            except Exception as exc:  # a demo that dies on an odd answer shows nothing more: say it and go on
                self.emit(f"round failed: {type(exc).__name__}: {exc}")
                self._back_off()
            stop_event.wait(tick)

    def step(self) -> None:
        """One round: whatever is due (token, stations, a start, polls, stops, a reconciliation)."""
        now = self._clock()
        if now < self._pause_until:
            return
        if self.client.token is None and not self._call("getToken", self.client.get_token)[0]:
            return
        if self.client.tokens_fetched != self._tokens_seen:
            self._tokens_seen = self.client.tokens_fetched
            self.emit(f"token #{self._tokens_seen} for {self.client.org}")
        for session in list(self.sessions.values()):
            if session.ended_at is None and not session.stopping and now >= session.stop_due:
                self._stop(session)
            if session.ended_at is None and now >= session.next_poll:
                self._poll(session, now)
            if now < self._pause_until:
                return
        if now >= self._next_start:
            self._next_start = now + self.every
            self._start_one(now)
        self._forget_settled(now)
        if self._ended_since_reconcile >= self.sessions_per_cycle:
            self.reconcile()

    def close(self) -> None:
        """Stop the sessions still charging, once each and quickly: the back office may be going down too."""
        self.client.timeout = (1.0, 2.0)
        for session in self.sessions.values():
            if session.ended_at is None and not session.stopping:
                self._stop(session)

    # ---- the calls -------------------------------------------------------------------------------------------

    def _call(self, label: str, function, *args):
        """(True, data) or (False, the PartnerApiError or None), the failure printed and, when worth it, backed off."""
        try:
            data = function(*args)
        except PartnerApiError as exc:
            self.emit(f"{label}: code {exc.code} {exc.msg}")
            if exc.code in TRANSIENT_CODES or exc.code in (2004, 2005):
                self._back_off(exc.retry_after)
            return False, exc
        except (requests.RequestException, PartnerProtocolError) as exc:
            self.emit(f"{label}: {_short(exc)}")
            self._back_off()
            return False, None
        self._backoff = 0.0
        return True, data

    def _back_off(self, seconds: float | None = None) -> None:
        self._backoff = min(MAX_BACKOFF_SECONDS, self._backoff * 2 or 2.0)
        wait = max(seconds or 0.0, self._backoff)
        self._pause_until = self._clock() + wait
        self.emit(f"backing off {wait:.0f} s")

    def _station_list(self, now: float) -> list[dict]:
        if self._stations is None or now - self._stations_at > STATIONS_REFRESH_SECONDS:
            ok, stations = self._call(f"stations of {self.city_code}", self.client.stations, self.city_code)
            if ok:
                self._stations = [station for station in stations or [] if isinstance(station, dict)]
                self._stations_at = now
                names = ", ".join(f"{station.get('Id')} {station.get('stubGroupName')}" for station in self._stations)
                self.emit(f"{len(self._stations)} stations in {self.city_code}: {names}")
        return self._stations or []

    def _idle_gun(self, now: float) -> tuple[str, str] | None:
        """An idle gun none of our sessions holds, looking at the stations in turn."""
        stations = self._station_list(now)
        taken = {(session.stub_id, session.gun_id) for session in self.sessions.values() if session.ended_at is None}
        for offset in range(len(stations)):
            station = stations[(self._station_turn + offset) % len(stations)]
            ok, info = self._call(f"stubs of {station.get('Id')}", self.client.stub_info, station.get("Id"))
            if not ok or not isinstance(info, dict):
                continue
            stubs = [stub for stub in info.get("StubInfo") or [] if isinstance(stub, dict)]
            self.emit(f"station {station.get('Id')}: {len(stubs)} stubs, idle AC {info.get('stubAcIdleCnt')} "
                      f"DC {info.get('stubDcIdleCnt')}")
            for stub in stubs:
                if str(stub.get("status")) in UNUSABLE_STUB:
                    continue
                guns = stub.get("guns")
                if guns is None:  # an answer without our addition: a stub idle as a whole has gun 1
                    guns = [{"gunId": "1", "status": str(stub.get("status"))}]
                for gun in guns:
                    key = (str(stub.get("Id")), str(gun.get("gunId")))
                    if str(gun.get("status")) == IDLE and key not in taken:
                        self._station_turn = (self._station_turn + offset + 1) % len(stations)
                        return key
        return None

    def _start_one(self, now: float) -> None:
        running = sum(1 for session in self.sessions.values() if session.ended_at is None)
        if running >= self.max_sessions:
            self.emit(f"{running} sessions running: no new one")
            return
        gun = self._idle_gun(now)
        if gun is None:
            if self._stations is not None:
                self.emit("no idle gun")
            return
        stub_id, gun_id = gun
        seq = next(self._seq)
        moment = dt.datetime.now(BEIJING)
        # Unique across runs: the time, a counter and a random tail.
        out_order_id = f"SIM{moment:%Y%m%d%H%M%S}{seq:04d}{secrets.token_hex(2)}"
        driver_id = f"{self.client.org}-driver-{seq % 5 + 1}"
        ok, detail = self._call(f"start {out_order_id} on {stub_id}/{gun_id}", self.client.start,
                                out_order_id, driver_id, stub_id, gun_id)
        if not ok:
            refused = detail.data if isinstance(detail, PartnerApiError) else None
            if isinstance(refused, dict) and refused.get("OrderId"):
                self.emit(f"  order {refused['OrderId']} not started: {_figures(refused)}")
                self._ended_since_reconcile += 1  # a failed start is an order too, for the reconciliation
            return
        order_id = str(detail.get("OrderId"))
        self.sessions[order_id] = DemoSession(
            out_order_id=out_order_id, order_id=order_id, stub_id=stub_id, gun_id=gun_id,
            requested_at=moment.replace(microsecond=0), stop_due=now + self.charge_seconds,
            next_poll=now + self.poll_every,
        )
        self.emit(f"start {out_order_id} on {stub_id}/{gun_id} -> order {order_id}: {_figures(detail)}")

    def _poll(self, session: DemoSession, now: float) -> None:
        session.next_poll = now + self.poll_every
        ok, detail = self._call(f"order {session.order_id}", self.client.order, session.order_id)
        if ok and isinstance(detail, dict):
            self.emit(f"order {session.order_id}: {_figures(detail)}")
            self._note_status(session, detail, now)

    def _stop(self, session: DemoSession) -> None:
        ok, detail = self._call(f"stop {session.order_id}", self.client.stop, session.order_id)
        if ok and isinstance(detail, dict):
            session.stopping = True
            self.emit(f"stop {session.order_id}: {_figures(detail)}")
            self._note_status(session, detail, self._clock())
        elif isinstance(detail, PartnerApiError) and detail.code == 3004:
            session.stopping = True  # unknown to the server: asking again will not help
            session.ended_at = self._clock()

    def _note_status(self, session: DemoSession, detail: dict, now: float) -> None:
        if session.ended_at is None and detail.get("status") in FINAL_STATUSES:
            session.ended_at = now
            self._ended_since_reconcile += 1

    def _forget_settled(self, now: float) -> None:
        """Drop sessions whose end callback came (the books have them), or that waited too long for it."""
        for order_id, session in list(self.sessions.items()):
            if session.ended_at is None:
                continue
            record = self.records.get(order_id)
            if (record is not None and record.ended) or now - session.ended_at > END_CALLBACK_GRACE_SECONDS:
                del self.sessions[order_id]

    # ---- reconciling -----------------------------------------------------------------------------------------

    def reconcile(self):
        """Compare today's books, from our start up to the first order not settled in them, with checkChargeOrders.

        An order still open (no end callback yet) would differ by design, so the window ends before the
        earliest one: what is left is settled on both sides, and must agree to the fen.
        """
        now = dt.datetime.now(BEIJING).replace(microsecond=0) + dt.timedelta(seconds=1)
        midnight = now.replace(hour=0, minute=0, second=0)
        start = max(midnight, self.started_at)
        bounds = [now]
        bounds += [session.requested_at for session in self.sessions.values()]
        bounds += [record.created_at for record in self.records.orders(start, now, ended=False) if record.created_at]
        end = min(bounds)
        self._ended_since_reconcile = 0
        if end <= start:
            self.emit("reconcile: nothing settled yet")
            return None
        ok, result = self._call("reconcile", self.records.reconcile, self.client, start, end)
        if ok:
            self.emit(f"reconcile {start:%H:%M:%S}-{end:%H:%M:%S}: {result}")
            return result
        return None
