"""Wanzhuang behind the `VendorAdapter` contract: our units and words in, Wanzhuang's client calls out."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Charger, ChargerTariffPush, Vendor
from chargers.services import charger_require_station, charger_tariff_push_answer
from chargers.vendor import (
    ChargerInfo,
    ChargeStrategy,
    SessionNews,
    SessionState,
    StartCommand,
    TariffOnCharger,
    VendorAdapter,
)
from integrations import values
from integrations.http import BadResponse, answer_read
from tariffs.renderings import TariffRenderError
from tariffs.selectors import tariff_version_in_force

from . import constants as c
from . import mappers
from .client import WanzhuangClient, WanzhuangNotFound
from .models import DeviceSettings
from .payloads import charge_mode_for, device_settings_fields, save_mode_fields

# Devices whose ports are asked about in one call while the device list is read.
PORTS_PER_CALL = 50


class WanzhuangAdapter(VendorAdapter):
    code = Vendor.WANZHUANG
    # 1006: Wanzhuang has no such charge_id; a start it never took did not happen.
    unknown_session_codes = frozenset({"1006"})

    def __init__(self, client: WanzhuangClient | None = None):
        self._client = client

    @property
    def client(self) -> WanzhuangClient:
        if self._client is None:
            self._client = WanzhuangClient.from_settings()
        return self._client

    # Devices

    def charger_list(self) -> Iterator[ChargerInfo]:
        """Every device on our account with its ports: the list names no port, so they are asked about in
        batches (a device the batch leaves out is described without its ports)."""
        devices = self.client.device_list_all()
        while batch := list(itertools.islice(devices, PORTS_PER_CALL)):
            answers = self.client.ports_status(device_nums=[str(device.get("device_num")) for device in batch])
            ports = {str(answer.get("device_num")): answer.get("ports") for answer in answers
                     if isinstance(answer, dict)}
            for device in batch:
                found = ports.get(str(device.get("device_num")))
                yield _read(mappers.charger_info, device, found if isinstance(found, list) else None)

    def charger_detail(self, *, serial: str) -> ChargerInfo:
        device = self.client.device_detail(device_num=serial)
        ports = self.client.port_status(device_num=serial).get("ports")
        return _read(mappers.charger_info, device, ports if isinstance(ports, list) else None)

    def charger_register(self, *, serial: str) -> None:
        self.client.device_add(device_num=serial)

    def charger_reboot(self, *, serial: str) -> None:
        self.client.reboot(device_num=serial)

    def charger_force_offline(self, *, serial: str) -> None:
        self.client.force_offline(device_nums=[serial])

    def connector_fault_set(self, *, serial: str, connector_number: int, faulty: bool) -> None:
        self.client.port_fault_set(device_num=serial, port=connector_number, faulty=faulty)

    # Sessions

    def strategies(self, *, kind: str) -> tuple[str, ...]:
        # A Wanzhuang session is prepaid (total_fee): it ends when the amount is used, or earlier when full.
        return (ChargeStrategy.AMOUNT, ChargeStrategy.FULL)

    def session_start(self, *, command: StartCommand) -> SessionState | None:
        """Start the session once its port may: the start rules of the port's state are checked first, and a
        port that waits for a plug, must be unplugged, is held or faulty is refused with the reason."""
        charger = _charger(command.serial)
        version = charger_tariff_version(charger)
        charge_mode = _charge_mode(charger, version)
        charge_id = c.charge_id_of(command.order_no)
        port = self._port(command.serial, command.connector_number)
        refusal = mappers.start_refusal(
            device_type=mappers.device_type_of(charger), state=_read(mappers.port_state, port),
            port_charge_id=_int(port.get("charge_id")), charge_id=charge_id, serial=command.serial,
            port=command.connector_number,
        )
        if refusal:
            raise ValidationError(refusal, code="port_state")
        # The prepayment: the amount asked for, else the authorised amount, else the tariff's maximum payment.
        total_fee = ((command.strategy_param if command.strategy == ChargeStrategy.AMOUNT else 0)
                     or command.balance_fen or (version.tariff.max_pay_fen if version else 0)
                     or settings.WANZHUANG_DEFAULT_TOTAL_FEE_FEN)
        if command.balance_fen is not None:
            total_fee = min(total_fee, command.balance_fen)
        self.client.charge_start(device_num=command.serial, device_port=command.connector_number,
                                 charge_id=charge_id, charge_mode=charge_mode, total_fee=total_fee)
        return None

    def session_stop(self, *, order_no: str, serial: str, connector_number: int) -> None:
        self.client.charge_stop(device_num=serial, device_port=connector_number,
                                charge_id=c.charge_id_of(order_no))

    def session_query(self, *, order_no: str, serial: str, connector_number: int) -> SessionState:
        """Where the session stands, from its port: Wanzhuang has no query of a session by its id. A port that
        no longer holds it answers as Wanzhuang does for an unknown charge_id."""
        port = self._port(serial, connector_number)
        charge_id = c.charge_id_of(order_no)
        if _int(port.get("charge_id")) != charge_id:
            raise WanzhuangNotFound(
                _("Port %(port)s of %(serial)s does not hold order %(order)s now.")
                % {"port": connector_number, "serial": serial, "order": order_no},
                vendor=self.code, code="1006",
            )
        state = _read(mappers.port_state, port)
        return SessionState(
            order_no=order_no,
            vendor_status=f"{state} {mappers.state_name(state)}",
            status=mappers.session_status(state),
            serial=serial,
            connector_number=connector_number,
            started_at=mappers.unix_or_none(port.get("start_time")),
            charge_seconds=_read(_integer, port, "time_used"),
            energy_wh=_read(mappers.energy_wh, port),
            cost_fen=_read(_integer, port, "pay_used"),
            extra={"port": port},
        )

    def session_history(self, *, order_no: str, serial: str, connector_number: int) -> list[SessionNews]:
        entries = self.client.callback_log(charge_id=c.charge_id_of(order_no))
        news = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise BadResponse("wanzhuang callback_log: an entry is not an object", vendor=self.code)
            news.append(SessionNews(
                kind=str(entry.get("type") or ""),
                at=mappers.unix_or_none(entry.get("created_at")),
                fields=dict(entry.get("req") or {}),
                answer=str(entry.get("res") or ""),
            ))
        return news

    def session_settlement_resend(self, *, order_no: str, serial: str, connector_number: int) -> None:
        self.client.finish_callback_retry(charge_id=c.charge_id_of(order_no))

    # Tariffs

    def tariff_push(self, *, version, serials: Iterable[str] | None = None) -> None:
        """Save the version as each device's charge mode, with its device settings. Every form is built before
        the first is sent, so a tariff one device cannot carry sends nothing. Wanzhuang's answer is the
        device's: a saved mode is recorded as accepted at once."""
        chargers = Charger.objects.filter(vendor=Vendor.WANZHUANG).select_related("station")
        if serials is not None:
            chargers = chargers.filter(serial__in=list(serials))
        else:
            chargers = chargers.filter(station__tariff_template=version.template_id)
        chargers = list(chargers.order_by("serial"))
        forms = []
        for charger in chargers:
            charger_require_station(charger=charger)
            forms.append((charger, charge_mode_form(charger, version)))
        for charger, form in forms:
            self._mode_save(charger, form)
            # A form sent by hand, not through a push of the version, has no push row to answer.
            with contextlib.suppress(ChargerTariffPush.DoesNotExist):
                charger_tariff_push_answer(charger=charger, template_external_id=version.template.external_id,
                                           accepted=True, at=timezone.now())

    def tariff_read(self, *, serial: str) -> TariffOnCharger:
        charger = _charger(serial)
        version = charger_tariff_version(charger)
        if version is None:
            raise ValidationError(_("Charger %(charger)s has no tariff in force to compare with.")
                                  % {"charger": charger})
        ours = charge_mode_form(charger, version)
        if ours["charge_mode"] == c.MODE_CAR_ENERGY:
            held = self.client.car_mode_get(device_num=serial)
        else:
            held = self.client.mode_get(device_num=serial)
        # In the form's names, as ours are (getMode answers in camelCase).
        held = {name: held.get(_camel(name), held.get(name)) for name in ours}
        differences = tuple(name for name, value in ours.items() if _text(held[name]) != _text(value))
        return TariffOnCharger(held=held, ours=ours, differences=differences)

    def _mode_save(self, charger: Charger, form: dict) -> None:
        if form["charge_mode"] == c.MODE_CAR_ENERGY:
            self.client.car_mode_save(device_num=charger.serial, fields=form)
        else:
            self.client.mode_save(device_num=charger.serial, fields=form)

    def _port(self, serial: str, number: int) -> dict:
        answer = self.client.port_status(device_num=serial)
        ports = answer.get("ports") if isinstance(answer, dict) else None
        if not isinstance(ports, list):
            raise BadResponse("wanzhuang port_status: the answer has no ports", vendor=self.code)
        for port in ports:
            if isinstance(port, dict) and _int(port.get("device_port")) == number:
                return port
        # As Wanzhuang answers for a session it does not have: no session can be on a port it does not list.
        raise WanzhuangNotFound(_("Wanzhuang lists no port %(port)s on %(serial)s: sync the charger.")
                                % {"port": number, "serial": serial}, vendor=self.code, code="1006")


