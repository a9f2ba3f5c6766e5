from decimal import Decimal

import factory

from stations.models import Station, StationAccess, StationStatus
from tariffs.models import VehicleKind
from tests.tariffs.factories import TariffTemplateFactory


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    code = factory.Sequence(lambda n: f"ST{n:05d}")
    name = factory.Sequence(lambda n: f"南山充电站 {n}")
    kind = VehicleKind.EV
    status = StationStatus.WORKING
    access = StationAccess.PUBLIC
    city_code = "440300"
    address = "深圳市南山区科技园科发路 8 号"
    longitude = Decimal("113.953000")
    latitude = Decimal("22.543000")
    service_hours = "00:00-24:00"
    service_phone = "0755-12345678"
    tariff_template = factory.SubFactory(TariffTemplateFactory)
