"""Writes to orders: numbering, and a session's life from the start request to settlement."""

import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Connector, ConnectorStatus
from chargers.services import charger_require_station
from chargers.vendor import (
    ChargeStrategy,
    StartCommand,
    VendorError,
    VendorUnavailable,
    charge_strategies_for,
    vendor_adapter_for,
)
from orders.models import (
    ACTIVE_STATUSES,
    CloseReason,
    Order,
    OrderSample,
    OrderSettlement,
    OrderStatus,
    SettlementSource,
)
from orders.selectors import order_price_breakdown
from orders.signals import order_progressed, order_settled, order_started
from tariffs.selectors import tariff_version_in_force

BEIJING = ZoneInfo("Asia/Shanghai")


def order_no_generate(*, at: datetime | None = None) -> str:
    """A new order number: yyyyMMddHHmmss in Beijing time and six random digits (20 characters).

    Uniqueness is settled by the database's unique constraint on `Order.order_no`; the random part
    makes a collision within one second a one-in-a-million event for the caller to retry.
    """
    moment = (at or timezone.now()).astimezone(BEIJING)
    return f"{moment:%Y%m%d%H%M%S}{secrets.randbelow(1_000_000):06d}"


# --- sessions: start, stop, reserve, progress, settlement ---

# How far a session has come; news never moves an order to a lower rank.
STATUS_RANK = {
    OrderStatus.CREATED: 0,
    OrderStatus.BOOKED: 1,
    OrderStatus.STARTING: 2,
    OrderStatus.CHARGING: 3,
    OrderStatus.STOPPING: 4,
    OrderStatus.FINISHED: 5,
    OrderStatus.SETTLED: 6,
    OrderStatus.START_FAILED: 6,
    OrderStatus.CANCELLED: 6,
}


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


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _order_new(*, connector: Connector, status: str, strategy: str, strategy_param: int,
               authorized_amount_fen: int | None, driver_id: str, now: datetime) -> Order:
    charger = connector.charger
    station = charger.station
    version = None
    if station.tariff_template_id:
        version = tariff_version_in_force(template=station.tariff_template_id, at=now)
    try:
        with transaction.atomic():
            return Order.objects.create(
                order_no=order_no_generate(at=now),
                connector=connector,
                charger=charger,
                station=station,
                status=status,
                strategy=strategy,
                strategy_param=strategy_param,
                authorized_amount_fen=authorized_amount_fen,
                driver_id=driver_id,
                tariff_version=version,
                started_at=now if status == OrderStatus.STARTING else None,
            )
    except IntegrityError as exc:
        active = Order.objects.filter(connector=connector, status__in=ACTIVE_STATUSES).first()
        if active is None:
            raise
        raise ValidationError(
            _("Connector %(connector)s is busy with order %(order)s (%(status)s).")
            % {"connector": connector, "order": active.order_no, "status": active.get_status_display()}
        ) from exc


def _check_connector_usable(connector: Connector) -> None:
    charger_require_station(charger=connector.charger)
    if not connector.charger.online:
        raise ValidationError(_("Charger %(charger)s is offline.") % {"charger": connector.charger})
    if connector.status in (ConnectorStatus.FAULT, ConnectorStatus.MAINTENANCE, ConnectorStatus.OFFLINE):
        raise ValidationError(
            _("Connector %(connector)s is %(status)s.")
            % {"connector": connector, "status": connector.get_status_display()}
        )


