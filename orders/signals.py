"""News of an order that leaves the domain, sent inside the service's transaction.

`integrations` connects receivers that write outbox rows in the same transaction, so a committed
change always has its deliveries and a rolled-back one has none. Each sends `order=`.
"""

from django.dispatch import Signal

order_started = Signal()
order_progressed = Signal()
order_settled = Signal()
# A start the vendor refused or that was never sent: the order ended as start failed.
order_start_failed = Signal()
# Its plate or VIN was set: what a parking platform was told may be told again with it.
order_vehicle_changed = Signal()
