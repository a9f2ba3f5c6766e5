"""The end of a session: the vendor's closing figures, priced with our own tariff."""

from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderSettlement, OrderStatus, SettlementSource
from orders.selectors import order_price_breakdown
from orders.signals import order_settled

from ._shared import locked


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
    news goes out again with the final figures. Otherwise a settled order is returned unchanged, so a
    repeated or concurrent settlement of the same order settles it once (the row lock serialises them).
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = locked(order)
        if order.status == OrderStatus.SETTLED and not (
            order.settled_from == SettlementSource.PROGRESS and source == SettlementSource.VENDOR
        ):
            return order
        OrderSettlement.objects.create(
            order=order,
            source=source,
            recorded_at=now,
            **{**asdict(settlement), "close_reason_text": settlement.close_reason_text[:255]},
        )
        order.status = OrderStatus.SETTLED
        order.settled_from = source
        order.started_at = settlement.started_at
        order.ended_at = max(settlement.ended_at, settlement.started_at)
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
        breakdown = order_price_breakdown(order=order)
        if breakdown is not None:
            order.electricity_fee_fen = breakdown.electricity_fen
            order.service_fee_fen = breakdown.service_fen
            order.total_fee_fen = breakdown.total_fen
        order.save()
        order_settled.send(sender=Order, order=order)
        return order
