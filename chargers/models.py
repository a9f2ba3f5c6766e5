from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.history import EditHistory
from stations.models import Station
from tariffs.models import VehicleKind


class Vendor(models.TextChoices):
    """Vendor clouds that run our chargers; the code is the key of the adapter registry."""

    TOMDA = "tomda", _("Tomda")
    WANZHUANG = "wanzhuang", _("Wanzhuang")


class CurrentType(models.TextChoices):
    AC = "ac", _("AC")
    DC = "dc", _("DC")
    AC_DC = "ac_dc", _("AC/DC")


class ConnectorStatus(models.TextChoices):
    """The one vocabulary for charger and connector state; vendor codes are mapped to it at the edge."""

    OFFLINE = "offline", _("Offline")
    FREE = "free", _("Free")
    OCCUPIED = "occupied", _("Occupied")
    CHARGING = "charging", _("Charging")
    BOOKED = "booked", _("Booked")
    FAULT = "fault", _("Fault")
    MAINTENANCE = "maintenance", _("Maintenance")
    UNKNOWN = "unknown", _("Unknown")


class ParkingStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    FREE = "free", _("Free")
    OCCUPIED = "occupied", _("Occupied")


# How a vendor describes a device (its detail, its DEVICE_INFO); a report overwrites these fields.
DEVICE_DESCRIPTION_FIELDS = (
    "device_type_code",
    "device_type_name",
    "model",
    "hardware_version",
    "firmware_version",
    "communication_type",
)
# What a vendor's pushes keep up to date by themselves; none of it is typed by people.
CHARGER_REPORTED_FIELDS = (*DEVICE_DESCRIPTION_FIELDS, "online", "status", "vendor_status", "last_seen_at")
CONNECTOR_REPORTED_FIELDS = ("status", "vendor_status", "parking_status", "status_changed_at")


