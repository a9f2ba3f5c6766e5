from datetime import datetime

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.history import EditHistory
from chargers.models import Charger, Connector
from chargers.vendor import ChargeStrategy
from stations.models import Station
from tariffs.models import TariffVersion


class OrderStatus(models.TextChoices):
    CREATED = "created", _("Created")
    BOOKED = "booked", _("Booked")
    STARTING = "starting", _("Starting")
    CHARGING = "charging", _("Charging")
    STOPPING = "stopping", _("Stopping")
    FINISHED = "finished", _("Finished")
    SETTLED = "settled", _("Settled")
    START_FAILED = "start_failed", _("Start failed")
    CANCELLED = "cancelled", _("Cancelled")


# A session in one of these holds its connector.
ACTIVE_STATUSES = [
    OrderStatus.BOOKED,
    OrderStatus.STARTING,
    OrderStatus.CHARGING,
    OrderStatus.STOPPING,
]

# A session in one of these has ended for good; nothing but a correction changes it.
TERMINAL_STATUSES = [OrderStatus.SETTLED, OrderStatus.START_FAILED, OrderStatus.CANCELLED]


class CloseReason(models.TextChoices):
    """Why a session ended, in our words; the vendor's code and text are kept beside it."""

    USER_STOP = "user_stop", _("Stopped by the driver")
    REMOTE_STOP = "remote_stop", _("Stopped remotely")
    FULL = "full", _("Battery full")
    TIME_REACHED = "time_reached", _("Time limit reached")
    ENERGY_REACHED = "energy_reached", _("Energy limit reached")
    AMOUNT_REACHED = "amount_reached", _("Amount used up")
    INSUFFICIENT_BALANCE = "insufficient_balance", _("Insufficient balance")
    UNPLUGGED = "unplugged", _("Plug disconnected")
    POWER_LOSS = "power_loss", _("Power loss")
    DEVICE_FAULT = "device_fault", _("Device fault")
    START_TIMEOUT = "start_timeout", _("Start timed out")
    OTHER = "other", _("Other")


class SettlementSource(models.TextChoices):
    VENDOR = "vendor", _("Vendor's settlement")
    PROGRESS = "progress", _("Vendor's progress answer")


class SampleExclusion(models.TextChoices):
    """Why a reading is kept on the curve but left out of pricing: it contradicts the readings before it."""

    ENERGY_DOWN = "energy_down", _("Energy below an earlier reading")
    ENERGY_UP_BEFORE_LATER = "energy_above_later", _("Energy above a later reading")
    SAME_TIME = "same_time", _("Same device time as another reading, other energy")
    TOO_FAST = "too_fast", _("Energy rising faster than any charger gives")
    AFTER_SETTLEMENT = "after_settlement", _("Arrived after settlement")


class ConflictKind(models.TextChoices):
    """What contradicted itself about an order; each is a difference in the day's reconciliation."""

    READING_LEFT_OUT = "reading_left_out", _("Readings left out of pricing")
    SETTLEMENT_DIFFERS = "settlement_differs", _("A second settlement differs from the first")
    SETTLEMENT_TIMES = "settlement_times", _("The settlement does not end after it starts")
    NOT_PRICED = "not_priced", _("Our price could not be computed")
    CARD_SHORT = "card_short", _("The charging card could not pay the session")


