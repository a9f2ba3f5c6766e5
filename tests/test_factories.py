"""Every model has a factory that builds a valid, saved row."""

import pytest

from chargers.models import Charger, ChargerEvent, Connector
from orders.models import Order, OrderSample, Partner
from stations.models import Station
from tariffs.models import TariffDetail, TariffTemplate
from tests.chargers.factories import ChargerEventFactory, ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory, OrderSampleFactory, PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import PeriodFactory, PowerTierFactory, TariffTemplateFactory

FACTORIES = [
    (TariffTemplateFactory, TariffTemplate),
    (PeriodFactory, TariffDetail),
    (PowerTierFactory, TariffDetail),
    (StationFactory, Station),
    (ChargerFactory, Charger),
    (ConnectorFactory, Connector),
    (ChargerEventFactory, ChargerEvent),
    (PartnerFactory, Partner),
    (OrderFactory, Order),
    (OrderSampleFactory, OrderSample),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("factory", "model"), FACTORIES, ids=[f.__name__ for f, _ in FACTORIES])
def test_factory_creates_a_valid_row(factory, model):
    first, second = factory(), factory()

    assert model.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
    # full_clean runs field validation and every model constraint in Python too.
    first.full_clean()
    second.full_clean()


@pytest.mark.django_db
def test_order_factory_keeps_order_charger_and_station_consistent():
    order = OrderFactory()

    assert order.charger == order.connector.charger
    assert order.station == order.charger.station
    assert len(order.order_no) == 20 and order.order_no.isdigit()
