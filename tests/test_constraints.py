"""The database itself refuses rows that would break the model's rules."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chargers.models import Charger, Connector, Vendor
from orders.models import Order, OrderSample
from stations.models import Station
from tariffs.models import TariffDetail, TimeInterval, VehicleKind
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory, OrderSampleFactory, PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import PeriodFactory, TariffTemplateFactory

pytestmark = pytest.mark.django_db


def refused(fn):
    """True when the database raises IntegrityError for fn(); the transaction stays usable."""
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def test_duplicate_serial_for_the_same_vendor_is_refused():
    charger = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")

    assert refused(
        lambda: Charger.objects.create(
            station=charger.station, vendor=Vendor.TOMDA, serial="1012300001", kind="ev", current_type="ac"
        )
    )


def test_the_same_serial_at_another_vendor_is_accepted():
    charger = ChargerFactory(vendor=Vendor.TOMDA, serial="19285526")

    other = Charger.objects.create(
        station=charger.station, vendor=Vendor.WANZHUANG, serial="19285526", kind="ev", current_type="ac"
    )
    assert Charger.objects.filter(serial="19285526").count() == 2
    assert other.pk != charger.pk


def test_duplicate_connector_number_on_a_charger_is_refused():
    connector = ConnectorFactory(number=1)

    assert refused(lambda: Connector.objects.create(charger=connector.charger, number=1))
    # The same number on another charger is fine.
    assert Connector.objects.create(charger=ChargerFactory(), number=1).pk


def test_connector_numbers_start_at_one():
    assert refused(lambda: ConnectorFactory(number=0))


def test_duplicate_order_number_is_refused():
    order = OrderFactory()

    def duplicate():
        Order.objects.create(
            order_no=order.order_no, station=order.station, charger=order.charger, connector=order.connector
        )

    assert refused(duplicate)


def test_duplicate_partner_order_number_for_one_partner_is_refused():
    partner = PartnerFactory()
    first = OrderFactory(partner=partner, partner_order_no="OUT-1")

    assert refused(lambda: OrderFactory(partner=partner, partner_order_no="OUT-1", connector=first.connector))
    # Orders without a partner order number do not collide with each other.
    OrderFactory(partner=partner, partner_order_no="")
    OrderFactory(partner=partner, partner_order_no="")
    assert Order.objects.filter(partner=partner, partner_order_no="").count() == 2


def test_order_total_must_be_the_sum_of_its_parts():
    assert refused(lambda: OrderFactory(electricity_fee_fen=650, service_fee_fen=400, total_fee_fen=1051))


def test_order_cannot_end_before_it_started():
    order = OrderFactory()

    assert refused(
        lambda: Order.objects.filter(pk=order.pk).update(ended_at=order.started_at - dt.timedelta(seconds=1))
    )
    assert refused(lambda: Order.objects.filter(pk=order.pk).update(started_at=None))


def test_soc_above_100_is_refused():
    assert refused(lambda: OrderFactory(soc=101))
    assert refused(lambda: OrderSampleFactory(soc=101))


def test_negative_money_and_energy_are_refused():
    order = OrderFactory()

    assert refused(lambda: Order.objects.filter(pk=order.pk).update(energy_wh=-1))
    assert refused(lambda: OrderSample.objects.create(order=order, device_time=order.started_at, energy_wh=-5))


def test_tariff_detail_is_either_a_period_or_a_power_tier():
    template = TariffTemplateFactory()

    # Neither an end minute nor a power bound
    assert refused(
        lambda: TariffDetail.objects.create(
            template=template, position=1, interval=TimeInterval.PEAK, electricity_price_e4=1, service_price_e4=1
        )
    )
    # Both
    assert refused(
        lambda: TariffDetail.objects.create(
            template=template,
            position=1,
            end_minute=600,
            power_upper_w=300,
            interval=TimeInterval.PEAK,
            electricity_price_e4=1,
            service_price_e4=1,
        )
    )
    # A period without its 尖峰平谷 interval
    assert refused(
        lambda: TariffDetail.objects.create(
            template=template, position=1, end_minute=600, electricity_price_e4=1, service_price_e4=1
        )
    )
    # A period ending after 24:00
    assert refused(
        lambda: TariffDetail.objects.create(
            template=template,
            position=1,
            end_minute=1441,
            interval=TimeInterval.PEAK,
            electricity_price_e4=1,
            service_price_e4=1,
        )
    )


def test_duplicate_tariff_detail_position_is_refused():
    row = PeriodFactory(position=1)

    assert refused(lambda: PeriodFactory(template=row.template, position=1))


def test_duplicate_station_code_and_4pyun_uuid_are_refused():
    station = StationFactory(code="SZ-001", fourpyun_station_uuid="40e06b24-6f3a-4c8e-9d4b-000000000001")

    assert refused(lambda: StationFactory(code="SZ-001"))
    assert refused(lambda: StationFactory(fourpyun_station_uuid=station.fourpyun_station_uuid))
    # Stations not yet known to 4pyun share the empty value.
    StationFactory(fourpyun_station_uuid="")
    StationFactory(fourpyun_station_uuid="")
    assert Station.objects.filter(fourpyun_station_uuid="").count() == 2


def test_station_coordinates_out_of_range_are_refused():
    assert refused(lambda: StationFactory(latitude=95))
    assert refused(lambda: StationFactory(longitude=-181))


def test_a_station_and_its_tariff_template_serve_the_same_vehicles():
    station = StationFactory.build(kind=VehicleKind.EV, tariff_template=TariffTemplateFactory(kind=VehicleKind.EBIKE))

    with pytest.raises(ValidationError) as excinfo:
        station.full_clean()
    assert "tariff_template" in excinfo.value.message_dict


def test_a_charger_serves_the_same_vehicles_as_its_station():
    charger = ChargerFactory.build(station=StationFactory(kind=VehicleKind.EBIKE), kind=VehicleKind.EV)

    with pytest.raises(ValidationError) as excinfo:
        charger.full_clean()
    assert "kind" in excinfo.value.message_dict
