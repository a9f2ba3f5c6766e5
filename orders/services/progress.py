"""A vendor's news of a running session: readings folded into the order and kept on its curve."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from orders.models import Order, OrderSample, OrderStatus, SampleExclusion, SettlementSource
from orders.selectors import order_samples, order_samples_of
from orders.signals import order_progressed

from ._shared import STATUS_RANK, orders_refuse_closed, with_day_closed
from .conflicts import orders_readings_left_out_record

# More power than any charger gives (2 MW): energy gained faster than this between two readings is a spike.
SESSION_POWER_MAX_W = 2_000_000
# The most energy and money one session can carry: 2 MWh, 100,000 yuan.
SESSION_ENERGY_MAX_WH = 2_000_000
SESSION_AMOUNT_MAX_FEN = 10_000_000


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
    readings one by one. A reading that contradicts the ones before it (`_left_out`) is kept on the curve,
    flagged and left out of pricing, and the order gets a conflict for finance. Returns the orders by id.
    """
    now = now or timezone.now()
    ids = sorted({pk for pk, _progress in readings})
    newest_sample = (order_samples_of(OuterRef("pk"), created_at=OuterRef("created_at"))
                     .filter(left_out="").order_by("-device_time", "-id"))
    with transaction.atomic():
        # Locked in id order, so two batches touching the same orders wait for each other, never deadlock.
        orders = {
            order.pk: order
            for order in with_day_closed(Order.objects.select_for_update())
            .filter(pk__in=ids)
            .annotate(newest_sample_at=Subquery(newest_sample.values("device_time")[:1]),
                      newest_sample_wh=Subquery(newest_sample.values("energy_wh")[:1]))
            .order_by("pk")
        }
        orders_refuse_closed(orders=orders.values())
        changed: dict[int, set[str]] = {}
        progressed: set[int] = set()  # orders whose session the news moved: not those already closed
        samples = []
        pending: dict[int, list[tuple[datetime, int]]] = {}  # priced readings of this batch, not yet stored
        first_left_out: dict[int, dict] = {}
        for pk, progress in readings:
            order = orders[pk]
            if order.status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED):
                progressed.add(pk)
            left_out, against = _left_out(order, progress, pending.get(pk, ())) if progress.sample else ("", None)
            fields = _progress_fold(order, progress, now=now, priced=not left_out)
            changed.setdefault(pk, set()).update(fields)
            if not progress.sample:
                continue
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
                    left_out=left_out,
                )
            )
            if not left_out:
                pending.setdefault(pk, []).append((progress.at, progress.energy_wh))
                if order.newest_sample_at is None or progress.at > order.newest_sample_at:
                    order.newest_sample_at, order.newest_sample_wh = progress.at, progress.energy_wh
            elif against is not None and pk not in first_left_out:
                first_left_out[pk] = {
                    "at": progress.at.astimezone(UTC).isoformat(), "energy_wh": progress.energy_wh,
                    "reason": left_out, "against_at": against[0].astimezone(UTC).isoformat(), "against_wh": against[1],
                }
        OrderSample.objects.bulk_create(samples)
        for sample in samples:  # their received_at, as stored: the bound `order_samples` reads them within
            order = orders[sample.order_id]
            if order.samples_until is None or sample.received_at > order.samples_until:
                order.samples_until = sample.received_at
                changed[sample.order_id].add("samples_until")
        orders_readings_left_out_record(first_left_out=first_left_out, now=now)
        by_fields: dict[tuple[str, ...], list[Order]] = {}
        for pk, fields in changed.items():
            by_fields.setdefault(tuple(sorted(fields)), []).append(orders[pk])
        for fields, group in by_fields.items():
            _orders_update(group, fields)
        for pk in sorted(progressed):
            order_progressed.send(sender=Order, order=orders[pk])
    return orders


def _left_out(order: Order, progress: Progress, pending: Sequence[tuple[datetime, int]]
              ) -> tuple[str, tuple[datetime, int] | None]:
    """Why a reading is left out of pricing ("" when it prices) and the reading it contradicts.

    Cumulative energy never goes down in time, nor rises faster than a charger can give it: a reading
    must lie between the priced readings around it (the session's start counting as 0 Wh), and one at
    the same device time as a priced reading must say the same energy. The first word stands:
    it is the newcomer that is left out. A reading after the vendor's settlement is kept but not priced,
    since the order's price was fixed then.
    """
    if order.status == OrderStatus.SETTLED and order.settled_from != SettlementSource.PROGRESS:
        return SampleExclusion.AFTER_SETTLEMENT, None
    at, energy = progress.at, progress.energy_wh
    if order.newest_sample_at is None or at > order.newest_sample_at:
        if order.newest_sample_at is None:
            previous = (order.started_at, 0) if order.started_at is not None and order.started_at < at else None
        else:
            previous = (order.newest_sample_at, order.newest_sample_wh)
        if previous is not None and energy < previous[1]:
            return SampleExclusion.ENERGY_DOWN, previous
        if previous is not None and _too_fast(previous, (at, energy)):
            return SampleExclusion.TOO_FAST, previous
        return "", None
    # A late reading (rare): its neighbours among the priced readings, stored or of this batch.
    priced = order_samples(order=order).filter(left_out="").values_list("device_time", "energy_wh")
    before = [*priced.filter(device_time__lte=at).order_by("-device_time", "-energy_wh")[:1],
              *(reading for reading in pending if reading[0] <= at)]
    after = [*priced.filter(device_time__gte=at).order_by("device_time", "energy_wh")[:1],
             *(reading for reading in pending if reading[0] >= at)]
    before = max(before, default=None)
    after = min(after, default=None)
    if before is not None and before[0] == at and before[1] != energy:
        return SampleExclusion.SAME_TIME, before
    if before is not None and energy < before[1]:
        return SampleExclusion.ENERGY_DOWN, before
    if before is not None and _too_fast(before, (at, energy)):
        return SampleExclusion.TOO_FAST, before
    if after is not None and energy > after[1]:
        return SampleExclusion.ENERGY_UP_BEFORE_LATER, after
    return "", None


def _too_fast(earlier: tuple[datetime, int], later: tuple[datetime, int]) -> bool:
    """Whether the energy between two readings took more power than any charger gives (a spike)."""
    seconds = (later[0] - earlier[0]).total_seconds()
    return seconds > 0 and (later[1] - earlier[1]) * 3600 > SESSION_POWER_MAX_W * seconds


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


def _progress_fold(order: Order, progress: Progress, *, now: datetime, priced: bool = True) -> set[str]:
    """Fold one reading into a locked order held in memory; returns the fields it changed.

    `order.newest_sample_at` is the device time of its newest priced sample so far: SOC and the vendor's
    status follow the newest reading only, while cumulative figures keep their highest value and the
    status only moves up its rank. A reading left out of pricing moves only the status.
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
    if not priced:
        return fields
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
        # Never before the order was placed: a garbled charging time must not stretch the session.
        placed = min(order.created_at, progress.at)
        order.started_at = max(progress.at - timedelta(seconds=progress.charge_seconds), placed)
        fields.add("started_at")
    return fields
