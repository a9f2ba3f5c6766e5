"""A Wanzhuang station as callbacks find it: an e-bike charger of type 2 with ten ports at an e-bike station
with a published tariff, a car pile of type 13, orders on their ports, and Wanzhuang posting callbacks.

The e-bike tariff is one power tier of 800 W at 0.30 + 0.20 yuan per hour of charging (50 fen an hour);
the car pile's station has the factory's flat 0.65 + 0.40 yuan per kWh.
"""

import datetime as dt
import json
import time
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from chargers.models import ConnectorStatus, CurrentType, Vendor
from integrations.inbox import inbox_drain
from integrations.wanzhuang import signing
from orders.models import OrderStatus
from tariffs.models import VehicleKind
from tariffs.pricing import PowerTier
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory
from tests.tariffs.builders import ebike_tiers
from tests.tariffs.factories import TariffTemplateFactory, TariffVersionFactory

EBIKE_SERIAL = "19285526"
CAR_SERIAL = "19285599"
APP_ID = "3a7030ea45a08d"
APP_SECRET = "wz-test-secret"  # noqa: S105 - a test's own key
# 2026-11-21 10:00 Beijing time.
SESSION_START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
EBIKE_TIER = PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2000)

# The content type each callback comes in (wz_wire.md, "Callbacks").
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
CONTENT_TYPES = {"start_power": FORM, "finish_order": FORM, "icc_pay_req": FORM, "offline_profit": MULTIPART}


def unix(moment: dt.datetime) -> str:
    """A time as Wanzhuang sends it: Unix seconds, as text."""
    return str(int(moment.timestamp()))


@pytest.fixture
def wanzhuang_keys(settings):
    """Our app's key at Wanzhuang, with which its callbacks are signed (`callback` uses it); a signature is
    required, every sender allowed, eq_used in Wh and state 1 a started port, as by default."""
    settings.WANZHUANG_APP_ID = APP_ID
    settings.WANZHUANG_APP_SECRET = APP_SECRET
    settings.WANZHUANG_SIGN_METHOD = signing.HMAC_SHA256
    settings.WANZHUANG_CALLBACK_SIGNATURE_REQUIRED = True
    settings.WANZHUANG_CALLBACK_ALLOWED_IPS = []
    settings.WANZHUANG_ENERGY_UNIT_WH = 1
    settings.WANZHUANG_START_OK_STATES = [1]
    return settings


@pytest.fixture
def wz_ebike(db):
    """Device 19285526, 电量慢充款 (type 2), ten ports, all free, at an e-bike station with a published tariff."""
    template = TariffTemplateFactory(kind=VehicleKind.EBIKE, min_balance_fen=0)
    TariffVersionFactory(template=template, content=ebike_tiers([EBIKE_TIER]).to_content())
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=template)
    charger = ChargerFactory(
        station=station, vendor=Vendor.WANZHUANG, serial=EBIKE_SERIAL, kind=VehicleKind.EBIKE,
        current_type=CurrentType.AC, rated_power_w=0, device_type_code="2", device_type_name="电量慢充款",
        vendor_status="online", last_seen_at=SESSION_START - dt.timedelta(hours=1),
    )
    for number in range(1, 11):
        ConnectorFactory(charger=charger, number=number, status=ConnectorStatus.FREE, vendor_status="0")
    return charger


@pytest.fixture
def wz_car(db):
    """Device 19285599, 汽车慢充桩 (type 13), one port, at an EV station with the flat per-kWh tariff."""
    version = TariffVersionFactory()
    station = StationFactory(kind=VehicleKind.EV, tariff_template=version.template)
    charger = ChargerFactory(
        station=station, vendor=Vendor.WANZHUANG, serial=CAR_SERIAL, kind=VehicleKind.EV,
        current_type=CurrentType.AC, rated_power_w=7000, device_type_code="13", device_type_name="汽车慢充桩",
        vendor_status="online", last_seen_at=SESSION_START - dt.timedelta(hours=1),
    )
    ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FREE, vendor_status="0")
    return charger


@pytest.fixture
def wz_order(db):
    """`wz_order(charger, port=1, status=STARTING, **fields)`: a live session of ours on a port, priced with
    the station's tariff in force, started at SESSION_START, nothing measured yet."""

    def make(charger, port=1, status=OrderStatus.STARTING, **fields):
        connector = charger.connectors.get(number=port)
        template = charger.station.tariff_template
        values = {
            "connector": connector,
            "partner": None,
            "partner_order_no": "",
            "status": status,
            "started_at": SESSION_START,
            "ended_at": None,
            "charge_seconds": 0,
            "park_seconds": 0,
            "energy_wh": 0,
            "electricity_fee_fen": 0,
            "service_fee_fen": 0,
            "total_fee_fen": 0,
            "soc": None,
            "close_reason": "",
            "authorized_amount_fen": 3000,
            "tariff_version": template.versions.get() if template else None,
            **fields,
        }
        return OrderFactory(**values)

    return make


def callback_body(fields: dict, *, content_type: str, signed: bool = True, now: int | None = None) -> dict:
    """The fields as Wanzhuang posts them: every value text, signed with our key unless `signed` is False."""
    from django.conf import settings

    fields = {name: value for name, value in fields.items()}
    if signed:
        fields = signing.signed(fields, app_id=settings.WANZHUANG_APP_ID, secret=settings.WANZHUANG_APP_SECRET,
                                method=settings.WANZHUANG_SIGN_METHOD, now=int(now or time.time()))
    return {name: str(value) for name, value in fields.items()}


@pytest.fixture
def callback(client, wanzhuang_keys):
    """POST a Wanzhuang callback to /integrations/wanzhuang/callback/<name> as its own content type (urlencoded,
    offline_profit multipart), signed unless told otherwise, then let the inbox worker apply what was stored.

    `content_type` another type sends the fields as that type would carry them (JSON for a JSON type);
    `now` is the Unix second the signature's timestamp says (default: our clock).
    """

    def send(name, fields, *, content_type=None, signed=True, now=None, drain=True):
        url = reverse("wanzhuang_callback", kwargs={"name": name})
        content_type = content_type or CONTENT_TYPES.get(name, FORM)
        data = callback_body(fields, content_type=content_type, signed=signed, now=now)
        media = content_type.split(";")[0].strip().lower()
        if media == MULTIPART:
            response = client.post(url, data)  # the test client's multipart, with its boundary
        elif media == FORM:
            response = client.post(url, urlencode(data), content_type=content_type)
        elif "json" in media:
            response = client.post(url, json.dumps(data, ensure_ascii=False), content_type=content_type)
        else:
            response = client.post(url, urlencode(data), content_type=content_type)
        if drain:
            inbox_drain()
        return response

    return send
