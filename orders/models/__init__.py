"""The models of orders: sessions and what they recorded (`sessions`), the charging cards that pay some of them
(`cards`), the daily close (`close`) and the exports handed to accounting (`exports`)."""

from .cards import CardMovement, CardMovementKind, ChargingCard
from .close import (
    BusinessDay,
    DayAction,
    DayEvent,
    LineAction,
    LineState,
    Statement,
    StatementCategory,
    StatementLine,
)
from .exports import Export, ExportFormat, ExportKind, ExportState
from .sessions import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    CloseReason,
    ConflictKind,
    Order,
    OrderConflict,
    OrderSample,
    OrderSettlement,
    OrderStatus,
    Partner,
    SampleExclusion,
    SettlementSource,
)

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "BusinessDay",
    "CardMovement",
    "CardMovementKind",
    "ChargingCard",
    "CloseReason",
    "ConflictKind",
    "DayAction",
    "DayEvent",
    "Export",
    "ExportFormat",
    "ExportKind",
    "ExportState",
    "LineAction",
    "LineState",
    "Order",
    "OrderConflict",
    "OrderSample",
    "OrderSettlement",
    "OrderStatus",
    "Partner",
    "SampleExclusion",
    "SettlementSource",
    "Statement",
    "StatementCategory",
    "StatementLine",
]
