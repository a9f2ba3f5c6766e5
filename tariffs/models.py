from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from backoffice.history import EditHistory
from tariffs.pricing import Interval, Period, PowerTier, Tariff
from tariffs.units import format_minute_of_day


class VehicleKind(models.TextChoices):
    """What a station, charger or tariff serves. Lives here, the lowest domain app, so all can share it."""

    EV = "ev", _("Electric vehicle")
    EBIKE = "ebike", _("E-bike")


class TimeInterval(models.TextChoices):
    """Time-of-use price class of a period (尖峰平谷)."""

    CUSP = Interval.CUSP, _("Cusp")
    PEAK = Interval.PEAK, _("Peak")
    PLAIN = Interval.PLAIN, _("Plain")
    VALLEY = Interval.VALLEY, _("Valley")


class TariffTemplate(models.Model):
    """A fee template as the vendors know it (Tomda §4.3.2 收费模板).

    The template and its rows are the operators' working copy. Prices take effect only by publishing
    it as a `TariffVersion`; orders and vendors only ever see versions.
    """

    external_id = models.CharField(
        _("external id"),
        max_length=64,
        unique=True,
        help_text=_("Sent to vendors as the template's identifier (Tomda clientElecFeeModelId)."),
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("vehicle kind"), max_length=8, choices=VehicleKind.choices)
    free_charge_seconds = models.PositiveIntegerField(
        _("free charging time (s)"), default=0, help_text=_("Charging time at the start that is not billed.")
    )
    min_balance_fen = models.PositiveIntegerField(
        _("minimum balance (fen)"), default=0, help_text=_("Balance a driver needs to start charging.")
    )
    # E-bike settings the Wanzhuang charge modes carry; an EV template leaves them at their defaults.
    start_fee_fen = models.PositiveIntegerField(
        _("start fee (fen)"), default=0, help_text=_("E-bike: the least a billed session costs.")
    )
    max_pay_fen = models.PositiveIntegerField(
        _("maximum payment (fen)"), default=0, help_text=_("E-bike: the most a session costs; 0 for no cap.")
    )
    refundable = models.BooleanField(
        _("refundable"), default=True, help_text=_("E-bike: an unused prepayment is refunded.")
    )
    free_charging = models.BooleanField(
        _("free charging"), default=False, help_text=_("E-bike: every session is free.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # What operators edit; when is the record's own time.
    history = EditHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("tariff template")
        verbose_name_plural = _("tariff templates")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.external_id})"