class Charger(models.Model):
    # Empty while the charger awaits a station: a vendor told us of it before an operator placed it.
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        related_name="chargers",
        verbose_name=_("station"),
        help_text=_("Where the charger stands. A charger found in the vendor's pushes awaits one until assigned."),
    )
    vendor = models.CharField(_("vendor"), max_length=16, choices=Vendor.choices)
    serial = models.CharField(_("vendor serial"), max_length=64, help_text=_("The vendor's serial number."))
    name = models.CharField(_("name"), max_length=100, blank=True)
    kind = models.CharField(_("vehicle kind"), max_length=8, choices=VehicleKind.choices)
    current_type = models.CharField(_("current type"), max_length=8, choices=CurrentType.choices)
    rated_power_w = models.PositiveIntegerField(_("rated power (W)"), default=0)
    device_type_code = models.CharField(_("vendor device type"), max_length=64, blank=True)
    device_type_name = models.CharField(_("vendor device type name"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=64, blank=True)
    hardware_version = models.CharField(_("hardware version"), max_length=64, blank=True)
    firmware_version = models.CharField(_("firmware version"), max_length=64, blank=True)
    communication_type = models.CharField(
        _("communication type"), max_length=16, blank=True, help_text=_("ETHERNET, WIFI, GPRS, 4G, ...")
    )
    online = models.BooleanField(_("online"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ConnectorStatus.choices, default=ConnectorStatus.UNKNOWN
    )
    vendor_status = models.CharField(_("vendor status"), max_length=32, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # What people set (station, name, electrical data). What the vendor reports is left out: its device reports
    # save only those fields, so they write no history (EditHistory), however often they come.
    history = EditHistory(excluded_fields=[*CHARGER_REPORTED_FIELDS, "updated_at"])

    class Meta:
        verbose_name = _("charger")
        verbose_name_plural = _("chargers")
        ordering = ["station_id", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "serial"], name="charger_unique_vendor_serial"),
        ]
        indexes = [models.Index(fields=["status", "online"], name="charger_status_online_idx")]

    def __str__(self):
        return self.name or f"{self.get_vendor_display()} {self.serial}"

    def clean(self):
        if self.station_id and self.kind and self.station.kind != self.kind:
            raise ValidationError(
                {
                    "kind": _("The station serves %(station)s; a charger there must serve %(station)s too.")
                    % {"station": self.station.get_kind_display()}
                }
            )


class Connector(models.Model):
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connectors", verbose_name=_("charger"))
    number = models.PositiveSmallIntegerField(_("connector number"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ConnectorStatus.choices, default=ConnectorStatus.UNKNOWN
    )
    vendor_status = models.CharField(_("vendor status"), max_length=32, blank=True)
    parking_status = models.CharField(
        _("parking status"), max_length=16, choices=ParkingStatus.choices, default=ParkingStatus.UNKNOWN
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)

    # Its number and name, which people set; its status comes from the vendor's pushes, every minute.
    history = EditHistory(excluded_fields=list(CONNECTOR_REPORTED_FIELDS))

    class Meta:
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        ordering = ["charger_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["charger", "number"], name="connector_unique_number"),
            # Connectors are numbered from 1; a vendor's "0 for a single-gun charger" is mapped at the edge.
            models.CheckConstraint(condition=Q(number__gte=1), name="connector_number_from_one"),
        ]
        indexes = [models.Index(fields=["status"], name="connector_status_idx")]

    def __str__(self):
        return f"{self.charger} #{self.number}"


class EventSource(models.TextChoices):
    CHARGER = "charger", _("Charger")
    PLUG = "plug", _("Connector")
    SERVER = "server", _("Platform")


class EventState(models.TextChoices):
    HAPPENING = "happening", _("Happening")
    IGNORED = "ignored", _("Ignored")
    HANDLED = "handled", _("Handled")
    RECOVERED = "recovered", _("Recovered")


class ChargerEvent(models.Model):
    """An alarm or fault a charger reported (Tomda §5.5.2), as the vendor described it."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="events", verbose_name=_("charger"))
    connector = models.ForeignKey(
        Connector,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("connector"),
    )
    source = models.CharField(_("source"), max_length=16, choices=EventSource.choices)
    code = models.CharField(_("event code"), max_length=64)
    name = models.CharField(_("event name"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=EventState.choices)
    is_fault = models.BooleanField(
        _("fault"),
        default=False,
        help_text=_("A fault makes its connector (every connector, for one of the whole charger) faulty while it "
                    "happens; the vendor's code says which events are faults."),
    )
    device_time = models.DateTimeField(_("device time"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("charger event")
        verbose_name_plural = _("charger events")
        ordering = ["-device_time", "-id"]
        indexes = [
            models.Index(fields=["-device_time", "-id"], name="event_time_idx"),
            models.Index(fields=["charger", "-device_time"], name="event_charger_time_idx"),
            models.Index(fields=["state", "-device_time"], name="event_state_time_idx"),
            models.Index(fields=["code"], name="event_code_idx"),
            models.Index(fields=["source", "-device_time"], name="event_source_time_idx"),
        ]

    def __str__(self):
        return f"{self.code} {self.get_state_display()}"


class TariffPushResult(models.TextChoices):
    PENDING = "pending", _("Waiting for the charger")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Not sent")


class ChargerTariffPush(models.Model):
    """A tariff version sent to one charger, and whether the charger took it."""

    charger = models.ForeignKey(
        Charger, on_delete=models.CASCADE, related_name="tariff_pushes", verbose_name=_("charger")
    )
    tariff_version = models.ForeignKey(
        "tariffs.TariffVersion", on_delete=models.PROTECT, related_name="pushes", verbose_name=_("tariff version")
    )
    result = models.CharField(
        _("result"), max_length=16, choices=TariffPushResult.choices, default=TariffPushResult.PENDING
    )
    error = models.CharField(_("error"), max_length=255, blank=True)
    requested_at = models.DateTimeField(_("sent at"))
    requested_by_name = models.CharField(_("sent by"), max_length=150, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tariff push")
        verbose_name_plural = _("tariff pushes")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["charger", "-requested_at"], name="tariffpush_charger_idx"),
            models.Index(fields=["tariff_version", "charger"], name="tariffpush_version_idx"),
        ]

    def __str__(self):
        return f"{self.charger} ← {self.tariff_version}"


class OfflineRevenueReading(models.Model):
    """A device's running totals of the money it took by itself (coins, offline cards), as it reported them.

    Every reading is kept. One that is not newer (by device time) than the last one counted is kept but not
    counted: it arrived late. A counted reading's increments are what the device took since the one before.
    A total lower than the one before means the device's counter was reset or repaired: the reading is a new
    baseline for that counter (it adds nothing, and is flagged for finance), since a fall cannot say what was
    taken since. The first reading of a device is the baseline: its totals are history we cannot date.
    """

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="offline_revenue",
                                verbose_name=_("charger"))
    device_time = models.DateTimeField(_("device time"))
    coin_total_fen = models.PositiveIntegerField(_("coin total (fen)"))
    card_total_fen = models.PositiveIntegerField(_("offline card total (fen)"))
    coin_fen = models.PositiveIntegerField(_("coins since the reading before (fen)"), default=0)
    card_fen = models.PositiveIntegerField(_("offline cards since the reading before (fen)"), default=0)
    counted = models.BooleanField(
        _("counted"), default=True,
        help_text=_("False for a reading not newer than the last one counted: kept, but it adds nothing."),
    )
    reset = models.BooleanField(_("counter reset"), default=False,
                                help_text=_("A total fell below the reading before (a reset or a repair): that counter "
                                            "starts again from this reading, and what was taken between the two "
                                            "readings is not known."))
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("offline revenue reading")
        verbose_name_plural = _("offline revenue readings")
        ordering = ["charger_id", "-device_time", "-id"]
        indexes = [
            models.Index(fields=["charger", "-device_time"], name="offlinerev_charger_time_idx"),
            models.Index(fields=["device_time"], name="offlinerev_time_idx"),
        ]

    def __str__(self):
        return f"{self.charger_id} @ {self.device_time:%Y-%m-%d %H:%M:%S}"
