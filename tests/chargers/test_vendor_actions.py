"""Operators ask the vendor cloud from the charger admin: sync the selected chargers, import the vendor's.

The vendor is the Tomda simulator over real HTTP; pages are asked for in English, so the assertions
read the operator's own words (the vendor's own messages are Chinese either way).
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from chargers.models import Charger, Vendor
from tariffs.models import VehicleKind
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db

CHARGERS = reverse("admin:chargers_charger_changelist")
IMPORT = reverse("admin:chargers_charger_import")
SYNC = "sync_from_vendor"


def shown_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def vendor_paths(sim):
    """The API paths our side called, the token call left out."""
    return [path for _method, path, _params in sim.calls if path != "/api/sys/token/get"]


# --- import -----------------------------------------------------------------------------------------


def test_the_charger_list_offers_the_import_page_to_those_who_may_add_chargers(operator_client):
    response = operator_client.get(CHARGERS)

    assert f'href="{IMPORT}"' in response.content.decode()


def test_the_import_page_lists_the_vendors_chargers_and_links_the_ones_we_have(operator_client, tomda):
    # Given the EV charger already in one of our stations
    known = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001", name="南门 1 号桩")

    # When the operator opens the import page (Tomda is the only vendor, so it is listed at once)
    response = operator_client.get(f"{IMPORT}?vendor=tomda")

    # Then both chargers are listed; the known one links to its page, only the new one can be ticked
    assert response.status_code == 200
    rows = {row["info"].serial: row["charger"] for row in response.context["rows"]}
    assert rows == {"1012300001": known, "1012300002": None}
    content = response.content.decode()
    assert f'href="{reverse("admin:chargers_charger_change", args=[known.pk])}"' in content
    assert 'value="1012300002"' in content
    assert 'value="1012300001"' not in content
    assert response.context["new_count"] == 1
    assert "/api/sys/charger/list" in vendor_paths(tomda)


def test_importing_creates_the_ticked_chargers_with_their_connectors_in_the_chosen_station(operator_client, tomda):
    # Given an e-bike station
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)

    # When the operator ticks the e-bike charger and imports it into the station
    response = operator_client.post(
        f"{IMPORT}?vendor=tomda", {"serials": ["1012300002"], "station": station.pk}
    )

    # Then it is in the station, described by the vendor, with both connectors
    charger = Charger.objects.get(vendor=Vendor.TOMDA, serial="1012300002")
    assert charger.station == station
    assert (charger.kind, charger.device_type_code, charger.online) == (VehicleKind.EBIKE, "TOMDA_EB10_T1", True)
    assert list(charger.connectors.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert not Charger.objects.filter(serial="1012300001").exists()
    # and the operator lands on the charger list of that station
    assert response.status_code == 302
    assert response.url == f"{CHARGERS}?station__id__exact={station.pk}"
    assert shown_messages(response) == [f"1 charger imported into {station}."]
    listed = operator_client.get(response.url).context["cl"].result_list
    assert [c.pk for c in listed] == [charger.pk]


def test_a_charger_for_another_kind_of_station_is_refused_and_nothing_is_imported(operator_client, tomda):
    # Given an e-bike station, and both chargers ticked (one of them is an EV charger)
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)

    response = operator_client.post(
        f"{IMPORT}?vendor=tomda", {"serials": ["1012300001", "1012300002"], "station": station.pk}
    )

    # Then the page is shown again with the refusal, and neither charger was added (all or none)
    assert response.status_code == 200
    assert not Charger.objects.exists()
    (message,) = shown_messages(response)
    assert "1012300001" in message


def test_an_import_whose_read_goes_unanswered_says_nothing_changed_not_that_sending_again_is_safe(
    operator_client, tomda, monkeypatch
):
    # Given a vendor that lists its chargers, then does not answer when asked for one of them
    from chargers.vendor import VendorUnavailable
    from integrations.tomda.adapter import TomdaAdapter

    def unanswered(self, *, serial):
        raise VendorUnavailable("tomda charger_detail: read timed out", vendor="tomda")

    monkeypatch.setattr(TomdaAdapter, "charger_detail", unanswered)
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)

    # When the operator imports a charger
    response = operator_client.post(f"{IMPORT}?vendor=tomda", {"serials": ["1012300002"], "station": station.pk})

    # Then the operator reads that the vendor did not answer and to try later, and nothing was imported
    assert shown_messages(response) == [
        "The vendor did not answer (tomda charger_detail: read timed out). Try again later."
    ]
    assert not Charger.objects.exists()


def test_a_charger_already_imported_cannot_be_posted_again(operator_client, tomda):
    existing = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")

    response = operator_client.post(
        f"{IMPORT}?vendor=tomda", {"serials": ["1012300001"], "station": StationFactory().pk}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["serials"]
    assert list(Charger.objects.values_list("pk", flat=True)) == [existing.pk]
    assert "/api/sys/charger/info" not in vendor_paths(tomda)


# --- chargers awaiting a station (reported by their vendor before an operator placed them) ---------------


def awaiting(serial="1012300002", **fields):
    charger = ChargerFactory(station=None, vendor=Vendor.TOMDA, serial=serial, kind=VehicleKind.EBIKE,
                             device_type_code="TOMDA_EB10_T1", **fields)
    for number in (1, 2):
        ConnectorFactory(charger=charger, number=number)
    return charger


def test_the_charger_list_counts_and_filters_the_chargers_awaiting_a_station(operator_client):
    waiting = awaiting()
    placed = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")

    response = operator_client.get(CHARGERS)

    content = response.content.decode()
    assert response.context["awaiting_count"] == 1
    assert 'id="awaiting-chargers"' in content and "1 charger reported by its vendor awaits a station" in content
    assert "Awaiting a station" in content
    filtered = operator_client.get(CHARGERS, {"placement": "awaiting"})
    assert list(filtered.context["cl"].result_list) == [waiting]
    assert list(operator_client.get(CHARGERS, {"placement": "placed"}).context["cl"].result_list) == [placed]


def test_without_chargers_awaiting_a_station_the_list_says_nothing_of_them(operator_client):
    ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")

    response = operator_client.get(CHARGERS)

    assert 'id="awaiting-chargers"' not in response.content.decode()


def test_the_lists_of_connectors_and_events_show_a_charger_awaiting_a_station(operator_client):
    from tests.chargers.factories import ChargerEventFactory

    charger = awaiting()
    ChargerEventFactory(charger=charger, connector=charger.connectors.get(number=1))

    for url in (reverse("admin:chargers_connector_changelist"), reverse("admin:chargers_chargerevent_changelist")):
        response = operator_client.get(url)
        assert response.status_code == 200
        assert "Awaiting a station" in response.content.decode()


def test_the_import_page_offers_a_charger_awaiting_a_station_and_assigns_it_keeping_its_history(
    operator_client, tomda
):
    from tests.chargers.factories import ChargerEventFactory

    charger = awaiting()
    ChargerEventFactory(charger=charger, connector=charger.connectors.get(number=2))
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)

    listing = operator_client.get(f"{IMPORT}?vendor=tomda")
    assert 'value="1012300002"' in listing.content.decode()
    assert "awaiting a station" in listing.content.decode()
    response = operator_client.post(f"{IMPORT}?vendor=tomda", {"serials": ["1012300002"], "station": station.pk})

    assert response.status_code == 302
    charger.refresh_from_db()
    assert charger.station == station
    assert charger.events.get().connector.number == 2
    assert Charger.objects.filter(serial="1012300002").count() == 1
    assert shown_messages(response) == [f"1 charger imported into {station}."]


def test_a_charger_awaiting_a_station_is_not_assigned_to_a_station_of_another_kind(operator_client, tomda):
    charger = awaiting()
    ev_station = StationFactory(kind=VehicleKind.EV)

    response = operator_client.post(f"{IMPORT}?vendor=tomda", {"serials": ["1012300002"], "station": ev_station.pk})

    assert response.status_code == 200
    charger.refresh_from_db()
    assert charger.station is None
    (message,) = shown_messages(response)
    assert "1012300002" in message


def test_the_vendors_refusal_to_list_is_shown_on_the_page(operator_client, tomda):
    tomda.fail_next("/api/sys/charger/list", "1505")

    response = operator_client.get(f"{IMPORT}?vendor=tomda")

    assert response.status_code == 200
    assert shown_messages(response) == ["[1505] 汤姆达云：服务器控制充电桩失败（错误码 1505）"]
    assert response.context["rows"] == []


def test_an_unconfigured_vendor_is_an_error_message_not_a_crash(operator_client, settings):
    settings.TOMDA_BASE_URL = ""

    response = operator_client.get(f"{IMPORT}?vendor=tomda")

    assert response.status_code == 200
    (message,) = shown_messages(response)
    assert "TOMDA_BASE_URL" in message


def test_finance_may_not_open_the_import_page_nor_post_to_it(client, finance, tomda):
    client.force_login(finance)
    station = StationFactory()

    assert client.get(IMPORT).status_code == 403
    assert client.post(f"{IMPORT}?vendor=tomda", {"serials": ["1012300001"], "station": station.pk}).status_code == 403
    assert not Charger.objects.exists()
    assert tomda.calls == []


# --- sync ---------------------------------------------------------------------------------------------


def test_sync_updates_the_selected_charger_from_its_vendor(operator_client, tomda):
    # Given our record of the e-bike charger is stale: offline, old firmware, one connector
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)
    charger = ChargerFactory(
        station=station, vendor=Vendor.TOMDA, serial="1012300002", kind=VehicleKind.EBIKE,
        firmware_version="V0.9", online=False, last_seen_at=None,
    )
    ConnectorFactory(charger=charger, number=1)

    # When the operator syncs it
    response = operator_client.post(CHARGERS, {"action": SYNC, ACTION_CHECKBOX_NAME: [charger.pk]})

    # Then it has the vendor's description and both connectors
    charger.refresh_from_db()
    assert (charger.firmware_version, charger.online) == ("V2.1.0", True)
    assert list(charger.connectors.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert shown_messages(response) == ["1 charger synced from its vendor."]


def test_each_failure_names_its_charger_and_the_vendor_error_beside_the_count_of_successes(operator_client, tomda):
    # Given one charger the vendor knows and one it does not
    known = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001", firmware_version="V0.9")
    unknown = ChargerFactory(vendor=Vendor.TOMDA, serial="1012399999", name="北门 9 号桩")

    response = operator_client.post(CHARGERS, {"action": SYNC, ACTION_CHECKBOX_NAME: [known.pk, unknown.pk]})

    known.refresh_from_db()
    assert known.firmware_version == "V2.1.0"
    error, success = shown_messages(response)
    assert "北门 9 号桩" in error
    assert reverse("admin:chargers_charger_change", args=[unknown.pk]) in error
    assert "[2003] 汤姆达云：充电桩不存在（错误码 2003）" in error
    assert success == "1 charger synced from its vendor."


def test_someone_who_may_only_view_chargers_is_not_offered_the_sync(client, finance, tomda):
    # Given a finance user who may look at chargers
    finance.user_permissions.add(Permission.objects.get(codename="view_charger"))
    client.force_login(finance)
    charger = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001", firmware_version="V0.9")

    # When the list is opened and the action is posted anyway
    listing = client.get(CHARGERS)
    client.post(CHARGERS, {"action": SYNC, ACTION_CHECKBOX_NAME: [charger.pk]})

    # Then no action was offered, no import button shown, and the vendor was never asked
    assert listing.context["action_form"] is None
    assert f'href="{IMPORT}"' not in listing.content.decode()
    charger.refresh_from_db()
    assert charger.firmware_version == "V0.9"
    assert tomda.calls == []


def test_the_charger_page_links_each_connector_to_its_session_page(operator_client):
    connector = ConnectorFactory(number=1)

    response = operator_client.get(reverse("admin:chargers_charger_change", args=[connector.charger_id]))

    assert reverse("admin:orders_order_start", args=[connector.pk]) in response.content.decode()
