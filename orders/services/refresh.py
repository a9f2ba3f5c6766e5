"""Asking the vendor where a session stands, for the news that did not come by itself."""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.vendor import VendorError, VendorNotConfigured, VendorUnavailable, vendor_adapter_for
from orders.models import CloseReason, Order, OrderStatus, SettlementSource

from ._shared import locked, order_fail_start
from .progress import Progress, order_progress_record
from .settlement import Settlement, order_settle

logger = logging.getLogger(__name__)

# Orders in a row the vendor did not answer about before a run gives up: each costs a read timeout.
UNANSWERED_STOP = 3


def _order_booking_closed(*, order: Order, vendor_status: str, now: datetime) -> Order:
    """The vendor closed a booking that never charged (it expired, or the connector was taken away), or
    has no such booking (the request never reached it)."""
    with transaction.atomic():
        order = locked(order)
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
            order_fail_start(order=order, code=exc.code, message=exc.message)
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


def orders_refresh(*, orders: Sequence[Order], vendor: str, now: datetime | None = None,
                   close_if_ended: bool = False) -> int:
    """Ask the vendor about each order (`order_refresh`, run by `orders_ask`); returns how many answers were
    applied."""
    now = now or timezone.now()

    def ask(order: Order) -> bool:
        order_refresh(order=order, close_if_ended=close_if_ended, now=now)
        return True

    return orders_ask(orders=orders, vendor=vendor, ask=ask)


def orders_ask(*, orders: Sequence[Order], vendor: str, ask: Callable[[Order], bool]) -> int:
    """`ask(order)` about each order in turn, each asking the vendor; returns how many it brought up to date
    (answered True).

    A vendor that refuses one order is logged and the next is asked, and so is an answer that cannot be applied
    (a closed business day); one that does not answer for `UNANSWERED_STOP` orders in a row, or is not
    configured, stops the run.
    """
    done = unanswered = 0
    for order in orders:
        try:
            done += bool(ask(order))
            unanswered = 0
        except VendorNotConfigured:
            logger.warning("vendor %s is not configured; %d orders wait", vendor, len(orders))
            break
        except VendorUnavailable as exc:
            unanswered += 1
            logger.warning("asking vendor %s about order %s: %s", vendor, order.order_no, exc)
            if unanswered >= UNANSWERED_STOP:
                # Unreachable: every other order would wait out its own timeout too. The next run asks again.
                logger.warning("vendor %s does not answer; the other orders wait for the next run", vendor)
                break
        except VendorError as exc:
            logger.warning("asking vendor %s about order %s: %s", vendor, order.order_no, exc)
        except ValidationError as exc:  # a closed business day, a charger the vendor cannot describe
            logger.warning("applying vendor %s's answer about order %s: %s", vendor, order.order_no,
                           "; ".join(exc.messages))
    return done


def order_vendor_history(*, order: Order) -> list:
    """What the vendor's cloud sent us about the session, as its own log keeps it (`chargers.vendor.SessionNews`)."""
    return vendor_adapter_for(order.charger).session_history(
        order_no=order.order_no, serial=order.charger.serial, connector_number=order.connector.number)


def order_settlement_resend(*, order: Order) -> None:
    """Ask the vendor to send the session's settlement again; it arrives as a push and is applied once."""
    if order.status not in (OrderStatus.STOPPING, OrderStatus.FINISHED, OrderStatus.SETTLED):
        raise ValidationError(_("Order %(order)s is %(status)s: it has no settlement to send again.")
                              % {"order": order.order_no, "status": order.get_status_display()})
    vendor_adapter_for(order.charger).session_settlement_resend(
        order_no=order.order_no, serial=order.charger.serial, connector_number=order.connector.number)
