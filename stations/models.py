from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.history import EditHistory
from tariffs.models import TariffTemplate, VehicleKind


class StationStatus(models.TextChoices):
    PLAN = "plan", _("Planned")
    BUILD = "build", _("Under construction")
    WORKING = "working", _("Operating")
    FAULT = "fault", _("Fault")
    MAINTAIN = "maintain", _("Under maintenance")
    DEACTIVATED = "deactivated", _("Deactivated")


class StationAccess(models.TextChoices):
    PUBLIC = "public", _("Public")
    PRIVATE = "private", _("Private")
    DEDICATED = "dedicated", _("Dedicated")


class Station(models.Model):
    code = models.CharField(_("station code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("vehicle kind"), max_length=8, choices=VehicleKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=StationStatus.choices, default=StationStatus.PLAN)
    access = models.CharField(_("access"), max_length=16, choices=StationAccess.choices, default=StationAccess.PUBLIC)
    city_code = models.CharField(
        _("city code"), max_length=6, help_text=_("Six-digit administrative division code, e.g. 440300.")
    )
    address = models.CharField(_("address"), max_length=255)
    longitude = models.DecimalField(_("longitude (GCJ-02)"), max_digits=10, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("latitude (GCJ-02)"), max_digits=10, decimal_places=6, null=True, blank=True)
    service_hours = models.CharField(_("service hours"), max_length=100, blank=True)
    guide = models.TextField(_("guide"), blank=True, help_text=_("How drivers find the station."))
    picture_url = models.URLField(_("picture URL"), max_length=500, blank=True)
    parking_fee = models.CharField(_("parking fee"), max_length=255, blank=True)
    service_phone = models.CharField(_("service phone"), max_length=32, blank=True)
    tariff_template = models.ForeignKey(
        TariffTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stations",
        verbose_name=_("tariff template"),
    )
    fourpyun_station_uuid = models.CharField(
        _("4pyun station UUID"), max_length=64, blank=True, help_text=_("station_uuid at the parking platform.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = EditHistory(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["fourpyun_station_uuid"],
                condition=~Q(fourpyun_station_uuid=""),
                name="station_unique_fourpyun_uuid",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="station_longitude_range",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="station_latitude_range",
            ),
        ]
        indexes = [models.Index(fields=["city_code", "status"], name="station_city_status_idx")]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def clean(self):
        if self.tariff_template_id and self.tariff_template.kind != self.kind:
            raise ValidationError(
                {
                    "tariff_template": _("This is a station for %(station)s; choose a tariff template for %(station)s.")
                    % {"station": self.get_kind_display()}
                }
            )
