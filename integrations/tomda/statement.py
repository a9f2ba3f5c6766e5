"""Tomda's side of the daily close: what Tomda told us about the day's sessions on its chargers.

Its records are its settlements as they reached us (`integrations.statements`): the settlement that settled
each order (an `ORDER_DATA` push, or the progress answer an order was closed from), and every `ORDER_DATA` we
could not apply.

Repair comes first: each order of the day that has not ended in our books is asked about with the
progress query (§4.5.5), and one that has ended is settled from Tomda's answer; so a dropped `ORDER_DATA`
is fetched back, and the comparison reports only what Tomda itself contradicts.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from chargers.models import Vendor
from integrations.statements import VendorStatementSource, row_body
from orders.models import Order
from orders.services import orders_refresh

from .protocol import OrderEnd, push_parse


class TomdaStatementSource(VendorStatementSource):
    code = Vendor.TOMDA
    label = _("Tomda")
    settlement_kind = "ORDER_DATA"

    def settlement_read(self, row):
        parsed = push_parse(body=row_body(row), content_type=row.content_type, received_at=row.received_at)
        if not isinstance(parsed.record, OrderEnd):
            return None
        return parsed.record.order_no, parsed.record.settlement, {"serial": parsed.record.serial}

    def repair(self, *, day: date, orders: QuerySet[Order]) -> int:
        return orders_refresh(orders=self.unsettled(orders), vendor=self.code, close_if_ended=True)
