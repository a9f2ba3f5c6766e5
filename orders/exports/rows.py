"""What an export holds: the columns of the orders export, defined once as a queryset of final text, and the
daily summaries by station, partner and vendor.

The orders' rows are one queryset whose every value is what the file shows (yuan and kWh as exact
decimal text, Beijing times, labels in the reader's language, outside text made safe): PostgreSQL
writes it as CSV itself (COPY), SQLite's rows go through Python's csv module, and the XLSX writer puts
the same values into cells. Labels are taken in the language active when the queryset is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import BigIntegerField, CharField, Count, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import Case, Expression, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from backoffice.days import BEIJING
from chargers.models import Vendor
from orders.models import CloseReason, LineState, Order, OrderStatus, StatementLine
from orders.selectors import orders_of_days

from .expressions import JsonItem, LocalTime, kwh_text, labelled, neutralised, yuan_text


class Kind:
    """How a column's text is written into a workbook cell."""

    TEXT = "text"
    INTEGER = "integer"
    YUAN = "yuan"  # number format 0.00
    KWH = "kwh"  # number format 0.000


@dataclass(frozen=True)
class Column:
    key: str
    header: Promise
    kind: str
    # Built when the queryset is, so that its labels are in the language active then.
    expression: Callable[..., Expression]
    # The least width of the column in a workbook, in the width of a Latin character.
    width: int = 8
    # Whether `expression` takes the export's business days (days=(first, last) or None).
    takes_days: bool = False

    def build(self, *, days: tuple[date, date] | None = None) -> Expression:
        return self.expression(days=days) if self.takes_days else self.expression()


# Time-of-use periods in the order accounting reads them: 尖 峰 平 谷.
PERIODS = (
    ("cusp", _("Cusp energy (kWh)"), _("Cusp fee (yuan)")),
    ("peak", _("Peak energy (kWh)"), _("Peak fee (yuan)")),
    ("plain", _("Plain energy (kWh)"), _("Plain fee (yuan)")),
    ("valley", _("Valley energy (kWh)"), _("Valley fee (yuan)")),
)

# The worst state first: a difference still open says more about an order than one resolved, and a
# correction (our figures changed) more than an acceptance (they stand).
LINE_STATE_RANK = (LineState.OPEN, LineState.SENT_BACK, LineState.CORRECTED, LineState.ACCEPTED)


# The partner of the orders no partner brought, and the statement state of an order without a difference.
DIRECT = pgettext_lazy("an order without a partner", "Direct")
NO_DIFFERENCE = _("No difference")


def _period_part(period: str, index: int):
    """Element `index` of the period's [Wh, electricity fen, service fen]: 0 for a priced order that never
    touched the period, NULL for an order without our price."""
    value = JsonItem(KeyTransform(period, "price_periods"), index)
    return Coalesce(value, Case(When(price_periods__isnull=False, then=Value(0))), output_field=BigIntegerField())


def _period_energy(period):
    return lambda: kwh_text(_period_part(period, 0))


def _period_fee(period):
    return lambda: yuan_text(_period_part(period, 1) + _period_part(period, 2))


def _statement_state(*, days: tuple[date, date] | None = None):
    """The label of the order's worst difference in the daily close, or "No difference".

    Given the export's business days (whose statements hold their orders' lines), the orders with a line
    are found once per state, as sets the database builds once and probes per row: no lookup per row, and
    nothing that keeps PostgreSQL from computing the rows in parallel workers. Without them, each order's
    lines are looked up by the index on the lines' order (fine for a selection of orders).
    """
    # A line in any other state (one that no longer differs) is no difference.
    lines = StatementLine.objects.filter(state__in=LINE_STATE_RANK)
    none = Value(str(NO_DIFFERENCE))
    if days is None:
        rank = Case(*(When(state=state, then=Value(i)) for i, state in enumerate(LINE_STATE_RANK)))
        worst = (lines.filter(order=OuterRef("pk")).order_by(rank, "pk")
                 .values(label=labelled(F("state"), LineState))[:1])
        return Coalesce(Subquery(worst), none)
    lines = lines.filter(statement__day__gte=days[0], statement__day__lte=days[1])
    # Most orders have no line: one probe answers for them, four at most for the others.
    worst = Case(*(When(pk__in=lines.filter(state=state).values("order_id"), then=Value(str(state.label)))
                   for state in LINE_STATE_RANK))
    return Case(When(pk__in=lines.values("order_id"), then=worst), default=none)


