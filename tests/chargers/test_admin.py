"""The charger admin: vendor-sourced fields stay read-only, events are view-only, lists stay flat."""

from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.urls import reverse

from chargers.models import Charger, ChargerEvent, ConnectorStatus, EventState, Vendor
from tests.chargers.factories import ChargerEventFactory, ChargerFactory, ConnectorFactory
from tests.helpers import assert_changelist_queries_constant, get_counting_queries

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
CHARGERS = reverse("admin:chargers_charger_changelist")
EVENTS = reverse("admin:chargers_chargerevent_changelist")
VENDOR_FIELDS = {
    "device_type_code",
    "device_type_name",
    "model",
    "hardware_version",
    "firmware_version",
    "communication_type",
    "online",
    "status",
    "vendor_status",
    "last_seen_at",
}



def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def charger_url(charger):
    return reverse("admin:chargers_charger_change", args=[charger.pk])


def charger_post(charger, connectors=(), **changes):
    """The change form of a charger as the browser posts it, with its connectors inline."""
    data = {
        "station": charger.station_id,
        "name": charger.name,
        "kind": charger.kind,
        "current_type": charger.current_type,
        "rated_power_w": charger.rated_power_w,
        "connectors-TOTAL_FORMS": len(connectors),
        "connectors-INITIAL_FORMS": len(connectors),
        "connectors-MIN_NUM_FORMS": 0,
        "connectors-MAX_NUM_FORMS": 1000,
    }
    for i, connector in enumerate(connectors):
        data |= {
            f"connectors-{i}-id": connector.pk,
            f"connectors-{i}-charger": charger.pk,
            f"connectors-{i}-number": connector.number,
            f"connectors-{i}-name": connector.name,
        }
    return data | changes


# --- charger --------------------------------------------------------------------------------------


def test_charger_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator):
    # Chargers spread over stations: the station column comes from the same query
    client.force_login(operator)
    assert_changelist_queries_constant(client, CHARGERS, ChargerFactory.create_batch)


def test_charger_changelist_searches_serial_name_and_station_name(client, operator):
    client.force_login(operator)
    by_serial = ChargerFactory(serial="TD-778899")
    by_station = ChargerFactory(station__name="福田口岸站")
    ChargerFactory()

    assert listed(client.get(CHARGERS, {"q": "778899"})) == {by_serial.pk}
    assert listed(client.get(CHARGERS, {"q": "福田口岸"})) == {by_station.pk}


def test_a_new_charger_gets_its_vendor_and_serial_typed_in_but_no_vendor_reported_field(client, operator):
    client.force_login(operator)

    form = client.get(reverse("admin:chargers_charger_add")).context["adminform"].form

    assert {"station", "vendor", "serial", "name", "kind", "current_type", "rated_power_w"} == set(form.fields)


def test_an_existing_charger_keeps_vendor_serial_and_reported_fields_read_only(client, operator):
    client.force_login(operator)
    charger = ChargerFactory()

    form = client.get(charger_url(charger)).context["adminform"].form

    assert set(form.fields) == {"station", "name", "kind", "current_type", "rated_power_w"}
    assert not VENDOR_FIELDS & set(form.fields)


def test_posting_vendor_fields_changes_only_what_people_may_edit(client, operator):
    # Given a charger as the vendor reported it
    client.force_login(operator)
    charger = ChargerFactory(vendor=Vendor.TOMDA, serial="10123000001", firmware_version="V1.0", online=True)

    # When an operator renames it and (by a crafted post) tries to change vendor-owned fields
    response = client.post(
        charger_url(charger),
        charger_post(
            charger,
            name="南门 1 号桩",
            vendor=Vendor.WANZHUANG,
            serial="999",
            firmware_version="HACKED",
            online="",
            status=ConnectorStatus.FAULT,
        ),
    )

    # Then only the name changed
    assert response.status_code == 302
    charger.refresh_from_db()
    assert charger.name == "南门 1 号桩"
    assert (charger.vendor, charger.serial, charger.firmware_version, charger.online, charger.status) == (
        Vendor.TOMDA,
        "10123000001",
        "V1.0",
        True,
        ConnectorStatus.FREE,
    )


def test_connector_inline_edits_number_and_name_but_not_the_reported_status(client, operator):
    client.force_login(operator)
    charger = ChargerFactory()
    connector = ConnectorFactory(charger=charger, number=1, name="", status=ConnectorStatus.CHARGING)

    page = client.get(charger_url(charger))
    (inline,) = page.context["inline_admin_formsets"]
    assert {"number", "name"} <= set(inline.formset.forms[0].fields)
    assert not {"status", "vendor_status", "parking_status", "status_changed_at"} & set(inline.formset.forms[0].fields)

    data = charger_post(charger, [connector])
    data |= {"connectors-0-name": "A 枪", "connectors-0-number": 2, "connectors-0-status": ConnectorStatus.FREE}
    response = client.post(charger_url(charger), data)

    assert response.status_code == 302
    connector.refresh_from_db()
    assert (connector.number, connector.name, connector.status) == (2, "A 枪", ConnectorStatus.CHARGING)


