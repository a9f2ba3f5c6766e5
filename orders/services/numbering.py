"""Order numbers."""

import secrets
from datetime import datetime

from django.utils import timezone

from backoffice.days import BEIJING


def order_no_generate(*, at: datetime | None = None) -> str:
    """A new order number: yyyyMMddHHmmss in Beijing time and six random digits (20 characters).

    Uniqueness is settled by the database's unique constraint on `Order.order_no`; the random part
    makes a collision within one second a one-in-a-million event for the caller to retry.
    """
    moment = (at or timezone.now()).astimezone(BEIJING)
    return f"{moment:%Y%m%d%H%M%S}{secrets.randbelow(1_000_000):06d}"
