"""The station admin: a list with charger counts and a read-only view of the station's chargers."""

import pytest
from django.urls import reverse

from stations.models import Station, StationStatus
from tests.chargers.factories import ChargerFactory
from tests.helpers import assert_changelist_queries_constant, get_counting_queries
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffTemplateFactory

pytestmark = pytest.mark.django_db

STATIONS = reverse("admin:stations_station_changelist")



def station_url(station):
    return reverse("admin:stations_station_change", args=[station.pk])


def stations_with_chargers(count):
    """Stations of their own tariff templates with 0, 1 or 2 chargers each."""
    stations = StationFactory.create_batch(count)
    for i, station in enumerate(stations):
        ChargerFactory.create_batch(i % 3, station=station)
    return stations


def test_station_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator):
    client.force_login(operator)
    assert_changelist_queries_constant(client, STATIONS, stations_with_chargers)


def test_station_changelist_counts_each_stations_chargers(client, operator):
    client.force_login(operator)
    busy = StationFactory(code="ST-BUSY", tariff_template__name="峰谷电价")
    ChargerFactory.create_batch(3, station=busy)
    empty = StationFactory(code="ST-EMPTY")

    response = client.get(STATIONS, {"o": "8"})  # sorted by the count, ascending

    counts = {station.code: station.charger_count for station in response.context["cl"].result_list}
    assert counts == {"ST-BUSY": 3, "ST-EMPTY": 0}
    assert [s.pk for s in response.context["cl"].result_list] == [empty.pk, busy.pk]
    assert '<td class="field-charger_count">3</td>' in response.content.decode()
    assert "峰谷电价" in response.content.decode()


def test_station_changelist_filters_by_tariff_template_and_status(client, operator):
    client.force_login(operator)
    template = TariffTemplateFactory()
    wanted = StationFactory(tariff_template=template, status=StationStatus.FAULT)
    StationFactory(status=StationStatus.FAULT)
    StationFactory(tariff_template=template)

    response = client.get(STATIONS, {"tariff_template__id__exact": template.pk, "status__exact": "fault"})

    assert [s.pk for s in response.context["cl"].result_list] == [wanted.pk]


def test_station_page_shows_its_chargers_read_only_with_links_in_serial_order(client, operator):
    # Given a station with three chargers and another station's charger
    client.force_login(operator)
    station = StationFactory()
    chargers = [ChargerFactory(station=station, serial=serial) for serial in ("C3", "C1", "C2")]
    ChargerFactory()

    # When its page is opened
    response = client.get(station_url(station))

    # Then the inline lists exactly its chargers by serial, read-only, each linked to its own page
    (inline,) = response.context["inline_admin_formsets"]
    assert [form.original.serial for form in inline] == ["C1", "C2", "C3"]
    assert inline.has_add_permission is False
    assert inline.has_change_permission is False
    assert inline.has_delete_permission is False
    content = response.content.decode()
    for charger in chargers:
        assert reverse("admin:chargers_charger_change", args=[charger.pk]) in content


def test_station_page_queries_do_not_grow_with_the_number_of_chargers(client, operator):
    client.force_login(operator)
    few, many = StationFactory.create_batch(2)
    ChargerFactory.create_batch(1, station=few)
    ChargerFactory.create_batch(10, station=many)
    client.get(station_url(few))

    _, few_queries = get_counting_queries(client, station_url(few))
    _, many_queries = get_counting_queries(client, station_url(many))

    assert many_queries == few_queries


def test_operator_saves_a_station_whose_chargers_are_shown_read_only(client, operator):
    # Given a station with two chargers
    client.force_login(operator)
    station = StationFactory()
    chargers = ChargerFactory.create_batch(2, station=station, name="")
    data = {
        "code": station.code,
        "name": "南山充电站（新）",
        "kind": station.kind,
        "status": station.status,
        "access": station.access,
        "city_code": station.city_code,
        "address": station.address,
        "tariff_template": station.tariff_template_id,
        "chargers-TOTAL_FORMS": 2,
        "chargers-INITIAL_FORMS": 2,
        "chargers-MIN_NUM_FORMS": 0,
        "chargers-MAX_NUM_FORMS": 0,
        # A crafted attempt to rename a charger through the read-only inline
        "chargers-0-id": chargers[0].pk,
        "chargers-0-name": "改名",
        "chargers-1-id": chargers[1].pk,
    }

    # When the operator saves it
    response = client.post(station_url(station), data)

    # Then the station changed and its chargers did not
    assert response.status_code == 302
    assert Station.objects.get(pk=station.pk).name == "南山充电站（新）"
    assert {c.name for c in station.chargers.all()} == {""}
