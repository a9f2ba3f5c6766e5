"""A partner's side of the daily close, for every partner interface.

Its records are the final callbacks the partner acknowledged: for each order a partner brought that has ended,
the figures of our newest `end` callback, once the partner acknowledged it. An order that ended without one (never
sent, still retrying, given up), or whose newest one is not acknowledged yet, is missing on the partner's side until
it is; an acknowledged one whose figures are no longer the order's is a difference of energy, amount or status.
Repair sends what is owed first: a new end callback for an order that has none or whose figures changed since (a
correction), and a retry of a newest one that was given up.

The summary shows, per partner, the day's orders in kWh and yuan with electricity and service apart, how many
final callbacks were acknowledged, and the last reconciliation answer (checkChargeOrders) given for exactly that
day beside what it would say now: it must agree to the fen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext as _

from backoffice.days import business_day_bounds
from integrations.models import DeliveryStatus, OutboundDelivery, PartnerCheck
from integrations.outbox import delivery_retry
from orders.models import TERMINAL_STATUSES, Order
from orders.reconciliation.sources import CounterpartyRecord, StatementSource
from tariffs.units import format_fen, format_wh

from .callbacks import END, newest_finals, order_callback_end

BATCH = 2000
REPAIR_BY = "daily close"


class PartnerStatementSource(StatementSource):
    """Subclasses set `code`, `label`, `protocol` (a PartnerProtocol value), `callback_kind`, `read` (a final
    callback's body → CounterpartyRecord fields: energy_wh, amount_fen, status, extra) and `status_of` (our order's
    status in the same words)."""

    protocol: str = ""
    callback_kind: str = ""
    read: Callable[[str], dict]
    status_of: Callable[[Order], str]

    def orders(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        # Each with whether its partner takes callbacks, read with it.
        return orders.filter(partner__access__protocol=self.protocol).annotate(takes_callbacks=ExpressionWrapper(
            ~Q(partner__access__callback_url=""), output_field=BooleanField()))

    def expects(self, order: Order) -> bool:
        # A final callback is owed once the order has ended, to a partner that takes callbacks.
        return order.status in TERMINAL_STATUSES and order.takes_callbacks

    def our_figures(self, order: Order) -> dict:
        return {"energy_wh": order.energy_wh, "amount_fen": order.total_fee_fen, "status": self.status_of(order)}

    def _finals(self, orders: QuerySet[Order]) -> QuerySet[OutboundDelivery]:
        return OutboundDelivery.objects.filter(kind=self.callback_kind, order_no__in=orders.values("order_no"),
                                               payload__event=END)

    def records(self, *, day: date, orders: QuerySet[Order]) -> Iterator[CounterpartyRecord]:
        for delivery in newest_finals(kind=self.callback_kind, order_nos=orders.values("order_no")):
            if delivery.status == DeliveryStatus.DELIVERED:
                yield CounterpartyRecord(order_no=delivery.order_no, reference=delivery.key,
                                         **self.read(delivery.payload["body"]))

    def repair(self, *, day: date, orders: QuerySet[Order]) -> int:
        ended = orders.filter(status__in=TERMINAL_STATUSES, takes_callbacks=True)
        newest_sent = (OutboundDelivery.objects.filter(kind=self.callback_kind, payload__event=END,
                                                       order_no=OuterRef("order_no"))
                       .order_by("-created_at").values("created_at")[:1])
        # Owed a final callback: none yet, or the order changed after the newest (a correction).
        owed = ended.annotate(final_at=Subquery(newest_sent)).filter(
            Q(final_at__isnull=True) | Q(updated_at__gt=F("final_at")))
        repaired = 0
        for pk in owed.values_list("pk", flat=True).iterator(chunk_size=BATCH):
            with transaction.atomic():
                # Locked, so that a settlement committing meanwhile is read whole; None when the newest final
                # callback says what the order says now.
                order = Order.objects.select_for_update().get(pk=pk)
                repaired += order_callback_end(order=order) is not None
        for delivery in newest_finals(kind=self.callback_kind, order_nos=ended.values("order_no")):
            if delivery.status == DeliveryStatus.DEAD:
                delivery_retry(delivery=delivery, by_name=REPAIR_BY)
                repaired += 1
        return repaired

    def summary(self, *, day: date) -> dict:
        start, end = business_day_bounds(day)
        orders = Order.objects.filter(partner__access__protocol=self.protocol, created_at__gte=start,
                                      created_at__lt=end)
        grouped = (orders.order_by().values("partner_id", "partner__org_code", "partner__name")
                   .annotate(count=Count("pk"), energy=Sum("energy_wh"), electricity=Sum("electricity_fee_fen"),
                             service=Sum("service_fee_fen"), total=Sum("total_fee_fen")))
        acknowledged = dict(
            self._finals(orders).filter(status=DeliveryStatus.DELIVERED).order_by()
            .values("payload__partner_id").annotate(count=Count("order_no", distinct=True))
            .values_list("payload__partner_id", "count"))
        rows, totals = [], [0, 0, 0, 0, 0, 0]
        for group in sorted(grouped, key=lambda group: group["partner__org_code"]):
            check = (PartnerCheck.objects.filter(partner_id=group["partner_id"], window_start=start, window_end=end)
                     .order_by("-asked_at", "-id").first())
            if check is None:
                answered, agrees = "", ""
            else:
                answered = f"{check.check_no}: {check.order_count} / {format_wh(check.energy_wh)} / " \
                           f"{format_fen(check.amount_fen)}"
                same = (check.order_count, check.energy_wh, check.amount_fen) == (
                    group["count"], group["energy"] or 0, group["total"] or 0)
                agrees = _("yes") if same else _("no: the orders changed after the answer")
            figures = [group["count"], group["energy"] or 0, group["electricity"] or 0, group["service"] or 0,
                       group["total"] or 0, acknowledged.get(group["partner_id"], 0)]
            totals = [a + b for a, b in zip(totals, figures, strict=True)]
            rows.append([group["partner__org_code"], group["partner__name"], figures[0], format_wh(figures[1]),
                         format_fen(figures[2]), format_fen(figures[3]), format_fen(figures[4]), figures[5],
                         answered, agrees])
        if not rows:
            return {}
        return {
            "title": _("Partners' day"),
            "columns": [_("Organisation code"), _("Partner"), _("Orders"), _("Energy (kWh)"),
                        _("Electricity fee (yuan)"), _("Service fee (yuan)"), _("Total (yuan)"),
                        _("Final callbacks acknowledged"), _("Reconciliation answer for the day"),
                        _("Agrees with our orders")],
            "rows": rows,
            "totals": ["", "", totals[0], format_wh(totals[1]), format_fen(totals[2]), format_fen(totals[3]),
                       format_fen(totals[4]), totals[5], "", ""],
        }
