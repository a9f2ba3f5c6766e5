"""Tomda's pushes against our records: cheap checks for the receiver, answers to Tomda's questions, and
news applied to the domain in the inbox worker's transaction (readings many at a time).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from chargers.models import Charger, ChargerTariffPush, Connector, ConnectorStatus, TariffPushResult, Vendor
from chargers.services import (
    charger_device_report,
    charger_event_record,
    charger_open_faults,
    connector_faulty,
    connector_status_apply,
    connector_status_update,
    connectors_save_status,
)
from integrations.inbox import InboundRejected, Known, Parsed
from integrations.models import InboundMessage, InboundStatus, RejectReason
from orders.models import Order
from orders.selectors import order_balance_remaining
from orders.services import order_settle, orders_progress_record
from tariffs.renderings import TariffRenderError

from . import mappers
from .payloads import fee_model_for_version, fee_version_for_template
from .protocol import (
    BalanceQuestion,
    DeviceReport,
    Events,
    FeeQuestion,
    FeeResult,
    OrderEnd,
    WorkData,
)

logger = logging.getLogger(__name__)

# --- lookups that refuse with a clear message ----------------------------------------------------------


def _unknown_charger(serial: str) -> InboundRejected:
    return InboundRejected(
        _(
            "Charger %(serial)s is not in our back office; import it into a station "
            "(Chargers → Import chargers from the vendor) and the next push will be accepted."
        )
        % {"serial": serial},
        reason=RejectReason.UNKNOWN_CHARGER,
    )


def _unknown_connector(serial: str, number: int) -> InboundRejected:
    return InboundRejected(
        _("Charger %(serial)s has no connector %(number)s in our back office.") % {"serial": serial, "number": number},
        reason=RejectReason.UNKNOWN_CONNECTOR,
    )


def _unknown_order(order_no: str, serial: str | None) -> InboundRejected:
    where = _(" on charger %(serial)s") % {"serial": serial} if serial is not None else ""
    return InboundRejected(
        _("Order %(order)s%(where)s is not one of ours.") % {"order": order_no, "where": where},
        reason=RejectReason.UNKNOWN_ORDER,
    )


def _charger(serial: str) -> Charger:
    charger = Charger.objects.filter(vendor=Vendor.TOMDA, serial=serial).select_related("station").first()
    if charger is None:
        raise _unknown_charger(serial)
    return charger


def _connector(charger: Charger, number: int) -> Connector:
    connector = Connector.objects.filter(charger=charger, number=number).first()
    if connector is None:
        raise _unknown_connector(charger.serial, number)
    return connector


def _order(order_no: str, *, charger: Charger | None = None) -> Order:
    order = Order.objects.filter(order_no=order_no).select_related("charger", "connector", "tariff_version").first()
    if order is None or (charger is not None and order.charger_id != charger.pk):
        raise _unknown_order(order_no, charger.serial if charger is not None else None)
    return order


# What the receiver has already seen to exist, so that a steady stream of pushes about the same chargers
# and sessions costs no lookup; what it has not seen is looked up, and what does not exist is refused.
_known_chargers = Known(ttl=300)  # serial → connector numbers
_known_orders = Known(ttl=300)  # order number → charger serial
# Order numbers that are not ours (another platform's session on a charger we share): refused without a
# lookup for a while. Ours exist before the charger hears of them, so none of ours is ever in here.
_foreign_orders = Known(ttl=60)


def _connector_numbers(serial: str) -> frozenset[int] | None:
    numbers = _known_chargers.get(serial)
    if numbers is None:
        pk = Charger.objects.filter(vendor=Vendor.TOMDA, serial=serial).values_list("pk", flat=True).first()
        if pk is None:
            return None
        numbers = frozenset(Connector.objects.filter(charger_id=pk).values_list("number", flat=True))
        _known_chargers.put(serial, numbers)
    return numbers


def _described_not_yet_applied(serial: str) -> bool:
    """Whether a DEVICE_INFO of this serial waits for the worker, which applies it (creating the charger)
    before any push received after it."""
    return InboundMessage.objects.filter(
        vendor=Vendor.TOMDA, charger_serial=serial, kind="DEVICE_INFO", status=InboundStatus.RECEIVED
    ).exists()


def _check_charger(serial: str, numbers=()) -> None:
    known = _connector_numbers(serial)
    if known is None:
        if _described_not_yet_applied(serial):
            return  # a charger that has just described itself; its connectors are checked when applied
        raise _unknown_charger(serial)
    missing = [number for number in numbers if number not in known]
    if missing:
        _known_chargers.forget(serial)  # a connector may have been added since: ask again
        known = _connector_numbers(serial) or frozenset()
        for number in missing:
            if number not in known:
                raise _unknown_connector(serial, number)


def _check_order(order_no: str, serial: str | None) -> None:
    owner = _known_orders.get(order_no)
    if owner is None:
        if _foreign_orders.get(order_no):
            raise _unknown_order(order_no, serial)
        found = Order.objects.filter(order_no=order_no, charger__vendor=Vendor.TOMDA).values_list(
            "charger__serial", flat=True
        ).first()
        if found is None:
            _foreign_orders.put(order_no, True)
            raise _unknown_order(order_no, serial)
        owner = found
        _known_orders.put(order_no, owner)
    if serial is not None and owner != serial:
        raise _unknown_order(order_no, serial)


# --- applying ------------------------------------------------------------------------------------------


def _work_data_apply(pushes: list[WorkData]) -> None:
    """Readings of many pushes at once: each order and connector is read and written once.

    The result is that of applying the pushes one by one in their order. Connectors are not locked here:
    the inbox worker holds their charger while it applies the charger's pushes.
    """
    serials = {push.serial for push in pushes}
    chargers = {
        charger.serial: charger
        for charger in Charger.objects.filter(vendor=Vendor.TOMDA, serial__in=serials).prefetch_related("connectors")
    }
    order_nos = {reading.order_no for push in pushes for reading in push.readings}
    orders = {order.order_no: order for order in Order.objects.filter(order_no__in=order_nos).only("pk", "order_no",
                                                                                                 "charger_id")}
    readings, connectors = [], []
    for push in pushes:
        charger = chargers.get(push.serial)
        if charger is None:
            raise _unknown_charger(push.serial)
        by_number = {connector.number: connector for connector in charger.connectors.all()}
        for reading in push.readings:
            connector = by_number.get(reading.connector_number)
            order = orders.get(reading.order_no)
            if connector is None or order is None or order.charger_id != charger.pk:
                # Refused by item when the push was received (the reply names it); the others apply.
                logger.debug("WORK_DATA of %s: reading of order %s on connector %s left out: not ours",
                             charger.serial, reading.order_no, reading.connector_number)
                continue
            readings.append((order.pk, reading.progress))
            connectors.append((connector, reading))
    orders_progress_record(readings=readings)
    changed = {}
    for connector, reading in connectors:
        state = mappers.RUN_STATUS_CONNECTOR.get(reading.run_status)
        if state is None or connector.status in (ConnectorStatus.FAULT, ConnectorStatus.OFFLINE):
            continue
        if connector_status_apply(connector=connector, status=state, vendor_status=connector.vendor_status,
                                  at=reading.progress.at):
            changed[connector.pk] = connector
    if changed:
        connectors_save_status(connectors=changed.values())


def _events_apply(push: Events) -> None:
    charger = _charger(push.serial)
    connector = _connector(charger, push.connector_number) if push.connector_number is not None else None
    for event in push.events:
        charger_event_record(charger=charger, connector=connector, source=push.source, code=event.code,
                             name=event.name, state=event.state, device_time=event.at, is_fault=event.is_fault)
    _faults_apply(charger=charger, connector=connector, at=max(event.at for event in push.events))


def _faults_apply(*, charger: Charger, connector: Connector | None, at: datetime) -> None:
    """A happening fault makes the connector (all of them, for a charger-wide event) faulty; when none is
    left the connector takes back the status its vendor last reported."""
    open_faults = charger_open_faults(charger=charger)
    targets = [connector] if connector is not None else list(charger.connectors.all())
    for target in targets:
        if connector_faulty(target, open_faults):
            connector_status_update(connector=target, status=ConnectorStatus.FAULT, vendor_status=target.vendor_status,
                                    at=at)
        elif target.status == ConnectorStatus.FAULT:
            status = mappers.device_status(target.vendor_status)
            connector_status_update(connector=target, status=status, vendor_status=target.vendor_status, at=at)


def _order_end_apply(push: OrderEnd) -> None:
    order_settle(order=_order(push.order_no, charger=_charger(push.serial)), settlement=push.settlement)


def _device_report_apply(push: DeviceReport, *, received_at: datetime) -> None:
    charger_device_report(vendor=Vendor.TOMDA, info=push.info, at=push.at or received_at)


def _fee_result_apply(push: FeeResult, *, received_at: datetime) -> None:
    charger = _charger(push.serial)
    row = (
        ChargerTariffPush.objects.select_for_update()
        .filter(charger=charger, tariff_version__template__external_id=push.external_id)
        .order_by("-requested_at", "-id")
        .first()
    )
    if row is None:
        raise InboundRejected(
            _("We never sent tariff template %(template)s to charger %(serial)s.")
            % {"template": push.external_id, "serial": charger.serial},
            reason=RejectReason.UNKNOWN_TEMPLATE,
        )
    answered_at = push.at or received_at
    if row.answered_at is not None and answered_at < row.answered_at:
        return  # an older answer to the same push, overtaken by the one recorded
    row.result = TariffPushResult.ACCEPTED if push.accepted else TariffPushResult.REFUSED
    row.answered_at = answered_at
    row.save(update_fields=["result", "answered_at"])


# --- what the inbox asks -------------------------------------------------------------------------------


def _check_readings(record: WorkData) -> list[InboundRejected]:
    """The readings of a WORK_DATA we refuse, each by itself: a charger's other sockets still count.

    An unknown charger refuses the whole push, and so does a push whose every reading is refused.
    """
    _check_charger(record.serial)
    refused = []
    for index, reading in enumerate(record.readings):
        try:
            _check_charger(record.serial, [reading.connector_number])
            _check_order(reading.order_no, record.serial)
        except InboundRejected as refusal:
            refusal.item = {"index": index, "clientOrderId": reading.order_no}
            refused.append(refusal)
    if len(refused) == len(record.readings):
        raise refused[0]
    return refused


def push_check(record) -> list[InboundRejected]:
    """Refuse at once a push about a charger, connector or order we do not have, as far as a memo or one
    indexed lookup can tell; the rest is found when the push is applied. Returns the refused readings of
    a WORK_DATA that is otherwise taken."""
    if isinstance(record, WorkData):
        return _check_readings(record)
    if isinstance(record, Events):
        _check_charger(record.serial, [record.connector_number] if record.connector_number is not None else [])
    elif isinstance(record, OrderEnd):
        _check_charger(record.serial)
        _check_order(record.order_no, record.serial)
    elif isinstance(record, FeeResult):
        _check_charger(record.serial)
    # A DEVICE_INFO about a charger we lack is news too: the charger is kept, awaiting a station.
    return []


def push_answer(record: BalanceQuestion | FeeQuestion) -> dict:
    """The data of our answer to one of Tomda's questions."""
    if isinstance(record, BalanceQuestion):
        balance = order_balance_remaining(order=_order(record.order_no))
        # Tomda has no word for "no limit": a balance the charger never reaches stands for it.
        return {"balance": settings.TOMDA_UNLIMITED_BALANCE_FEN if balance is None else balance}
    charger = _charger(record.serial)
    if charger.station_id is None:
        raise InboundRejected(
            _("Charger %(serial)s awaits a station in our back office; its tariff is the station's, so it has "
              "none until an operator assigns it (Chargers → Import chargers from the vendor).")
            % {"serial": charger.serial},
            reason=RejectReason.UNKNOWN_TEMPLATE,
        )
    template = charger.station.tariff_template
    if template is None:
        raise InboundRejected(
            _("Station %(station)s of charger %(serial)s has no tariff template.")
            % {"station": charger.station, "serial": charger.serial},
            reason=RejectReason.UNKNOWN_TEMPLATE,
        )
    try:
        return {"elecFeeModelInfo": fee_model_for_version(fee_version_for_template(template))}
    except TariffRenderError as exc:
        raise InboundRejected(str(exc), reason=RejectReason.INVALID) from exc


def pushes_apply(pushes: list[Parsed]) -> None:
    """Apply news: readings all at once, any other push by itself."""
    if all(isinstance(push.record, WorkData) for push in pushes):
        _work_data_apply([push.record for push in pushes])
        return
    for push in pushes:
        record = push.record
        if isinstance(record, Events):
            _events_apply(record)
        elif isinstance(record, OrderEnd):
            _order_end_apply(record)
        elif isinstance(record, DeviceReport):
            _device_report_apply(record, received_at=push.received_at)
        elif isinstance(record, FeeResult):
            _fee_result_apply(record, received_at=push.received_at)
        elif isinstance(record, WorkData):
            _work_data_apply([record])
        else:
            raise TypeError(f"{push.kind} is not news to apply")
