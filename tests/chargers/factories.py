import datetime as dt

import factory
from django.utils import timezone

from chargers.models import (
    Charger,
    ChargerEvent,
    Connector,
    ConnectorStatus,
    CurrentType,
    EventSource,
    EventState,
    Vendor,
)
from tariffs.models import VehicleKind
from tests.stations.factories import StationFactory


class ChargerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charger

    station = factory.SubFactory(StationFactory)
    vendor = Vendor.TOMDA
    serial = factory.Sequence(lambda n: f"10123{n:05d}")
    name = factory.Sequence(lambda n: f"{n} 号桩")
    kind = VehicleKind.EV
    current_type = CurrentType.AC
    rated_power_w = 7000
    device_type_code = "TOMDA_EV7K_T4"
    device_type_name = "7KW 电动汽车"
    online = True
    status = ConnectorStatus.FREE
    vendor_status = "FREE"
    last_seen_at = factory.LazyFunction(timezone.now)


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    charger = factory.SubFactory(ChargerFactory)
    number = factory.Sequence(lambda n: n + 1)
    status = ConnectorStatus.FREE
    vendor_status = "FREE"


class ChargerEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargerEvent

    charger = factory.SubFactory(ChargerFactory)
    source = EventSource.CHARGER
    code = "TOMDA_EBIKE_FAULT_ES"
    name = "急停"
    state = EventState.HAPPENING
    device_time = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
