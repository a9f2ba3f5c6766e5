"""Files handed to accounting: who asked for which export when, its progress, and the file kept for download."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    ORDERS = "orders", _("Orders, one row each")
    SUMMARY = "summary", _("Daily summary by station, partner and vendor")


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (UTF-8, opens in Excel)")
    XLSX = "xlsx", _("Excel workbook (XLSX)")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Export(models.Model):
    """An export of business days [day_from, day_to], written by a task and kept for download."""

    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices, default=ExportKind.ORDERS)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices, default=ExportFormat.CSV)
    day_from = models.DateField(_("from business day"))
    day_to = models.DateField(_("to business day"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"))
    state = models.CharField(_("state"), max_length=16, choices=ExportState.choices, default=ExportState.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows to write"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True, max_length=255)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-requested_at", "-id"]
        permissions = [("export_orders", _("Can export orders and daily summaries"))]
        indexes = [models.Index(fields=["-requested_at", "-id"], name="export_requested_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.day_from}–{self.day_to}"
