"""The partner's own books, kept from the callbacks it received, and its reconciliation against checkChargeOrders.

An order's figures are those of its most telling callback: end beats progress beats start, whatever the order
they arrived in (a progress retried late must not undo the final figures); between two of the same kind the
later notifyTime wins, and on a tie the later arrival. An order is dated by its creation, which the start
callback announces ("when the order is created"), so its notifyTime stands for it; without a start callback,
its timeStart, else the earliest notifyTime seen.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from integrations.partner.simulator.protocol import BEIJING, NOTIFY_RANK, as_decimal, parse_wire_time
from integrations.partner.simulator.receiver import ReceivedCallback

KWH = Decimal("0.001")
YUAN = Decimal("0.01")


@dataclass
class OrderRecord:
    order_id: str
    detail: dict  # the order detail of the most telling callback
    notify_type: str  # the kind of that callback
    notify_time: str
    announced_at: dt.datetime | None = None  # notifyTime of the start callback
    earliest_at: dt.datetime | None = None  # earliest timeStart or notifyTime of the other callbacks
    callbacks: int = 0  # how many distinct callbacks spoke of it

    @property
    def created_at(self) -> dt.datetime | None:
        return self.announced_at or self.earliest_at

    @property
    def ended(self) -> bool:
        """Settled or failed to start: the end callback came, so its figures are final."""
        return self.notify_type == "end"

    @property
    def status(self) -> int | None:
        return self.detail.get("status")

    @property
    def power(self) -> Decimal:
        return as_decimal(self.detail.get("power", 0))

    @property
    def fee(self) -> Decimal:
        return as_decimal(self.detail.get("feeTotal", 0))

    @property
    def day(self) -> dt.date | None:
        """The Beijing day the order was created on."""
        return self.created_at.astimezone(BEIJING).date() if self.created_at else None


@dataclass(frozen=True)
class Totals:
    count: int
    power: Decimal  # kWh
    fee: Decimal  # yuan
    order_ids: tuple[str, ...]


@dataclass(frozen=True)
class Difference:
    """One figure on which the partner and we disagree; for orderList, one order only one side lists."""

    field: str
    ours: Any  # the partner's books
    theirs: Any  # checkChargeOrders' answer

    def __str__(self) -> str:
        return f"{self.field}: partner {self.ours}, operator {self.theirs}"


@dataclass
class ReconcileResult:
    start: dt.datetime
    end: dt.datetime
    check: dict  # checkChargeOrders' data, as answered
    ours: Totals
    differences: list[Difference] = field(default_factory=list)
    open_orders: list[str] = field(default_factory=list)  # created in the window, not ended in the partner's books

    @property
    def agrees(self) -> bool:
        return not self.differences

    def __str__(self) -> str:
        head = (f"{self.ours.count} orders, {self.ours.power} kWh, {self.ours.fee} yuan "
                f"(check {self.check.get('checkOrderNo')})")
        if self.agrees:
            return f"agree: {head}"
        return f"{len(self.differences)} differences on {head}: " + "; ".join(map(str, self.differences))


def _record_key(notify_type: str, notify_time: str, arrival: int) -> tuple:
    return NOTIFY_RANK.get(notify_type, -1), notify_time or "", arrival


def totals_of(orders: Iterable[OrderRecord]) -> Totals:
    orders = list(orders)
    power = sum((order.power for order in orders), Decimal(0)).quantize(KWH)
    fee = sum((order.fee for order in orders), Decimal(0)).quantize(YUAN)
    return Totals(len(orders), power, fee, tuple(order.order_id for order in orders))


class PartnerRecords:
    """Order records by OrderId, from callbacks (`add`, which `CallbackReceiver(on_callback=...)` can call)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._orders: dict[str, OrderRecord] = {}
        self._keys: dict[str, tuple] = {}
        self._arrivals = 0

    def add(self, callback: ReceivedCallback | dict) -> OrderRecord | None:
        """Take a callback (as received, or its parsed body); returns the order's record, None without an OrderId."""
        body = callback.body if isinstance(callback, ReceivedCallback) else callback
        detail = body.get("data")
        if not isinstance(detail, dict) or detail.get("OrderId") in (None, ""):
            return None
        order_id = str(detail["OrderId"])
        notify_type = str(body.get("notifyType"))
        notify_time = str(body.get("notifyTime") or "")
        with self._lock:
            self._arrivals += 1
            key = _record_key(notify_type, notify_time, self._arrivals)
            record = self._orders.get(order_id)
            if record is None:
                record = self._orders[order_id] = OrderRecord(order_id, detail, notify_type, notify_time)
                self._keys[order_id] = key
            elif key > self._keys[order_id]:
                record.detail, record.notify_type, record.notify_time = detail, notify_type, notify_time
                self._keys[order_id] = key
            record.callbacks += 1
            if notify_type == "start":
                record.announced_at = parse_wire_time(notify_time) or record.announced_at
            else:
                seen = [moment for moment in (parse_wire_time(detail.get("timeStart")), parse_wire_time(notify_time),
                                              record.earliest_at) if moment is not None]
                record.earliest_at = min(seen) if seen else None
            return replace(record)  # a copy: the books change under the lock only

    # ---- reading ---------------------------------------------------------------------------------------------

    def get(self, order_id: str) -> OrderRecord | None:
        with self._lock:
            record = self._orders.get(str(order_id))
            return None if record is None else replace(record)

    def orders(self, start: dt.datetime | None = None, end: dt.datetime | None = None, *,
               ended: bool | None = None) -> list[OrderRecord]:
        """Records created in [start, end) (either bound optional), by creation; `ended` True/False filters."""
        with self._lock:
            records = [replace(record) for record in self._orders.values()]
        chosen = []
        for record in records:
            created = record.created_at
            if (start is not None or end is not None) and created is None:
                continue
            if start is not None and created < start:
                continue
            if end is not None and created >= end:
                continue
            if ended is not None and record.ended != ended:
                continue
            chosen.append(record)
        far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
        return sorted(chosen, key=lambda record: (record.created_at or far_past, record.order_id))

    def day_totals(self, orders: Iterable[OrderRecord] | None = None) -> dict[dt.date | None, Totals]:
        """Count, kWh and yuan per Beijing day of creation, of `orders` (default: every ended order)."""
        orders = self.orders(ended=True) if orders is None else list(orders)
        days: dict[dt.date | None, list[OrderRecord]] = {}
        for order in orders:
            days.setdefault(order.day, []).append(order)
        return {day: totals_of(day_orders) for day, day_orders in days.items()}

    # ---- reconciling -----------------------------------------------------------------------------------------

    def reconcile(self, client, start: dt.datetime, end: dt.datetime) -> ReconcileResult:
        """Ask `client.check(start, end)` (checkChargeOrders) and compare it with the ended orders of our books
        created in [start, end): count, kWh, yuan and the list of orders, exactly. `client` is anything with
        that `check` method (a PartnerClient, or a fake in a test); its PartnerApiError goes to the caller.
        """
        check = client.check(start, end)
        ours = totals_of(self.orders(start, end, ended=True))
        open_orders = [record.order_id for record in self.orders(start, end, ended=False)]
        result = ReconcileResult(start=start, end=end, check=check, ours=ours, open_orders=open_orders)
        if not isinstance(check, dict):
            result.differences.append(Difference("data", "an object", check))
            return result
        differences = result.differences
        if check.get("orderCount") != ours.count:
            differences.append(Difference("orderCount", ours.count, check.get("orderCount")))
        for name, mine in (("totalOrderPower", ours.power), ("totoalOrderFee", ours.fee)):
            try:
                theirs = as_decimal(check.get(name))
            except (ValueError, ArithmeticError):
                differences.append(Difference(name, mine, check.get(name)))
                continue
            if theirs != mine:
                differences.append(Difference(name, mine, theirs))
        listed = check.get("orderList")
        if not isinstance(listed, list):
            differences.append(Difference("orderList", list(ours.order_ids), listed))
            return result
        listed_ids = [str(order_id) for order_id in listed]
        for order_id in sorted(set(listed_ids) - set(ours.order_ids)):
            differences.append(Difference("orderList", None, order_id))
        for order_id in sorted(set(ours.order_ids) - set(listed_ids)):
            differences.append(Difference("orderList", order_id, None))
        if len(set(listed_ids)) != len(listed_ids):
            repeated = sorted({order_id for order_id in listed_ids if listed_ids.count(order_id) > 1})
            differences.append(Difference("orderList", "each order once", f"repeated {', '.join(repeated)}"))
        return result
