"""A vendor's news of a running session: readings folded into the order and kept on its curve."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from orders.models import Order, OrderSample, OrderStatus
from orders.signals import order_progressed

from ._shared import STATUS_RANK


@dataclass(frozen=True)
class Progress:
    """A vendor's news of a running session, in house units."""

    at: datetime
    status: str  # OrderStatus value
    vendor_status: str
    energy_wh: int
    charge_seconds: int
    power_w: int = 0
    voltage_dv: int = 0
    current_da: int = 0
    cost_fen: int | None = None
    soc: int | None = None
    park_seconds: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    sample: bool = True  # a reading to keep on the curve (a push), or only a status answer (a query)


def order_progress_record(*, order: Order, progress: Progress, now: datetime | None = None) -> Order:
    """Keep a vendor's reading and move the order forward; late or repeated news never moves it back.

    Cumulative energy, time and cost are the vendor's figures as reported, kept at their highest.
    A reading of an order that has ended is still kept on its curve.
    """
    return orders_progress_record(readings=[(order.pk, progress)], now=now)[order.pk]


def orders_progress_record(
    *, readings: Sequence[tuple[int, Progress]], now: datetime | None = None
) -> dict[int, Order]:
    """Apply many readings (order id, progress) at once, in the order given, with the rules of one.

    Each order is locked and saved once and the samples are written in one insert, so a batch of pushes
    costs a few statements however many readings it holds; the result is the same as recording the
    readings one by one. Returns the orders by id.
    """
    now = now or timezone.now()
    ids = sorted({pk for pk, _progress in readings})
    newest_sample = OrderSample.objects.filter(order=OuterRef("pk")).order_by("-device_time")
    with transaction.atomic():
        # Locked in id order, so two batches touching the same orders wait for each other, never deadlock.
        orders = {
            order.pk: order
            for order in Order.objects.select_for_update()
            .filter(pk__in=ids)
            .annotate(newest_sample_at=Subquery(newest_sample.values("device_time")[:1]))
            .order_by("pk")
        }
        changed: dict[int, set[str]] = {}
        progressed: set[int] = set()  # orders whose session the news moved: not those already closed
        samples = []
        for pk, progress in readings:
            order = orders[pk]
            if order.status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED):
                progressed.add(pk)
            fields = _progress_fold(order, progress, now=now)
            changed.setdefault(pk, set()).update(fields)
            if progress.sample:
                samples.append(
                    OrderSample(
                        order=order,
                        device_time=progress.at,
                        voltage_dv=progress.voltage_dv,
                        current_da=progress.current_da,
                        power_w=progress.power_w,
                        energy_wh=progress.energy_wh,
                        cost_fen=progress.cost_fen,
                        soc=progress.soc,
                    )
                )
                if order.newest_sample_at is None or progress.at > order.newest_sample_at:
                    order.newest_sample_at = progress.at
        OrderSample.objects.bulk_create(samples)
        by_fields: dict[tuple[str, ...], list[Order]] = {}
        for pk, fields in changed.items():
            by_fields.setdefault(tuple(sorted(fields)), []).append(orders[pk])
        for fields, group in by_fields.items():
            _orders_update(group, fields)
        for pk in sorted(progressed):
            order_progressed.send(sender=Order, order=orders[pk])
    return orders


def _orders_update(orders: list[Order], fields: tuple[str, ...]) -> None:
    """Save `fields` of each order: one UPDATE statement sent for all of them (`executemany`).

    Django's `bulk_update` builds a CASE expression per field and order, which costs more than the
    rest of a batch together; the same statement with each order's values costs almost nothing.
    """
    model_fields = [Order._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in model_fields)
    sql = f"UPDATE {quote(Order._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(order, field.attname), connection) for field in model_fields] + [order.pk]
        for order in orders
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _progress_fold(order: Order, progress: Progress, *, now: datetime) -> set[str]:
    """Fold one reading into a locked order held in memory; returns the fields it changed.

    `order.newest_sample_at` is the device time of its newest sample so far: SOC and the vendor's status
    follow the newest reading only, while cumulative figures keep their highest value and the status
    only moves up its rank.
    """
    fields = {"last_data_at", "updated_at"}
    order.last_data_at = order.updated_at = now
    if order.status in (OrderStatus.SETTLED, OrderStatus.CANCELLED):
        return fields
    is_latest = order.newest_sample_at is None or progress.at >= order.newest_sample_at
    if STATUS_RANK.get(progress.status, 0) > STATUS_RANK[order.status] or (
        order.status == OrderStatus.START_FAILED and progress.status == OrderStatus.CHARGING
    ):
        # A session we believed failed to start but that charges is charging: money follows energy.
        order.status = progress.status
        fields.add("status")
    if is_latest and progress.vendor_status:
        order.vendor_status = progress.vendor_status
        fields.add("vendor_status")
    if progress.energy_wh > order.energy_wh:
        order.energy_wh = progress.energy_wh
        fields.add("energy_wh")
    if progress.charge_seconds > order.charge_seconds:
        order.charge_seconds = progress.charge_seconds
        fields.add("charge_seconds")
    if progress.park_seconds is not None and progress.park_seconds > order.park_seconds:
        order.park_seconds = progress.park_seconds
        fields.add("park_seconds")
    if progress.cost_fen is not None and progress.cost_fen > (order.vendor_total_fen or 0):
        order.vendor_total_fen = progress.cost_fen
        fields.add("vendor_total_fen")
    if is_latest and progress.soc is not None:
        order.soc = progress.soc
        fields.add("soc")
    if progress.started_at and order.started_at != progress.started_at and order.status != OrderStatus.BOOKED:
        order.started_at = progress.started_at
        fields.add("started_at")
    if order.started_at is None and order.status == OrderStatus.CHARGING:
        order.started_at = progress.at - timedelta(seconds=progress.charge_seconds)
        fields.add("started_at")
    return fields
