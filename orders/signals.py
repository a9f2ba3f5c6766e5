"""News of an order that leaves the domain, sent inside the service's transaction.

`integrations` connects receivers that write outbox rows in the same transaction, so a committed
change always has its deliveries and a rolled-back one has none. Each sends `order=`.
"""

from django.dispatch import Signal

order_started = Signal()
order_progressed = Signal()
order_settled = Signal()
