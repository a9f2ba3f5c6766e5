"""4pyun's side of the daily close: the final records 4pyun confirmed.

Every ended order at a mapped station must have a final record 4pyun answered `1001`, saying the order's energy,
fees and state as they are now. Its records are each order's newest final record, counted once 4pyun confirmed
it; an order without one (never written, still retrying, refused) is missing on 4pyun's side, with what 4pyun
answered (its `hint`) as the line's detail; a confirmed one whose figures are no longer the order's is a
difference of energy, amount or state.

Repair, before the day is compared, re-sends what 4pyun lacks and waits for its answer: a new final record for an
order that has none or changed since (a correction, a plate added), and the newest one again when it was given
up (an outage longer than the outbox's horizon) or is still waiting for a retry.

The summary shows, per mapped station, the day's ended orders, the final records confirmed, refused and waiting,
and the orders whose record grants no parking-fee reduction (no plate, or a malformed one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.days import business_day_bounds
from integrations.models import Counterparty, DeliveryStatus, OutboundDelivery
from orders.models import TERMINAL_STATUSES, Order
from orders.reconciliation.sources import CounterpartyRecord, StatementSource

from .payloads import record_state
from .records import FINAL, enabled, newest_finals, order_records_resend, records_of

REPAIR_BY = "daily close"


def record_figures(fields: dict) -> dict:
    """A final record's fields as the daily close compares them, in house units (4pyun's 0.001 kWh is a Wh)."""
    return {"energy_wh": fields["quantity"], "amount_fen": fields["energy_value"] + fields["fee_value"],
            "status": str(fields["state"])}


def refusal_of(delivery: OutboundDelivery) -> str:
    """What 4pyun last answered a record it did not confirm: its code, message and hint, as the error kept."""
    if delivery.status == DeliveryStatus.DELIVERED:
        return ""
    if delivery.last_error:
        return delivery.last_error
    return _("Not answered yet: the record waits to be sent.")


class FourpyunStatementSource(StatementSource):
    code = Counterparty.FOURPYUN
    label = gettext_lazy("4pyun (parking)")

    def orders(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        if not enabled():
            return orders.none()
        return orders.exclude(station__fourpyun_station_uuid="")

    def expects(self, order: Order) -> bool:
        return order.status in TERMINAL_STATUSES

    def our_figures(self, order: Order) -> dict:
        return {"energy_wh": order.energy_wh, "amount_fen": order.total_fee_fen, "status": str(record_state(order))}

    def missing_detail(self, order: Order) -> str:
        newest = records_of(order.order_no, FINAL).first()
        if newest is None:
            return _("No final record was written for the order.")
        if newest.status == DeliveryStatus.DELIVERED:
            return _("4pyun confirmed an older final record; the order changed after it.")
        return refusal_of(newest)

    def records(self, *, day: date, orders: QuerySet[Order]) -> Iterator[CounterpartyRecord]:
        for delivery in newest_finals(orders.values("order_no")):
            if delivery.status == DeliveryStatus.DELIVERED:
                fields = delivery.payload["fields"]
                yield CounterpartyRecord(
                    order_no=delivery.order_no, reference=delivery.key, **record_figures(fields),
                    extra={"energy_fen": fields["energy_value"], "service_fen": fields["fee_value"],
                           "plate": fields.get("plate", "")})

    def repair(self, *, day: date, orders: QuerySet[Order]) -> int:
        ended = orders.filter(status__in=TERMINAL_STATUSES)
        newest = records_of(OuterRef("order_no"), FINAL)
        # Owed: no final record, one not confirmed, or an order changed after its newest one.
        owed = ended.annotate(final_at=Subquery(newest.values("created_at")[:1]),
                              final_status=Subquery(newest.values("status")[:1])).filter(
            Q(final_at__isnull=True) | Q(updated_at__gt=F("final_at")) | ~Q(final_status=DeliveryStatus.DELIVERED))
        repaired = 0
        # Read whole before any is sent: a send may end the connection a cursor would still be reading.
        for pk in list(owed.order_by("order_no").values_list("pk", flat=True)):
            delivery = order_records_resend(order=Order(pk=pk), by_name=REPAIR_BY)
            repaired += delivery is not None and delivery.status == DeliveryStatus.DELIVERED
        return repaired

    def summary(self, *, day: date) -> dict:
        start, end = business_day_bounds(day)
        orders = self.orders(Order.objects.filter(created_at__gte=start, created_at__lt=end,
                                                  status__in=TERMINAL_STATUSES))
        stations: dict[str, list] = {}
        counts: Counter = Counter()
        names = dict(orders.order_by().values_list("order_no", "station__name"))
        for delivery in newest_finals(orders.values("order_no")):
            station = names[delivery.order_no]
            counts[(station, delivery.status)] += 1
            counts[(station, "no_reduction")] += bool(delivery.payload.get("reduction_problem"))
        for station in sorted(set(names.values())):
            ended = sum(1 for name in names.values() if name == station)
            confirmed = counts[(station, DeliveryStatus.DELIVERED)]
            refused = counts[(station, DeliveryStatus.DEAD)]
            stations[station] = [station, ended, confirmed, refused, ended - confirmed - refused,
                                 counts[(station, "no_reduction")]]
        if not stations:
            return {}
        rows = list(stations.values())
        totals = ["", *(sum(row[i] for row in rows) for i in range(1, 6))]
        return {
            "title": _("4pyun's day"),
            "columns": [_("Station"), _("Ended orders"), _("Final records confirmed"), _("Refused or given up"),
                        _("Not confirmed yet"), _("No parking-fee reduction possible")],
            "rows": rows,
            "totals": totals,
        }


