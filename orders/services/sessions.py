"""Sessions on the operator's word: start, stop, book a connector and release the booking."""

import contextlib
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

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
from orders.models import ACTIVE_STATUSES, Order, OrderStatus
from orders.signals import order_started
from tariffs.selectors import tariff_version_in_force

from ._shared import STATUS_RANK, locked, order_fail_start
from .cards import card_authorize
from .numbering import order_no_generate


def _order_new(
    *,
    connector: Connector,
    status: str,
    strategy: str,
    strategy_param: int,
    authorized_amount_fen: int | None,
    driver_id: str,
    now: datetime,
    card=None,
    partner=None,
    partner_order_no: str = "",
) -> Order:
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
                card=card,
                partner=partner,
                partner_order_no=partner_order_no,
                tariff_version=version,
                started_at=now if status == OrderStatus.STARTING else None,
            )
    except IntegrityError as exc:
        if partner is not None and Order.objects.filter(partner=partner, partner_order_no=partner_order_no).exists():
            raise ValidationError(
                _("Partner %(partner)s's order %(number)s has a session already.")
                % {"partner": partner, "number": partner_order_no}, code="partner_order_exists",
            ) from exc
        active = Order.objects.filter(connector=connector, status__in=ACTIVE_STATUSES).first()
        if active is None:
            raise
        raise ValidationError(_busy(connector, active), code="busy") from exc


def _busy(connector: Connector, active: Order) -> str:
    return _("Connector %(connector)s is busy with order %(order)s (%(status)s).") % {
        "connector": connector, "order": active.order_no, "status": active.get_status_display()}


def _max_pay_fen(connector: Connector, now: datetime) -> int:
    """The most one session may cost at the connector's station by its tariff in force; 0 for no cap."""
    template = connector.charger.station.tariff_template_id
    version = tariff_version_in_force(template=template, at=now) if template else None
    return version.tariff.max_pay_fen if version is not None else 0


def _check_connector_usable(connector: Connector) -> None:
    charger_require_station(charger=connector.charger)
    if not connector.charger.online:
        raise ValidationError(_("Charger %(charger)s is offline.") % {"charger": connector.charger})
    if connector.status in (ConnectorStatus.FAULT, ConnectorStatus.MAINTENANCE, ConnectorStatus.OFFLINE):
        raise ValidationError(
            _("Connector %(connector)s is %(status)s.")
            % {"connector": connector, "status": connector.get_status_display()}
        )


