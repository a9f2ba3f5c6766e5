"""A partner of the 2017 interface that sees one city, a station there with a Tomda charger of two guns, and the
partner's token; every partner's throttle counts start from zero."""

import pytest
from django.core.cache import cache

from chargers.models import ConnectorStatus, CurrentType, Vendor
from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

CITY = "440300"
API = "/api/partner/v1/"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def partner(db):
    partner = PartnerFactory(org_code="DIDI", name="滴滴充电")
    access = partner_access_get(partner=partner)
    access.city_codes = CITY
    access.save()
    partner.secret = partner_secret_issue(partner=partner)
    return partner


@pytest.fixture
def token(partner):
    return partner_token_issue(org=partner.org_code, secret=partner.secret, caller=Caller("test")).token


@pytest.fixture
def station(db):
    version = TariffVersionFactory()
    return StationFactory(code="SZ001", city_code=CITY, tariff_template=version.template)


@pytest.fixture
def charger(station):
    charger = ChargerFactory(station=station, vendor=Vendor.TOMDA, serial="1012300001", online=True,
                             current_type=CurrentType.DC, rated_power_w=60000)
    for number in (1, 2):
        ConnectorFactory(charger=charger, number=number, status=ConnectorStatus.FREE)
    return charger


def call(client, name, **params):
    """GET an interface; the envelope as a dict (numbers exact)."""
    import json
    from decimal import Decimal

    response = client.get(API + name, params)
    return response.status_code, json.loads(response.content, parse_float=Decimal)


@pytest.fixture
def tomda_sim(settings, charger):
    """Tomda's cloud over real HTTP (no pushes) holding the charger of two guns, our settings pointing at it."""
    from integrations.tomda.simulator import SimCharger
    from tests.helpers import tomda_cloud

    with tomda_cloud(settings, [SimCharger(serial=charger.serial, kind="ev", connectors=2)]) as sim:
        yield sim


def vendor_starts(sim, path="/api/sys/charger/start"):
    """The calls the simulator received on `path`, oldest first."""
    return [params for _method, called, params in sim.calls if called == path]


@pytest.fixture
def receiver():
    """The partner simulator's callback endpoint over real HTTP (it keeps each notifyId once)."""
    from integrations.partner.simulator import CallbackReceiver

    with CallbackReceiver() as running:
        yield running


@pytest.fixture
def callback_partner(partner, receiver):
    """The partner, now taking order callbacks at the receiver."""
    access = partner.access
    access.callback_url = receiver.url
    access.save()
    return partner
