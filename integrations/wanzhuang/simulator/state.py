"""What the cloud knows of its devices, their ports and their sessions."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from integrations.wanzhuang.simulator.protocol import CAR_TYPES, DEVICE_TYPE_NAMES, sign_text, unix
from integrations.wanzhuang.simulator.tariff import round_half_up

EBIKE_POWER_W = 200  # what one e-bike draws from a port
EBIKE_RATED_POWER_W = 1000  # what an e-bike port may give
CAR_POWER_W = 7000  # an AC car pile's one port, drawn and rated


@dataclass
class SimSession:
    """One charge_id on one port. Figures are exact; the wire reads them rounded (`eq_wh`, `pay_used`)."""

    charge_id: int
    device_num: str
    port: int
    charge_mode: int
    total_fee: int  # fen prepaid (pay_amount)
    power_w: int
    rate: Fraction  # fen per simulated second of charging, from the mode saved when it started
    refundable: bool  # the mode's whether_refund was 1
    started_at: dt.datetime
    status: str = "charging"  # "charging", "finished", or "failed" (its start_power carried a failure state)
    start_state: int = 1  # the start_power state it was answered with
    ended_at: dt.datetime | None = None
    stop_reason: int | None = None
    elapsed: Fraction = Fraction(0)  # simulated seconds charged (pauses excluded)
    energy_ws: Fraction = Fraction(0)  # watt-seconds
    cost_exact: Fraction = Fraction(0)  # fen

    @property
    def charging(self) -> bool:
        return self.status == "charging"

    @property
    def eq_wh(self) -> int:
        return int(self.energy_ws // 3600)

    @property
    def pay_used(self) -> int:
        return min(self.total_fee, round_half_up(self.cost_exact))

    @property
    def refund_amount(self) -> int:
        return self.total_fee - self.pay_used if self.refundable else 0

    @property
    def time_total(self) -> int:
        """Seconds of charging the prepaid amount buys at the session's rate; 0 when it is free."""
        return int(self.total_fee / self.rate) if self.rate else 0

    @property
    def start_unix(self) -> int:
        return unix(self.started_at)

    def end_unix(self, now: dt.datetime) -> int:
        return unix(self.ended_at or now)

    def time_used(self, now: dt.datetime) -> int:
        """end_time − start_time, so the figures of a finish_order always agree with each other."""
        return self.end_unix(now) - self.start_unix


class SimPort:
    """A port: its state (0–25) and the session on it (charging, or ended and waiting to be unplugged)."""

    def __init__(self, number: int, *, power_w: int, rated_power_w: int, state: int = 0):
        self.number = number
        self.state = state
        self.power_w = power_w  # what a session here draws
        self.rated_power_w = rated_power_w
        self.session: SimSession | None = None
        self.state_since: dt.datetime | None = None  # set by the simulator when the state changes

    @property
    def charge_id(self) -> int:
        return self.session.charge_id if self.session else 0

    def __repr__(self):
        return f"SimPort({self.number}, state={self.state}, charge_id={self.charge_id})"


class SimDevice:
    """A device as the cloud knows it. `added`: it is on our account (/open/device/add was called, or it
    was given so); a device that is not is unknown to the API.

    `mode`: the charge mode saved on it, `charge_mode` and every saveMode field, as text as sent (a dict
    given here is taken as if saveMode had sent it; the simulator checks it).
    """

    def __init__(
        self,
        device_num: str,
        device_type: int = 2,
        port_num: int | None = None,
        *,
        name: str | None = None,
        online: bool = True,
        version: str = "V2.3",
        signal: int = 23,
        iccid: str | None = None,
        added: bool = False,
        power_w: int | None = None,
        rated_power_w: int | None = None,
        port_state: int | None = None,
        mode: Mapping[str, object] | None = None,
        card_days_left: int = 365,
    ):
        if device_type not in DEVICE_TYPE_NAMES:
            raise ValueError(f"unknown device_type {device_type}; known: {sorted(DEVICE_TYPE_NAMES)}")
        self.device_num = str(device_num)
        self.device_type = device_type
        car = device_type in CAR_TYPES
        self.port_num = port_num or (1 if car else 10)
        if self.port_num < 1:
            raise ValueError("a device has at least one port")
        self.name = name or f"{DEVICE_TYPE_NAMES[device_type]} {self.device_num}"
        self.online = online
        self.version = version
        self.signal = signal
        self.iccid = iccid or f"8986{zlib.crc32(self.device_num.encode()):016d}"
        self.added = added
        power = power_w or (CAR_POWER_W if car else EBIKE_POWER_W)
        rated = rated_power_w or (CAR_POWER_W if car else EBIKE_RATED_POWER_W)
        # A car pile starts only with a car plugged in (state 1): the simulated one has one waiting.
        state = (1 if car else 0) if port_state is None else port_state
        self.ports = {
            number: SimPort(number, power_w=power, rated_power_w=rated, state=state)
            for number in range(1, self.port_num + 1)
        }
        self.mode: dict[str, str] | None = {k: sign_text(v) for k, v in mode.items()} if mode else None
        self.offline_coin = 0  # running totals of offline revenue, fen
        self.offline_card = 0
        self.online_log: list[tuple[int, int]] = []  # (online 1|0, Unix s), oldest first
        self.card_days_left = card_days_left  # the SIM card's expiry, days after the simulation starts
        self.card_expire: int | None = None  # Unix s, set when the simulator takes the device
        self.reboots = 0

    def __repr__(self):
        return f"SimDevice({self.device_num!r}, type={self.device_type}, ports={self.port_num}, added={self.added})"

    @property
    def is_car(self) -> bool:
        return self.device_type in CAR_TYPES

    @property
    def charge_mode(self) -> int | None:
        return int(self.mode["charge_mode"]) if self.mode else None

    def record(self) -> dict:
        """The device record of findOne, list, findMultiDevices; charge_mode null before any is saved."""
        return {
            "device_num": self.device_num,
            "device_type": self.device_type,
            "device_name": self.name,
            "port_num": self.port_num,
            "online": 1 if self.online else 0,
            "version": self.version,
            "signal": self.signal,
            "iccid": self.iccid,
            "charge_mode": self.charge_mode,
        }


@dataclass
class RenewalOrder:
    """A flow-card renewal: pending (0) when ordered, paid (1) a minute later, done (2) five minutes after
    ordering (the cards then run a year longer), unless a hook fails it (3)."""

    order_no: str
    device_nums: list[str]
    created_at: dt.datetime
    status: int = 0
    forced: bool = field(default=False)  # a hook set the status: time no longer moves it
