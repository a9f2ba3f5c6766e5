from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet

from backoffice.days import business_day_bounds
from orders.models import TERMINAL_STATUSES, BusinessDay, Order, OrderSample
from tariffs.pricing import Breakdown, SessionTooLong, Tariff, price_session

# An order's samples are received after it was created; by how much the receipt of one may seem earlier: the
# web node that created the order and the worker that stored the sample read two clocks (kept in step by NTP).
SAMPLE_CLOCK_SLACK = timedelta(minutes=5)


def order_samples_of(order_id, *, created_at, until=None) -> QuerySet[OrderSample]:
    """The samples of order `order_id` received from its creation (`created_at`) to `until` (when known).

    The bounds are what lets PostgreSQL read the order's curve from the days' partitions it was received in
    instead of probing every day of the retention; either may be an `OuterRef`.
    """
    rows = OrderSample.objects.filter(order_id=order_id, received_at__gte=created_at - SAMPLE_CLOCK_SLACK)
    return rows if until is None else rows.filter(received_at__lte=until)


def order_samples(*, order: Order) -> QuerySet[OrderSample]:
    """`order`'s samples, through the days they were received in (`Order.samples_until`)."""
    return order_samples_of(order.pk, created_at=order.created_at, until=order.samples_until)


def order_price_breakdown(*, order: Order, samples: Iterable[OrderSample] | None = None) -> Breakdown | None:
    """Our price of `order`, computed by the pricing engine from its tariff version and its priced samples.

    Energy-priced tariffs take the samples' cumulative energy from the start (0 Wh) and, once the
    session has ended, the order's final energy at its end (the samples outside the session or above its
    final energy count for nothing); power tiers take the charging time and the highest sampled power (an ended
session without any, its average power).
    Samples left out of pricing count for neither. None when the order has no tariff version or has not
    started. Raises `SessionTooLong` (a ValueError) for a session longer than the engine prices.
    """
    if order.tariff_version_id is None or order.started_at is None:
        return None
    tariff: Tariff = order.tariff_version.tariff
    if samples is None:
        # Not through `order.samples`: the related manager would read each row's order_id back, one query a row.
        # From the order's creation on, not up to `samples_until`: a price never misses a sample because the
        # order in hand was read before it came (a session priced from its samples lies in its last days).
        samples = (order_samples_of(order.pk, created_at=order.created_at).filter(left_out="")
                   .order_by("device_time", "id")
                   .only("device_time", "energy_wh", "power_w"))
    samples = list(samples)
    if not tariff.by_energy:
        peak = max((sample.power_w or 0 for sample in samples), default=0)
        if not peak and order.ended_at is not None and order.charge_seconds:
            # No reading says the power (a vendor that reports only the session's end): its average power, the
            # least its peak can have been.
            peak = -(-order.energy_wh * 3600 // order.charge_seconds)
        return price_session(tariff, seconds=order.charge_seconds, peak_power_w=peak)
    start, end = order.started_at, order.ended_at
    readings = [(start, 0)]
    if end is None:
        readings += [(s.device_time, s.energy_wh) for s in samples if s.device_time > start]
    elif end > start:
        # An ended session's curve is the vendor's: from 0 at its start to its final energy at its end, through
        # the samples in between that lie below that energy (a sample above it or outside the session is a
        # garbled reading, and one at the very start or end is the vendor's own point).
        readings += [(s.device_time, s.energy_wh) for s in samples
                     if start < s.device_time < end and s.energy_wh <= order.energy_wh]
        readings.append((end, order.energy_wh))
    return price_session(tariff, readings=readings)


def order_price_stored(*, order: Order) -> Breakdown | None:
    """The breakdown the order was settled at, as stored with it; None before settlement or unpriced."""
    return None if order.price_lines is None else Breakdown.from_content(order.price_lines)


def order_balance_remaining(*, order: Order) -> int | None:
    """What the driver may still spend on this session, in fen: the authorised amount less our price so far.

    Never negative: at 0 the vendor stops the session. None when the session has no authorised amount
    (no limit); each vendor says that in its own way. A session the pricing engine refuses (longer than
    it prices) has nothing left: it is stopped rather than left to run unpriced.
    """
    if order.authorized_amount_fen is None:
        return None
    try:
        breakdown = order_price_breakdown(order=order)
    except SessionTooLong:
        return 0
    spent = breakdown.total_fen if breakdown is not None else 0
    return max(0, order.authorized_amount_fen - spent)


def orders_quiet(*, vendor: str, statuses: Iterable[str], minutes: int, now: datetime, limit: int) -> list[Order]:
    """Orders on `vendor`'s chargers in `statuses` that the vendor has told us nothing about for `minutes`.

    An order with no news at all counts from its creation. At most `limit` of them, in the order of their
    last news, with charger, connector and tariff version loaded.
    """
    since = now - timedelta(minutes=minutes)
    quiet = Q(last_data_at__lt=since) | Q(last_data_at__isnull=True, created_at__lt=since)
    return list(
        Order.objects.filter(quiet, status__in=statuses, charger__vendor=vendor)
        .select_related("charger", "connector", "tariff_version")
        .order_by("last_data_at", "id")[:limit]
    )


def orders_of_days(*, day_from: date, day_to: date | None = None) -> QuerySet[Order]:
    """The orders of business days [day_from, day_to]: those created in them. An order belongs to the day
    it was created in for good, so a closed day's orders stay the same set (the created-at index serves it)."""
    start, _ = business_day_bounds(day_from)
    _, end = business_day_bounds(day_to or day_from)
    return Order.objects.filter(created_at__gte=start, created_at__lt=end)


def business_day_closed(*, day: date) -> bool:
    """Whether finance has closed the day (and not reopened it)."""
    return BusinessDay.objects.filter(day=day, closed=True).exists()


def order_fees_so_far(*, order: Order) -> tuple[int, int]:
    """(electricity fen, service fen) of `order`: final once it has ended, our price so far while the session runs
    (what a partner or the parking platform is told before the settlement)."""
    if order.status in TERMINAL_STATUSES:
        return order.electricity_fee_fen, order.service_fee_fen
    try:
        breakdown = order_price_breakdown(order=order)
    except ValueError:  # longer than the engine prices: the figures we hold
        breakdown = None
    if breakdown is None:
        return order.electricity_fee_fen, order.service_fee_fen
    return breakdown.electricity_fen, breakdown.service_fen
