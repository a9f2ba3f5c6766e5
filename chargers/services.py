"""Writes to chargers, connectors and their events, from vendor news and operators' imports."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.errors import REFUSALS, OutcomeUnknown, error_message
from chargers.models import (
    DEVICE_DESCRIPTION_FIELDS,
    Charger,
    ChargerEvent,
    ChargerTariffPush,
    Connector,
    ConnectorStatus,
    CurrentType,
    EventState,
    OfflineRevenueReading,
    TariffPushResult,
)
from chargers.vendor import ChargerInfo, registry, vendor_adapter_for
from stations.models import Station
from tariffs.models import VehicleKind
from tariffs.selectors import tariff_version_in_force

CONNECTOR_STATUS_FIELDS = ["status", "vendor_status", "status_changed_at"]


def _newer(at: datetime, than: datetime | None) -> bool:
    return than is None or at >= than


def connector_status_update(*, connector: Connector, status: str, vendor_status: str, at: datetime | None) -> bool:
    """Set the connector's status as the vendor saw it at `at`; older news never overwrites newer.

    `at` is the vendor's clock. An answer to our own question (a sync) has none: it is applied, and
    leaves the time alone, because our clock and the vendor's cannot be compared to the second.
    Returns whether the connector changed.
    """
    changed = connector_status_apply(connector=connector, status=status, vendor_status=vendor_status, at=at)
    if changed:
        connector.save(update_fields=CONNECTOR_STATUS_FIELDS)
    return changed


def connector_status_apply(*, connector: Connector, status: str, vendor_status: str, at: datetime | None) -> bool:
    """`connector_status_update` on the object in memory only, for a caller that saves many connectors at once
    (`connectors_save_status`). Returns whether the connector changed."""
    if at is not None and not _newer(at, connector.status_changed_at):
        return False
    changed_at = at or connector.status_changed_at
    if (connector.status, connector.vendor_status, connector.status_changed_at) == (status, vendor_status, changed_at):
        return False
    connector.status, connector.vendor_status, connector.status_changed_at = status, vendor_status, changed_at
    return True


# A reading says what a session is doing; it cannot say that a fault is over or that a charger is back
# online: those are for the charger's events and its device reports to say.
STATUSES_A_READING_KEEPS = (ConnectorStatus.FAULT, ConnectorStatus.OFFLINE)


def connector_reading_status_apply(*, connector: Connector, status: str | None, at: datetime) -> bool:
    """The status a session's reading implies (None: it implies none), on the object in memory, as
    `connector_status_apply`; a faulty or offline connector keeps its status. Returns whether it changed."""
    if status is None or connector.status in STATUSES_A_READING_KEEPS:
        return False
    return connector_status_apply(connector=connector, status=status, vendor_status=connector.vendor_status, at=at)


def connectors_save_status(*, connectors) -> None:
    """Save the status of connectors changed by `connector_status_apply`, in one statement."""
    Connector.objects.bulk_update(list(connectors), CONNECTOR_STATUS_FIELDS)


def charger_device_update(*, charger: Charger, info: ChargerInfo, at: datetime | None) -> Charger:
    """Apply the vendor's description of a charger: its flags, versions and every connector.

    Connectors the vendor names and we lack are created; ours it does not name are left alone (a
    vendor listing one gun of a pair must not delete the other). News older than the charger's last
    is ignored, so a delayed push cannot bring back an old state. `at` is the vendor's clock; an
    answer to our own question (None) is applied without moving it, as in `connector_status_update`.
    """
    with transaction.atomic():
        charger = Charger.objects.select_for_update().get(pk=charger.pk)
        if at is not None and not _newer(at, charger.last_seen_at):
            return charger
        charger.online = info.online
        charger.status = info.status if info.online else ConnectorStatus.OFFLINE
        charger.vendor_status = info.vendor_status
        charger.last_seen_at = at or charger.last_seen_at
        fields = ["online", "status", "vendor_status", "last_seen_at", "updated_at"]
        for name in DEVICE_DESCRIPTION_FIELDS:
            value = getattr(info, name)
            if value:  # a vendor leaving a field out is not a vendor clearing it
                setattr(charger, name, value)
                fields.append(name)
        charger.save(update_fields=fields)
        existing = {c.number: c for c in charger.connectors.all()}
        # A fault its events report outlasts whatever status the description gives (a charger that says
        # "free" while its emergency stop is pressed is not free). Looked up only when a connector shows
        # one: a fault's first event makes the connector faulty.
        faulty = any(c.status == ConnectorStatus.FAULT for c in existing.values())
        open_faults = charger_open_faults(charger=charger) if faulty else {}
        for described in info.connectors:
            connector = existing.get(described.number)
            if connector is None:
                connector = Connector.objects.create(
                    charger=charger,
                    number=described.number,
                    name=_("Connector %(number)s") % {"number": described.number},
                )
            status = described.status if info.online else ConnectorStatus.OFFLINE
            if status != ConnectorStatus.OFFLINE and connector_faulty(connector, open_faults):
                status = ConnectorStatus.FAULT
            connector_status_update(connector=connector, status=status, vendor_status=described.vendor_status, at=at)
        return charger


def charger_require_station(*, charger: Charger) -> None:
    """Refuse to act on a charger that awaits a station: sessions, tariffs and station data need one."""
    if charger.station_id is None:
        raise ValidationError(
            _(
                "Charger %(charger)s awaits a station: assign it to one (Chargers → Import chargers from the "
                "vendor) first."
            )
            % {"charger": charger}
        )


def _check_kind(*, station: Station, serial: str, kind: str) -> None:
    if station.kind != kind:
        raise ValidationError(
            _("Charger %(serial)s serves %(kind)s; station %(station)s does not.")
            % {"serial": serial, "kind": VehicleKind(kind).label, "station": station}
        )


def charger_device_report(*, vendor: str, info: ChargerInfo, at: datetime | None) -> Charger:
    """A vendor's report of one of its chargers, by serial: applied to ours (`charger_device_update`), and a
    charger we did not have is created with its connectors, awaiting a station.

    A new charger takes what the vendor's device type says (kind, current, rated power); an operator
    assigns the station (`charger_import`). Until then its news is applied, but nothing is sold on it.
    """
    charger, _created = Charger.objects.get_or_create(
        vendor=vendor,
        serial=info.serial,
        defaults={
            "station": None,
            "kind": info.kind,
            "current_type": info.current_type or CurrentType.AC,
            "rated_power_w": info.rated_power_w,
        },
    )
    return charger_device_update(charger=charger, info=info, at=at)


def charger_import(*, station: Station, vendor: str, info: ChargerInfo, kind: str, current_type: str,
                   rated_power_w: int, name: str = "") -> Charger:
    """Add a charger the vendor knows to one of our stations, with its connectors.

    A charger that awaits a station (found in the vendor's pushes) is assigned to `station`, keeping its
    connectors and their history.
    """
    with transaction.atomic():
        existing = Charger.objects.select_for_update().filter(vendor=vendor, serial=info.serial).first()
        if existing is not None and existing.station_id is not None:
            raise ValidationError(_("Charger %(serial)s is already in the back office.") % {"serial": info.serial})
        if existing is not None:
            kind = existing.kind or kind
            _check_kind(station=station, serial=info.serial, kind=kind)
            existing.station, existing.kind = station, kind
            existing.name = existing.name or name
            existing.save(update_fields=["station", "kind", "name", "updated_at"])
            return charger_device_update(charger=existing, info=info, at=None)
        _check_kind(station=station, serial=info.serial, kind=kind)
        try:
            with transaction.atomic():
                charger = Charger.objects.create(
                    station=station,
                    vendor=vendor,
                    serial=info.serial,
                    name=name,
                    kind=kind,
                    current_type=current_type,
                    rated_power_w=rated_power_w,
                )
        except IntegrityError as exc:  # its vendor's first report of it is being applied this moment
            raise ValidationError(
                _("Charger %(serial)s has just been reported by its vendor; import it again to assign it.")
                % {"serial": info.serial}
            ) from exc
        return charger_device_update(charger=charger, info=info, at=None)


def charger_event_record(
    *,
    charger: Charger,
    connector: Connector | None,
    source: str,
    code: str,
    name: str,
    state: str,
    device_time: datetime,
    is_fault: bool = False,
) -> ChargerEvent:
    """Store one event a charger reported; a redelivered event (same charger, place, code, state, time) is kept once."""
    event, _created = ChargerEvent.objects.get_or_create(
        charger=charger,
        connector=connector,
        code=code,
        state=state,
        device_time=device_time,
        defaults={"source": source, "name": name, "is_fault": is_fault},
    )
    return event


def charger_open_faults(*, charger: Charger) -> dict[int | None, set[str]]:
    """The charger's faults still happening (their latest event says so), by connector id; None holds the
    faults of the whole charger. One query."""
    latest: dict[tuple[int | None, str], str] = {}
    events = ChargerEvent.objects.filter(charger=charger, is_fault=True).order_by("connector_id", "code",
                                                                                  "-device_time", "-id")
    for connector_id, code, state in events.values_list("connector_id", "code", "state"):
        latest.setdefault((connector_id, code), state)
    open_faults: dict[int | None, set[str]] = {}
    for (connector_id, code), state in latest.items():
        if state == EventState.HAPPENING:
            open_faults.setdefault(connector_id, set()).add(code)
    return open_faults


def connector_faulty(connector: Connector, open_faults: dict[int | None, set[str]]) -> bool:
    """Whether a fault of the connector's own, or of its whole charger, is happening."""
    return bool(open_faults.get(connector.pk) or open_faults.get(None))


def connector_faults_apply(*, charger: Charger, connector: Connector | None, at: datetime, recovered_status) -> None:
    """After events of `charger` (at `connector`, or the whole charger for None) were recorded: a happening
    fault makes the connector (every connector, for a charger-wide event) faulty; when none is left, the
    connector takes back the status its vendor last reported, as `recovered_status(vendor_status)` reads it
    (the vendor's mapping of its own status)."""
    open_faults = charger_open_faults(charger=charger)
    targets = [connector] if connector is not None else list(charger.connectors.all())
    for target in targets:
        if connector_faulty(target, open_faults):
            connector_status_update(connector=target, status=ConnectorStatus.FAULT, vendor_status=target.vendor_status,
                                    at=at)
        elif target.status == ConnectorStatus.FAULT:
            connector_status_update(connector=target, status=recovered_status(target.vendor_status),
                                    vendor_status=target.vendor_status, at=at)


def charger_tariff_push_answer(*, charger: Charger, template_external_id: str, accepted: bool,
                               at: datetime) -> ChargerTariffPush:
    """Record a charger's answer to the latest push of a version of the template it names.

    An answer older than the one recorded (a late copy) changes nothing. Raises
    `ChargerTariffPush.DoesNotExist` when no version of that template was ever sent to the charger.
    """
    with transaction.atomic():
        row = (
            ChargerTariffPush.objects.select_for_update()
            .filter(charger=charger, tariff_version__template__external_id=template_external_id)
            .order_by("-requested_at", "-id")
            .first()
        )
        if row is None:
            raise ChargerTariffPush.DoesNotExist(f"no push of template {template_external_id!r} to {charger.serial}")
        if row.answered_at is not None and at < row.answered_at:
            return row
        row.result = TariffPushResult.ACCEPTED if accepted else TariffPushResult.REFUSED
        row.answered_at = at
        row.save(update_fields=["result", "answered_at"])
        return row


# --- operators' requests to vendors ---


def charger_sync(*, charger: Charger) -> Charger:
    """Read the charger's description from its vendor and apply it."""
    info = vendor_adapter_for(charger).charger_detail(serial=charger.serial)
    return charger_device_update(charger=charger, info=info, at=None)


def charger_import_from_vendor(*, station: Station, vendor: str, serials) -> list[Charger]:
    """Add the vendor's chargers `serials` to `station`, each described by the vendor, all or none."""
    adapter = registry.get(vendor)
    infos = [adapter.charger_detail(serial=serial) for serial in serials]
    with transaction.atomic():
        return [
            charger_import(
                station=station,
                vendor=vendor,
                info=info,
                kind=info.kind or station.kind,
                current_type=info.current_type or CurrentType.AC,
                rated_power_w=info.rated_power_w,
            )
            for info in infos
        ]


def station_push(*, station: Station, vendor: str | None = None) -> list[str]:
    """Send the station (its chargers and tariff) to every vendor that runs a charger there, or to one."""
    chargers = station.chargers.filter(vendor=vendor) if vendor else station.chargers.all()
    vendors = sorted(set(chargers.values_list("vendor", flat=True)))
    if not vendors:
        raise ValidationError(_("Station %(station)s has no chargers to tell a vendor about.") % {"station": station})
    for vendor in vendors:
        registry.get(vendor).station_push(station=station)
    return vendors


def tariff_version_push(*, version, by_name: str = "", now: datetime | None = None) -> list[ChargerTariffPush]:
    """Send a tariff version to the chargers of every station using its template, vendor by vendor.

    A row per charger is committed before the vendor is called, because chargers may answer before
    the call returns; a vendor's refusal marks its rows as not sent and is raised after the others went.
    """
    now = now or timezone.now()
    in_force = tariff_version_in_force(template=version.template_id, at=now)
    if in_force is None or in_force.pk != version.pk:
        # A charger bills with a tariff from the moment it has it: only the version in force may go.
        raise ValidationError(
            _("Version %(version)s is not the one in force now; only the version in force is sent to chargers.")
            % {"version": version}
        )
    chargers = list(
        Charger.objects.filter(station__tariff_template=version.template_id).select_related("station")
        .order_by("vendor", "serial")
    )
    if not chargers:
        raise ValidationError(
            _("No charger is in a station using %(template)s.") % {"template": version.template}
        )
    with transaction.atomic():
        pushes = ChargerTariffPush.objects.bulk_create(
            ChargerTariffPush(charger=charger, tariff_version=version, requested_at=now, requested_by_name=by_name)
            for charger in chargers
        )
    failures = []
    for vendor in sorted({charger.vendor for charger in chargers}):
        try:
            registry.get(vendor).tariff_push(version=version)
        except REFUSALS as exc:  # our rule, the vendor's answer, or a tariff the vendor cannot carry
            message = error_message(exc, unknown=str)
            rows = ChargerTariffPush.objects.filter(pk__in=[p.pk for p in pushes if p.charger.vendor == vendor])
            if isinstance(exc, OutcomeUnknown):
                # No answer: the chargers may have it all the same; they stay pending for their own word.
                rows.update(error=message[:255])
            else:
                rows.update(result=TariffPushResult.FAILED, error=message[:255], answered_at=timezone.now())
            failures.append(exc)
    if failures:
        raise failures[0]
    return pushes


def charger_offline_revenue_record(*, charger: Charger, device_time: datetime, coin_total_fen: int,
                                   card_total_fen: int, received_at: datetime) -> OfflineRevenueReading:
    """Keep a device's running revenue totals and what they add since the last counted reading.

    The charger's row is locked, so readings of one device are counted one after another.
    """
    Charger.objects.select_for_update().filter(pk=charger.pk).values_list("pk").get()
    last = (OfflineRevenueReading.objects.filter(charger=charger, counted=True)
            .order_by("-device_time", "-id").first())
    reading = OfflineRevenueReading(charger=charger, device_time=device_time, coin_total_fen=coin_total_fen,
                                    card_total_fen=card_total_fen, received_at=received_at)
    if last is not None and device_time <= last.device_time:
        reading.counted = False
    elif last is not None:
        reading.reset = coin_total_fen < last.coin_total_fen or card_total_fen < last.card_total_fen
        # Each counter on its own: one that grew adds its growth; one that fell starts again from here (a fall
        # says nothing of what was taken since, and revenue is never made up from it).
        reading.coin_fen = max(coin_total_fen - last.coin_total_fen, 0)
        reading.card_fen = max(card_total_fen - last.card_total_fen, 0)
    reading.save()
    return reading


def chargers_discover(*, vendor: str) -> list[Charger]:
    """Read every charger the vendor lists: one we do not have is kept awaiting a station, as its pushes would
    make it; the others take the vendor's description."""
    return [charger_device_report(vendor=vendor, info=info, at=None) for info in registry.get(vendor).charger_list()]


def charger_register(*, charger: Charger) -> None:
    """Add the charger to our account at its vendor (a device the vendor's cloud serves only once added)."""
    vendor_adapter_for(charger).charger_register(serial=charger.serial)


def charger_reboot(*, charger: Charger) -> None:
    vendor_adapter_for(charger).charger_reboot(serial=charger.serial)


def charger_force_offline(*, charger: Charger) -> None:
    vendor_adapter_for(charger).charger_force_offline(serial=charger.serial)


def connector_fault_set(*, connector: Connector, faulty: bool) -> None:
    """Mark a connector faulty at its vendor (it takes no session) or clear the mark; the vendor's next status
    report shows it."""
    vendor_adapter_for(connector.charger).connector_fault_set(serial=connector.charger.serial,
                                                              connector_number=connector.number, faulty=faulty)


def charger_tariff_read(*, charger: Charger):
    """The charger's tariff as its vendor keeps it, beside what our tariff in force would send
    (`chargers.vendor.TariffOnCharger`)."""
    charger_require_station(charger=charger)
    return vendor_adapter_for(charger).tariff_read(serial=charger.serial)
