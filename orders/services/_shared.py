"""What the session services share: the rank of a status, the row lock (which refuses a closed day's
orders), a start that failed."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from backoffice.days import BEIJING
from orders.models import BusinessDay, Order, OrderStatus
from orders.signals import order_start_failed

# How far a session has come; news never moves an order to a lower rank.
STATUS_RANK = {
    OrderStatus.CREATED: 0,
    OrderStatus.BOOKED: 1,
    OrderStatus.STARTING: 2,
    OrderStatus.CHARGING: 3,
    OrderStatus.STOPPING: 4,
    OrderStatus.FINISHED: 5,
    OrderStatus.SETTLED: 6,
    OrderStatus.START_FAILED: 6,
    OrderStatus.CANCELLED: 6,
}


def locked(order: Order) -> Order:
    """The order read again with its row locked until the transaction ends; refused if its day is closed."""
    order = with_day_closed(Order.objects.select_for_update()).get(pk=order.pk)
    orders_refuse_closed(orders=[order])
    return order


def with_day_closed(orders: QuerySet[Order]) -> QuerySet[Order]:
    """`orders` with `day_closed` on each: whether finance has closed its business day (in the same query)."""
    closed = BusinessDay.objects.filter(closed=True, day=OuterRef("business_day"))
    return orders.annotate(business_day=TruncDate("created_at", tzinfo=BEIJING), day_closed=Exists(closed))


def orders_refuse_closed(*, orders: Iterable[Order]) -> None:
    """Refuse to change orders of a closed business day (read with `with_day_closed`).

    Finance closed the day: its orders are what accounting was given. News about one (a late reading, a
    settlement sent again) fails with this message and waits in the inbox, to be applied if the day is
    reopened. On PostgreSQL a trigger refuses the write too, whatever the code path.
    """
    for order in orders:
        if order.day_closed:
            day = order.business_day
            raise ValidationError(
                _("Business day %(day)s is closed: order %(order)s cannot change. Finance can reopen the day, "
                  "giving a reason.") % {"day": day.isoformat(), "order": order.order_no},
                code="day_closed",
            )


def order_fail_start(*, order: Order, code: str, message: str) -> None:
    """End a starting order as start failed, with the vendor's code and message."""
    with transaction.atomic():
        order = locked(order)
        if order.status != OrderStatus.STARTING:
            return  # the vendor's news has moved it on already
        order.status = OrderStatus.START_FAILED
        order.vendor_close_code = code
        order.close_reason_text = message[:255]
        order.ended_at = None
        order.save(update_fields=["status", "vendor_close_code", "close_reason_text", "ended_at", "updated_at"])
        order_start_failed.send(sender=Order, order=order)
