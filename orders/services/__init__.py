"""Writes to orders: numbering, and a session's life from the start request to settlement.

`sessions` holds the operator's commands (start, stop, book, release), `progress` the vendor's readings,
`settlement` the vendor's closing word, `refresh` the question of where a session stands.
"""

from ._shared import STATUS_RANK
from .numbering import BEIJING, order_no_generate
from .progress import Progress, order_progress_record, orders_progress_record
from .refresh import order_refresh, orders_refresh
from .sessions import order_reservation_cancel, order_reserve, order_start, order_stop
from .settlement import Settlement, order_settle

__all__ = [
    "BEIJING",
    "STATUS_RANK",
    "Progress",
    "Settlement",
    "order_no_generate",
    "order_progress_record",
    "order_refresh",
    "order_reservation_cancel",
    "order_reserve",
    "order_settle",
    "order_start",
    "order_stop",
    "orders_progress_record",
    "orders_refresh",
]
