"""What the statement sources of vendor clouds share: the vendor's closing word on each session, as it reached us.

A vendor cloud publishes no statement file; its records of a day are its settlements as we received them: the
one that settled each order, and every settlement push we could not apply (about an order we do not have:
missing on our side; or one that failed or was refused: its figures beside ours), read back from the inbox
with the vendor's own parser. A push that failed verification or came from a sender outside the allow-list is
never taken as the vendor's word. A subclass names its settlement kind and reads one such row.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date

from django.db.models import Q, QuerySet

from backoffice.days import business_day_bounds
from integrations.inbox.protocol import InboundRejected
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification
from orders.models import TERMINAL_STATUSES, Order, OrderSettlement, OrderStatus, StatementCategory
from orders.reconciliation.sources import CounterpartyRecord, StatementSource
from orders.services import Settlement

# Refusals that still carry the vendor's word about a session (not a malformed body or an untrusted sender).
_TRUSTED_REFUSALS = (RejectReason.UNKNOWN_ORDER, RejectReason.UNKNOWN_CHARGER, RejectReason.UNKNOWN_CONNECTOR,
                     RejectReason.INVALID, "")


class VendorStatementSource(StatementSource):
    """A vendor cloud's statement. Subclasses set `code`, `label`, `settlement_kind` and `settlement_read`."""

    runs_chargers = True
    # The vendor's amount is its bill, set beside our own price.
    amount_category = StatementCategory.PRICE
    settlement_kind: str = ""  # the inbox kind of its settlement push

    def settlement_read(self, row: InboundMessage) -> tuple[str, Settlement, dict] | None:
        """(our order number, the settlement, extra figures) of a stored settlement push; None when the row
        is not one. Raises InboundRejected for one that cannot be read."""
        raise NotImplementedError

    def orders(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        return orders.filter(charger__vendor=self.code)

    def unsettled(self, orders: QuerySet[Order]) -> list[Order]:
        """Of the day's orders, those the vendor has still to close: what its repair asks about."""
        return list(orders.exclude(status__in=TERMINAL_STATUSES).exclude(status=OrderStatus.CREATED)
                    .select_related("charger", "connector", "tariff_version").order_by("id"))

    def expects(self, order: Order) -> bool:
        # A session that started charging ends with the vendor's settlement; a start that failed or a booking
        # that was cancelled has none.
        return order.started_at is not None

    def our_figures(self, order: Order) -> dict:
        settled = order.status == OrderStatus.SETTLED
        return {"energy_wh": order.energy_wh, "amount_fen": order.total_fee_fen if settled else None,
                "status": order.status}

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
        """Settlement pushes of the day that were never applied, read again from what we stored."""
        start, end = business_day_bounds(day)
        prefix = day.strftime("%Y%m%d")  # our order numbers begin with the Beijing time they were made
        rows = (InboundMessage.objects.filter(vendor=self.code, kind=self.settlement_kind, duplicate_of__isnull=True,
                                              status__in=(InboundStatus.FAILED, InboundStatus.REJECTED),
                                              reject_reason__in=_TRUSTED_REFUSALS)
                .exclude(verification=Verification.FAILED)
                .filter(Q(order_no__startswith=prefix) | Q(received_at__gte=start, received_at__lt=end))
                .only("body", "content_type", "received_at", "order_no", "status", "kind", "charger_serial"))
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
                read = self.settlement_read(row)
            except InboundRejected:
                continue
            if read is None:
                continue
            order_no, settlement, extra = read
            if (order_no, settlement.energy_wh, settlement.vendor_total_fen) in applied:
                continue
            yield CounterpartyRecord(
                order_no=order_no, reference=f"inbox#{row.pk}", energy_wh=settlement.energy_wh,
                amount_fen=settlement.vendor_total_fen, status=OrderStatus.SETTLED,
                extra={"inbox_status": row.status, **extra},
            )


def row_body(row: InboundMessage) -> bytes:
    """A stored push's bytes as they came (a byte that was not UTF-8 is kept escaped)."""
    return row.body.encode("utf-8", "surrogateescape")
