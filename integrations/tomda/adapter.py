"""Tomda behind the `VendorAdapter` contract: our units and words in, Tomda's client calls out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Charger, Connector, Vendor
from chargers.services import charger_require_station
from chargers.vendor import ChargerInfo, SessionState, StartCommand, VendorAdapter
from integrations.http import answer_read
from integrations.values import MappingError
from stations.models import Station
from tariffs.selectors import tariff_version_in_force

from . import mappers
from .client import TomdaClient
from .payloads import fee_model_for_version, station_info


class TomdaAdapter(VendorAdapter):
    code = Vendor.TOMDA
    unknown_session_codes = frozenset({"2013", "1400"})

    def __init__(self, client: TomdaClient | None = None):
        self._client = client

    @property
    def client(self) -> TomdaClient:
        if self._client is None:
            self._client = TomdaClient.from_settings()
        return self._client

    # Devices

    def charger_list(self) -> Iterator[ChargerInfo]:
        for charger in self.client.charger_list_all():
            yield _read(mappers.charger_info, charger)

    def charger_detail(self, *, serial: str) -> ChargerInfo:
        return _read(mappers.charger_info, self.client.charger_detail(serial=serial))

    # Sessions

    def strategies(self, *, kind: str) -> tuple[str, ...]:
        return mappers.STRATEGIES_BY_KIND.get(kind, ())

    def session_start(self, *, command: StartCommand) -> SessionState | None:
        try:
            strategy, param = mappers.strategy_parameters(command.strategy, command.strategy_param)
        except MappingError as exc:
            raise ValidationError(str(exc)) from exc
        self.client.start(
            charger_type=mappers.CHARGER_TYPES[command.kind],
            serial=command.serial,
            connector_id=command.connector_number,
            strategy=strategy,
            strategy_param=param,
            order_no=command.order_no,
            user_balance_fen=command.balance_fen,
        )
        return None

    def session_stop(self, *, order_no: str, serial: str, connector_number: int) -> None:
        self.client.stop(order_no=order_no)

    def session_query(self, *, order_no: str, serial: str, connector_number: int) -> SessionState:
        return _read(mappers.session_state, self.client.progress(order_no=order_no))

    def reservation_create(self, *, order_no: str, serial: str, connector_number: int) -> None:
        # §4.5.1: a single-gun charger is reserved with no connector number (or 0), unlike the start call.
        single = Connector.objects.filter(charger__vendor=Vendor.TOMDA, charger__serial=serial).count() <= 1
        self.client.reserve(serial=serial, connector_id=None if single else connector_number, order_no=order_no)

    def reservation_cancel(self, *, order_no: str) -> None:
        self.client.reservation_cancel(order_no=order_no)

    # Tariffs and stations

    def tariff_push(self, *, version, serials: Iterable[str] | None = None) -> None:
        """Tomda sends a template to the chargers of the stations it knows use it (§4.5.7 sycnCharger),
        so the stations are synced first with the template; named chargers get it one by one (§4.5.1 fee)."""
        model = fee_model_for_version(version)
        if serials is not None:
            serials = list(serials)
            for charger in Charger.objects.filter(vendor=Vendor.TOMDA, serial__in=serials).order_by("serial"):
                charger_require_station(charger=charger)
            for serial in serials:
                self.client.fee_set(serial=serial, fee_model=model)
            return
        stations = list(
            Station.objects.filter(tariff_template=version.template, chargers__vendor=Vendor.TOMDA)
            .distinct()
            .order_by("code")
        )
        infos = [station_info(station, version=version) for station in stations]  # all readable before any goes
        for info in infos:
            self.client.station_sync(station_info=info)
        self.client.fee_template_sync(fee_model=model, sync_chargers=True)

    def station_push(self, *, station) -> None:
        version = None
        if station.tariff_template_id:
            version = tariff_version_in_force(template=station.tariff_template_id, at=timezone.now())
        if version is None:
            raise ValidationError(
                _("Tomda needs a tariff with every station: give station %(station)s a published tariff template.")
                % {"station": station}
            )
        fee_model_for_version(version)  # refuse a tariff Tomda cannot carry before sending anything
        self.client.station_sync(station_info=station_info(station, version=version))


def _read(mapper, *args):
    return answer_read(mapper, *args, vendor=Vendor.TOMDA)
