"""A callback that never came, fetched from Wanzhuang's callback log (`/open/callback/log`): its `req` is the
callback's exact fields, read and applied as if it had come."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from chargers.vendor import VendorNotConfigured
from integrations.inbox import InboundRejected
from orders.models import Order, OrderStatus
from orders.services import orders_ask

from . import constants as c
from . import mappers
from .client import WanzhuangClient
from .processor import finish_order_apply, start_power_apply
from .protocol import FINISH_ORDER, START_POWER, callback_read

logger = logging.getLogger(__name__)


def order_recover(*, order: Order, client: WanzhuangClient | None = None) -> bool:
    """Apply what the callback log holds for the order and we lack: its start_power while it is starting, its
    finish_order while it is not settled. Returns whether anything was applied."""
    client = client or WanzhuangClient.from_settings()
    entries = client.callback_log(charge_id=c.charge_id_of(order.order_no))
    applied = False
    for entry in entries:
        kind = entry.get("type") if isinstance(entry, dict) else None
        fields = entry.get("req") if isinstance(entry, dict) else None
        if kind not in (START_POWER, FINISH_ORDER) or not isinstance(fields, dict):
            continue
        order.refresh_from_db(fields=["status"])
        if kind == START_POWER and order.status != OrderStatus.STARTING:
            continue
        if kind == FINISH_ORDER and order.status == OrderStatus.SETTLED:
            continue
        logged_at = mappers.unix_or_none(entry.get("created_at"))
        try:
            record = callback_read(kind, {str(k): str(v) for k, v in fields.items()},
                                   received_at=logged_at or timezone.now())
        except InboundRejected as exc:
            logger.warning("the callback log's %s of order %s cannot be read: %s", kind, order.order_no, exc)
            continue
        if record.order_no != order.order_no:
            continue
        # The port's news is as of when Wanzhuang sent the callback (or the session's end), never now: the port
        # may have moved on since.
        with transaction.atomic():
            if kind == START_POWER:
                start_power_apply(record, received_at=logged_at or timezone.now())
            else:
                finish_order_apply(record, received_at=logged_at or record.settlement.ended_at)
        applied = True
    return applied


def orders_recover(*, orders: Sequence[Order]) -> int:
    """`order_recover` for each order (`orders_ask`: a refusal is logged and the next asked, an unanswering
    Wanzhuang stops the run); how many got something."""
    try:
        client = WanzhuangClient.from_settings()
    except VendorNotConfigured:
        return 0

    def ask(order: Order) -> bool:
        try:
            return order_recover(order=order, client=client)
        except InboundRejected as exc:  # the log's copy names what we do not have
            logger.warning("the callback log of order %s cannot be applied: %s", order.order_no, exc)
            return False

    return orders_ask(orders=orders, vendor=c.VENDOR, ask=ask)
