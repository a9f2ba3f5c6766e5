"""Charging cards: what a swipe may spend, the balance's movements, and a session paid exactly once."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import (
    TERMINAL_STATUSES,
    CardMovement,
    CardMovementKind,
    ChargingCard,
    ConflictKind,
    Order,
    OrderConflict,
    OrderStatus,
)
from tariffs.units import format_fen

from .conflicts import order_conflict_record

# A top-up or an adjustment larger than this is a typing error, not a payment.
CARD_MOVEMENT_MAX_FEN = 1_000_000


def card_held_fen(*, card: ChargingCard) -> int:
    """What the card's live sessions may still spend: their authorised amounts, held until each is paid."""
    held = (Order.objects.filter(card=card).exclude(status__in=TERMINAL_STATUSES)
            .aggregate(total=Sum("authorized_amount_fen"))["total"])
    return held or 0


def card_refusal(*, card: ChargingCard | None, number: str, amount_fen: int = 0) -> str | None:
    """Why a swipe of card `number` asking `amount_fen` (0: what the balance allows) cannot start a session,
    in the operator's and the driver's words; None when it can (as far as the figures outside a lock tell)."""
    if card is None:
        return _("Card %(card)s is not one of ours.") % {"card": number}
    if not card.enabled:
        return _("Card %(card)s is disabled.") % {"card": number}
    available = card.balance_fen - card_held_fen(card=card)
    if available <= 0:
        return _("Card %(card)s has no balance left (%(balance)s yuan, %(held)s yuan held by live sessions).") % {
            "card": number, "balance": format_fen(card.balance_fen), "held": format_fen(card.balance_fen - available)}
    if amount_fen > available:
        return _("Card %(card)s can pay %(available)s yuan; the swipe asks for %(amount)s yuan.") % {
            "card": number, "available": format_fen(available), "amount": format_fen(amount_fen)}
    return None


def card_authorize(*, card: ChargingCard, amount_fen: int, cap_fen: int = 0) -> int:
    """The amount a session started with the card may spend, with the card's row locked (in the caller's
    transaction, which creates the order, so that two swipes at once cannot both spend one balance).

    `amount_fen` 0 authorises everything the card has that no live session holds, up to `cap_fen` (the most
    a session costs by its tariff; 0: no cap)."""
    card = ChargingCard.objects.select_for_update().get(pk=card.pk)
    refusal = card_refusal(card=card, number=card.number, amount_fen=amount_fen)
    if refusal:
        raise ValidationError(refusal, code="card_refused")
    if amount_fen:
        return amount_fen
    available = card.balance_fen - card_held_fen(card=card)
    return min(available, cap_fen) if cap_fen else available


def _move(card: ChargingCard, *, kind: str, amount_fen: int, now: datetime, order: Order | None = None,
          note: str = "", by_name: str = "") -> CardMovement:
    """Change the locked card's balance by `amount_fen` and keep the movement."""
    card.balance_fen += amount_fen
    card.save(update_fields=["balance_fen", "updated_at"])
    return CardMovement.objects.create(card=card, kind=kind, amount_fen=amount_fen, balance_after_fen=card.balance_fen,
                                       order=order, note=note[:255], by_name=by_name[:150], at=now)


def card_balance_change(*, card: ChargingCard, amount_fen: int, kind: str, note: str, by_name: str,
                        now: datetime | None = None) -> CardMovement:
    """Top up (positive) or adjust (either sign) a card's balance by an operator's word, with a note."""
    if kind not in (CardMovementKind.TOP_UP, CardMovementKind.ADJUSTMENT):
        raise ValidationError(_("Only top-ups and adjustments are made by hand."), code="invalid")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen == 0 \
            or abs(amount_fen) > CARD_MOVEMENT_MAX_FEN:
        raise ValidationError(_("The amount must be a whole number of fen other than 0, at most %(max)s yuan.")
                              % {"max": format_fen(CARD_MOVEMENT_MAX_FEN)}, code="invalid")
    if kind == CardMovementKind.TOP_UP and amount_fen < 0:
        raise ValidationError(_("A top-up adds to the balance; take money off with an adjustment."), code="invalid")
    if not note.strip():
        raise ValidationError(_("Say why, in the note."), code="invalid")
    with transaction.atomic():
        card = ChargingCard.objects.select_for_update().get(pk=card.pk)
        held = card_held_fen(card=card)
        # Money is never kept off a card: only taking some may not reach what live sessions hold (a balance
        # below it already, after a session the card could not pay in full, still takes a top-up).
        if amount_fen < 0 and card.balance_fen + amount_fen < held:
            raise ValidationError(
                _("The balance is %(balance)s yuan, of which live sessions hold %(held)s yuan: it cannot go below "
                  "what they hold.") % {"balance": format_fen(card.balance_fen), "held": format_fen(held)},
                code="invalid")
        return _move(card, kind=kind, amount_fen=amount_fen, now=now or timezone.now(), note=note, by_name=by_name)


def card_session_due_fen(order: Order, *, corrected: bool = False) -> int:
    """What a settled session costs its card: our price (the vendor's bill when we could not price it and
    finance has not `corrected` it), never more than the amount the swipe authorised."""
    ours = order.price_lines is not None or corrected
    due = order.total_fee_fen if ours else (order.vendor_total_fen or 0)
    if order.authorized_amount_fen is not None:
        due = min(due, order.authorized_amount_fen)
    return due


def card_session_settle(*, order: Order, now: datetime, corrected: bool = False) -> CardMovement | None:
    """Take a settled session's cost from its card, once; called with the order's row locked.

    The first settlement takes the session's payment (unique per order: a second one cannot be written).
    A later one that changes the price (the vendor's settlement completing a progress answer, finance's
    correction, which passes `corrected`) moves only the difference. Nothing moves when the figures are the
    same.
    """
    if order.card_id is None or order.status != OrderStatus.SETTLED:
        return None
    card = ChargingCard.objects.select_for_update().get(pk=order.card_id)
    taken = -(CardMovement.objects.filter(order=order).aggregate(total=Sum("amount_fen"))["total"] or 0)
    paid_before = CardMovement.objects.filter(order=order, kind=CardMovementKind.SESSION).exists()
    due = card_session_due_fen(order, corrected=corrected)
    if paid_before and due == taken:
        return None
    if paid_before and OrderConflict.objects.filter(order=order, kind=ConflictKind.CARD_SHORT,
                                                    figures__due_fen=due).exists():
        return None  # this price was settled already, short: the conflict waits for finance
    # The hold of an authorised amount keeps the balance above any session's cost; should more be due than is
    # left (a re-pricing, a session settled after its start was given up), the card gives what it has, the
    # movement says so, and the order has a conflict for finance with both figures.
    change = max(taken - due, -card.balance_fen)
    note = ""
    if change != taken - due:
        short = due - taken + change
        note = _("%(short)s yuan could not be taken: the balance was too low.") % {"short": format_fen(short)}
        order_conflict_record(order=order, kind=ConflictKind.CARD_SHORT, now=now, figures={
            "card": card.number, "due_fen": due, "paid_before_fen": taken, "taken_fen": -change, "short_fen": short,
        })
    return _move(card, kind=CardMovementKind.SESSION_CORRECTION if paid_before else CardMovementKind.SESSION,
                 amount_fen=change, now=now, order=order, note=note)
