"""Writes to orders: numbering, and a session's life from the start request to settlement.

`sessions` holds the operator's commands (start, stop, book, release), `progress` the vendor's readings,
`settlement` the vendor's closing word, `refresh` the question of where a session stands.
"""

from ._shared import STATUS_RANK, order_fail_start
from .cards import card_balance_change, card_refusal
from .numbering import BEIJING, order_no_generate
from .progress import Progress, order_progress_record, orders_progress_record
from .refresh import order_refresh, order_settlement_resend, order_vendor_history, orders_ask, orders_refresh
from .sessions import (
    order_reservation_cancel,
    order_reserve,
    order_start,
    order_start_refusal,
    order_start_send,
    order_stop,
)
from .settlement import Settlement, order_settle
from .vehicle import order_vehicle_set

__all__ = [
    "BEIJING",
    "STATUS_RANK",
    "card_balance_change",
    "card_refusal",
    "order_fail_start",
    "Progress",
    "Settlement",
    "order_no_generate",
    "order_vehicle_set",
    "order_progress_record",
    "order_refresh",
    "order_settlement_resend",
    "order_vendor_history",
    "order_reservation_cancel",
    "order_reserve",
    "order_settle",
    "order_start",
    "order_start_refusal",
    "order_start_send",
    "order_stop",
    "orders_ask",
    "orders_progress_record",
    "orders_refresh",
]
