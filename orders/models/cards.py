"""Charging cards: a prepaid card a driver swipes on a charger, its balance in fen, and every movement of it."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.history import EditHistory


class ChargingCard(models.Model):
    """An online card (the vendor asks us before a swipe starts a session); its balance pays the sessions."""

    number = models.CharField(
        _("card number"), max_length=32, unique=True, help_text=_("As the charger reads it from the card.")
    )
    holder = models.CharField(_("holder"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    balance_fen = models.PositiveIntegerField(
        _("balance (fen)"), default=0,
        help_text=_("Changed only by its movements: top-ups, adjustments and the sessions it paid."),
    )
    enabled = models.BooleanField(_("enabled"), default=True, help_text=_("A disabled card starts no session."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Its holder, mobile and whether it is enabled. The balance is left out: every change of it is a movement
    # (who, when, how much, why), and sessions paying it would otherwise write a record each.
    history = EditHistory(excluded_fields=["balance_fen", "updated_at"])

    class Meta:
        verbose_name = _("charging card")
        verbose_name_plural = _("charging cards")
        ordering = ["number"]
        permissions = [("adjust_balance", _("Can top up and adjust a card's balance"))]

    def __str__(self):
        return f"{self.number} {self.holder}".strip()


class CardMovementKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    ADJUSTMENT = "adjustment", _("Adjustment")
    SESSION = "session", _("Session paid")
    SESSION_CORRECTION = "session_correction", _("Session re-priced")


class CardMovement(models.Model):
    """One change of a card's balance, signed: what was added (positive) or taken (negative), and the balance
    after it. A session's payment is taken once (a unique constraint on its order); a later settlement of the
    same session that changes its price moves the difference as a correction."""

    card = models.ForeignKey(ChargingCard, on_delete=models.PROTECT, related_name="movements",
                             verbose_name=_("card"))
    kind = models.CharField(_("kind"), max_length=24, choices=CardMovementKind.choices)
    amount_fen = models.IntegerField(_("amount (fen)"), help_text=_("Positive adds to the balance."))
    balance_after_fen = models.PositiveIntegerField(_("balance after (fen)"))
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="card_movements", verbose_name=_("order"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    by_name = models.CharField(_("by"), max_length=150, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("card movement")
        verbose_name_plural = _("card movements")
        ordering = ["card_id", "-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(kind="session"), name="card_session_paid_once"),
            models.CheckConstraint(
                condition=Q(order__isnull=False) | ~Q(kind__in=["session", "session_correction"]),
                name="card_session_movement_has_order",
            ),
        ]
        indexes = [models.Index(fields=["card", "-at"], name="cardmovement_card_at_idx")]

    def __str__(self):
        return f"{self.card_id} {self.get_kind_display()} {self.amount_fen}"
