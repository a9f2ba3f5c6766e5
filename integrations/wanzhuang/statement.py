"""Wanzhuang's side of the daily close: its finish callbacks as they reached us, and what its devices took by
themselves.

Its records are its settlements (`integrations.statements`): the finish_order each order was settled with,
and every finish_order we could not apply. Repair comes first: for each order of the day that has not settled
in our books, the callback log (`/open/callback/log`) is asked, and a finish_order it holds is applied as if
it had come; so a lost finish callback is fetched back before the day is compared. The day's summary is each
device's coin and offline-card revenue (offline_profit), which no order of ours holds.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.days import business_day_bounds
from chargers.models import Vendor
from chargers.selectors import offline_revenue_between
from integrations.statements import VendorStatementSource, row_body
from orders.models import Order, OrderStatus
from tariffs.units import format_fen

from .protocol import FINISH_ORDER, FinishOrder, callback_parse
from .recovery import orders_recover


class WanzhuangStatementSource(VendorStatementSource):
    code = Vendor.WANZHUANG
    label = gettext_lazy("Wanzhuang")
    settlement_kind = FINISH_ORDER

    def expects(self, order: Order) -> bool:
        # A start that failed (start_power said so) or never reached the port has no finish_order.
        return order.started_at is not None and order.status != OrderStatus.START_FAILED

    def settlement_read(self, row):
        parsed = callback_parse(kind=row.kind, body=row_body(row), content_type=row.content_type,
                                received_at=row.received_at)
        if not isinstance(parsed.record, FinishOrder):
            return None
        return parsed.record.order_no, parsed.record.settlement, {"serial": parsed.record.serial}

    def repair(self, *, day: date, orders: QuerySet[Order]) -> int:
        return orders_recover(orders=self.unsettled(orders))

    def summary(self, *, day: date) -> dict:
        start, end = business_day_bounds(day)
        rows = offline_revenue_between(vendor=self.code, start=start, end=end)
        if not rows:
            return {}
        coins, cards = sum(row["coin_fen"] for row in rows), sum(row["card_fen"] for row in rows)
        return {
            "title": _("Offline revenue the devices took by themselves (coins and offline cards), yuan"),
            "columns": [_("device"), _("station"), _("coins"), _("offline cards"), _("total"),
                        _("counter resets (what was taken before them is not counted)")],
            "rows": [[row["serial"], row["station"], format_fen(row["coin_fen"]), format_fen(row["card_fen"]),
                      format_fen(row["coin_fen"] + row["card_fen"]), row["resets"]] for row in rows],
            "totals": [_("total"), "", format_fen(coins), format_fen(cards), format_fen(coins + cards),
                       sum(row["resets"] for row in rows)],
        }
