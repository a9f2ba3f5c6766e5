"""Reads of the daily close: the state of each recent day, and a day's statements with their totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.days import BEIJING, business_day_bounds, business_day_of
from orders.models import BusinessDay, Order, Statement, StatementLine
from orders.models.close import UNRESOLVED_STATES

from .sources import statement_sources


class DayState:
    """Where a day stands in the close, as finance reads it in the morning."""

    CLOSED = "closed"
    READY = "ready"
    DIFFERENCES = "differences"
    NOT_BUILT = "not_built"
    RUNNING = "running"

    LABELS = {
        CLOSED: _("Closed"),
        READY: _("Ready to close"),
        DIFFERENCES: _("Open differences"),
        NOT_BUILT: _("Statements not built"),
        RUNNING: _("The day has not ended"),
    }


@dataclass
class DayOverview:
    day: date
    orders: int = 0
    statements: dict = field(default_factory=dict)  # counterparty code → Statement
    unresolved: int = 0
    closed: bool = False
    closed_at: datetime | None = None
    state: str = DayState.NOT_BUILT

    @property
    def state_label(self):
        return DayState.LABELS[self.state]

    @property
    def missing_sources(self) -> list[str]:
        return [str(source.label) for source in statement_sources if source.code not in self.statements]


def business_days_overview(*, days: int = 31, now: datetime | None = None) -> list[DayOverview]:
    """The last `days` business days, newest first: orders, statements, unresolved differences, state.

    A handful of queries over indexed columns, whatever the size of the days. "Ready" means built for
    every source with nothing unresolved; the close itself checks the rest (`business_day_blockers`).
    """
    now = now or timezone.now()
    today = business_day_of(now)
    first = today - timedelta(days=days - 1)
    overview = {first + timedelta(days=n): DayOverview(day=first + timedelta(days=n)) for n in range(days)}
    start, _end = business_day_bounds(first)
    counts = (Order.objects.filter(created_at__gte=start).annotate(day=TruncDate("created_at", tzinfo=BEIJING))
              .values("day").annotate(n=Count("id")))
    for row in counts:
        if row["day"] in overview:
            overview[row["day"]].orders = row["n"]
    for statement in Statement.objects.filter(day__gte=first, day__lte=today):
        overview[statement.day].statements[statement.counterparty] = statement
    unresolved = (StatementLine.objects.filter(statement__day__gte=first, statement__day__lte=today,
                                               state__in=UNRESOLVED_STATES)
                  .values("statement__day").annotate(n=Count("id")))
    for row in unresolved:
        overview[row["statement__day"]].unresolved = row["n"]
    for business_day in BusinessDay.objects.filter(day__gte=first, day__lte=today, closed=True):
        overview[business_day.day].closed, overview[business_day.day].closed_at = True, business_day.closed_at
    for item in overview.values():
        if item.closed:
            item.state = DayState.CLOSED
        elif item.day >= today:
            item.state = DayState.RUNNING
        elif item.unresolved:
            item.state = DayState.DIFFERENCES
        elif item.missing_sources:
            item.state = DayState.NOT_BUILT
        else:
            item.state = DayState.READY
    return sorted(overview.values(), key=lambda item: item.day, reverse=True)


def day_statements(*, day: date) -> list[tuple[object, Statement | None, dict]]:
    """Each source with its statement of `day` (None before one is built) and its lines counted by state."""
    statements = {statement.counterparty: statement for statement in Statement.objects.filter(day=day)}
    counts: dict = {}
    rows = (StatementLine.objects.filter(statement__day=day).values("statement__counterparty", "state")
            .annotate(n=Count("id")))
    for row in rows:
        counts.setdefault(row["statement__counterparty"], {})[row["state"]] = row["n"]
    return [(source, statements.get(source.code), counts.get(source.code, {})) for source in statement_sources]

