"""What the cloud knows of its piles and their sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from integrations.tomda.simulator.fees import FeeSchedule, round_half_up
from integrations.tomda.simulator.protocol import DEVICE_TYPE_NAMES, ApiError

KIND_DEFAULTS = {  # kind → (device type, power W per session)
    "ev": ("TOMDA_EV7K_T4", 7000),
    "ebike": ("TOMDA_EB10_T1", 250),
}
LINE_VOLTAGE_DV = 2200  # 220.0 V in 0.1 V: the AC piles Tomda makes are single-phase
EV_BATTERY_WH = 60_000  # only to report a plausible, rising SOC for EV sessions
EV_START_SOC = 20


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
