"""The daily close: each counterparty's statement of a business day, its differences, and the day's lock.

A business day (00:00–24:00 Asia/Shanghai) holds the orders created in it, so an order never moves
from one day to another. Each registered statement source (`orders.reconciliation.sources`) gets one
`Statement` per day; its lines are the differences found, each resolved by finance with every action
kept. A closed `BusinessDay` locks its orders and statements: services refuse, and on PostgreSQL a
trigger refuses any write to them (migration 0011).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .sessions import Order


class BusinessDay(models.Model):
    """A business day that finance has closed (or closed and reopened). A day without a row is open."""

    day = models.DateField(_("business day"), unique=True)
    closed = models.BooleanField(_("closed"), default=False, db_default=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        verbose_name = _("business day")
        verbose_name_plural = _("business days")
        ordering = ["-day"]
        permissions = [
            ("close_day", _("Can close a business day")),
            ("reopen_day", _("Can reopen a closed business day")),
        ]

    def __str__(self):
        return self.day.isoformat()


class DayAction(models.TextChoices):
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


class DayEvent(models.Model):
    """Every close and reopening of a day: who, when and (for a reopening) why."""

    day = models.ForeignKey(BusinessDay, on_delete=models.PROTECT, related_name="events",
                            verbose_name=_("business day"))
    action = models.CharField(_("action"), max_length=16, choices=DayAction.choices)
    reason = models.TextField(_("reason"), blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("close or reopening")
        verbose_name_plural = _("closes and reopenings")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.day} {self.get_action_display()}"


class StatementCategory(models.TextChoices):
    """What kind of difference a statement line is."""

    MISSING_OURS = "missing_ours", _("Missing on our side")
    MISSING_THEIRS = "missing_theirs", _("Missing on their side")
    ENERGY = "energy", _("Energy differs")
    AMOUNT = "amount", _("Amount differs")
    DUPLICATE = "duplicate", _("Duplicate")
    STATUS = "status", _("Status differs")
    PRICE = "price", _("Our price differs from the vendor's bill")
    # The conflicts recorded on an order (orders.models.ConflictKind), under the same values.
    READING_LEFT_OUT = "reading_left_out", _("Readings left out of pricing")
    SETTLEMENT_DIFFERS = "settlement_differs", _("A second settlement differs from the first")
    SETTLEMENT_TIMES = "settlement_times", _("The settlement does not end after it starts")
    NOT_PRICED = "not_priced", _("Our price could not be computed")
    CARD_SHORT = "card_short", _("The charging card could not pay the session")


class Statement(models.Model):
    """One counterparty's figures for one business day beside ours, as last built."""

    counterparty = models.CharField(_("counterparty"), max_length=16)
    day = models.DateField(_("business day"))
    built_at = models.DateTimeField(_("built at"))
    repaired = models.PositiveIntegerField(
        _("orders repaired"), default=0, help_text=_("Orders brought up to date by asking the counterparty before "
                                                     "the last comparison.")
    )
    our_orders = models.PositiveIntegerField(_("our orders"), default=0)
    our_energy_wh = models.BigIntegerField(_("our energy (Wh)"), default=0)
    our_amount_fen = models.BigIntegerField(_("our amount (fen)"), default=0)
    their_orders = models.PositiveIntegerField(_("their orders"), default=0)
    their_energy_wh = models.BigIntegerField(_("their energy (Wh)"), default=0)
    their_amount_fen = models.BigIntegerField(_("their amount (fen)"), default=0)
    summary = models.JSONField(
        _("summary"), default=dict, blank=True,
        help_text=_("What else the counterparty reported for the day, outside our orders (a device's own coin "
                    "and card revenue): {title, columns, rows, totals}, shown with the statement."),
    )

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-day", "counterparty"]
        constraints = [
            models.UniqueConstraint(fields=["counterparty", "day"], name="statement_unique_counterparty_day"),
        ]
        indexes = [models.Index(fields=["day"], name="statement_day_idx")]

    def __str__(self):
        return f"{self.counterparty} {self.day.isoformat()}"


class LineState(models.TextChoices):
    OPEN = "open", _("Open")
    SENT_BACK = "sent_back", _("Sent back to operations")
    ACCEPTED = "accepted", _("Accepted")
    CORRECTED = "corrected", _("Corrected")
    GONE = "gone", _("No longer differs")


# Lines in these keep a day from closing.
UNRESOLVED_STATES = [LineState.OPEN, LineState.SENT_BACK]


class StatementLine(models.Model):
    """One difference between our figures and a counterparty's for an order (or for a record of theirs)."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines",
                                  verbose_name=_("statement"))
    category = models.CharField(_("category"), max_length=24, choices=StatementCategory.choices)
    # What the line is about: our order number, or the counterparty's reference when it names no order of
    # ours; a conflict's line adds the conflict's id. Rebuilding the statement finds the line again by it.
    key = models.CharField(_("key"), max_length=100)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="statement_lines",
                              verbose_name=_("order"))
    reference = models.CharField(_("their reference"), max_length=100, blank=True)
    ours = models.JSONField(_("our figures"), default=dict, blank=True)
    theirs = models.JSONField(_("their figures"), default=dict, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=LineState.choices, default=LineState.OPEN)
    found_at = models.DateTimeField(_("found at"))

    class Meta:
        verbose_name = _("difference")
        verbose_name_plural = _("differences")
        ordering = ["statement_id", "category", "key"]
        permissions = [("resolve_statementline", _("Can accept, correct or send back a difference"))]
        constraints = [
            models.UniqueConstraint(fields=["statement", "category", "key"], name="statementline_unique_key"),
        ]
        indexes = [
            models.Index(fields=["order"], name="statementline_order_idx"),
            models.Index(fields=["state", "statement"], name="statementline_state_idx"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} {self.key}"


class LineActionKind(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    CORRECTED = "corrected", _("Corrected")
    SENT_BACK = "sent_back", _("Sent back to operations")
    REOPENED = "reopened", _("Reopened: the figures changed")
    GONE = "gone", _("No longer differs: the figures now agree")


class LineAction(models.Model):
    """What someone did about a difference: who, when, with what comment and (a correction) which values."""

    line = models.ForeignKey(StatementLine, on_delete=models.CASCADE, related_name="actions",
                             verbose_name=_("difference"))
    action = models.CharField(_("action"), max_length=16, choices=LineActionKind.choices)
    comment = models.TextField(_("comment"), blank=True)
    values = models.JSONField(_("values"), default=dict, blank=True,
                              help_text=_("A correction's values before and after."))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("action on a difference")
        verbose_name_plural = _("actions on differences")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(action="corrected") | ~Q(comment=""),
                                   name="lineaction_correction_commented"),
        ]

    def __str__(self):
        return f"{self.line_id} {self.get_action_display()}"
