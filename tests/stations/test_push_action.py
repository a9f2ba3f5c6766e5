"""Operators send stations (their chargers and tariff) to the vendors that run their chargers."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from chargers.models import Vendor
from tests.chargers.factories import ChargerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory, create_periods

pytestmark = pytest.mark.django_db

STATIONS = reverse("admin:stations_station_changelist")
PUSH = "send_to_vendor"


@pytest.fixture
def priced_station(db):
    """An EV station with the Tomda EV charger, on a template published at 0.65 + 0.40 yuan/kWh all day."""
    version = TariffVersionFactory(template__external_id="TPL-FLAT")
    create_periods(version.template, [(0, 1440, "plain", 6500, 4000)])
    station = StationFactory(code="ST-SOUTH", tariff_template=version.template)
    ChargerFactory(station=station, vendor=Vendor.TOMDA, serial="1012300001")
    return station


def shown_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_sending_a_station_gives_the_vendor_its_chargers_and_tariff(operator_client, tomda, priced_station):
    response = operator_client.post(STATIONS, {"action": PUSH, ACTION_CHECKBOX_NAME: [priced_station.pk]})

    sent = tomda.stations["ST-SOUTH"]
    assert (sent["stationName"], sent["serialNums"], sent["clientElecFeeModelId"]) == (
        priced_station.name, "1012300001", "TPL-FLAT"
    )
    (row,) = tomda.fee_templates["TPL-FLAT"]["elecFeeModelDetail"]
    assert (row["elecFee"], row["serviceFee"]) == (65, 40)
    # The charger now bills with the station's template
    assert tomda.chargers["1012300001"].fee_model["clientElecFeeModelId"] == "TPL-FLAT"
    assert shown_messages(response) == ["1 station sent to the vendors of its chargers."]


def test_each_station_that_cannot_be_sent_is_named_with_the_reason(operator_client, tomda, priced_station):
    # Given a station without chargers and one whose template was never published, beside a good one
    empty = StationFactory(code="ST-EMPTY", name="空站")
    unpriced = StationFactory(code="ST-NEW", name="新站")
    ChargerFactory(station=unpriced, vendor=Vendor.TOMDA, serial="1012300009")

    response = operator_client.post(
        STATIONS, {"action": PUSH, ACTION_CHECKBOX_NAME: [empty.pk, unpriced.pk, priced_station.pk]}
    )

    empty_error, unpriced_error, success = shown_messages(response)
    assert "空站" in empty_error and "has no chargers" in empty_error
    assert "新站" in unpriced_error and "published tariff template" in unpriced_error
    assert success == "1 station sent to the vendors of its chargers."
    assert set(tomda.stations) == {"ST-SOUTH"}


def test_the_vendors_refusal_is_shown_with_its_code(operator_client, tomda, priced_station):
    tomda.fail_next("/api/sys/station/sync", "2002")

    response = operator_client.post(STATIONS, {"action": PUSH, ACTION_CHECKBOX_NAME: [priced_station.pk]})

    (message,) = shown_messages(response)
    assert "[2002] 汤姆达云：对接业务处理失败（错误码 2002）" in message
    assert tomda.stations == {}


def test_someone_who_may_only_view_stations_is_not_offered_the_push(client, finance, tomda, priced_station):
    finance.user_permissions.add(Permission.objects.get(codename="view_station"))
    client.force_login(finance)

    listing = client.get(STATIONS)
    client.post(STATIONS, {"action": PUSH, ACTION_CHECKBOX_NAME: [priced_station.pk]})

    assert listing.context["action_form"] is None
    assert tomda.calls == []


def test_finance_may_not_post_the_push_at_all(client, finance, tomda, priced_station):
    client.force_login(finance)

    response = client.post(STATIONS, {"action": PUSH, ACTION_CHECKBOX_NAME: [priced_station.pk]})

    assert response.status_code == 403
    assert tomda.calls == []
