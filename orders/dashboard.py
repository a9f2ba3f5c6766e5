"""The orders' figures on the admin's dashboard (backoffice/adminkit/dashboard.py), and their panels.

- energy, revenue and orders per business day over the last 30 days, as bar charts: one aggregate query
  over the created-at index, grouped by the local day the orders were created in (the day they belong to);
- the differences of the daily close still unresolved (open or sent back), by business day: one query.

Figures are integer Wh and fen, turned into kWh and yuan only as exact text for display.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit.charts import bar_chart
from backoffice.adminkit.dashboard import Panel, panel_register
from backoffice.days import BEIJING, business_day_of
from orders.models import LineState, OrderStatus, StatementLine
from orders.models.close import UNRESOLVED_STATES
from orders.selectors import orders_of_days
from tariffs.units import format_fen, format_wh

CHART_DAYS = 30
# Sessions that never charged: counted by the daily close, but an operator's "orders" are sales.
NEVER_CHARGED = (OrderStatus.START_FAILED, OrderStatus.CANCELLED)
# The days of unresolved differences listed, latest first; finance resolves them day by day, so more
# than this means the close is far behind, which the note under the list says.
DIFFERENCE_DAYS_SHOWN = 60


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders: int
    energy_wh: int
    revenue_fen: int


def orders_figures_by_day(*, day_from: date, day_to: date) -> list[DayFigures]:
    """Orders, energy and revenue of each business day in [day_from, day_to], every day listed (zeros for
    a day without orders), from one aggregate query.

    An order counts on the day it was created in (Asia/Shanghai), as in the daily close; sessions that never
    charged (start failed, cancelled) are left out. Revenue is the orders' total fee, so far for a session
    still running.
    """
    rows = (
        orders_of_days(day_from=day_from, day_to=day_to)
        .exclude(status__in=NEVER_CHARGED)
        .annotate(day=TruncDate("created_at", tzinfo=BEIJING))
        .values("day")
        .annotate(orders=Count("pk"), energy_wh=Sum("energy_wh"), revenue_fen=Sum("total_fee_fen"))
        .order_by("day")
    )
    found = {row["day"]: row for row in rows}
    days = []
    day = day_from
    while day <= day_to:
        row = found.get(day) or {}
        days.append(DayFigures(day=day, orders=row.get("orders") or 0, energy_wh=row.get("energy_wh") or 0,
                               revenue_fen=row.get("revenue_fen") or 0))
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class DayDifferences:
    day: date
    open: int
    sent_back: int

    @property
    def total(self) -> int:
        return self.open + self.sent_back


def statement_lines_unresolved_by_day(*, limit: int = DIFFERENCE_DAYS_SHOWN) -> tuple[list[DayDifferences], bool]:
    """The unresolved differences (open, sent back) of each business day that has any, latest day first:
    at most `limit` days, and whether there are more. One query, over the lines' index on their state."""
    rows = list(
        StatementLine.objects.filter(state__in=UNRESOLVED_STATES)
        .values("statement__day")
        .annotate(open=Count("pk", filter=Q(state=LineState.OPEN)),
                  sent_back=Count("pk", filter=Q(state=LineState.SENT_BACK)))
        .order_by("-statement__day")[: limit + 1]
    )
    days = [DayDifferences(day=row["statement__day"], open=row["open"], sent_back=row["sent_back"])
            for row in rows[:limit]]
    return days, len(rows) > limit


# --- the panels -------------------------------------------------------------------------------------


def _days_figures() -> dict:
    today = business_day_of(timezone.now())
    days = orders_figures_by_day(day_from=today - timedelta(days=CHART_DAYS - 1), day_to=today)
    x_title = gettext("Business day")

    def orders_text(d):
        return ngettext("%(count)d order", "%(count)d orders", d.orders) % {"count": d.orders}

    def items(value, text):
        """(x label, value, tooltip) of each day: the tooltip is the exact figure of the day."""
        return [(f"{d.day:%m-%d}", value(d), gettext("%(day)s: %(value)s") % {"day": d.day, "value": text(d)})
                for d in days]

    charts = [
        bar_chart(name="chart-energy", caption=gettext("Energy per business day (kWh)"), unit=gettext("kWh"),
                  x_title=x_title, places=3,
                  items=items(lambda d: d.energy_wh, lambda d: gettext("%s kWh") % format_wh(d.energy_wh))),
        bar_chart(name="chart-revenue", caption=gettext("Revenue per business day (yuan)"), unit=gettext("yuan"),
                  x_title=x_title, places=2,
                  items=items(lambda d: d.revenue_fen, lambda d: gettext("%s yuan") % format_fen(d.revenue_fen))),
        bar_chart(name="chart-orders", caption=gettext("Orders per business day"), unit=gettext("orders"),
                  x_title=x_title, places=0,
                  items=items(lambda d: d.orders, orders_text)),
    ]
    return {
        "charts": charts,
        "day_from": days[0].day,
        "day_to": days[-1].day,
        "orders": sum(d.orders for d in days),
        "energy_kwh": format_wh(sum(d.energy_wh for d in days)),
        "revenue_yuan": format_fen(sum(d.revenue_fen for d in days)),
    }


def _differences_figures() -> dict:
    days, more = statement_lines_unresolved_by_day()
    return {
        "days": days,
        "more": more,
        "shown": DIFFERENCE_DAYS_SHOWN,
        "open": sum(d.open for d in days),
        "sent_back": sum(d.sent_back for d in days),
        "states": ",".join(UNRESOLVED_STATES),
    }


panel_register(Panel(
    name="orders-days",
    title=_("Energy, revenue and orders of the last 30 days"),
    template="admin/dashboard/orders_days.html",
    models=("orders.order",),
    figures=_days_figures,
    order=10,
))
panel_register(Panel(
    name="open-differences",
    title=_("Open differences of the daily close"),
    template="admin/dashboard/open_differences.html",
    models=("orders.statementline",),
    figures=_differences_figures,
    order=20,
))