class Partner(models.Model):
    """A sales channel through which drivers reach us (a platform with its organisation code)."""

    org_code = models.CharField(_("organisation code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = EditHistory()

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Order(models.Model):
    """A charging session, from the start request to settlement."""

    order_no = models.CharField(
        _("order number"),
        max_length=20,
        unique=True,
        help_text=_("Ours: yyyyMMddHHmmss in Beijing time followed by six digits."),
        validators=[RegexValidator(r"^\d{20}$", _("An order number is 20 digits."))],
    )
    vendor_order_id = models.CharField(_("vendor order id"), max_length=64, blank=True)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("partner")
    )
    partner_order_no = models.CharField(_("partner order number"), max_length=64, blank=True)
    card = models.ForeignKey(
        "orders.ChargingCard", on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
        verbose_name=_("charging card"), help_text=_("The card swiped to start the session; it pays for it."),
    )
    driver_id = models.CharField(_("driver id"), max_length=64, blank=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="orders", verbose_name=_("station"))
    charger = models.ForeignKey(Charger, on_delete=models.PROTECT, related_name="orders", verbose_name=_("charger"))
    connector = models.ForeignKey(
        Connector, on_delete=models.PROTECT, related_name="orders", verbose_name=_("connector")
    )
    strategy = models.CharField(
        _("charge strategy"), max_length=8, choices=ChargeStrategy.choices, default=ChargeStrategy.FULL
    )
    strategy_param = models.PositiveIntegerField(
        _("strategy parameter"), default=0, help_text=_("Minutes, fen or Wh by strategy; 0 until full.")
    )
    authorized_amount_fen = models.PositiveIntegerField(
        _("authorised amount (fen)"),
        null=True,
        blank=True,
        help_text=_("The most the driver may spend on the session; empty: no limit."),
    )
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED)
    vendor_status = models.CharField(_("vendor status"), max_length=32, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    charge_seconds = models.PositiveIntegerField(_("charging time (s)"), default=0)
    park_seconds = models.PositiveIntegerField(_("parking time (s)"), default=0)
    energy_wh = models.PositiveIntegerField(_("energy (Wh)"), default=0)
    electricity_fee_fen = models.PositiveIntegerField(_("electricity fee (fen)"), default=0)
    service_fee_fen = models.PositiveIntegerField(_("service fee (fen)"), default=0)
    total_fee_fen = models.PositiveIntegerField(_("total (fen)"), default=0)
    vendor_total_fen = models.PositiveIntegerField(
        _("vendor's total (fen)"),
        null=True,
        blank=True,
        help_text=_("What the vendor cloud billed, beside our own price; empty when it does not bill."),
    )
    soc = models.PositiveSmallIntegerField(_("SOC (%)"), null=True, blank=True)
    plate = models.CharField(_("licence plate"), max_length=16, blank=True)
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=24, choices=CloseReason.choices, blank=True)
    vendor_close_code = models.CharField(_("vendor close code"), max_length=64, blank=True)
    close_reason_text = models.CharField(_("close reason text"), max_length=255, blank=True)
    settled_from = models.CharField(
        _("settled from"),
        max_length=16,
        choices=SettlementSource.choices,
        blank=True,
        help_text=_("Whose figures settled the order: the vendor's settlement, or its progress answer when the "
                    "settlement never came."),
    )
    tariff_version = models.ForeignKey(
        TariffVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("tariff version"),
        help_text=_("The tariff version in force when the session started; it prices the order."),
    )
    price_lines = models.JSONField(
        _("our price lines"),
        null=True,
        blank=True,
        help_text=_("The pricing engine's breakdown stored at settlement, line by line; empty when it could not "
                    "price the order."),
    )
    price_periods = models.JSONField(
        _("our price by period"),
        null=True,
        blank=True,
        help_text=_("Energy and fees of our price by time-of-use period (尖峰平谷): {period: [Wh, electricity fen, "
                    "service fen]}, stored with the price lines for the exports."),
    )
    last_data_at = models.DateTimeField(
        _("last vendor data"), null=True, blank=True, help_text=_("When the vendor last told us about the session.")
    )
    # The samples' table is partitioned by the day they were received (PostgreSQL): bounded by this and the
    # order's creation, an order's curve is read from the partitions that hold it (`order_samples`).
    samples_until = models.DateTimeField(_("last sample received"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        permissions = [("operate_session", _("Can start, stop and reserve charging sessions"))]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "partner_order_no"],
                condition=~Q(partner_order_no=""),
                name="order_unique_partner_order_no",
            ),
            models.CheckConstraint(
                condition=Q(total_fee_fen=F("electricity_fee_fen") + F("service_fee_fen")),
                name="order_total_is_sum_of_parts",
            ),
            models.CheckConstraint(condition=Q(soc__isnull=True) | Q(soc__lte=100), name="order_soc_range"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(started_at__isnull=False, ended_at__gte=F("started_at")),
                name="order_end_after_start",
            ),
            # One live session per connector: two concurrent starts cannot both win.
            models.UniqueConstraint(
                fields=["connector"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="order_one_active_per_connector",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="order_created_idx"),
            models.Index(fields=["status", "-created_at"], name="order_status_created_idx"),
            models.Index(fields=["station", "-created_at"], name="order_station_created_idx"),
            # Every changelist filter has an index led by its column, so a rare value stays fast.
            models.Index(fields=["close_reason", "-created_at"], name="order_close_created_idx"),
            models.Index(fields=["strategy", "-created_at"], name="order_strategy_created_idx"),
            models.Index(fields=["started_at"], name="order_started_idx"),
            # The poll and stuck-session tasks: live orders by their last news.
            models.Index(fields=["status", "last_data_at"], name="order_status_last_data_idx"),
            models.Index(fields=["vendor_order_id"], name="order_vendor_order_idx"),
            models.Index(fields=["partner_order_no"], name="order_partner_order_no_idx"),
            models.Index(fields=["driver_id"], name="order_driver_idx"),
            # Pattern opclass so a plate prefix search (LIKE 'x%') uses the index under any collation.
            models.Index(fields=["plate"], name="order_plate_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.order_no


class OrderSample(models.Model):
    """One progress reading of a session, as the charger reported it.

    On PostgreSQL the table is partitioned by the business day of `received_at` and kept
    SAMPLES_RETENTION_DAYS (`backoffice.partitions`); an order's samples are read through
    `orders.selectors.order_samples`, which names the days they were received in.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="samples", verbose_name=_("order"))
    device_time = models.DateTimeField(_("device time"))
    voltage_dv = models.PositiveIntegerField(_("voltage (0.1 V)"), default=0)
    current_da = models.PositiveIntegerField(_("current (0.1 A)"), default=0)
    power_w = models.PositiveIntegerField(_("power (W)"), default=0)
    energy_wh = models.PositiveIntegerField(_("cumulative energy (Wh)"), default=0)
    cost_fen = models.PositiveIntegerField(_("cumulative cost (fen)"), null=True, blank=True)
    soc = models.PositiveSmallIntegerField(_("SOC (%)"), null=True, blank=True)
    left_out = models.CharField(
        _("left out of pricing"),
        max_length=24,
        choices=SampleExclusion.choices,
        blank=True,
        db_default="",
        help_text=_("Empty for a reading that prices the session; otherwise why it is kept but not priced."),
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order sample")
        verbose_name_plural = _("order samples")
        ordering = ["order_id", "device_time"]
        constraints = [
            models.CheckConstraint(condition=Q(soc__isnull=True) | Q(soc__lte=100), name="sample_soc_range"),
        ]
        indexes = [
            # An order's curve, read in time order.
            models.Index(fields=["order", "device_time"], name="sample_order_time_idx"),
            models.Index(fields=["-device_time", "-id"], name="sample_time_idx"),
        ]

    def __str__(self):
        return f"{self.order_id} @ {timezone.localtime(self.device_time):%Y-%m-%d %H:%M:%S}"


class OrderSettlement(models.Model):
    """One closing word on a session as it arrived: the vendor's settlement, or the progress answer the
    stuck-session check closed the order with. An order keeps every one it got; its own figures are
    those of the last that settled it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="settlements", verbose_name=_("order"))
    source = models.CharField(_("source"), max_length=16, choices=SettlementSource.choices)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    energy_wh = models.PositiveIntegerField(_("energy (Wh)"))
    charge_seconds = models.PositiveIntegerField(_("charging time (s)"))
    vendor_total_fen = models.PositiveIntegerField(_("vendor's total (fen)"), null=True, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=24, choices=CloseReason.choices, blank=True)
    vendor_close_code = models.CharField(_("vendor close code"), max_length=64, blank=True)
    close_reason_text = models.CharField(_("close reason text"), max_length=255, blank=True)
    vendor_status = models.CharField(_("vendor status"), max_length=32, blank=True)
    applied = models.BooleanField(
        _("applied"),
        default=True,
        db_default=True,
        help_text=_("Whether it settled the order; a later settlement that differs from the applied one is kept "
                    "beside it, not applied."),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["order_id", "recorded_at", "id"]

    def __str__(self):
        return f"{self.order_id} {self.get_source_display()}"


class OrderConflict(models.Model):
    """Something about an order that contradicts itself, kept with the figures on each side for finance."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="conflicts", verbose_name=_("order"))
    kind = models.CharField(_("kind"), max_length=24, choices=ConflictKind.choices)
    figures = models.JSONField(_("figures"), default=dict)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("order conflict")
        verbose_name_plural = _("order conflicts")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["-recorded_at", "-id"], name="conflict_recorded_idx"),
            models.Index(fields=["kind", "-recorded_at"], name="conflict_kind_recorded_idx"),
            models.Index(fields=["order", "kind"], name="conflict_order_kind_idx"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.get_kind_display()}"

    @property
    def detail(self) -> str:
        """The conflict in words, in the reader's language, from its figures."""
        figures = self.figures
        if self.kind == ConflictKind.READING_LEFT_OUT:
            return _("The reading of %(energy)s Wh at %(at)s contradicts the one of %(against)s Wh at "
                     "%(against_at)s (%(reason)s); it is kept but left out of pricing.") % {
                "energy": figures.get("energy_wh"), "at": _shown_time(figures.get("at")),
                "against": figures.get("against_wh"), "against_at": _shown_time(figures.get("against_at")),
                "reason": SampleExclusion(figures["reason"]).label if figures.get("reason") in SampleExclusion.values
                else figures.get("reason"),
            }
        if self.kind == ConflictKind.SETTLEMENT_DIFFERS:
            applied, other = figures.get("applied", {}), figures.get("other", {})
            return _("Applied: %(applied)s. Not applied: %(other)s.") % {
                "applied": _settlement_words(applied), "other": _settlement_words(other)
            }
        if self.kind == ConflictKind.SETTLEMENT_TIMES:
            return _("The settlement runs from %(start)s to %(end)s; the order ends at its start.") % {
                "start": _shown_time(figures.get("started_at")), "end": _shown_time(figures.get("ended_at"))
            }
        if figures.get("max_hours"):
            return _("The session is longer than the %(hours)s hours the pricing engine prices "
                     "(PRICING_MAX_SESSION_HOURS); it is settled on the vendor's figures.") % {
                "hours": figures["max_hours"]
            }
        return _("The pricing engine refused the session: %(error)s") % {"error": figures.get("error", "")}


def _shown_time(value) -> str:
    if not value:
        return "—"
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M:%S")


def _settlement_words(figures: dict) -> str:
    total = figures.get("vendor_total_fen")
    return _("%(energy)s Wh, %(seconds)s s, %(start)s to %(end)s, vendor's total %(total)s fen") % {
        "energy": figures.get("energy_wh"), "seconds": figures.get("charge_seconds"),
        "start": _shown_time(figures.get("started_at")), "end": _shown_time(figures.get("ended_at")),
        "total": "—" if total is None else total,
    }
