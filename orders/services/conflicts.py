"""What contradicts itself about an order, recorded with the figures of each side for finance."""

from datetime import datetime

from orders.models import ConflictKind, Order, OrderConflict


def order_conflict_record(*, order: Order, kind: str, figures: dict, now: datetime) -> OrderConflict:
    return OrderConflict.objects.create(order=order, kind=kind, figures=figures, recorded_at=now)


def orders_readings_left_out_record(*, first_left_out: dict[int, dict], now: datetime) -> None:
    """One conflict per order whose readings contradict themselves, with the figures of the first one.

    Every reading left out is flagged on the curve; the order's conflict says that it has some, once.
    """
    if not first_left_out:
        return
    recorded = set(
        OrderConflict.objects.filter(order_id__in=first_left_out, kind=ConflictKind.READING_LEFT_OUT)
        .values_list("order_id", flat=True)
    )
    OrderConflict.objects.bulk_create(
        OrderConflict(order_id=pk, kind=ConflictKind.READING_LEFT_OUT, figures=figures, recorded_at=now)
        for pk, figures in first_left_out.items()
        if pk not in recorded
    )
