"""What 4pyun needs that is not ours to keep elsewhere: the device state it was last sent, and what it told us.

A charging record we send is an outbox delivery (`integrations.OutboundDelivery`, kind `fourpyun_record`), each
attempt with 4pyun's answer; nothing here repeats it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chargers.models import Charger
from orders.models import Order
from stations.models import Station


class DeviceSync(models.Model):
    """The state of a charger at a mapped station last written for 4pyun's device sync, as a fingerprint: the
    periodic sync writes a delivery only when a charger's state differs from it."""

    charger = models.OneToOneField(Charger, on_delete=models.CASCADE, related_name="fourpyun_sync",
                                   verbose_name=_("charger"))
    station_uuid = models.CharField(_("4pyun station UUID"), max_length=64)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    changed_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("4pyun device sync")
        verbose_name_plural = _("4pyun device syncs")
        ordering = ["charger_id"]

    def __str__(self):
        return str(self.charger)


class ReportKind(models.TextChoices):
    """The pushes 4pyun documents about a charging order (doc.4pyun.com/openapi/energy), by our URL name."""

    START_RESULT = "start-result", _("Start result")
    STOP_RESULT = "stop-result", _("Stop result")
    STATUS = "charging-status", _("Charging status")
    ORDER = "order-info", _("Order information")


class StatusReport(models.Model):
    """One of 4pyun's pushes about one of our orders, as applied: its state and, when it states them, its figures
    in house units (Wh, fen). The push itself stays in the inbox, byte for byte."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fourpyun_reports",
                              verbose_name=_("order"))
    kind = models.CharField(_("kind"), max_length=16, choices=ReportKind.choices)
    station_uuid = models.CharField(_("4pyun station UUID"), max_length=64)
    state = models.SmallIntegerField(_("4pyun state"))
    state_desc = models.CharField(_("4pyun state description"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    charge_seconds = models.PositiveIntegerField(_("charging time (s)"), null=True, blank=True)
    plate = models.CharField(_("licence plate"), max_length=16, blank=True)
    energy_wh = models.PositiveIntegerField(_("energy (Wh)"), null=True, blank=True)
    electricity_fee_fen = models.PositiveIntegerField(_("electricity fee (fen)"), null=True, blank=True)
    service_fee_fen = models.PositiveIntegerField(_("service fee (fen)"), null=True, blank=True)
    total_fee_fen = models.PositiveIntegerField(_("total (fen)"), null=True, blank=True)
    inbound_id = models.BigIntegerField(_("push"), help_text=_("The inbox row of the push."))
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("4pyun report")
        verbose_name_plural = _("4pyun reports")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["order", "-received_at"], name="fourpyun_report_order_idx"),
            # The admin's list, newest first, without sorting the table.
            models.Index(fields=["-received_at", "-id"], name="fourpyun_report_received_idx"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.kind} {self.state}"


class FourpyunStation(Station):
    """A station as 4pyun's admin pages list it: those with a 4pyun station UUID."""

    class Meta:
        proxy = True
        verbose_name = _("4pyun station")
        verbose_name_plural = _("4pyun stations")


class FourpyunOrder(Order):
    """An order as 4pyun's admin pages list it: those at mapped stations, with their records."""

    class Meta:
        proxy = True
        verbose_name = _("order at a 4pyun station")
        verbose_name_plural = _("orders at 4pyun stations")
        permissions = [("resend_record", _("Can send an order's record to 4pyun again and add its plate"))]
