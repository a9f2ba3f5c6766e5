"""The vehicle of a session: the plate and VIN a parking platform matches it by."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from orders.models import Order
from orders.plates import plate_normalise, plate_problem
from orders.signals import order_vehicle_changed

from ._shared import locked

VIN_LENGTH = 17


def order_vehicle_set(*, order: Order, plate: str, vin: str = "") -> Order:
    """Set the plate (and VIN, when given) of a session, as an operator read them; refused when the plate is not
    one, or the order's business day is closed. Sends `order_vehicle_changed` when either changed, so that what
    was sent on the session's figures is sent again with its vehicle."""
    plate = plate_normalise(plate)
    problem = plate_problem(plate)
    if problem:
        raise ValidationError(problem, code="plate")
    vin = plate_normalise(vin)
    if vin and len(vin) != VIN_LENGTH:
        raise ValidationError(_("A VIN has 17 characters; “%(vin)s” has %(count)d.") % {"vin": vin, "count": len(vin)},
                              code="vin")
    with transaction.atomic():
        order = locked(order)
        changed = [name for name, value in (("plate", plate), ("vin", vin))
                   if value and getattr(order, name) != value]
        if not changed:
            return order
        for name in changed:
            setattr(order, name, plate if name == "plate" else vin)
        order.save(update_fields=[*changed, "updated_at"])
        order_vehicle_changed.send(sender=Order, order=order)
    return order
