"""The hooks tests and the demo drive the cloud with: what happens at a device without an API call."""

from __future__ import annotations

import datetime as dt
from collections import deque

from integrations.wanzhuang.simulator.callbacks import CallbackRecord
from integrations.wanzhuang.simulator.protocol import CHARGING, PAUSED, PORT_STATES, STOP_COMPLETE, unix
from integrations.wanzhuang.simulator.state import SimDevice, SimPort, SimSession


class WanzhuangHooks:
    """Device-side events and test levers, for `WanzhuangSimulator`."""

    # ---- looking ------------------------------------------------------------------------------------

    def device(self, device_num: str) -> SimDevice:
        with self.lock:
            if device_num not in self.devices:
                raise KeyError(f"the simulator has no device {device_num}")
            return self.devices[device_num]

    def port(self, device_num: str, port: int) -> SimPort:
        device = self.device(device_num)
        if port not in device.ports:
            raise KeyError(f"device {device_num} has no port {port}")
        return device.ports[port]

    def session(self, charge_id: int) -> SimSession:
        with self.lock:
            if charge_id not in self.sessions:
                raise KeyError(f"the simulator has no session {charge_id}")
            return self.sessions[charge_id]

    # ---- the device's own events --------------------------------------------------------------------

    def add_device(self, device: SimDevice) -> SimDevice:
        """A device appears at Wanzhuang (installed on site); `added` says whether it is on our account."""
        with self.lock:
            self._take_device(device)
            return device

    def set_online(self, device_num: str, online: bool) -> None:
        """The device drops off or comes back; each change is in its online log."""
        with self.lock:
            self._set_online(self.device(device_num), online)

    def set_port_state(self, device_num: str, port: int, state: int) -> None:
        """A port's state changes at the device (a car plugged in: 1; unplugged: 0; a pause: 3, 8–14).

        A charging session accrues only in state 2 and is never ended by this: `finish()` ends one.
        """
        if state not in PORT_STATES:
            raise ValueError(f"port states are 0 to 25, not {state}")
        with self.lock:
            sim_port = self.port(device_num, port)
            if sim_port.session is not None and sim_port.session.charging and state not in {CHARGING, *PAUSED}:
                raise ValueError(
                    f"port {port} of {device_num} is charging {sim_port.charge_id}: end it with finish() first"
                )
            self._set_port_state(sim_port, state)

    def finish(self, charge_id: int, stop_reason: int = STOP_COMPLETE) -> None:
        """The device ends a session by itself (2 charge complete, 4 plug removed, ...): finish_order."""
        with self.lock:
            session = self.session(charge_id)
            if not session.charging:
                raise ValueError(f"session {charge_id} is {session.status}, not charging")
            self._end_session(session, stop_reason)

    def swipe_card(self, device_num: str, port: int, icc_id: str, pay_amount: int = 0) -> CallbackRecord:
        """An online card is swiped at a port: icc_pay_req is sent now; the record holds our reply.

        Accepting it, we are to start the port with /open/charge/start (a refusal is not tried again).
        """
        self.port(device_num, port)
        return self._send_callback_now(
            "icc_pay_req",
            {"device_num": device_num, "device_port": port, "icc_id": icc_id, "pay_amount": int(pay_amount)},
        )

    def send_offline_profit(
        self, device_num: str, coin: int, card: int, time: int | dt.datetime | None = None
    ) -> CallbackRecord:
        """The device reports its running offline totals (fen) now: offline_profit, multipart.

        `time` (Unix s or a moment) defaults to the simulated clock; the totals become the device's.
        """
        with self.lock:
            device = self.device(device_num)
            device.offline_coin, device.offline_card = int(coin), int(card)
            if time is None:
                time = self.clock.now()
            at = unix(time) if isinstance(time, dt.datetime) else int(time)
        return self._send_callback_now(
            "offline_profit", {"device_num": device_num, "coin": int(coin), "card": int(card), "time": at}
        )

    def add_offline_revenue(self, device_num: str, coin: int = 0, card: int = 0) -> None:
        """Coins dropped or offline cards swiped: the totals grow; the next offline_profit round reports them."""
        with self.lock:
            device = self.device(device_num)
            device.offline_coin += int(coin)
            device.offline_card += int(card)

    # ---- levers for tests -----------------------------------------------------------------------------

    def fail_next_start(self, device_num: str, port: int, state: int = 16) -> None:
        """The next start on this port is answered success, but start_power carries `state` (a failure) and
        the port stays as it was."""
        self.port(device_num, port)
        with self.lock:
            self._fail_starts[(device_num, port)] = int(state)

    def lose_finish(self, charge_id: int | None = None) -> None:
        """The next finish_order (of `charge_id`, or of any session) is logged but never sent."""
        with self.lock:
            self._lost_finishes.append(charge_id)

    def fail_next(self, path: str, code: int, message: str = "操作失败") -> None:
        """The next call of `path` (e.g. "/open/charge/start") that passes the signature check answers
        `code` and does nothing."""
        with self.lock:
            self._fail_next.setdefault(path, deque()).append((int(code), message))

    def set_renewal_status(self, order_no: str, status: int) -> None:
        """Force a flow-card renewal's status (3: failed); time no longer moves it."""
        if status not in (0, 1, 2, 3):
            raise ValueError("a renewal is 0 pending, 1 paid, 2 done or 3 failed")
        with self.lock:
            order = self.renewals[order_no]
            order.forced = True
            if status == 2 and order.status != 2:
                self._complete_renewal(order)
            order.status = status
