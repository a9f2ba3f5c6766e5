"""What crosses the border with vendors and partners: every outbound call, every push, every delivery."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.days import business_day_of
from chargers.models import Vendor

# Who is on the other side of a call, push or delivery: every vendor cloud that runs our chargers
# (`chargers.models.Vendor`, whose codes the adapter registry uses), then the platforms that run none.
Counterparty = models.TextChoices(
    "Counterparty",
    [(vendor.name, (vendor.value, vendor.label)) for vendor in Vendor]
    + [("FOURPYUN", ("fourpyun", _("4pyun"))), ("PARTNER", ("partner", _("Partner platform")))],
)


class CallOutcome(models.TextChoices):
    OK = "ok", _("Succeeded")
    VENDOR_ERROR = "vendor_error", _("Refused by the vendor")
    HTTP_ERROR = "http_error", _("HTTP error")
    TIMEOUT = "timeout", _("Timed out")
    TRANSPORT_ERROR = "transport_error", _("Connection failed")
    BAD_RESPONSE = "bad_response", _("Unreadable answer")


class ApiCallLog(models.Model):
    """One outbound HTTP call to a vendor or partner, with secrets redacted."""

    vendor = models.CharField(_("counterparty"), max_length=16, choices=Counterparty.choices)
    operation = models.CharField(_("operation"), max_length=64, help_text=_("The client's name for the call."))
    method = models.CharField(_("method"), max_length=8)
    url = models.CharField(_("URL"), max_length=500, help_text=_("Without the query string."))
    request_body = models.TextField(_("request"), blank=True, help_text=_("Parameters or body, secrets redacted."))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=CallOutcome.choices)
    vendor_code = models.CharField(_("vendor code"), max_length=32, blank=True)
    vendor_message = models.CharField(_("vendor message"), max_length=255, blank=True)
    response_body = models.TextField(_("response"), blank=True, help_text=_("The first 4000 characters."))
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    charger_serial = models.CharField(_("charger serial"), max_length=64, blank=True)
    order_no = models.CharField(_("order number"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("called at"), default=timezone.now)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="apicall_created_idx"),
            models.Index(fields=["vendor", "-created_at"], name="apicall_vendor_created_idx"),
            models.Index(fields=["outcome", "-created_at"], name="apicall_outcome_created_idx"),
            models.Index(fields=["charger_serial"], name="apicall_serial_idx"),
            models.Index(fields=["order_no"], name="apicall_order_idx"),
        ]

    def __str__(self):
        return f"{self.get_vendor_display()} {self.operation}"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    DUPLICATE = "duplicate", _("Duplicate")


class RejectReason(models.TextChoices):
    """Why a push was refused, for the on-call filter; the message in `error` says it in full."""

    MALFORMED = "malformed", _("Malformed body")
    UNKNOWN_KIND = "unknown_kind", _("Unknown push type")
    VERIFICATION = "verification", _("Verification failed")
    SENDER = "sender", _("Sender not allowed")
    UNKNOWN_CHARGER = "unknown_charger", _("Unknown charger")
    UNKNOWN_CONNECTOR = "unknown_connector", _("Unknown connector")
    UNKNOWN_ORDER = "unknown_order", _("Unknown order")
    UNKNOWN_TEMPLATE = "unknown_template", _("Unknown tariff template")
    INVALID = "invalid", _("Refused by a business rule")


class Verification(models.TextChoices):
    UNCHECKED = "unchecked", _("Not checked")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class InboundMessage(models.Model):
    """A push from a vendor or partner, stored raw before it is acknowledged.

    News waits as received until the inbox worker applies it; questions are stored with the answer
    they got. The first message with a dedupe key holds it; a later one with the same key is stored
    as a duplicate of it (`duplicate_of`) and changes nothing. A failed row is applied again by the
    retry task or a person's replay from the admin.
    """

    vendor = models.CharField(_("counterparty"), max_length=16, choices=Counterparty.choices)
    kind = models.CharField(_("kind"), max_length=64, blank=True, help_text=_("The push type, as the sender names it."))
    content_type = models.CharField(_("content type"), max_length=128, blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    body = models.TextField(_("body"), blank=True)
    remote_addr = models.CharField(_("sender address"), max_length=64, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=128, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
        # On PostgreSQL the table is partitioned by day, and a partitioned table's id alone is not unique
        # there, so nothing can refer to it by a constraint; a dropped day leaves later copies pointing nowhere.
        db_constraint=False,
    )
    verification = models.CharField(
        _("verification"), max_length=16, choices=Verification.choices, default=Verification.UNCHECKED
    )
    status = models.CharField(_("status"), max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    reject_reason = models.CharField(
        _("reason for refusal"), max_length=24, choices=RejectReason.choices, blank=True
    )
    error = models.TextField(_("error"), blank=True)
    reply = models.JSONField(_("reply"), null=True, blank=True, help_text=_("What we answered."))
    charger_serial = models.CharField(_("charger serial"), max_length=64, blank=True)
    order_no = models.CharField(_("order number"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    # The business day of `received_at`: the table's partitions on PostgreSQL, and part of the dedupe key's
    # uniqueness, which a partitioned table can only enforce within a partition (`inbound_dedupe_holder`).
    received_day = models.DateField(_("day received"), editable=False)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "dedupe_key", "received_day"],
                condition=Q(duplicate_of__isnull=True) & ~Q(dedupe_key=""),
                name="inbound_unique_dedupe_key_day",
            ),
        ]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="inbound_received_idx"),
            models.Index(fields=["vendor", "kind", "-received_at"], name="inbound_vendor_kind_idx"),
            models.Index(fields=["status", "-received_at"], name="inbound_status_idx"),
            # The worker's queue and the admin's backlog: stored pushes waiting to be applied, oldest first.
            models.Index(
                fields=["received_at", "id"], condition=Q(status="received"), name="inbound_waiting_idx"
            ),
            models.Index(fields=["reject_reason", "-received_at"], name="inbound_reject_reason_idx"),
            models.Index(fields=["charger_serial"], name="inbound_serial_idx"),
            models.Index(fields=["order_no"], name="inbound_order_idx"),
        ]

    def __str__(self):
        return f"{self.get_vendor_display()} {self.kind or '?'} #{self.pk}"

    def save(self, *args, **kwargs):
        self.received_day = business_day_of(self.received_at)
        super().save(*args, **kwargs)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Given up")


class OutboundDelivery(models.Model):
    """A notification we owe someone, written in the transaction of the change it reports.

    A task delivers it; a failure is retried with exponential backoff and jitter until the horizon
    (about three days), then the row is dead-lettered and waits for a person's retry in the admin.
    `key` is the stable id receivers use to dedupe.
    """

    vendor = models.CharField(_("counterparty"), max_length=16, choices=Counterparty.choices)
    kind = models.CharField(_("kind"), max_length=64, help_text=_("The name of the handler that sends it."))
    key = models.CharField(_("delivery id"), max_length=128, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    charger_serial = models.CharField(_("charger serial"), max_length=64, blank=True)
    order_no = models.CharField(_("order number"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound delivery")
        verbose_name_plural = _("outbound deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="delivery_created_idx"),
            # The sweeper's question: which waiting rows are due.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["vendor", "kind", "-created_at"], name="delivery_vendor_kind_idx"),
            models.Index(fields=["charger_serial"], name="delivery_serial_idx"),
            models.Index(fields=["order_no"], name="delivery_order_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"


class DeliveryAttempt(models.Model):
    """One attempt to send a delivery: when, how long, what the receiver answered, or why it failed.

    It is written in the transaction that records the delivery's new state. `number` is the
    delivery's attempt count at the time; a worker that died mid-attempt leaves its number out.
    """

    delivery = models.ForeignKey(
        OutboundDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_rows",
        verbose_name=_("delivery"),
        # The index on (delivery, number) below serves every lookup by delivery.
        db_index=False,
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    succeeded = models.BooleanField(_("succeeded"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_head = models.CharField(
        _("response"), max_length=1000, blank=True, help_text=_("The first 1000 characters.")
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-number", "-id"]
        indexes = [models.Index(fields=["delivery", "number"], name="delivery_attempt_number_idx")]

    def __str__(self):
        return f"#{self.number}"


class VendorToken(models.Model):
    """An access token a vendor issued us, shared by every process that calls it."""

    vendor = models.CharField(_("counterparty"), max_length=16, choices=Counterparty.choices, unique=True)
    token = models.CharField(_("token"), max_length=512)
    expires_at = models.DateTimeField(_("expires at"))
    obtained_at = models.DateTimeField(_("obtained at"), default=timezone.now)

    class Meta:
        verbose_name = _("vendor token")
        verbose_name_plural = _("vendor tokens")

    def __str__(self):
        return f"{self.get_vendor_display()} token"


# What every partner interface shares (access, tokens, failed logins, reconciliation answers): models of this app,
# kept beside the partner code that uses them.
from integrations.partnerkit.models import (  # noqa: E402, F401
    AuthFailureReason,
    PartnerAccess,
    PartnerAuthFailure,
    PartnerCheck,
    PartnerProtocol,
    PartnerToken,
)
