"""An order's plate and VIN, as an operator reads them: checked, normalised, and news for who was told the order."""

import pytest
from django.core.exceptions import ValidationError

from orders.models import BusinessDay
from orders.services import order_vehicle_set
from orders.signals import order_vehicle_changed
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    orders = []

    def receiver(sender, order, **kwargs):
        orders.append(order.order_no)

    order_vehicle_changed.connect(receiver, dispatch_uid="test_vehicle_heard")
    yield orders
    order_vehicle_changed.disconnect(dispatch_uid="test_vehicle_heard")


def test_a_plate_is_normalised_saved_and_announced_once(heard):
    order = OrderFactory(plate="", vin="")
    order_vehicle_set(order=order, plate=" 粤b·12345 ", vin="lstop103212132001")
    order.refresh_from_db()
    assert (order.plate, order.vin) == ("粤B12345", "LSTOP103212132001")
    assert heard == [order.order_no]
    order_vehicle_set(order=order, plate="粤B12345")  # the same again: nothing changes, nobody is told
    assert heard == [order.order_no]


@pytest.mark.parametrize("plate, vin, code, words", [("粤B1234", "", "plate", "粤B1234"),
                                                      ("粤B12345", "SHORT", "vin", "17")])
def test_what_is_not_a_plate_or_a_vin_is_refused_with_the_reason(heard, plate, vin, code, words):
    order = OrderFactory(plate="", vin="")
    with pytest.raises(ValidationError) as refused:
        order_vehicle_set(order=order, plate=plate, vin=vin)
    assert refused.value.code == code and words in str(refused.value)
    order.refresh_from_db()
    assert (order.plate, heard) == ("", [])


def test_an_order_of_a_closed_day_keeps_its_plate(heard):
    order = OrderFactory(plate="", vin="")
    from backoffice.days import business_day_of

    BusinessDay.objects.create(day=business_day_of(order.created_at), closed=True)
    with pytest.raises(ValidationError) as refused:
        order_vehicle_set(order=order, plate="粤B12345")
    assert refused.value.code == "day_closed"
    order.refresh_from_db()
    assert order.plate == "" and heard == []
