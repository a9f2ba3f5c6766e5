"""The contract between the domain and the vendor clouds, and the registry of adapters.

Domain code never imports `integrations`. It asks the registry for the adapter of a charger's vendor
and calls the operations below; `integrations` registers one adapter per vendor at start-up
(`IntegrationsConfig.ready`). An adapter overrides the operations its vendor offers; the rest raise
`VendorOperationNotSupported`, so an operator is told plainly that the vendor cannot do it.

Values crossing the contract are in the house units: money in fen, energy in Wh, power in W,
voltage in 0.1 V, current in 0.1 A, aware datetimes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from backoffice.errors import DomainError, OutcomeUnknown


class ChargeStrategy(models.TextChoices):
    """How a session ends by itself; the parameter's unit depends on the strategy."""

    TIME = "time", _("By time (minutes)")
    AMOUNT = "amount", _("By amount (fen)")
    ENERGY = "energy", _("By energy (Wh)")
    FULL = "full", _("Until full")


class VendorError(DomainError):
    """A vendor refused or failed an operation. `code` is the vendor's own code, kept for people."""

    def __init__(self, message: str, *, vendor: str = "", code: str = ""):
        super().__init__(message, code=code)
        self.vendor = vendor


class VendorUnavailable(VendorError, OutcomeUnknown):
    """The vendor could not be reached or did not answer in time: the outcome of a command is unknown."""


class VendorOperationNotSupported(VendorError):
    """The vendor's interface has no such operation."""


class VendorNotConfigured(VendorError):
    """No adapter is registered for the vendor, or its settings are missing."""


@dataclass(frozen=True)
class ConnectorInfo:
    number: int
    vendor_status: str
    status: str  # chargers.models.ConnectorStatus value


@dataclass(frozen=True)
class ChargerInfo:
    """A charger as the vendor describes it, already mapped to our vocabulary."""

    serial: str
    online: bool
    vendor_status: str
    status: str  # chargers.models.ConnectorStatus value
    device_type_code: str = ""
    device_type_name: str = ""
    model: str = ""
    hardware_version: str = ""
    firmware_version: str = ""
    communication_type: str = ""
    connectors: tuple[ConnectorInfo, ...] = ()
    # What the vendor's device type tells about the hardware; empty/0 when it does not say.
    kind: str = ""  # tariffs.models.VehicleKind value
    current_type: str = ""  # chargers.models.CurrentType value
    rated_power_w: int = 0


@dataclass(frozen=True)
class StartCommand:
    order_no: str
    serial: str
    connector_number: int
    kind: str  # tariffs.models.VehicleKind value
    strategy: str  # ChargeStrategy value
    strategy_param: int  # minutes, fen, Wh or 0, by strategy
    balance_fen: int | None = None  # the authorised amount; None: no limit


@dataclass(frozen=True)
class SessionState:
    """A session's progress as the vendor reports it."""

    order_no: str
    vendor_status: str
    status: str  # orders' OrderStatus value, mapped by the adapter
    serial: str
    connector_number: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    charge_seconds: int = 0
    park_seconds: int = 0
    energy_wh: int = 0
    cost_fen: int | None = None
    vendor_order_id: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SessionNews:
    """One message the vendor's cloud sent us about a session, from its own log."""

    kind: str
    at: datetime | None
    fields: dict
    answer: str = ""


@dataclass(frozen=True)
class TariffOnCharger:
    """A charger's tariff as its vendor keeps it (`held`), beside what we would send it now (`ours`), in the
    vendor's own fields; `differences` names each field that is not the same."""

    held: dict
    ours: dict
    differences: tuple[str, ...]

    @property
    def same(self) -> bool:
        return not self.differences


