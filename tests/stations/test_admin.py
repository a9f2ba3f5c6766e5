"""The station admin: a list with charger counts and tariff versions, a read-only view of the station's
chargers, and giving many stations a tariff template at once."""

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from stations.models import Station, StationStatus
from tariffs.models import TariffTemplate, VehicleKind
from tests.chargers.factories import ChargerFactory
from tests.helpers import assert_changelist_queries_constant, get_counting_queries
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db

STATIONS = reverse("admin:stations_station_changelist")
ASSIGN = "assign_tariff_template"


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


# --- tariffs --------------------------------------------------------------------------------------------


def versions_in_force(response):
    """Each listed station's code with its tariff version column, in English."""
    admin = response.context["cl"].model_admin
    with override("en"):
        return {station.code: admin.tariff_version_in_force(station) for station in response.context["cl"].result_list}


def test_station_changelist_shows_the_tariff_version_in_force(operator_client):
    # Given a template in force as v2 with v3 scheduled, a template never published, and a station without one
    published = TariffTemplateFactory()
    now = timezone.now()
    for number, days in ((1, -30), (2, -1), (3, 1)):
        TariffVersionFactory(template=published, number=number, effective_from=now + dt.timedelta(days=days))
    StationFactory(code="ST-A", tariff_template=published)
    StationFactory(code="ST-B")
    StationFactory(code="ST-C", tariff_template=None)

    # When the list is opened
    response = operator_client.get(STATIONS)

    # Then each station shows the version its sessions are priced with now
    assert versions_in_force(response) == {"ST-A": "v2", "ST-B": "not published", "ST-C": None}
    content = response.content.decode()
    assert '<td class="field-tariff_version_in_force">v2</td>' in content
    assert '<td class="field-tariff_version_in_force">not published</td>' in content


def test_the_assign_action_first_shows_the_stations_and_a_template_to_choose(operator_client):
    # Given two stations picked from the list, one already on a template
    current = TariffTemplateFactory(name="旧模板")
    first = StationFactory(code="ST-1", tariff_template=current)
    second = StationFactory(code="ST-2", tariff_template=None)
    StationFactory(code="ST-3")  # not picked
    choice = TariffTemplateFactory(name="新模板")

    # When the action is chosen
    response = operator_client.post(STATIONS, {"action": ASSIGN, ACTION_CHECKBOX_NAME: [second.pk, first.pk]})

    # Then an intermediate page lists them and offers the templates, and nothing has changed yet
    assert response.status_code == 200
    assert response.templates[0].name == "admin/stations/assign_tariff.html"
    assert [station.pk for station in response.context["stations"]] == [first.pk, second.pk]
    assert set(response.context["form"].fields["template"].queryset) == set(TariffTemplate.objects.all())
    content = response.content.decode()
    assert f"<li>{first} — {current}</li>" in content
    assert f"<li>{second}</li>" in content
    assert f'<option value="{choice.pk}">{choice}</option>' in content
    assert f'name="{ACTION_CHECKBOX_NAME}" value="{first.pk}"' in content
    assert Station.objects.get(pk=second.pk).tariff_template is None


def test_the_assign_action_gives_all_picked_stations_the_template(operator_client):
    # Given three stations, two picked
    template = TariffTemplateFactory(name="新模板", external_id="TPL-NEW")
    picked = StationFactory.create_batch(2)
    left = StationFactory()

    # When the template is chosen and applied
    response = operator_client.post(
        STATIONS,
        {"action": ASSIGN, ACTION_CHECKBOX_NAME: [s.pk for s in picked], "template": template.pk, "apply": "Assign"},
        follow=True,
    )

    # Then both use it, the other keeps its own, and the operator is told
    assert {s.tariff_template_id for s in Station.objects.filter(pk__in=[s.pk for s in picked])} == {template.pk}
    assert Station.objects.get(pk=left.pk).tariff_template_id == left.tariff_template_id
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["2 stations now use 新模板 (TPL-NEW)."]


def test_a_station_of_another_kind_fails_the_whole_assignment(operator_client):
    # Given an EV template, an EV station and an e-bike station picked together
    template = TariffTemplateFactory(name="汽车模板", external_id="TPL-EV", kind=VehicleKind.EV)
    ev = StationFactory(code="ST-EV", name="汽车站")
    ebike = StationFactory(
        code="ST-BIKE", name="单车站", kind=VehicleKind.EBIKE, tariff_template__kind=VehicleKind.EBIKE
    )
    before = {ev.pk: ev.tariff_template_id, ebike.pk: ebike.tariff_template_id}

    # When the EV template is applied to both
    response = operator_client.post(
        STATIONS,
        {"action": ASSIGN, ACTION_CHECKBOX_NAME: [ev.pk, ebike.pk], "template": template.pk, "apply": "Assign"},
        follow=True,
    )

    # Then neither changed, and the message names the e-bike station
    assert dict(Station.objects.filter(pk__in=before).values_list("pk", "tariff_template_id")) == before
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "汽车模板 (TPL-EV) is for Electric vehicle; these stations are not: 单车站 (ST-BIKE)."
    ]


def test_applying_without_a_template_shows_the_page_again(operator_client):
    station = StationFactory()

    response = operator_client.post(
        STATIONS, {"action": ASSIGN, ACTION_CHECKBOX_NAME: [station.pk], "template": "", "apply": "Assign"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"template": ["This field is required."]}
    assert Station.objects.get(pk=station.pk).tariff_template_id == station.tariff_template_id


def test_someone_who_may_only_view_stations_is_not_offered_the_action(client, finance):
    finance.user_permissions.add(*Permission.objects.filter(codename="view_station"))
    client.force_login(finance)
    station = StationFactory()
    template = TariffTemplateFactory()

    response = client.post(
        STATIONS, {"action": ASSIGN, ACTION_CHECKBOX_NAME: [station.pk], "template": template.pk, "apply": "Assign"}
    )

    assert ASSIGN not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert Station.objects.get(pk=station.pk).tariff_template_id != template.pk
