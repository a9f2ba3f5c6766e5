"""Sessions a partner starts and stops, and the reconciliation answers it is given, for every partner interface.

A partner's start is idempotent by (partner, its order number): asking again, even at the same moment from many
connections, answers the same order and never starts a second session. The order service and the vendor adapter
do the rest, so a partner charges on any vendor's charger alike. Refusals are `SessionRefused` with a `reason`
the protocol turns into its own code.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.utils import timezone

from backoffice.errors import DomainError
from chargers.models import Charger, Connector, ConnectorStatus
from chargers.vendor import VendorError
from integrations.partnerkit.access import partner_stations
from integrations.partnerkit.models import PartnerCheck
from orders.models import ACTIVE_STATUSES, Order, OrderStatus, Partner
from orders.services import order_start, order_stop
from stations.models import StationStatus


class SessionRefused(Exception):
    """Why a partner's start or stop was refused. `order` is the order it concerns, when there is one."""

    OFFLINE = "offline"
    FAULT = "fault"
    BUSY = "busy"
    CONFLICT = "conflict"  # the partner's order number names another session
    VENDOR = "vendor"  # the vendor refused; the order ended as start failed, with its reason
    CANNOT = "cannot"  # any other rule of ours

    def __init__(self, reason: str, message: str = "", *, order: Order | None = None, connector=None):
        super().__init__(message or reason)
        self.reason = reason
        self.message = message
        self.order = order
        self.connector = connector


def partner_charger(*, partner: Partner, serial: str) -> Charger | None:
    """The charger of `serial` at a station `partner` sees, with its station and connectors; None if there is none,
    or if two vendors' chargers there share the serial (a partner names a charger by its serial alone)."""
    found = list(Charger.objects.select_related("station").prefetch_related("connectors")
                 .filter(serial=serial, station__in=partner_stations(partner=partner)).order_by("pk")[:2])
    return found[0] if len(found) == 1 else None


def _partners_orders(partner: Partner):
    # With what an order's detail states (its station, charger and gun; its tariff, for the price so far).
    return Order.objects.select_related("station", "charger", "connector", "tariff_version").filter(partner=partner)


def partner_order(*, partner: Partner, order_no: str) -> Order | None:
    """`partner`'s order `order_no`; None for an unknown one and for another partner's, alike."""
    return _partners_orders(partner).filter(order_no=order_no).first()


def partner_order_started(*, partner: Partner, out_order_no: str) -> Order | None:
    """The order `partner` started under its own number `out_order_no`; None if it started none."""
    return _partners_orders(partner).filter(partner_order_no=out_order_no).first()


def _same_or_conflict(order: Order, *, connector: Connector, driver_id: str) -> Order:
    if order.connector_id != connector.pk or order.driver_id != driver_id:
        raise SessionRefused(SessionRefused.CONFLICT, order=order)
    return order


def partner_session_start(*, partner: Partner, out_order_no: str, driver_id: str, connector: Connector,
                          now: datetime | None = None) -> Order:
    """Start a session on `connector` for `partner`'s order `out_order_no`, or answer the one it already started.

    A repeat with the same number and the same connector and driver is the same order, whatever its state; with
    another connector or driver it is refused (CONFLICT). The station's, charger's and connector's state are checked
    first so that each refusal says what is wrong; the database's constraints settle two starts that pass together,
    and a refusal found while another request starts the same order answers that order.
    """
    now = now or timezone.now()
    try:
        return _start(partner=partner, out_order_no=out_order_no, driver_id=driver_id, connector=connector, now=now)
    except SessionRefused as refusal:
        if refusal.reason == SessionRefused.VENDOR:
            raise
        existing = partner_order_started(partner=partner, out_order_no=out_order_no)
        if existing is None:
            raise
        return _same_or_conflict(existing, connector=connector, driver_id=driver_id)


def _start(*, partner: Partner, out_order_no: str, driver_id: str, connector: Connector, now: datetime) -> Order:
    existing = partner_order_started(partner=partner, out_order_no=out_order_no)
    if existing is not None:
        return _same_or_conflict(existing, connector=connector, driver_id=driver_id)
    charger = connector.charger
    if not charger.online or connector.status == ConnectorStatus.OFFLINE:
        raise SessionRefused(SessionRefused.OFFLINE, connector=connector)
    if charger.station.status != StationStatus.WORKING:
        raise SessionRefused(SessionRefused.FAULT, charger.station.get_status_display(), connector=connector)
    for state in (charger.status, connector.status):
        if state in (ConnectorStatus.FAULT, ConnectorStatus.MAINTENANCE):
            raise SessionRefused(SessionRefused.FAULT, ConnectorStatus(state).label, connector=connector)
    if Order.objects.filter(connector=connector, status__in=ACTIVE_STATUSES).exists():
        raise SessionRefused(SessionRefused.BUSY, connector=connector)
    try:
        order = order_start(connector=connector, driver_id=driver_id, partner=partner, partner_order_no=out_order_no,
                            now=now)
    except ValidationError as exc:
        if getattr(exc, "code", None) in ("busy", "partner_order_exists"):
            raise SessionRefused(SessionRefused.BUSY, connector=connector) from exc
        raise SessionRefused(SessionRefused.CANNOT, "；".join(exc.messages), connector=connector) from exc
    except VendorError as exc:
        failed = partner_order_started(partner=partner, out_order_no=out_order_no)
        raise SessionRefused(SessionRefused.VENDOR, exc.message, order=failed, connector=connector) from exc
    except DomainError as exc:
        raise SessionRefused(SessionRefused.CANNOT, exc.message, connector=connector) from exc
    return partner_order_started(partner=partner, out_order_no=out_order_no) or order


def partner_session_stop(*, order: Order) -> Order:
    """Ask the vendor to stop `order`; an order stopping or ended already is answered as it is."""
    order.refresh_from_db()
    if order.status in (OrderStatus.STARTING, OrderStatus.CHARGING):
        try:
            order_stop(order=order)
        except VendorError as exc:
            raise SessionRefused(SessionRefused.VENDOR, exc.message, order=order) from exc
        except ValidationError as exc:  # moved on meanwhile, or its day is closed
            order.refresh_from_db()
            if order.status not in (OrderStatus.STARTING, OrderStatus.CHARGING):
                return order
            raise SessionRefused(SessionRefused.CANNOT, "；".join(exc.messages), order=order) from exc
        order.refresh_from_db()
    return order


def partner_orders_check(*, partner: Partner, start: datetime, end: datetime,
                         now: datetime | None = None) -> PartnerCheck:
    """The orders `partner` brought that were created in [start, end), counted and summed, kept as answered."""
    orders = Order.objects.filter(partner=partner, created_at__gte=start, created_at__lt=end)
    totals = orders.aggregate(count=Count("pk"), energy=Sum("energy_wh"), amount=Sum("total_fee_fen"))
    numbers = list(orders.order_by("order_no").values_list("order_no", flat=True))
    now = now or timezone.now()
    return PartnerCheck.objects.create(
        partner=partner, check_no=f"{timezone.localtime(now):%Y%m%d%H%M%S}{secrets.randbelow(10**12):012d}",
        window_start=start, window_end=end, order_count=totals["count"], energy_wh=totals["energy"] or 0,
        amount_fen=totals["amount"] or 0, order_nos=numbers, asked_at=now,
    )