class VendorAdapter:
    """Operations the vendor documents offer. Subclasses set `code` and override what they support."""

    code: str = ""
    # The vendor's codes for "no such session": a start it answers so about never happened.
    unknown_session_codes: frozenset[str] = frozenset()

    def _unsupported(self, operation: str):
        raise VendorOperationNotSupported(
            _("%(vendor)s does not support %(operation)s.") % {"vendor": self.code, "operation": operation},
            vendor=self.code,
        )

    # Devices
    def charger_list(self) -> Iterable[ChargerInfo]:
        self._unsupported("charger_list")

    def charger_detail(self, *, serial: str) -> ChargerInfo:
        self._unsupported("charger_detail")

    def charger_register(self, *, serial: str) -> None:
        self._unsupported("charger_register")

    def charger_reboot(self, *, serial: str) -> None:
        self._unsupported("charger_reboot")

    def connector_fault_set(self, *, serial: str, connector_number: int, faulty: bool) -> None:
        self._unsupported("connector_fault_set")

    def charger_force_offline(self, *, serial: str) -> None:
        """Make the vendor's cloud drop the charger's connection (it reconnects by itself)."""
        self._unsupported("charger_force_offline")

    # Sessions
    def strategies(self, *, kind: str) -> tuple[str, ...]:
        """The ChargeStrategy values this vendor's chargers of `kind` (a VehicleKind value) accept."""
        return tuple(ChargeStrategy.values)

    def session_start(self, *, command: StartCommand) -> SessionState | None:
        self._unsupported("session_start")

    def session_stop(self, *, order_no: str, serial: str, connector_number: int) -> None:
        self._unsupported("session_stop")

    def session_query(self, *, order_no: str, serial: str, connector_number: int) -> SessionState:
        self._unsupported("session_query")

    def session_history(self, *, order_no: str, serial: str, connector_number: int) -> list[SessionNews]:
        """What the vendor's cloud sent us about the session, as its own log keeps it."""
        self._unsupported("session_history")

    def session_settlement_resend(self, *, order_no: str, serial: str, connector_number: int) -> None:
        """Ask the vendor to send the session's settlement again (it arrives as a push)."""
        self._unsupported("session_settlement_resend")

    def reservation_create(self, *, order_no: str, serial: str, connector_number: int) -> None:
        self._unsupported("reservation_create")

    def reservation_cancel(self, *, order_no: str) -> None:
        self._unsupported("reservation_cancel")

    # Tariffs and stations (arguments are tariffs/stations model instances); without serials a tariff
    # version goes to every charger of the stations that use its template, where the vendor can do that.
    # Chargers acknowledge a pushed tariff later, each on its own (ChargerTariffPush rows record it).
    def tariff_push(self, *, version, serials: Iterable[str] | None = None) -> None:
        self._unsupported("tariff_push")

    def station_push(self, *, station) -> None:
        self._unsupported("station_push")

    def tariff_read(self, *, serial: str) -> TariffOnCharger:
        """What the charger bills with, as its vendor keeps it, beside what our tariff in force sends."""
        self._unsupported("tariff_read")


AdapterFactory = Callable[[], VendorAdapter]


class VendorRegistry:
    """Vendor code → adapter factory. Filled once at start-up; read from any thread."""

    def __init__(self):
        self._factories: dict[str, AdapterFactory] = {}
        self._lock = threading.Lock()

    def register(self, code: str, factory: AdapterFactory) -> None:
        with self._lock:
            if code in self._factories and self._factories[code] is not factory:
                raise ValueError(f"An adapter for vendor {code!r} is already registered.")
            self._factories[code] = factory

    def unregister(self, code: str) -> None:
        with self._lock:
            self._factories.pop(code, None)

    def codes(self) -> list[str]:
        return sorted(self._factories)

    def get(self, code: str) -> VendorAdapter:
        factory = self._factories.get(code)
        if factory is None:
            raise VendorNotConfigured(
                _("No adapter is configured for vendor %(vendor)s.") % {"vendor": code}, vendor=code
            )
        return factory()


registry = VendorRegistry()


def vendor_adapter_for(charger) -> VendorAdapter:
    """The adapter that speaks to this charger's vendor cloud."""
    return registry.get(charger.vendor)


def charge_strategies_for(charger) -> tuple[str, ...]:
    """The strategies a session on this charger may use, in ChargeStrategy's order.

    A vendor without an adapter offers them all: starting there is refused for that reason instead.
    """
    try:
        adapter = vendor_adapter_for(charger)
    except VendorNotConfigured:
        return tuple(ChargeStrategy.values)
    allowed = set(adapter.strategies(kind=charger.kind))
    return tuple(value for value in ChargeStrategy.values if value in allowed)
