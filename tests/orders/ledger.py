"""A counterparty of the daily close whose records are whatever a test writes in its ledger, and a day of
settled orders to compare it with."""

import datetime as dt

from django.utils import timezone

from backoffice.days import business_day_bounds, business_day_of
from orders.models import Order, OrderStatus
from orders.reconciliation.sources import CounterpartyRecord, StatementSource
from tests.orders.factories import OrderFactory

DAY = business_day_of(timezone.now()) - dt.timedelta(days=2)
NOON = business_day_bounds(DAY)[0] + dt.timedelta(hours=12)


class LedgerSource(StatementSource):
    """The partner's orders against `ledger`; counts its repairs."""

    code = "ledger"
    label = "Ledger"

    def __init__(self, partner):
        self.partner = partner
        self.ledger: list[CounterpartyRecord] = []
        self.repairs = 0

    def orders(self, orders):
        return orders.filter(partner=self.partner)

    def expects(self, order):
        return order.status == OrderStatus.SETTLED

    def repair(self, *, day, orders):
        self.repairs += 1
        return 0

    def records(self, *, day, orders):
        return sorted(self.ledger, key=lambda record: record.key)


def settled(partner, **fields):
    """A settled order of DAY (created at noon of it): 10 kWh, 6.50 + 4.00 yuan."""
    order = OrderFactory(partner=partner, status=OrderStatus.SETTLED, vendor_total_fen=1050, **fields)
    Order.objects.filter(pk=order.pk).update(created_at=NOON)
    order.refresh_from_db()
    return order


def record(order, **changes):
    """The ledger's record of `order`, agreeing with it but for `changes`."""
    figures = {"order_no": order.order_no, "reference": f"R{order.pk}", "energy_wh": order.energy_wh,
               "amount_fen": order.total_fee_fen, "status": order.status}
    return CounterpartyRecord(**{**figures, **changes})