def order_start(
    *,
    connector: Connector,
    strategy: str = ChargeStrategy.FULL,
    strategy_param: int = 0,
    authorized_amount_fen: int | None = None,
    driver_id: str = "",
    card=None,
    partner=None,
    partner_order_no: str = "",
    deferred: bool = False,
    start_by: datetime | None = None,
    now: datetime | None = None,
) -> Order:
    """Create an order on `connector` and ask its vendor to start charging.

    `authorized_amount_fen` is the most the driver may spend, exactly; None is no limit. A session paid by a
    charging `card` is authorised against its balance when the order is created (None: all it can pay, up to the
    tariff's maximum payment), and the card pays it when it is settled. A session a `partner` asked for carries
    its `partner_order_no`, unique per partner: a second start with the same number is refused by the database
    (`ValidationError`), however close together the two arrive. A strategy the charger's vendor does
    not offer for its kind of charger is refused before anything is created. `deferred` is for a caller inside a
    transaction of its own (the inbox worker): the order is written in it, and a task asks the vendor once it
    commits, by `start_by` (`order_start_send`).
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
        if card is not None:
            authorized_amount_fen = card_authorize(card=card, amount_fen=authorized_amount_fen or 0,
                                                   cap_fen=_max_pay_fen(connector, now))
            if strategy == ChargeStrategy.AMOUNT:
                strategy_param = authorized_amount_fen
        # A booked order of this connector becomes the session, as the vendor expects.
        booked = Order.objects.select_for_update().filter(connector=connector, status=OrderStatus.BOOKED).first()
        if booked is not None and (card is not None or partner is not None):
            raise ValidationError(
                _("Connector %(connector)s is booked by order %(order)s: only that booking can start there.")
                % {"connector": connector, "order": booked.order_no}
            )
        if booked is not None:
            booked.status, booked.started_at = OrderStatus.STARTING, now
            booked.strategy, booked.strategy_param = strategy, strategy_param
            booked.authorized_amount_fen = authorized_amount_fen
            booked.save(
                update_fields=[
                    "status",
                    "started_at",
                    "strategy",
                    "strategy_param",
                    "authorized_amount_fen",
                    "updated_at",
                ]
            )
            order = booked
        else:
            order = _order_new(
                connector=connector,
                status=OrderStatus.STARTING,
                strategy=strategy,
                strategy_param=strategy_param,
                authorized_amount_fen=authorized_amount_fen,
                driver_id=driver_id,
                now=now,
                card=card,
                partner=partner,
                partner_order_no=partner_order_no,
            )
        order_started.send(sender=Order, order=order)
    if deferred:
        # The caller's transaction holds the order: a task asks the vendor once it commits (by `start_by`), and a
        # refusal ends the order as start failed. Should the task be lost, the order waits starting for the
        # vendor's poll, which ends a start the charger never took.
        deadline = start_by.isoformat() if start_by else None
        transaction.on_commit(lambda: async_task("orders.tasks.session_start_send", order.pk, deadline,
                                                 task_name=f"start {order.order_no}"), robust=True)
        return order
    _start_send(order, raise_refusal=True)
    return order


# The vendor status of a deferred start once it was sent (the vendor's news replaces it).
START_SENT = "start_sent"


def order_start_send(*, order: Order, start_by: datetime | None = None, now: datetime | None = None) -> Order:
    """Ask the vendor to start an order created with `order_start(deferred=True)`. An order that moved on is
    left alone; one whose `start_by` has passed is not sent but ends as start failed (a swipe answered long
    ago: someone else may be at the connector now)."""
    now = now or timezone.now()
    order = Order.objects.select_related("connector__charger").get(pk=order.pk)
    if order.status != OrderStatus.STARTING or order.vendor_status == START_SENT:
        return order  # moved on, or sent already (a task delivered twice must not start it twice)
    if start_by is not None and now > start_by:
        order_fail_start(order=order, code="", message=_(
            "The start was not sent: it was due by %(by)s, and someone else may be at the connector by now."
        ) % {"by": timezone.localtime(start_by).strftime("%Y-%m-%d %H:%M:%S")})
        return order
    # Claimed by one task only: the flag is set in one statement before the vendor is asked.
    claimed = Order.objects.filter(pk=order.pk, status=OrderStatus.STARTING).exclude(vendor_status=START_SENT) \
        .update(vendor_status=START_SENT, updated_at=now)
    if claimed:
        _start_send(order, raise_refusal=False)
    return order


def _start_send(order: Order, *, raise_refusal: bool) -> None:
    connector = order.connector
    command = StartCommand(
        order_no=order.order_no,
        serial=connector.charger.serial,
        connector_number=connector.number,
        kind=connector.charger.kind,
        strategy=order.strategy,
        strategy_param=order.strategy_param,
        balance_fen=order.authorized_amount_fen,
    )
    try:
        vendor_adapter_for(connector.charger).session_start(command=command)
    except VendorUnavailable:
        return
    except VendorError as exc:
        order_fail_start(order=order, code=exc.code, message=exc.message)
        if raise_refusal:
            raise
    except ValidationError as exc:  # the vendor cannot express this command; nothing was sent
        order_fail_start(order=order, code="", message="; ".join(exc.messages))
        if raise_refusal:
            raise


def order_start_refusal(*, connector: Connector) -> str | None:
    """Why a session cannot start on `connector` now, as far as our records tell; None when it can."""
    try:
        _check_connector_usable(connector)
    except ValidationError as exc:
        return "; ".join(exc.messages)
    active = Order.objects.filter(connector=connector, status__in=ACTIVE_STATUSES).first()
    return None if active is None else _busy(connector, active)


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
        order = locked(order)
        if STATUS_RANK[order.status] < STATUS_RANK[OrderStatus.STOPPING]:
            order.status = OrderStatus.STOPPING
            order.save(update_fields=["status", "updated_at"])
    return order


def order_reserve(*, connector: Connector, driver_id: str = "", now: datetime | None = None) -> Order:
    """Book a connector at its vendor for a driver; a refusal cancels the booking and is raised."""
    now = now or timezone.now()
    _check_connector_usable(connector)
    with transaction.atomic():
        order = _order_new(
            connector=connector,
            status=OrderStatus.BOOKED,
            strategy=ChargeStrategy.FULL,
            strategy_param=0,
            authorized_amount_fen=None,
            driver_id=driver_id,
            now=now,
        )
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
        order = locked(order)
        if order.status == OrderStatus.BOOKED:
            order.status = OrderStatus.CANCELLED
            order.save(update_fields=["status", "updated_at"])
    return order