def order_start(*, connector: Connector, strategy: str = ChargeStrategy.FULL, strategy_param: int = 0,
                authorized_amount_fen: int | None = None, driver_id: str = "", now: datetime | None = None) -> Order:
    """Create an order on `connector` and ask its vendor to start charging.

    `authorized_amount_fen` is the most the driver may spend, exactly; None is no limit. A strategy the
    charger's vendor does not offer for its kind of charger is refused before anything is created.
    The order is committed before the vendor is called, so a push that overtakes the vendor's answer
    finds it. A refusal ends the order as start failed and is raised for the caller to show; when the
    vendor cannot be reached the outcome is unknown: the order stays starting and the vendor is asked
    for its state later (never a blind second start).
    """
    now = now or timezone.now()
    _check_connector_usable(connector)
    allowed = charge_strategies_for(connector.charger)
    if strategy not in allowed:
        raise ValidationError(
            _("%(vendor)s chargers for %(kind)s take only these strategies: %(allowed)s.")
            % {
                "vendor": connector.charger.get_vendor_display(),
                "kind": connector.charger.get_kind_display(),
                "allowed": ", ".join(str(ChargeStrategy(value).label) for value in allowed),
            }
        )
    if authorized_amount_fen is not None and authorized_amount_fen <= 0:
        raise ValidationError(_("An authorised amount must be more than zero; leave it empty for no limit."))
    if strategy == ChargeStrategy.FULL:
        strategy_param = 0
    with transaction.atomic():
        # A booked order of this connector becomes the session, as the vendor expects.
        booked = (
            Order.objects.select_for_update()
            .filter(connector=connector, status=OrderStatus.BOOKED)
            .first()
        )
        if booked is not None:
            booked.status, booked.started_at = OrderStatus.STARTING, now
            booked.strategy, booked.strategy_param = strategy, strategy_param
            booked.authorized_amount_fen = authorized_amount_fen
            booked.save(update_fields=["status", "started_at", "strategy", "strategy_param",
                                       "authorized_amount_fen", "updated_at"])
            order = booked
        else:
            order = _order_new(connector=connector, status=OrderStatus.STARTING, strategy=strategy,
                               strategy_param=strategy_param, authorized_amount_fen=authorized_amount_fen,
                               driver_id=driver_id, now=now)
        order_started.send(sender=Order, order=order)
    command = StartCommand(
        order_no=order.order_no,
        serial=connector.charger.serial,
        connector_number=connector.number,
        kind=connector.charger.kind,
        strategy=strategy,
        strategy_param=strategy_param,
        balance_fen=authorized_amount_fen,
    )
    try:
        vendor_adapter_for(connector.charger).session_start(command=command)
    except VendorUnavailable:
        return order
    except VendorError as exc:
        _order_fail_start(order=order, code=exc.code, message=exc.message)
        raise
    except ValidationError as exc:  # the vendor cannot express this command; nothing was sent
        _order_fail_start(order=order, code="", message="; ".join(exc.messages))
        raise
    return order


def _order_fail_start(*, order: Order, code: str, message: str) -> None:
    with transaction.atomic():
        order = _locked(order)
        if order.status != OrderStatus.STARTING:
            return  # the vendor's news has moved it on already
        order.status = OrderStatus.START_FAILED
        order.vendor_close_code = code
        order.close_reason_text = message[:255]
        order.ended_at = None
        order.save(update_fields=["status", "vendor_close_code", "close_reason_text", "ended_at", "updated_at"])


def order_stop(*, order: Order) -> Order:
    """Ask the vendor to stop a session; the order is stopping until the vendor's news ends it."""
    if order.status not in (OrderStatus.STARTING, OrderStatus.CHARGING, OrderStatus.STOPPING):
        raise ValidationError(
            _("Order %(order)s is %(status)s; only a starting or charging session can be stopped.")
            % {"order": order.order_no, "status": order.get_status_display()}
        )
    # An unknown outcome (no answer) still means stopping: the stuck-session task asks the vendor.
    with contextlib.suppress(VendorUnavailable):
        vendor_adapter_for(order.charger).session_stop(
            order_no=order.order_no, serial=order.charger.serial, connector_number=order.connector.number
        )
    with transaction.atomic():
        order = _locked(order)
        if STATUS_RANK[order.status] < STATUS_RANK[OrderStatus.STOPPING]:
            order.status = OrderStatus.STOPPING
            order.save(update_fields=["status", "updated_at"])
    return order


def order_reserve(*, connector: Connector, driver_id: str = "", now: datetime | None = None) -> Order:
    """Book a connector at its vendor for a driver; a refusal cancels the booking and is raised."""
    now = now or timezone.now()
    _check_connector_usable(connector)
    with transaction.atomic():
        order = _order_new(connector=connector, status=OrderStatus.BOOKED, strategy=ChargeStrategy.FULL,
                           strategy_param=0, authorized_amount_fen=None, driver_id=driver_id, now=now)
    try:
        vendor_adapter_for(connector.charger).reservation_create(
            order_no=order.order_no, serial=connector.charger.serial, connector_number=connector.number
        )
    except VendorUnavailable:
        return order
    except VendorError:
        Order.objects.filter(pk=order.pk, status=OrderStatus.BOOKED).update(
            status=OrderStatus.CANCELLED, updated_at=timezone.now()
        )
        raise
    return order