class TariffDetail(models.Model):
    """One row of a template: a time-of-use period, or a power tier for e-bikes.

    A period covers [start_minute, end_minute) of the local day; the periods of a template tile the
    day. A tier covers peak powers up to `power_upper_w`. Prices are 0.0001 yuan per kWh for a period
    and per charge unit (`unit_seconds` of charging) for a tier. Positions follow time or power.
    """

    template = models.ForeignKey(
        TariffTemplate, on_delete=models.CASCADE, related_name="details", verbose_name=_("tariff template")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    start_minute = models.PositiveSmallIntegerField(
        _("period start (minute of day)"),
        null=True,
        blank=True,
        help_text=_("Minutes after midnight at which this period starts, 0–1439."),
    )
    end_minute = models.PositiveSmallIntegerField(
        _("period end (minute of day)"),
        null=True,
        blank=True,
        help_text=_("Minutes after midnight at which this period ends, 1–1440 (1440 = 24:00)."),
    )
    interval = models.CharField(_("interval"), max_length=8, choices=TimeInterval.choices, blank=True)
    power_upper_w = models.PositiveIntegerField(
        _("power tier upper bound (W)"), null=True, blank=True
    )
    unit_seconds = models.PositiveIntegerField(
        _("charge unit (s)"),
        null=True,
        blank=True,
        help_text=_("Power tier: the tier's prices are per this many seconds of charging (3600 = per hour)."),
    )
    electricity_price_e4 = models.PositiveIntegerField(
        _("electricity price (0.0001 yuan)"),
        help_text=_("Per kWh for a time-of-use period, per charge unit for a power tier."),
    )
    service_price_e4 = models.PositiveIntegerField(
        _("service price (0.0001 yuan)"),
        help_text=_("Per kWh for a time-of-use period, per charge unit for a power tier."),
    )

    # A row's position follows its time or power and is renumbered after every save of the template
    # (tariff_template_renumber): it is not an edit of its own.
    history = EditHistory(excluded_fields=["position"])

    class Meta:
        verbose_name = _("tariff detail")
        verbose_name_plural = _("tariff details")
        ordering = ["template_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="tariff_detail_unique_position"),
            # A row is either a time-of-use period (start, end and interval) or a power tier.
            models.CheckConstraint(
                condition=(
                    Q(
                        start_minute__isnull=False,
                        end_minute__isnull=False,
                        power_upper_w__isnull=True,
                        unit_seconds__isnull=True,
                    )
                    & ~Q(interval="")
                )
                | Q(
                    start_minute__isnull=True,
                    end_minute__isnull=True,
                    power_upper_w__isnull=False,
                    unit_seconds__isnull=False,
                    interval="",
                ),
                name="tariff_detail_period_xor_tier",
            ),
            models.CheckConstraint(
                condition=Q(end_minute__isnull=True) | Q(end_minute__gte=1, end_minute__lte=1440),
                name="tariff_detail_end_minute_range",
            ),
            models.CheckConstraint(
                condition=Q(start_minute__isnull=True) | Q(start_minute__lt=F("end_minute")),
                name="tariff_detail_start_before_end",
            ),
            models.CheckConstraint(
                condition=Q(unit_seconds__isnull=True) | Q(unit_seconds__gte=1),
                name="tariff_detail_unit_positive",
            ),
        ]

    def __str__(self):
        if self.is_period:
            start, end = format_minute_of_day(self.start_minute), format_minute_of_day(self.end_minute)
            return f"{start}–{end} {self.get_interval_display()}"
        return f"≤ {self.power_upper_w} W"

    @property
    def is_period(self) -> bool:
        """A time-of-use period rather than a power tier (a tier has an upper bound)."""
        return self.power_upper_w is None

    def as_period(self) -> Period:
        return Period(
            start_minute=self.start_minute,
            end_minute=self.end_minute,
            interval=self.interval,
            electricity_price_e4=self.electricity_price_e4,
            service_price_e4=self.service_price_e4,
        )

    def as_tier(self) -> PowerTier:
        return PowerTier(
            power_upper_w=self.power_upper_w,
            unit_seconds=self.unit_seconds,
            electricity_price_e4=self.electricity_price_e4,
            service_price_e4=self.service_price_e4,
        )


class TariffVersion(models.Model):
    """A published, immutable tariff: what orders are priced with and what vendors are sent.

    `content` is the complete tariff (`Tariff.to_content()`), so a version reproduces its prices
    forever whatever happens to the template afterwards. The version in force at an instant is the
    one with the latest `effective_from` not after it (the higher number on a tie).
    """

    template = models.ForeignKey(
        TariffTemplate, on_delete=models.PROTECT, related_name="versions", verbose_name=_("tariff template")
    )
    number = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=100, help_text=_("The template's name when published."))
    effective_from = models.DateTimeField(_("effective from"))
    content = models.JSONField(_("tariff"), editable=False)
    note = models.CharField(_("note"), max_length=255, blank=True, help_text=_("What changed and why."))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    # Kept beside the user, so history still says who published after the account is gone.
    published_by_name = models.CharField(_("publisher"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("tariff version")
        verbose_name_plural = _("tariff versions")
        ordering = ["template_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="tariff_version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="tariff_version_number_positive"),
        ]
        indexes = [models.Index(fields=["template", "-effective_from", "-number"], name="tariff_version_effective_idx")]

    def __str__(self):
        return f"{self.name} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("a published tariff version is immutable")
        super().save(*args, **kwargs)

    @property
    def tariff(self) -> Tariff:
        return Tariff.from_content(self.content)
