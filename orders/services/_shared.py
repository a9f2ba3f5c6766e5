"""What the session services share: the rank of a status, the row lock, a start that failed."""

from django.db import transaction

from orders.models import Order, OrderStatus

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
    """The order read again with its row locked until the transaction ends."""
    return Order.objects.select_for_update().get(pk=order.pk)


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
