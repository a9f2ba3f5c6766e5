"""The contract between the daily close and a counterparty: its statement source, and their registry.

`orders` never imports a vendor or a partner. Each counterparty folder in `integrations` registers one
`StatementSource` at start-up (its `CounterpartyConfig.statement_source()`), the way it registers its
vendor adapter. A source says which of our orders it should know about, yields its own records of a
business day, and may repair first: ask the counterparty for what it never sent, so that a dropped push
is fetched back rather than reported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from orders.models import Order, StatementCategory


@dataclass(frozen=True)
class CounterpartyRecord:
    """One record of the counterparty's, in house units.

    `order_no` is our order number as the counterparty names it (empty when it names none of ours);
    `reference` is its own id for the record. A figure it does not state is None; `status` is an
    `OrderStatus` value, or empty when it does not say.
    """

    order_no: str
    reference: str = ""
    energy_wh: int | None = None
    amount_fen: int | None = None
    status: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.order_no or f"~{self.reference}"

    def figures(self) -> dict:
        return {"energy_wh": self.energy_wh, "amount_fen": self.amount_fen, "status": self.status,
                "reference": self.reference, **self.extra}


class StatementSource:
    """A counterparty's side of the daily close. Subclasses set `code` and `label` and implement `records`."""

    code: str = ""  # the counterparty's code (integrations.models.Counterparty value)
    label = ""
    # A vendor cloud that runs our chargers: our price is compared with its bill, and the conflicts recorded
    # on our orders (a second settlement, readings left out of pricing) are differences of its statement.
    runs_chargers: bool = False
    # The category of a difference in amount: what we charged against what it holds, or (a vendor's bill)
    # our price against its bill.
    amount_category: str = StatementCategory.AMOUNT

    def orders(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        """Of a day's orders, those that concern this counterparty."""
        raise NotImplementedError

    def expects(self, order: Order) -> bool:
        """Whether the counterparty should hold a record of this order (one of `orders`)."""
        return True

    def missing_detail(self, order: Order) -> str:
        """Why the counterparty holds no record of an order it should (what it answered when it was sent one), for
        the finance staff who read the difference; empty when there is nothing to say."""
        return ""

    def our_figures(self, order: Order) -> dict:
        """Our figures to compare with its records: energy_wh, amount_fen, status (None where not compared)."""
        return {"energy_wh": order.energy_wh, "amount_fen": order.total_fee_fen, "status": order.status}

    def repair(self, *, day: date, orders: QuerySet[Order]) -> int:
        """Ask the counterparty for what is missing among `orders` (this source's orders of the day) and
        apply what it answers; returns how many orders it brought up to date."""
        return 0

    def summary(self, *, day: date) -> dict:
        """What else the counterparty reported for the day, outside our orders, as a table shown with its
        statement: {"title": str, "columns": [str], "rows": [[cell]], "totals": [cell]}; empty for none."""
        return {}

    def records(self, *, day: date, orders: QuerySet[Order]) -> Iterable[CounterpartyRecord]:
        """Its records of the day, in the order of their `key` (our order number), so that the comparison
        reads both sides once, side by side, with flat memory."""
        raise NotImplementedError


class SourceRegistry:
    """Counterparty code → statement source. Filled once at start-up; read from any thread."""

    def __init__(self):
        self._sources: dict[str, StatementSource] = {}
        self._lock = threading.Lock()

    def register(self, source: StatementSource) -> None:
        with self._lock:
            existing = self._sources.get(source.code)
            if existing is not None and type(existing) is not type(source):
                raise ValueError(f"A statement source for {source.code!r} is already registered.")
            self._sources[source.code] = source

    def unregister(self, code: str) -> None:
        with self._lock:
            self._sources.pop(code, None)

    def get(self, code: str) -> StatementSource:
        return self._sources[code]

    def __iter__(self) -> Iterator[StatementSource]:
        return iter(sorted(self._sources.values(), key=lambda source: source.code))

    def codes(self) -> list[str]:
        return sorted(self._sources)


statement_sources = SourceRegistry()
