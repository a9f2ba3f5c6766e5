"""A Tomda station as pushes find it: an EV charger of one gun, an e-bike charger of two, a live order."""

import datetime as dt
import json
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from chargers.models import ConnectorStatus, Vendor
from integrations.inbox import inbox_drain
from integrations.tomda.mappers import format_time
from orders.models import OrderStatus
from tariffs.models import VehicleKind
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

# 2026-11-21 10:00 Beijing time: a plain period of the flat 0.65 + 0.40 yuan/kWh factory tariff.
SESSION_START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def ev_charger(db):
    version = TariffVersionFactory()
    station = StationFactory(tariff_template=version.template)
    charger = ChargerFactory(station=station, vendor=Vendor.TOMDA, serial="1012300001")
    ConnectorFactory(charger=charger, number=1)
    return charger


@pytest.fixture
def ebike_charger(db):
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)
    charger = ChargerFactory(
        station=station, vendor=Vendor.TOMDA, serial="1012300002", kind=VehicleKind.EBIKE,
        device_type_code="TOMDA_EB10_T1", rated_power_w=0, last_seen_at=SESSION_START - dt.timedelta(hours=1),
    )
    for number in (1, 2):
        ConnectorFactory(charger=charger, number=number)
    return charger


@pytest.fixture
def charging_order(ev_charger):
    connector = ev_charger.connectors.get()
    return OrderFactory(
        connector=connector,
        partner=None,
        partner_order_no="",
        status=OrderStatus.CHARGING,
        started_at=SESSION_START,
        ended_at=None,
        charge_seconds=0,
        park_seconds=0,
        energy_wh=0,
        electricity_fee_fen=0,
        service_fee_fen=0,
        total_fee_fen=0,
        soc=None,
        close_reason="",
        authorized_amount_fen=5000,
        tariff_version=ev_charger.station.tariff_template.versions.get(),
    )


def local(moment: dt.datetime) -> str:
    return format_time(moment)


@pytest.fixture
def push(client):
    """POST a Tomda push to our endpoint as JSON (§5.2.2) or as form fields (deployed clouds), then let
    the inbox worker apply what was stored, as it would within moments in production."""

    def send(kind, content, *, encoding="json", time="2026-11-21 10:00:00", **extra):
        url = reverse("tomda_push")
        if encoding == "json":
            body = json.dumps({"type": kind, "time": time, "content": content}, ensure_ascii=False)
            response = client.post(url, body, content_type="application/json", **extra)
        else:
            body = urlencode({"type": kind, "time": time, "content": json.dumps(content, ensure_ascii=False)})
            response = client.post(url, body, content_type="application/x-www-form-urlencoded", **extra)
        inbox_drain()
        return response

    return send


def work_item(order, *, minutes, energy_wh, status="CHARGE", connector_id=0, power_w=7000, cost=0, soc=50):
    return {
        "connectorId": connector_id,
        "clientOrderId": order.order_no,
        "deviceTime": local(SESSION_START + dt.timedelta(minutes=minutes)),
        "chargerRunStatus": status,
        "chargeTime": minutes,
        "chargeVoltage": 2200,
        "chargeCurrent": 318,
        "chargePower": power_w,
        "chargeEnergy": energy_wh,
        "chargeCost": cost,
        "soc": soc,
    }


FREE = ConnectorStatus.FREE