def test_charger_page_queries_do_not_grow_with_the_number_of_connectors(client, operator):
    client.force_login(operator)
    few, many = ChargerFactory.create_batch(2)
    ConnectorFactory.create_batch(2, charger=few)
    ConnectorFactory.create_batch(8, charger=many)
    client.get(charger_url(few))

    _, few_queries = get_counting_queries(client, charger_url(few))
    _, many_queries = get_counting_queries(client, charger_url(many))

    assert many_queries == few_queries


# --- connector ------------------------------------------------------------------------------------


def test_connector_form_picks_its_charger_by_autocomplete_not_a_full_select(client, operator):
    client.force_login(operator)
    connector = ConnectorFactory()
    ChargerFactory.create_batch(3)

    response = client.get(reverse("admin:chargers_connector_change", args=[connector.pk]))

    form = response.context["adminform"].form
    assert isinstance(form.fields["charger"].widget.widget, AutocompleteSelect)
    content = response.content.decode()
    select = content[
        content.index('<select name="charger"') : content.index("</select>", content.index('<select name="charger"'))
    ]
    assert select.count("<option") == 1
    assert f'<option value="{connector.charger_id}" selected>' in select


def test_connector_changelist_shows_charger_and_station_from_one_query(client, operator):
    client.force_login(operator)
    ConnectorFactory.create_batch(3)
    url = reverse("admin:chargers_connector_changelist")
    client.get(url)

    _, few_queries = get_counting_queries(client, url)
    ConnectorFactory.create_batch(10)
    many, many_queries = get_counting_queries(client, url)

    assert len(listed(many)) == 13
    assert many_queries == few_queries


# --- events ---------------------------------------------------------------------------------------


def test_event_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator):
    # Given events of different chargers and stations, some on a connector
    client.force_login(operator)

    def events(count):
        for i in range(count):
            connector = ConnectorFactory()
            ChargerEventFactory(charger=connector.charger, connector=connector if i % 2 else None)

    assert_changelist_queries_constant(client, EVENTS, events)


def test_event_changelist_shows_charger_station_and_connector(client, operator):
    client.force_login(operator)
    connector = ConnectorFactory(number=2, charger__serial="10123000777", charger__station__name="蛇口站")
    ChargerEventFactory(charger=connector.charger, connector=connector, code="E42")

    content = client.get(EVENTS).content.decode()

    assert '<th class="field-charger_serial"><a href=' in content
    assert ">10123000777</a></th>" in content
    assert '<td class="field-station_name">蛇口站</td>' in content
    assert '<td class="field-connector_number">2</td>' in content
    assert '<td class="field-code">E42</td>' in content


def test_events_are_found_by_exact_charger_serial_or_code_and_filtered_by_state(client, operator):
    client.force_login(operator)
    of_charger = ChargerEventFactory(charger__serial="10123000555", code="A1")
    by_code = ChargerEventFactory(code="TOMDA_EV_OVERHEAT", state=EventState.RECOVERED)

    assert listed(client.get(EVENTS, {"q": "10123000555"})) == {of_charger.pk}
    assert listed(client.get(EVENTS, {"q": "1012300055"})) == set()
    assert listed(client.get(EVENTS, {"q": "TOMDA_EV_OVERHEAT"})) == {by_code.pk}
    assert listed(client.get(EVENTS, {"state__exact": EventState.RECOVERED})) == {by_code.pk}


def test_an_event_page_is_read_only_even_for_a_superuser(client, superuser):
    client.force_login(superuser)
    event = ChargerEventFactory()

    response = client.get(reverse("admin:chargers_chargerevent_change", args=[event.pk]))

    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}
    assert 'name="_save"' not in response.content.decode()


def test_no_one_gets_add_change_or_delete_on_vendor_written_rows(rf, superuser):
    # Even a superuser, because edits would contradict the vendor's record
    request = rf.get("/")
    request.user = superuser
    event = ChargerEventFactory()

    model_admin = admin.site.get_model_admin(ChargerEvent)

    assert model_admin.has_view_permission(request, event) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, event) is False
    assert model_admin.has_delete_permission(request, event) is False


def test_deleting_a_charger_with_events_is_refused_because_events_are_history(client, superuser):
    # The delete page lists the cascade; events may not be deleted, so neither may their charger.
    client.force_login(superuser)
    charger = ChargerFactory()
    event = ChargerEventFactory(charger=charger)

    response = client.post(reverse("admin:chargers_charger_delete", args=[charger.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Charger.objects.filter(pk=charger.pk).exists()
    assert ChargerEvent.objects.filter(pk=event.pk).exists()
