"""4pyun's platform on loopback with our settings pointing at it, a station mapped to it with a Tomda EV charger
(over the Tomda simulator, its pushes reaching our inbox), and records sent at every reading."""

import pytest
from django.core.cache import cache

from chargers.models import Charger, Vendor
from chargers.services import charger_import_from_vendor
from integrations.fourpyun.simulator import FourpyunSimulator
from integrations.inbox import inbox_drain
from integrations.tomda.simulator import SimCharger
from tests.helpers import tomda_cloud
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

STATION_UUID = "49f0cc52-e8c7-41e3-b54d-af666b8cc11a"
APP_ID = "op00961963581daa7"
APP_SECRET = "6409292d66625a2a0912acfc61ed956c"
EV = "1012300001"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fourpyun(settings, live_server):
    """4pyun's platform knowing our station, pushing back to our receiver; our records sent at every reading."""
    with FourpyunSimulator(APP_ID, APP_SECRET, stations=[STATION_UUID],
                           push_base_url=f"{live_server.url}/integrations/4pyun/push") as sim:
        settings.FOURPYUN_BASE_URL = sim.base_url
        settings.FOURPYUN_APP_ID = APP_ID
        settings.FOURPYUN_APP_SECRET = APP_SECRET
        settings.FOURPYUN_PUSH_SIGNATURE = "required"
        settings.FOURPYUN_RECORD_PROGRESS_SECONDS = 0
        yield sim


@pytest.fixture
def station(db):
    version = TariffVersionFactory()
    return StationFactory(code="CD001", name="成都天府停车场充电站", fourpyun_station_uuid=STATION_UUID,
                          tariff_template=version.template)


def delivered(sim):
    """Every push the Tomda simulator queued was answered and the inbox worker applied it (so the outbox has tried
    the records it wrote)."""
    sim.drain()
    inbox_drain()


@pytest.fixture
def tomda(live_server, settings):
    with tomda_cloud(settings, [SimCharger(serial=EV, kind="ev", connectors=1)],
                     push_url=f"{live_server.url}/integrations/tomda/push", push_encoding="form") as sim:
        delivered(sim)
        yield sim


@pytest.fixture
def charger(tomda, station):
    """The Tomda simulator's 7 kW AC pile of one gun, imported into the mapped station, online."""
    charger_import_from_vendor(station=station, vendor=Vendor.TOMDA, serials=[EV])
    tomda.set_online(EV, True)
    delivered(tomda)
    return Charger.objects.get(serial=EV)
