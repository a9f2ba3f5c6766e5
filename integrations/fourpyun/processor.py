"""4pyun's pushes against our records: the receiver's one lookup, and each report kept in the inbox worker's
transaction.

A report is 4pyun's view of one of our orders. It is kept as a `StatusReport` for finance to compare with ours
and changes nothing else: our order moves on our vendors' news and our own commands, never on what a parking
platform believes about it.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.inbox import InboundRejected, Parsed
from integrations.inbox.references import named
from integrations.models import Counterparty, InboundMessage, RejectReason
from orders.models import Order

from .models import StatusReport
from .protocol import ChargingReport, ResultReport

logger = logging.getLogger(__name__)


def unknown_order(record: ResultReport) -> InboundRejected:
    return InboundRejected(named("order", _("Order %(order)s%(where)s is not one of ours.")
                                 % {"order": record.order_no, "where": ""}),
                           reason=RejectReason.UNKNOWN_ORDER)


def other_station(record: ResultReport, ours: str) -> InboundRejected:
    if not ours:
        message = _("Order %(order)s is at a station of ours that is not mapped to 4pyun (it has no 4pyun station "
                    "UUID), not at station %(station)s.")
    else:
        message = _("Order %(order)s is at 4pyun station %(ours)s, not at station %(station)s.")
    return InboundRejected(named("station_uuid", message % {"order": record.order_no, "ours": ours,
                                                            "station": record.station_uuid}),
                           reason=RejectReason.UNKNOWN_ORDER)


def report_check(record: ResultReport) -> None:
    """Refuse at once a push about an order we lack or one at another station than the push names: one lookup by
    the order number's unique index. No memo: 4pyun pushes a few times per session, not a stream per second."""
    found = Order.objects.filter(order_no=record.order_no).values_list("station__fourpyun_station_uuid", flat=True)
    ours = found.first()
    if ours is None:
        raise unknown_order(record)
    if ours != record.station_uuid:
        raise other_station(record, ours)


def _order_of(record: ResultReport) -> Order:
    """The worker's lookup: the database, every time, as the station's UUID may have changed since the push came."""
    order = Order.objects.filter(order_no=record.order_no).select_related("station").first()
    if order is None:
        raise unknown_order(record)
    if order.station.fourpyun_station_uuid != record.station_uuid:
        raise other_station(record, order.station.fourpyun_station_uuid)
    return order


def _inbound_id(push: Parsed) -> int:
    """The id of the inbox row being applied.

    The worker hands a protocol its parsed pushes, not their rows; but the row it applies always holds the push's
    dedupe key (a waiting first arrival, a failed row, which keeps its key, or a replayed refused one, which takes
    its key back first), and the inbox's unique constraint lets one first arrival hold a key. So the key finds it,
    through that constraint's index. 0 should it ever not: the report is kept all the same.
    """
    found = (
        InboundMessage.objects.filter(vendor=Counterparty.FOURPYUN, dedupe_key=push.dedupe_key,
                                      duplicate_of__isnull=True)
        .exclude(dedupe_key="")
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        logger.warning("no inbox row holds the 4pyun push key %s; its report is kept with push 0", push.dedupe_key)
        return 0
    return found


def report_apply(push: Parsed) -> StatusReport:
    record = push.record
    order = _order_of(record)
    figures = {}
    if isinstance(record, ChargingReport):
        figures = {
            "started_at": record.started_at,
            "ended_at": record.ended_at,
            "charge_seconds": record.charge_seconds,
            "plate": record.plate,
            "energy_wh": record.energy_wh,
            "electricity_fee_fen": record.electricity_fee_fen,
            "service_fee_fen": record.service_fee_fen,
            "total_fee_fen": record.total_fee_fen,
        }
    return StatusReport.objects.create(
        order=order,
        kind=record.kind,
        station_uuid=record.station_uuid,
        state=record.state,
        state_desc=record.state_desc,
        inbound_id=_inbound_id(push),
        received_at=push.received_at or timezone.now(),  # the worker always gives the row's
        **figures,
    )


def reports_apply(pushes: list[Parsed]) -> None:
    for push in pushes:
        if not isinstance(push.record, ResultReport):
            raise TypeError(f"{push.kind} is not a 4pyun report")
        report_apply(push)
