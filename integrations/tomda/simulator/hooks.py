"""The hooks tests and the demo drive the cloud with: rounds, faults, a pile's own decisions, one-off pushes."""

from __future__ import annotations

from collections import deque
from typing import Any

from integrations.tomda.simulator.protocol import API_PREFIX, EVENT_NAMES, ApiError, wire_time
from integrations.tomda.simulator.pushes import PushRecord
from integrations.tomda.simulator.state import SimCharger, SimConnector


class TomdaHooks:
    """What happens at the pile or in the cloud without an API call, for `TomdaSimulator`."""

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
                        self._queue(
                            "QUERY_ORDER_BALANCE_INFO",
                            {"clientOrderId": session.order_no},
                            on_reply=lambda record, no=session.order_no: self._take_balance_reply(no, record),
                        )

    def drain(self, timeout: float = 10) -> None:
        """Block until every queued push was sent and answered; TimeoutError otherwise."""
        if self._pusher:
            self._pusher.drain(timeout)

    def push(self, push_type: str, content: dict, encoding: str | None = None) -> dict | None:
        """Send one push now (not via the queue) and return our reply."""
        self._require_push_url()
        return self._send(push_type, content, encoding).reply

    def _require_push_url(self) -> None:
        if self._pusher is None:
            raise RuntimeError("the simulator has no push_url to send to")

    def query_balance(self, order_no: str) -> dict | None:
        """Ask us for the balance behind an order now; a balance of 0 ends that session, as on a tick."""
        self._require_push_url()
        record = self._send("QUERY_ORDER_BALANCE_INFO", {"clientOrderId": order_no})
        self._take_balance_reply(order_no, record)
        return record.reply

    def query_fee(self, serial: str) -> dict | None:
        """Ask us for a charger's fee model now; the answered template becomes the pile's."""
        self._require_push_url()
        self._charger_or_key_error(serial)
        record = self._send("QUERY_CHARGER_ELEC_FEE", {"serialNum": serial})
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
                    session.status, session.ended_at = "CLOSED", self.clock.now()
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
        content["eventInfo"] = [
            {
                "eventCode": code,
                "eventName": EVENT_NAMES.get(code, code),
                "deviceTime": wire_time(self.clock.now()),
                "eventStatus": status,
            }
        ]
        self._queue(self.event_type, content)

    def pushed(self, push_type: str) -> list[PushRecord]:
        """The recorded pushes of one type, oldest first."""
        return [p for p in self.pushes if p.type == push_type]
