"""A callback that never came, fetched from Wanzhuang's callback log (`/open/callback/log`): its `req` is the
callback's exact fields, read and applied as if it had come."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chargers.vendor import VendorError, VendorNotConfigured, VendorUnavailable
from integrations.inbox import InboundRejected
from orders.models import Order, OrderStatus
from orders.services.refresh import UNANSWERED_STOP

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
    """`order_recover` for each order; how many got something. Stops when Wanzhuang does not answer
    `UNANSWERED_STOP` times in a row or is not configured, as asking the vendor about sessions does."""
    recovered = unanswered = 0
    try:
        client = WanzhuangClient.from_settings()
    except VendorNotConfigured:
        return 0
    for order in orders:
        try:
            recovered += order_recover(order=order, client=client)
            unanswered = 0
        except VendorUnavailable as exc:
            unanswered += 1
            logger.warning("asking Wanzhuang's callback log about order %s: %s", order.order_no, exc)
            if unanswered >= UNANSWERED_STOP:
                break
        except (VendorError, InboundRejected) as exc:
            logger.warning("asking Wanzhuang's callback log about order %s: %s", order.order_no, exc)
        except ValidationError as exc:  # its business day is closed: the next order is still asked
            logger.warning("applying the callback log of order %s failed: %s", order.order_no, exc)
    return recovered
