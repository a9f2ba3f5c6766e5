"""Tomda's pushes against our records: cheap checks for the receiver, answers to Tomda's questions, and
news applied to the domain in the inbox worker's transaction (readings many at a time).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from chargers.models import Charger, ChargerTariffPush, Vendor
from chargers.selectors import charger_tariff_pushed
from chargers.services import (
    charger_device_report,
    charger_event_record,
    charger_tariff_push_answer,
    connector_faults_apply,
    connector_reading_status_apply,
    connectors_save_status,
)
from integrations.inbox import InboundRejected, Parsed
from integrations.inbox.references import References, named
from integrations.models import RejectReason
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

# The charger, connector and order each push refers to; a charger describes itself in DEVICE_INFO.
references = References(Vendor.TOMDA, describing_kind="DEVICE_INFO", charger_field="serialNum",
                        connector_field="connectorId", order_field="clientOrderId")


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
            raise references.unknown_charger(push.serial)
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
        status = mappers.RUN_STATUS_CONNECTOR.get(reading.run_status)
        if connector_reading_status_apply(connector=connector, status=status, at=reading.progress.at):
            changed[connector.pk] = connector
    if changed:
        connectors_save_status(connectors=changed.values())


def _events_apply(push: Events) -> None:
    charger = references.charger(push.serial)
    connector = references.connector(charger, push.connector_number) if push.connector_number is not None else None
    for event in push.events:
        charger_event_record(charger=charger, connector=connector, source=push.source, code=event.code,
                             name=event.name, state=event.state, device_time=event.at, is_fault=event.is_fault)
    connector_faults_apply(charger=charger, connector=connector, at=max(event.at for event in push.events),
                           recovered_status=mappers.device_status)


def _order_end_apply(push: OrderEnd) -> None:
    charger = references.charger(push.serial)
    order_settle(order=references.order(push.order_no, charger=charger), settlement=push.settlement)


def _device_report_apply(push: DeviceReport, *, received_at: datetime) -> None:
    charger_device_report(vendor=Vendor.TOMDA, info=push.info, at=push.at or received_at)


def _fee_result_apply(push: FeeResult, *, received_at: datetime) -> None:
    charger = references.charger(push.serial)
    try:
        charger_tariff_push_answer(charger=charger, template_external_id=push.external_id, accepted=push.accepted,
                                   at=push.at or received_at)
    except ChargerTariffPush.DoesNotExist as exc:
        raise _template_never_sent(push.serial, push.external_id) from exc


def _template_never_sent(serial: str, external_id: str) -> InboundRejected:
    return InboundRejected(
        named("clientElecFeeModelId", _("We never sent tariff template %(template)s to charger %(serial)s.")
              % {"template": external_id, "serial": serial}),
        reason=RejectReason.UNKNOWN_TEMPLATE,
    )


# --- what the inbox asks -------------------------------------------------------------------------------


def _check_readings(record: WorkData) -> list[InboundRejected]:
    """The readings of a WORK_DATA we refuse, each by itself: a charger's other sockets still count.

    An unknown charger refuses the whole push, and so does a push whose every reading is refused.
    """
    references.check_charger(record.serial)
    refused = []
    for index, reading in enumerate(record.readings):
        try:
            references.check_charger(record.serial, [reading.connector_number])
            references.check_order(reading.order_no, record.serial)
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
        numbers = [record.connector_number] if record.connector_number is not None else []
        references.check_charger(record.serial, numbers)
    elif isinstance(record, OrderEnd):
        references.check_charger(record.serial)
        references.check_order(record.order_no, record.serial)
    elif isinstance(record, FeeResult):
        references.check_charger(record.serial)
        if not charger_tariff_pushed(vendor=Vendor.TOMDA, serial=record.serial,
                                     template_external_id=record.external_id):
            raise _template_never_sent(record.serial, record.external_id)
    # A DEVICE_INFO about a charger we lack is news too: the charger is kept, awaiting a station.
    return []


def push_answer(record: BalanceQuestion | FeeQuestion) -> dict:
    """The data of our answer to one of Tomda's questions."""
    if isinstance(record, BalanceQuestion):
        balance = order_balance_remaining(order=references.order(record.order_no))
        # Tomda has no word for "no limit": a balance the charger never reaches stands for it.
        return {"balance": settings.TOMDA_UNLIMITED_BALANCE_FEN if balance is None else balance}
    charger = references.charger(record.serial)
    if charger.station_id is None:
        raise InboundRejected(
            named("serialNum", _(
                "Charger %(serial)s awaits a station in our back office; its tariff is the station's, so it has "
                "none until an operator assigns it (Chargers → Import chargers from the vendor)."
            ) % {"serial": charger.serial}),
            reason=RejectReason.UNKNOWN_TEMPLATE,
        )
    template = charger.station.tariff_template
    if template is None:
        raise InboundRejected(
            named("serialNum", _("Station %(station)s of charger %(serial)s has no tariff template.")
                  % {"station": charger.station, "serial": charger.serial}),
            reason=RejectReason.UNKNOWN_TEMPLATE,
        )
    try:
        return {"elecFeeModelInfo": fee_model_for_version(fee_version_for_template(template))}
    except TariffRenderError as exc:
        raise InboundRejected(named("serialNum", str(exc)), reason=RejectReason.INVALID) from exc


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
