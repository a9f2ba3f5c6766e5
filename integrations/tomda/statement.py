"""Tomda's side of the daily close: what Tomda told us about the day's sessions on its chargers.

Tomda publishes no statement file, so its records are its own closing words as they reached us: the
settlement that settled each order (an `ORDER_DATA` push, or the progress answer an order was closed
from), and every `ORDER_DATA` we could not apply: about an order we do not have (missing on our side),
or one that failed or was refused (its figures beside ours). A push that failed verification or came
from a sender outside the allow-list is never taken as Tomda's word.

Repair comes first: each order of the day that has not ended in our books is asked about with the
progress query (§4.5.5), and one that has ended is settled from Tomda's answer; so a dropped `ORDER_DATA`
is fetched back, and the comparison reports only what Tomda itself contradicts.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chargers.models import Vendor
from integrations.inbox.protocol import InboundRejected
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification
from orders.days import business_day_bounds
from orders.models import TERMINAL_STATUSES, Order, OrderSettlement, OrderStatus, StatementCategory
from orders.reconciliation.sources import CounterpartyRecord, StatementSource
from orders.services import orders_refresh

from .protocol import OrderEnd, push_parse

# Refusals that still carry Tomda's word about a session (not a malformed body or an untrusted sender).
_TRUSTED_REFUSALS = (RejectReason.UNKNOWN_ORDER, RejectReason.UNKNOWN_CHARGER, RejectReason.UNKNOWN_CONNECTOR,
                     RejectReason.INVALID, "")


class TomdaStatementSource(StatementSource):
    code = Vendor.TOMDA
    label = _("Tomda")
    runs_chargers = True
    # Tomda's amount is its bill (chargeCost), set beside our own price.
    amount_category = StatementCategory.PRICE

    def orders(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        return orders.filter(charger__vendor=Vendor.TOMDA)

    def expects(self, order: Order) -> bool:
        # A session that started charging ends with Tomda's settlement; a start that failed or a booking
        # that was cancelled has none.
        return order.started_at is not None

    def our_figures(self, order: Order) -> dict:
        settled = order.status == OrderStatus.SETTLED
        return {"energy_wh": order.energy_wh, "amount_fen": order.total_fee_fen if settled else None,
                "status": order.status}

    def repair(self, *, day: date, orders: QuerySet[Order]) -> int:
        unsettled = list(orders.exclude(status__in=TERMINAL_STATUSES).exclude(status=OrderStatus.CREATED)
                         .select_related("charger", "connector", "tariff_version").order_by("id"))
        return orders_refresh(orders=unsettled, vendor=self.code, close_if_ended=True)

    def records(self, *, day: date, orders: QuerySet[Order]) -> Iterator[CounterpartyRecord]:
        return heapq.merge(self._settlements(orders), sorted(self._unapplied(day, orders), key=lambda r: r.key),
                           key=lambda record: record.key)

    def _settlements(self, orders: QuerySet[Order]) -> Iterator[CounterpartyRecord]:
        """The settlement each order was settled with (the last applied one), in order-number order."""
        rows = (OrderSettlement.objects.filter(order__in=orders, applied=True)
                .order_by("order__order_no", "recorded_at", "id")
                .values_list("order__order_no", "order__vendor_order_id", "energy_wh", "vendor_total_fen", "source")
                .iterator(chunk_size=2000))
        pending = None
        for order_no, reference, energy_wh, total, source in rows:
            if pending is not None and pending.order_no != order_no:
                yield pending
            pending = CounterpartyRecord(order_no=order_no, reference=reference, energy_wh=energy_wh,
                                         amount_fen=total, status=OrderStatus.SETTLED, extra={"source": source})
        if pending is not None:
            yield pending

    def _unapplied(self, day: date, orders: QuerySet[Order]) -> Iterator[CounterpartyRecord]:
        """`ORDER_DATA` pushes of the day that were never applied, read again from what we stored."""
        start, end = business_day_bounds(day)
        prefix = day.strftime("%Y%m%d")  # our order numbers begin with the Beijing time they were made
        rows = (InboundMessage.objects.filter(vendor=Vendor.TOMDA, kind="ORDER_DATA", duplicate_of__isnull=True,
                                              status__in=(InboundStatus.FAILED, InboundStatus.REJECTED),
                                              reject_reason__in=_TRUSTED_REFUSALS)
                .exclude(verification=Verification.FAILED)
                .filter(Q(order_no__startswith=prefix) | Q(received_at__gte=start, received_at__lt=end))
                .only("body", "content_type", "received_at", "order_no", "status"))
        rows = list(rows)
        named = {row.order_no for row in rows}
        ours_today = set(orders.filter(order_no__in=named).values_list("order_no", flat=True))
        # A push refused once and applied when sent again is the settlement already counted, not a second one.
        applied = set(OrderSettlement.objects.filter(order__order_no__in=ours_today, applied=True)
                      .values_list("order__order_no", "energy_wh", "vendor_total_fen"))
        known_elsewhere = set(Order.objects.filter(order_no__in=named - ours_today).values_list("order_no", flat=True))
        for row in rows:
            if row.order_no in known_elsewhere:
                continue  # an order of another day: that day's statement has it
            if row.order_no not in ours_today and not (row.order_no.startswith(prefix) or not row.order_no.isdigit()):
                continue
            try:
                parsed = push_parse(body=row.body.encode("utf-8", "surrogateescape"), content_type=row.content_type,
                                    received_at=row.received_at)
            except InboundRejected:
                continue
            if not isinstance(parsed.record, OrderEnd):
                continue
            settlement = parsed.record.settlement
            if (parsed.record.order_no, settlement.energy_wh, settlement.vendor_total_fen) in applied:
                continue
            yield CounterpartyRecord(
                order_no=parsed.record.order_no, reference=f"inbox#{row.pk}", energy_wh=settlement.energy_wh,
                amount_fen=settlement.vendor_total_fen, status=OrderStatus.SETTLED,
                extra={"inbox_status": row.status, "serial": parsed.record.serial},
            )
