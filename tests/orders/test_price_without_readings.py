"""A power-tier tariff prices a session at the tier of its peak power; a vendor that reports only the session's
end (Wanzhuang's finish_order) gives no power, so the session's average power stands for its peak."""

import datetime as dt

import pytest

from orders.models import OrderStatus
from orders.selectors import order_price_breakdown
from tariffs.models import VehicleKind
from tariffs.pricing import PowerTier
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory, OrderSampleFactory
from tests.stations.factories import StationFactory
from tests.tariffs.builders import ebike_tiers
from tests.tariffs.factories import TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
# 150 W at 0.40 yuan an hour, 600 W at 0.60.
TIERS = (PowerTier(150, 4000, 0), PowerTier(600, 6000, 0))


@pytest.fixture
def ended():
    template = TariffTemplateFactory(kind=VehicleKind.EBIKE)
    version = TariffVersionFactory(template=template, content=ebike_tiers(TIERS).to_content())
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=template)
    charger = ChargerFactory(station=station, kind=VehicleKind.EBIKE)
    connector = ConnectorFactory(charger=charger, number=1)

    def make(energy_wh, seconds):
        return OrderFactory(connector=connector, status=OrderStatus.SETTLED, tariff_version=version,
                            started_at=START, ended_at=START + dt.timedelta(seconds=seconds), charge_seconds=seconds,
                            energy_wh=energy_wh)

    return make


def test_an_ended_session_without_readings_is_priced_at_the_tier_of_its_average_power(ended):
    # 200 Wh in an hour is 200 W on average: the 600 W tier, 0.60 yuan
    assert order_price_breakdown(order=ended(200, 3600)).total_fen == 60
    # 150 Wh in an hour is exactly the 150 W tier's bound, 0.40 yuan
    assert order_price_breakdown(order=ended(150, 3600)).total_fen == 40
    # 151 Wh in an hour rounds up: above 150 W, 0.60 yuan
    assert order_price_breakdown(order=ended(151, 3600)).total_fen == 60


def test_a_reading_of_the_power_is_the_peak_whatever_the_average(ended):
    order = ended(100, 3600)  # 100 W on average
    OrderSampleFactory(order=order, device_time=START + dt.timedelta(minutes=30), energy_wh=50, power_w=500)

    assert order_price_breakdown(order=order).total_fen == 60
