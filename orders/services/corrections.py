"""Finance's correction of an order's figures, made while resolving a difference of the daily close."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order

from ._shared import locked
from .cards import card_session_settle
from .progress import SESSION_AMOUNT_MAX_FEN, SESSION_ENERGY_MAX_WH

CORRECTED_FIELDS = ("energy_wh", "electricity_fee_fen", "service_fee_fen")


def order_correct(*, order: Order, energy_wh: int, electricity_fee_fen: int, service_fee_fen: int) -> dict:
    """Set the order's energy and our two fees to finance's figures (the total is their sum).

    Returns the figures before and after, for the record of who corrected what. The order's stored price
    lines stay as the pricing engine computed them: they are what the tariff gave, the correction is what
    accounting takes. Refused for a closed day (the row lock refuses it) and for figures out of range.
    """
    for name, value, maximum in (("energy_wh", energy_wh, SESSION_ENERGY_MAX_WH),
                                 ("electricity_fee_fen", electricity_fee_fen, SESSION_AMOUNT_MAX_FEN),
                                 ("service_fee_fen", service_fee_fen, SESSION_AMOUNT_MAX_FEN)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise ValidationError(
                _("%(field)s must be a whole number from 0 to %(maximum)s.") % {"field": name, "maximum": maximum},
                code="invalid",
            )
    with transaction.atomic():
        order = locked(order)
        before = {name: getattr(order, name) for name in (*CORRECTED_FIELDS, "total_fee_fen")}
        order.energy_wh = energy_wh
        order.electricity_fee_fen = electricity_fee_fen
        order.service_fee_fen = service_fee_fen
        order.total_fee_fen = electricity_fee_fen + service_fee_fen
        order.save(update_fields=[*CORRECTED_FIELDS, "total_fee_fen", "updated_at"])
        card_session_settle(order=order, now=timezone.now(), corrected=True)
        after = {name: getattr(order, name) for name in (*CORRECTED_FIELDS, "total_fee_fen")}
    return {"before": before, "after": after}
