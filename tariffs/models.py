from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class VehicleKind(models.TextChoices):
    """What a station, charger or tariff serves. Lives here, the lowest domain app, so all can share it."""

    EV = "ev", _("Electric vehicle")
    EBIKE = "ebike", _("E-bike")


class TimeInterval(models.TextChoices):
    """Time-of-use price class of a period (尖峰平谷)."""

    CUSP = "cusp", _("Cusp")
    PEAK = "peak", _("Peak")
    PLAIN = "plain", _("Plain")
    VALLEY = "valley", _("Valley")


class TariffTemplate(models.Model):
    """A fee template as the vendors know it (Tomda §4.3.2 收费模板)."""

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
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("tariff template")
        verbose_name_plural = _("tariff templates")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.external_id})"


class TariffDetail(models.Model):
    """One row of a template: a time-of-use period for EVs, or a power tier for e-bikes.

    A period ends at `end_minute` minutes after midnight (1–1440) and starts where the previous row
    ends; a tier covers powers up to `power_upper_w`. Prices are 0.0001 yuan per kWh for periods and
    per hour for power tiers.
    """

    template = models.ForeignKey(
        TariffTemplate, on_delete=models.CASCADE, related_name="details", verbose_name=_("tariff template")
    )
    position = models.PositiveSmallIntegerField(_("position"))
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
    electricity_price_e4 = models.PositiveIntegerField(
        _("electricity price (0.0001 yuan)"),
        help_text=_("Per kWh for a time-of-use period, per hour for a power tier."),
    )
    service_price_e4 = models.PositiveIntegerField(
        _("service price (0.0001 yuan)"),
        help_text=_("Per kWh for a time-of-use period, per hour for a power tier."),
    )

    class Meta:
        verbose_name = _("tariff detail")
        verbose_name_plural = _("tariff details")
        ordering = ["template_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="tariff_detail_unique_position"),
            # A row is either a time-of-use period (end minute and interval) or a power tier.
            models.CheckConstraint(
                condition=(
                    Q(end_minute__isnull=False, power_upper_w__isnull=True) & ~Q(interval="")
                )
                | Q(end_minute__isnull=True, power_upper_w__isnull=False, interval=""),
                name="tariff_detail_period_xor_tier",
            ),
            models.CheckConstraint(
                condition=Q(end_minute__isnull=True) | Q(end_minute__gte=1, end_minute__lte=1440),
                name="tariff_detail_end_minute_range",
            ),
        ]

    def __str__(self):
        if self.end_minute is not None:
            hours, minutes = divmod(self.end_minute, 60)
            return f"#{self.position} → {hours:02d}:{minutes:02d} {self.get_interval_display()}"
        return f"#{self.position} ≤ {self.power_upper_w} W"