ORDER_COLUMNS: tuple[Column, ...] = (
    Column("order_no", _("Order number"), Kind.TEXT, lambda: F("order_no"), width=22),
    Column("status", _("Status"), Kind.TEXT, lambda: labelled(F("status"), OrderStatus)),
    Column("partner", _("Partner"), Kind.TEXT,
           lambda: Coalesce(neutralised(F("partner__name")), Value(str(DIRECT)))),
    Column("partner_order_no", _("Partner order number"), Kind.TEXT, lambda: neutralised(F("partner_order_no")),
           width=14),
    Column("station", _("Station"), Kind.TEXT, lambda: neutralised(F("station__name")), width=12),
    Column("charger", _("Charger"), Kind.TEXT, lambda: neutralised(F("charger__serial")), width=12),
    Column("vendor", _("Vendor"), Kind.TEXT, lambda: labelled(F("charger__vendor"), Vendor)),
    Column("connector", _("Connector"), Kind.INTEGER, lambda: Cast(F("connector__number"), CharField())),
    Column("started_at", _("Started at"), Kind.TEXT, lambda: LocalTime("started_at"), width=20),
    Column("ended_at", _("Ended at"), Kind.TEXT, lambda: LocalTime("ended_at"), width=20),
    Column("energy", _("Energy (kWh)"), Kind.KWH, lambda: kwh_text(F("energy_wh")), width=10),
    Column("electricity_fee", _("Electricity fee (yuan)"), Kind.YUAN, lambda: yuan_text(F("electricity_fee_fen")),
           width=10),
    Column("service_fee", _("Service fee (yuan)"), Kind.YUAN, lambda: yuan_text(F("service_fee_fen")), width=10),
    Column("total", _("Total (yuan)"), Kind.YUAN, lambda: yuan_text(F("total_fee_fen")), width=10),
    *(column for period, energy, fee in PERIODS for column in (
        Column(f"{period}_energy", energy, Kind.KWH, _period_energy(period), width=10),
        Column(f"{period}_fee", fee, Kind.YUAN, _period_fee(period), width=10),
    )),
    Column("close_reason", _("Close reason"), Kind.TEXT, lambda: labelled(F("close_reason"), CloseReason), width=12),
    Column("vendor_total", _("Vendor's bill (yuan)"), Kind.YUAN, lambda: yuan_text(F("vendor_total_fen")), width=10),
    Column("statement_state", _("Statement state"), Kind.TEXT, _statement_state, width=12, takes_days=True),
)


def export_headers(*, columns=ORDER_COLUMNS) -> list[str]:
    """The header row in the active language."""
    return [str(column.header) for column in columns]


def export_rows(*, orders: QuerySet[Order], days: tuple[date, date] | None = None) -> QuerySet:
    """The orders' export rows in the order they were created: tuples of `ORDER_COLUMNS` values as text, None
    for an empty cell. `days` (first, last), when the orders are those of
    business days (`orders_of_days`), lets the statement state be found faster."""
    names = {f"export_{column.key}": column.build(days=days) for column in ORDER_COLUMNS}
    return orders.order_by("created_at", "id").annotate(**names).values_list(*names)


def export_sql(*, rows: QuerySet) -> tuple[str, tuple]:
    """The SQL and parameters of `rows`, for COPY."""
    sql, params = rows.query.get_compiler(rows.db).as_sql()
    return sql, tuple(params)


# --- the daily summaries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    key: str
    title: Promise  # the sheet's name and the CSV's "dimension" value
    code_field: str
    name_field: str | None


DIMENSIONS = (
    Dimension("station", _("Station"), "station__code", "station__name"),
    Dimension("partner", _("Partner"), "partner__org_code", "partner__name"),
    Dimension("vendor", _("Vendor"), "charger__vendor", None),
)


@dataclass(frozen=True)
class SummaryRow:
    """One business day's orders under one station, partner or vendor; figures in fen and Wh."""

    day: date
    code: str
    name: str
    orders: int
    energy_wh: int
    electricity_fen: int
    service_fen: int
    total_fen: int


SUMMARY_HEADERS = (
    _("Business day"), _("Code"), _("Name"), _("Orders"), _("Energy (kWh)"), _("Electricity fee (yuan)"),
    _("Service fee (yuan)"), _("Total (yuan)"),
)


def export_summary_rows(*, day_from: date, day_to: date, dimension: Dimension) -> list[SummaryRow]:
    """Every order of business days [day_from, day_to] counted and summed by day and by `dimension`, in the
    order of day and code. Orders without a partner are one row of their own ("Direct")."""
    fields = [dimension.code_field] + ([dimension.name_field] if dimension.name_field else [])
    grouped = (
        orders_of_days(day_from=day_from, day_to=day_to)
        .annotate(business_day=TruncDate("created_at", tzinfo=BEIJING))
        .order_by()
        .values("business_day", *fields)
        .annotate(orders=Count("pk"), energy=Sum("energy_wh"), electricity=Sum("electricity_fee_fen"),
                  service=Sum("service_fee_fen"), total=Sum("total_fee_fen"))
    )
    vendors = dict(Vendor.choices)
    rows = []
    for group in grouped:
        code = group[dimension.code_field]
        name = group[dimension.name_field] if dimension.name_field else str(vendors.get(code, code))
        if code is None:  # the orders no partner brought
            code, name = "", str(DIRECT)
        rows.append(SummaryRow(day=group["business_day"], code=code, name=name, orders=group["orders"],
                               energy_wh=group["energy"], electricity_fen=group["electricity"],
                               service_fen=group["service"], total_fen=group["total"]))
    rows.sort(key=lambda row: (row.day, row.code == "", row.code))
    return rows