def _charger(serial: str) -> Charger:
    charger = Charger.objects.filter(vendor=Vendor.WANZHUANG, serial=serial).select_related("station").first()
    if charger is None:
        raise ValidationError(_("Wanzhuang device %(serial)s is not in the back office.") % {"serial": serial})
    return charger


def charger_tariff_version(charger: Charger):
    """The tariff version in force at the charger's station; None without a station or a published tariff."""
    if charger.station_id is None or charger.station.tariff_template_id is None:
        return None
    return tariff_version_in_force(template=charger.station.tariff_template_id, at=timezone.now())


def _settings(charger: Charger) -> DeviceSettings:
    return DeviceSettings.objects.filter(charger=charger).first() or DeviceSettings(charger=charger)


def _charge_mode(charger: Charger, version) -> int:
    """The device's charge mode: its operator's choice, else the one that fits its type and its tariff."""
    chosen = _settings(charger).charge_mode
    if chosen is not None:
        return chosen
    if version is None:
        raise ValidationError(_("Charger %(charger)s has no tariff in force and no charge mode chosen: publish its "
                                "station's tariff or choose the mode in its Wanzhuang device settings.")
                              % {"charger": charger})
    try:
        return charge_mode_for(version.tariff, device_type=mappers.device_type_of(charger))
    except TariffRenderError as exc:
        raise ValidationError(str(exc)) from exc


def charge_mode_form(charger: Charger, version) -> dict:
    """The whole saveMode form of the version for the device, but its number and the signing; raises
    TariffRenderError (or ValidationError) for a tariff the device cannot carry."""
    return {**save_mode_fields(version.tariff, charge_mode=_charge_mode(charger, version)),
            **device_settings_fields(_settings(charger))}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _text(value) -> str:
    return "" if value is None else str(value)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _integer(content: dict, field: str) -> int:
    return values.integer(content, field, default=0)


def _read(mapper, *args):
    return answer_read(mapper, *args, vendor=Vendor.WANZHUANG)
