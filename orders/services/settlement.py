"""The end of a session: the vendor's closing figures, priced with our own tariff."""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from orders.models import ConflictKind, Order, OrderSettlement, OrderStatus, SettlementSource
from orders.selectors import order_price_breakdown
from orders.signals import order_settled

from ._shared import locked
from .cards import card_session_settle
from .conflicts import order_conflict_record


@dataclass(frozen=True)
class Settlement:
    """The vendor's closing word on a session."""

    started_at: datetime
    ended_at: datetime
    energy_wh: int
    charge_seconds: int
    vendor_total_fen: int | None
    close_reason: str
    vendor_close_code: str
    close_reason_text: str
    vendor_status: str = ""


def order_settle(
    *, order: Order, settlement: Settlement, source: str = SettlementSource.VENDOR, now: datetime | None = None
) -> Order:
    """End a session with the vendor's energy, time and bill, and price it with our own tariff.

    Only the vendor's settlement is final. An order the stuck-session check had to close from a progress
    answer (`source` PROGRESS) is completed by the vendor's settlement when it comes at last: its close
    type, bill and times replace the answer's, both are kept as the order's settlements, and the settled
    news goes out again with the final figures. Otherwise a settled order keeps its settlement: the same
    one again changes nothing (the row lock serialises concurrent copies), and a different one is kept
    beside it, not applied, with a conflict for finance.

    Settlement always completes on the vendor's figures. What contradicts itself is recorded as the
    order's conflict: a settlement that does not end after it starts (the order ends at its start), and a
    session our pricing engine refuses (the order keeps no price of ours).
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = locked(order)
        if order.status == OrderStatus.SETTLED and not (
            order.settled_from == SettlementSource.PROGRESS and source == SettlementSource.VENDOR
        ):
            if source == SettlementSource.VENDOR:
                _settlement_compare(order, settlement, now=now)
            return order
        _settlement_keep(order, settlement, source=source, now=now)
        order.status = OrderStatus.SETTLED
        order.settled_from = source
        order.started_at = settlement.started_at
        order.ended_at = max(settlement.ended_at, settlement.started_at)
        if settlement.ended_at < settlement.started_at or (
            settlement.ended_at == settlement.started_at and settlement.energy_wh > 0
        ):
            order_conflict_record(order=order, kind=ConflictKind.SETTLEMENT_TIMES, now=now, figures={
                "started_at": settlement.started_at.isoformat(), "ended_at": settlement.ended_at.isoformat(),
            })
        order.energy_wh = settlement.energy_wh
        order.charge_seconds = settlement.charge_seconds
        order.park_seconds = max(order.park_seconds, int((order.ended_at - order.started_at).total_seconds()))
        order.vendor_total_fen = settlement.vendor_total_fen
        order.close_reason = settlement.close_reason
        order.vendor_close_code = settlement.vendor_close_code
        order.close_reason_text = settlement.close_reason_text[:255]
        if settlement.vendor_status:
            order.vendor_status = settlement.vendor_status
        order.last_data_at = now
        try:
            breakdown = order_price_breakdown(order=order)
        except ValueError as error:
            breakdown = None
            order_conflict_record(order=order, kind=ConflictKind.NOT_PRICED, now=now, figures={
                "error": str(error), "max_hours": getattr(error, "max_hours", None),
            })
        order.price_lines = None if breakdown is None else breakdown.to_content()
        order.price_periods = None if breakdown is None else breakdown.period_totals()
        order.electricity_fee_fen = breakdown.electricity_fen if breakdown else 0
        order.service_fee_fen = breakdown.service_fen if breakdown else 0
        order.total_fee_fen = breakdown.total_fen if breakdown else 0
        order.save()
        card_session_settle(order=order, now=now)
        order_settled.send(sender=Order, order=order)
        return order


def _settlement_keep(order: Order, settlement: Settlement, *, source: str, now: datetime,
                     applied: bool = True) -> OrderSettlement:
    """Keep a closing word on the order as it arrived."""
    return OrderSettlement.objects.create(
        order=order, source=source, recorded_at=now, applied=applied,
        **{**asdict(settlement), "close_reason_text": settlement.close_reason_text[:255]},
    )


# What tells two settlements of one session apart.
_FIGURES = ("started_at", "ended_at", "energy_wh", "charge_seconds", "vendor_total_fen", "vendor_close_code")


def _settlement_figures(settlement) -> dict:
    """The figures of a settlement (or of a kept one) as JSON, times as instants in UTC."""
    figures = {name: getattr(settlement, name) for name in _FIGURES}
    return {name: value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
            for name, value in figures.items()}


def _settlement_compare(order: Order, settlement: Settlement, *, now: datetime) -> None:
    """A vendor's settlement of an order it settled already: kept with a conflict when its figures differ.

    The same figures again (a resend) change nothing, and so does a different one already kept. An
    order settled before settlements were kept is compared with its own figures.
    """
    other = _settlement_figures(settlement)
    rows = list(order.settlements.filter(source=SettlementSource.VENDOR))
    # An order settled before its settlements were kept stands for its own settlement.
    kept = [_settlement_figures(row) for row in rows] or [_settlement_figures(order)]
    if other in kept:
        return
    applied = next((row for row in reversed(rows) if row.applied), None) or order
    _settlement_keep(order, settlement, source=SettlementSource.VENDOR, now=now, applied=False)
    order_conflict_record(order=order, kind=ConflictKind.SETTLEMENT_DIFFERS, now=now, figures={
        "applied": _settlement_figures(applied), "other": other,
    })
