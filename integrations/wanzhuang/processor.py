"""Wanzhuang's callbacks against our records: cheap checks for the receiver, and news applied to the domain in
the inbox worker's transaction."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Connector, ConnectorStatus, Vendor
from chargers.services import charger_offline_revenue_record, connector_status_update
from chargers.vendor import ChargeStrategy
from integrations.inbox import InboundRejected, Parsed
from integrations.inbox.references import References, named
from integrations.models import RejectReason
from orders.models import ChargingCard, Order, OrderStatus
from orders.services import (
    Progress,
    card_refusal,
    order_fail_start,
    order_progress_record,
    order_settle,
    order_start,
    order_start_refusal,
)

from . import mappers
from .protocol import SWIPE_MAX_AGE, CardSwipe, FinishOrder, OfflineProfit, StartPower

references = References(Vendor.WANZHUANG, charger_field="device_num", connector_field="device_port",
                        order_field="charge_id")


def _card_refused(record: CardSwipe) -> InboundRejected | None:
    card = ChargingCard.objects.filter(number=record.card_number).first()
    refusal = card_refusal(card=card, number=record.card_number, amount_fen=record.amount_fen)
    if refusal is None:
        return None
    return InboundRejected(named("icc_id", refusal), reason=RejectReason.INVALID)


def _port_refused(record: CardSwipe) -> InboundRejected | None:
    """Why the swiped port cannot start a session now, as far as our records tell."""
    connector = (Connector.objects.filter(charger__vendor=Vendor.WANZHUANG, charger__serial=record.serial,
                                          number=record.port)
                 .select_related("charger__station").first())
    if connector is None:
        return None  # the references refuse it
    refusal = order_start_refusal(connector=connector)
    return None if refusal is None else InboundRejected(named("device_port", refusal), reason=RejectReason.INVALID)


def _swipe_stale(record: CardSwipe, now: datetime) -> InboundRejected | None:
    """A swipe applied long after we received it (a backlog, a retry, a replay) starts nothing."""
    if record.received_at is None or now - record.received_at <= SWIPE_MAX_AGE:
        return None
    return InboundRejected(_(
        "The swipe of card %(card)s was received at %(at)s, more than %(minutes)s minutes ago: it starts no session "
        "now, when someone else may be at the port."
    ) % {"card": record.card_number, "at": timezone.localtime(record.received_at).strftime("%Y-%m-%d %H:%M:%S"),
         "minutes": int(SWIPE_MAX_AGE.total_seconds() // 60)}, reason=RejectReason.INVALID)


def _other_port(record: StartPower | FinishOrder, number: int) -> InboundRejected:
    return InboundRejected(named("device_port", _(
        "Order %(order)s is on port %(ours)s of %(serial)s, not on port %(port)s."
    ) % {"order": record.order_no, "ours": number, "serial": record.serial, "port": record.port}),
        reason=RejectReason.INVALID)


def _order_of(record: StartPower | FinishOrder):
    """The order a callback names, on the device and the port it names."""
    charger = references.charger(record.serial)
    order = references.order(record.order_no, charger=charger)
    if order.connector.number != record.port:
        raise _other_port(record, order.connector.number)
    return order


def callback_check(record) -> None:
    """Refuse at once a callback about a device, port or order we do not have, and a swipe that cannot start a
    session (a card that cannot pay, a port in use or out of service): Wanzhuang shows the device our message."""
    if isinstance(record, StartPower | FinishOrder):
        references.check_charger(record.serial, [record.port])
        references.check_order(record.order_no, record.serial)
        # A callback about another port than its order's could never be applied: refused now, not acknowledged.
        number = Order.objects.filter(order_no=record.order_no).values_list("connector__number", flat=True).first()
        if number is not None and number != record.port:
            raise _other_port(record, number)
    elif isinstance(record, CardSwipe):
        references.check_charger(record.serial, [record.port])
        refusal = _port_refused(record) or _card_refused(record)
        if refusal is not None:
            raise refusal
    elif isinstance(record, OfflineProfit):
        references.check_charger(record.serial)


def start_power_apply(record: StartPower, *, received_at: datetime) -> None:
    """The port began charging (the order charges), or could not (the start failed, with Wanzhuang's state)."""
    order = _order_of(record)
    if record.started:
        order = order_progress_record(order=order, now=received_at, progress=Progress(
            at=received_at, status=OrderStatus.CHARGING, vendor_status=f"start_power {record.state}",
            energy_wh=0, charge_seconds=0, sample=False,
        ))
        # A start_power that comes after the session ended (a retry, the callback log's copy) is news of the
        # order only: the port is as the finish left it.
        if order.status == OrderStatus.CHARGING:
            connector_status_update(connector=order.connector, status=ConnectorStatus.CHARGING, vendor_status="2",
                                    at=received_at)
        return
    order_fail_start(order=order, code=f"start_power {record.state}", message=_(
        "Wanzhuang reports that the port did not start charging (start_power state %(state)s)."
    ) % {"state": record.state})


def finish_order_apply(record: FinishOrder, *, received_at: datetime) -> None:
    """The session's settlement; the same one again (a retry, the callback log's copy) changes nothing. The port
    is free again (a car pile's waits for its plug to be pulled), as of when we heard it, so that a later report
    of the port wins."""
    order = order_settle(order=_order_of(record), settlement=record.settlement)
    state = 19 if mappers.is_car_pile(mappers.device_type_of(order.charger)) else 0
    connector_status_update(connector=order.connector, status=mappers.connector_status(state),
                            vendor_status=str(state), at=received_at)


def _card_swipe_apply(record: CardSwipe) -> None:
    """Start the session the swipe asks for: the order is written in the worker's transaction, and a task asks
    Wanzhuang to start it once that commits (its start_power must find the order), no later than the swipe's
    age allows. A start that is never sent leaves a starting order the port never took: the port poll ends it
    as start failed, releasing the card's hold."""
    refusal = _swipe_stale(record, timezone.now())
    if refusal is not None:
        raise refusal
    charger = references.charger(record.serial)
    connector = references.connector(charger, record.port)
    refusal = _port_refused(record) or _card_refused(record)
    if refusal is not None:
        raise refusal
    card = ChargingCard.objects.get(number=record.card_number)
    try:
        order_start(connector=connector, strategy=ChargeStrategy.AMOUNT, strategy_param=record.amount_fen,
                    authorized_amount_fen=record.amount_fen or None, card=card, driver_id=f"card:{card.number}",
                    deferred=True, start_by=(record.received_at or timezone.now()) + SWIPE_MAX_AGE)
    except ValidationError as exc:
        raise InboundRejected(named("icc_id", "; ".join(exc.messages)), reason=RejectReason.INVALID) from exc


def _offline_profit_apply(record: OfflineProfit, *, received_at: datetime) -> None:
    charger_offline_revenue_record(charger=references.charger(record.serial), device_time=record.at,
                                   coin_total_fen=record.coin_total_fen, card_total_fen=record.card_total_fen,
                                   received_at=received_at)


def callbacks_apply(pushes: list[Parsed]) -> None:
    for push in pushes:
        record = push.record
        if isinstance(record, StartPower):
            start_power_apply(record, received_at=push.received_at)
        elif isinstance(record, FinishOrder):
            finish_order_apply(record, received_at=push.received_at)
        elif isinstance(record, CardSwipe):
            _card_swipe_apply(record)
        elif isinstance(record, OfflineProfit):
            _offline_profit_apply(record, received_at=push.received_at)
        else:
            raise TypeError(f"{push.kind} is not news to apply")