def order_reservation_cancel(*, order: Order) -> Order:
    """Release a booked connector at the vendor and cancel the booking."""
    if order.status != OrderStatus.BOOKED:
        raise ValidationError(
            _("Order %(order)s is %(status)s, not booked.")
            % {"order": order.order_no, "status": order.get_status_display()}
        )
    vendor_adapter_for(order.charger).reservation_cancel(order_no=order.order_no)
    with transaction.atomic():
        order = _locked(order)
        if order.status == OrderStatus.BOOKED:
            order.status = OrderStatus.CANCELLED
            order.save(update_fields=["status", "updated_at"])
    return order


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


def order_settle(*, order: Order, settlement: Settlement, source: str = SettlementSource.VENDOR,
                 now: datetime | None = None) -> Order:
    """End a session with the vendor's energy, time and bill, and price it with our own tariff.

    Only the vendor's settlement is final. An order the stuck-session check had to close from a progress
    answer (`source` PROGRESS) is completed by the vendor's settlement when it comes at last: its close
    type, bill and times replace the answer's, both are kept as the order's settlements, and the settled
    news goes out again with the final figures. Otherwise a settled order is returned unchanged, so a
    repeated or concurrent settlement of the same order settles it once (the row lock serialises them).
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = _locked(order)
        if order.status == OrderStatus.SETTLED and not (
            order.settled_from == SettlementSource.PROGRESS and source == SettlementSource.VENDOR
        ):
            return order
        OrderSettlement.objects.create(
            order=order, source=source, recorded_at=now,
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


def _order_booking_closed(*, order: Order, vendor_status: str, now: datetime) -> Order:
    """The vendor closed a booking that never charged (it expired, or the connector was taken away), or
    has no such booking (the request never reached it)."""
    with transaction.atomic():
        order = _locked(order)
        if order.status != OrderStatus.BOOKED:
            return order
        order.status = OrderStatus.CANCELLED
        order.vendor_status = vendor_status
        order.close_reason_text = _("The vendor closed the booking before any charging.")
        order.last_data_at = now
        order.save(update_fields=["status", "vendor_status", "close_reason_text", "last_data_at", "updated_at"])
        return order


def order_refresh(*, order: Order, close_if_ended: bool = False, now: datetime | None = None) -> Order:
    """Ask the vendor where a session stands and apply the answer.

    The answer moves the session on (charging, finished) but never settles it: the vendor's settlement
    carries the close type and the bill, and settles. Only the stuck-session check, for a session whose
    settlement is long overdue, passes `close_if_ended` to close an ended session from the answer (reason
    "other", the vendor's figures); the settlement, should it come after all, completes it. A start the
    vendor never heard of is a failed start; a booking it closed without charging, or never heard of,
    is cancelled.
    """
    now = now or timezone.now()
    adapter = vendor_adapter_for(order.charger)
    try:
        state = adapter.session_query(
            order_no=order.order_no, serial=order.charger.serial, connector_number=order.connector.number
        )
    except VendorUnavailable:
        raise
    except VendorError as exc:
        if exc.code in adapter.unknown_session_codes and order.status == OrderStatus.STARTING:
            _order_fail_start(order=order, code=exc.code, message=exc.message)
            order.refresh_from_db()
            return order
        if exc.code in adapter.unknown_session_codes and order.status == OrderStatus.BOOKED:
            return _order_booking_closed(order=order, vendor_status="", now=now)
        raise
    never_charged = state.started_at is None or (state.energy_wh == 0 and state.charge_seconds == 0)
    if order.status == OrderStatus.BOOKED and state.status == OrderStatus.FINISHED and never_charged:
        return _order_booking_closed(order=order, vendor_status=state.vendor_status, now=now)
    progress = Progress(
        at=now,
        status=state.status,
        vendor_status=state.vendor_status,
        energy_wh=state.energy_wh,
        charge_seconds=state.charge_seconds,
        park_seconds=state.park_seconds,
        cost_fen=state.cost_fen,
        started_at=state.started_at,
        sample=False,
    )
    order = order_progress_record(order=order, progress=progress, now=now)
    ended = state.status == OrderStatus.FINISHED and state.ended_at is not None and state.started_at is not None
    if close_if_ended and ended:
        order = order_settle(
            order=order,
            settlement=Settlement(
                started_at=state.started_at,
                ended_at=state.ended_at,
                energy_wh=state.energy_wh,
                charge_seconds=state.charge_seconds,
                vendor_total_fen=state.cost_fen,
                close_reason=CloseReason.OTHER,
                vendor_close_code="",
                close_reason_text=_("Closed from the vendor's progress answer; its settlement has not arrived."),
                vendor_status=state.vendor_status,
            ),
            source=SettlementSource.PROGRESS,
            now=now,
        )
    return order
