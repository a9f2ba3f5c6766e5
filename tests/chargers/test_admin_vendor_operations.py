"""Operators ask a charger's vendor to act from the admin: add it to our account, reboot it, disconnect it, read
back its tariff, mark a connector faulty, discover all the vendor's chargers.

The vendor is a fake cloud registered in the adapter registry, which does what it is told, refuses, or does not
answer; a second fake supports nothing, as Tomda cannot reboot. Messages are compared in English.
"""

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from chargers.models import Charger, ConnectorStatus, OfflineRevenueReading
from chargers.vendor import (
    ChargerInfo,
    ConnectorInfo,
    TariffOnCharger,
    VendorAdapter,
    VendorError,
    VendorUnavailable,
    registry,
)
from tariffs.models import VehicleKind
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.helpers import assert_changelist_queries_constant

pytestmark = pytest.mark.django_db

VENDOR = "acme"
INCAPABLE = "mute"
CHARGERS = reverse("admin:chargers_charger_changelist")
CONNECTORS = reverse("admin:chargers_connector_changelist")
DISCOVER = reverse("admin:chargers_charger_discover")
AWAITING = f"{CHARGERS}?placement=awaiting"


class FakeCloud(VendorAdapter):
    """Does what it is asked for each serial, except where `refusals` names the error it answers with."""

    code = VENDOR

    def __init__(self):
        self.refusals = {}
        self.done = []
        self.tariffs = {}
        self.listed = []
        self.list_error = None

    def _act(self, operation, serial, *details):
        if serial in self.refusals:
            raise self.refusals[serial]
        self.done.append((operation, serial, *details))

    def charger_register(self, *, serial):
        self._act("register", serial)

    def charger_reboot(self, *, serial):
        self._act("reboot", serial)

    def charger_force_offline(self, *, serial):
        self._act("force_offline", serial)

    def connector_fault_set(self, *, serial, connector_number, faulty):
        self._act("fault", serial, connector_number, faulty)

    def tariff_read(self, *, serial):
        self._act("tariff_read", serial)
        return self.tariffs[serial]

    def charger_list(self):
        if self.list_error is not None:
            raise self.list_error
        return iter(self.listed)


class Incapable(VendorAdapter):
    code = INCAPABLE


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def cloud():
    adapter = FakeCloud()
    registry.register(VENDOR, lambda: adapter)
    registry.register(INCAPABLE, Incapable)
    yield adapter
    registry.unregister(VENDOR)
    registry.unregister(INCAPABLE)


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def link(obj):
    return f'<a href="{change_url(obj)}">{obj}</a>'


def act(client, url, action, *rows):
    response = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [row.pk for row in rows]}, follow=True)
    assert response.status_code == 200
    return response


def shown(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


# --- reboot, register, force offline --------------------------------------------------------------------


def test_rebooting_tells_each_refusal_linked_to_its_charger_then_the_count(operator_client, cloud):
    # Given three chargers of the fake vendor: one it reboots, one it refuses, one it does not answer for
    rebooted = ChargerFactory(vendor=VENDOR, serial="ACME-1", name="南门 1 号桩")
    refused = ChargerFactory(vendor=VENDOR, serial="ACME-2", name="南门 2 号桩")
    silent = ChargerFactory(vendor=VENDOR, serial="ACME-3", name="南门 3 号桩")
    cloud.refusals["ACME-2"] = VendorError("设备忙", vendor=VENDOR, code="E42")
    cloud.refusals["ACME-3"] = VendorUnavailable("Read timed out.", vendor=VENDOR)

    # When an operator reboots all three
    response = act(operator_client, CHARGERS, "reboot", silent, refused, rebooted)

    # Then the vendor rebooted the one; the refusal gives the vendor's code and words, the silence says to look
    # before asking again (a second reboot would interrupt the first); the count comes last
    assert cloud.done == [("reboot", "ACME-1")]
    assert shown(response) == [
        ("error", f"{link(refused)}: [E42] 设备忙"),
        ("error", f"{link(silent)}: the vendor did not answer, so whether the charger is rebooting is unknown "
                  "(Read timed out.). Look at its status in a few minutes before asking again: a second reboot "
                  "interrupts the first."),
        ("success", "1 charger asked to reboot; it is offline for a while."),
    ]


def test_a_vendor_that_cannot_reboot_says_so_and_nothing_is_counted(operator_client, cloud):
    charger = ChargerFactory(vendor=INCAPABLE, serial="MUTE-1")

    response = act(operator_client, CHARGERS, "reboot", charger)

    assert shown(response) == [("error", f"{link(charger)}: mute does not support charger_reboot.")]


def test_adding_chargers_to_the_vendors_account_asks_the_vendor_for_each(operator_client, cloud):
    first = ChargerFactory(vendor=VENDOR, serial="ACME-1")
    second = ChargerFactory(vendor=VENDOR, serial="ACME-2")

    response = act(operator_client, CHARGERS, "register_at_vendor", second, first)

    assert cloud.done == [("register", "ACME-1"), ("register", "ACME-2")]
    assert shown(response) == [("success", "2 chargers added to their vendors' accounts.")]


def test_adding_a_charger_without_an_answer_says_sending_again_is_safe(operator_client, cloud):
    charger = ChargerFactory(vendor=VENDOR, serial="ACME-1")
    cloud.refusals["ACME-1"] = VendorUnavailable("Read timed out.", vendor=VENDOR)

    response = act(operator_client, CHARGERS, "register_at_vendor", charger)

    assert shown(response) == [("error", f"{link(charger)}: The vendor did not answer, so whether it received this "
                                         "is unknown (Read timed out.). Sending it again is safe.")]


def test_forcing_chargers_offline_asks_the_vendor_and_a_vendor_that_cannot_is_told(operator_client, cloud):
    capable = ChargerFactory(vendor=VENDOR, serial="ACME-1")
    incapable = ChargerFactory(vendor=INCAPABLE, serial="MUTE-1")

    response = act(operator_client, CHARGERS, "force_offline", capable, incapable)

    assert cloud.done == [("force_offline", "ACME-1")]
    assert shown(response) == [
        ("error", f"{link(incapable)}: mute does not support charger_force_offline."),
        ("success", "1 charger disconnected by its vendor; it connects again by itself."),
    ]


def test_a_user_who_may_only_look_at_chargers_cannot_reboot_them(client, django_user_model, cloud):
    # Given staff who may view chargers and nothing more
    viewer = django_user_model.objects.create_user("viewer", password="pw-view-1234", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_charger"))
    client.force_login(viewer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    charger = ChargerFactory(vendor=VENDOR, serial="ACME-1")

    # When they post the reboot and the tariff read anyway
    act(client, CHARGERS, "reboot", charger)
    response = act(client, CHARGERS, "read_tariff", charger)

    # Then no action is theirs (each asks the vendor, which needs the change permission), the vendor was not
    # asked, and they are not offered the discovery
    assert response.context["action_form"] is None
    assert cloud.done == []
    assert f'action="{DISCOVER}"' not in response.content.decode()


def test_finance_may_not_touch_chargers(finance, client, cloud):
    client.force_login(finance)
    charger = ChargerFactory(vendor=VENDOR, serial="ACME-1")

    response = client.post(CHARGERS, {"action": "reboot", ACTION_CHECKBOX_NAME: [charger.pk]})

    assert response.status_code == 403
    assert cloud.done == []


# --- reading back the tariff ------------------------------------------------------------------------------


def test_reading_back_the_tariff_tells_each_charger_same_or_each_field_that_differs(operator_client, cloud):
    # Given one charger holding our tariff and one holding other prices and a field we would send that it lacks
    same = ChargerFactory(vendor=VENDOR, serial="ACME-1", name="北门 1 号桩")
    different = ChargerFactory(vendor=VENDOR, serial="ACME-2", name="北门 2 号桩")
    cloud.tariffs["ACME-1"] = TariffOnCharger(held={"price": 65}, ours={"price": 65}, differences=())
    cloud.tariffs["ACME-2"] = TariffOnCharger(
        held={"price": 80, "charge_mode": 1},
        ours={"price": 65, "charge_mode": 1, "periods": [1, 2]},
        differences=("price", "periods"),
    )

    # When the operator reads back both chargers' tariffs
    response = act(operator_client, CHARGERS, "read_tariff", different, same)

    # Then each gets its own message: the same one a success, the other a warning naming each field with the
    # vendor's value and ours
    assert [call[:2] for call in cloud.done] == [("tariff_read", "ACME-1"), ("tariff_read", "ACME-2")]
    assert shown(response) == [
        # (the messages are HTML, with the charger's link: the apostrophe is escaped)
        ("success", f"{link(same)}: its vendor&#x27;s tariff is the same as the tariff in force."),
        ("warning", f"{link(different)}: its vendor&#x27;s tariff differs from the tariff in force (price: the vendor "
                    "has 80, ours is 65; periods: the vendor has —, ours is [1,2]). Sending the tariff to the "
                    "charger again sets ours."),
    ]


def test_reading_back_the_tariff_refuses_a_charger_awaiting_a_station_and_tells_an_unanswered_read(
    operator_client, cloud
):
    waiting = ChargerFactory(vendor=VENDOR, serial="ACME-1", station=None, name="待分配桩")
    silent = ChargerFactory(vendor=VENDOR, serial="ACME-2", name="北门 2 号桩")
    cloud.refusals["ACME-2"] = VendorUnavailable("Read timed out.", vendor=VENDOR)

    response = act(operator_client, CHARGERS, "read_tariff", waiting, silent)

    assert cloud.done == []
    messages = shown(response)
    assert messages[0][0] == "error"
    assert messages[0][1].startswith(f"{link(waiting)}: Charger 待分配桩 awaits a station")
    assert messages[1] == ("error", f"{link(silent)}: The vendor did not answer (Read timed out.). Try again later.")
    assert len(messages) == 2


def test_a_vendor_that_cannot_read_a_tariff_back_says_so(operator_client, cloud):
    charger = ChargerFactory(vendor=INCAPABLE, serial="MUTE-1")

    response = act(operator_client, CHARGERS, "read_tariff", charger)

    assert shown(response) == [("error", f"{link(charger)}: mute does not support tariff_read.")]


# --- connectors ---------------------------------------------------------------------------------------------


def test_marking_connectors_faulty_and_clearing_the_mark_asks_their_vendor(operator_client, cloud):
    charger = ChargerFactory(vendor=VENDOR, serial="ACME-1")
    first = ConnectorFactory(charger=charger, number=1)
    second = ConnectorFactory(charger=charger, number=2)

    marked = act(operator_client, CONNECTORS, "mark_faulty", first, second)
    cleared = act(operator_client, CONNECTORS, "clear_fault", second)

    assert sorted(cloud.done) == [("fault", "ACME-1", 1, True), ("fault", "ACME-1", 2, False),
                                  ("fault", "ACME-1", 2, True)]
    assert shown(marked) == [("success", "2 connectors marked faulty at their vendors: they take no session, and "
                                         "their next status reports show it.")]
    assert shown(cleared) == [("success", "The fault mark of 1 connector was cleared at its vendor; its next "
                                          "status report shows it.")]
    # the connector's status is the vendor's to report, not changed here
    first.refresh_from_db()
    assert first.status == ConnectorStatus.FREE


def test_a_vendor_that_cannot_mark_a_fault_says_so(operator_client, cloud):
    connector = ConnectorFactory(charger=ChargerFactory(vendor=INCAPABLE, serial="MUTE-1"), number=1)

    response = act(operator_client, CONNECTORS, "mark_faulty", connector)

    assert shown(response) == [("error", f"{link(connector)}: mute does not support connector_fault_set.")]


# --- discovering the vendor's chargers ---------------------------------------------------------------------


def described(serial, connectors=1):
    return ChargerInfo(
        serial=serial, online=True, vendor_status="IDLE", status=ConnectorStatus.FREE, kind=VehicleKind.EBIKE,
        firmware_version="V2.0",
        connectors=tuple(ConnectorInfo(number=n, vendor_status="IDLE", status=ConnectorStatus.FREE)
                         for n in range(1, connectors + 1)),
    )


def test_the_charger_list_offers_discovery_to_those_who_may_add_chargers(operator_client, cloud):
    response = operator_client.get(CHARGERS)

    content = response.content.decode()
    assert f'action="{DISCOVER}"' in content
    assert 'value="acme"' in content


def test_discovering_reads_every_charger_and_tells_how_many_await_a_station(operator_client, cloud):
    # Given a charger of ours in a station, and the vendor listing it with two it has and we lack
    placed = ChargerFactory(vendor=VENDOR, serial="ACME-1", firmware_version="V1.0")
    cloud.listed = [described("ACME-1"), described("ACME-2", connectors=2), described("ACME-3")]

    # When the operator discovers the vendor's chargers
    response = operator_client.post(DISCOVER, {"vendor": VENDOR}, follow=True)

    # Then the two new ones await a station with their connectors, ours took the vendor's description
    new = Charger.objects.filter(vendor=VENDOR, station__isnull=True).order_by("serial")
    assert [charger.serial for charger in new] == ["ACME-2", "ACME-3"]
    assert new[0].connectors.count() == 2
    placed.refresh_from_db()
    assert placed.firmware_version == "V2.0" and placed.station_id is not None
    # and the operator reads the count read and the count awaiting, with the way to them
    assert response.redirect_chain == [(CHARGERS, 302)]
    assert shown(response) == [
        ("warning", "3 chargers read from acme. 2 of them await a station: nothing is sold on them until they are "
                    f'assigned to one. <a href="{AWAITING}">Show them</a>'),
    ]


def test_discovering_when_every_charger_is_placed_says_so(operator_client, cloud):
    ChargerFactory(vendor=VENDOR, serial="ACME-1")
    cloud.listed = [described("ACME-1")]

    response = operator_client.post(DISCOVER, {"vendor": VENDOR}, follow=True)

    assert shown(response) == [("success", "1 charger read from acme. Each of them is in a station.")]


def test_an_unanswered_discovery_says_nothing_changed_and_a_vendor_that_cannot_list_says_so(operator_client, cloud):
    cloud.list_error = VendorUnavailable("Read timed out.", vendor=VENDOR)

    unanswered = operator_client.post(DISCOVER, {"vendor": VENDOR}, follow=True)
    incapable = operator_client.post(DISCOVER, {"vendor": INCAPABLE}, follow=True)

    assert shown(unanswered) == [("error", "acme: The vendor did not answer (Read timed out.). Try again later.")]
    assert shown(incapable) == [("error", "mute: mute does not support charger_list.")]
    assert not Charger.objects.exists()


def test_discovery_is_a_post_of_a_registered_vendor(operator_client, cloud):
    assert operator_client.get(DISCOVER).status_code == 405

    response = operator_client.post(DISCOVER, {"vendor": "nobody"}, follow=True)

    assert shown(response) == [("error", "Choose a vendor whose chargers to discover.")]


def test_discovery_is_refused_to_those_who_may_not_add_chargers(client, django_user_model, cloud):
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1234", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_charger", "change_charger"]))
    client.force_login(clerk)
    cloud.listed = [described("ACME-2")]

    assert client.post(DISCOVER, {"vendor": VENDOR}).status_code == 403
    assert f'action="{DISCOVER}"' not in client.get(CHARGERS).content.decode()
    assert not Charger.objects.exists()


def test_a_superuser_discovers_too(superuser_client, cloud):
    cloud.listed = [described("ACME-9")]

    response = superuser_client.post(DISCOVER, {"vendor": VENDOR}, follow=True)

    assert Charger.objects.get().serial == "ACME-9"
    assert shown(response)[0][0] == "warning"


# --- what the devices took by themselves (read-only; the vendor's pushes write it) ---------------------------

OFFLINE_REVENUE = reverse("admin:chargers_offlinerevenuereading_changelist")


def reading(charger, minutes_ago, **fields):
    now = timezone.now()
    values = {"coin_total_fen": 1050, "card_total_fen": 200, "coin_fen": 50, "card_fen": 0, **fields}
    return OfflineRevenueReading.objects.create(charger=charger, device_time=now - dt.timedelta(minutes=minutes_ago),
                                                received_at=now, **values)


def test_offline_revenue_is_listed_newest_first_in_yuan_and_filtered(operator_client):
    charger = ChargerFactory(vendor="wanzhuang", serial="86000001")
    older = reading(charger, 60, coin_total_fen=1000, coin_fen=0)
    newer = reading(charger, 5, coin_total_fen=1050, coin_fen=50)
    late = reading(charger, 90, counted=False)
    reset = reading(ChargerFactory(vendor=VENDOR, serial="ACME-1"), 1, coin_total_fen=30, coin_fen=30, reset=True)

    response = operator_client.get(OFFLINE_REVENUE)

    cl = response.context["cl"]
    assert list(cl.result_list) == [reset, newer, older, late]
    assert cl.date_hierarchy is None
    admin_ = cl.model_admin
    assert (admin_.coin_total(newer), admin_.card_total(newer), admin_.coin(newer), admin_.card(newer)) == (
        "10.50", "2.00", "0.50", "0.00")
    assert list(operator_client.get(OFFLINE_REVENUE, {"counted__exact": "0"}).context["cl"].result_list) == [late]
    assert list(operator_client.get(OFFLINE_REVENUE, {"reset__exact": "1"}).context["cl"].result_list) == [reset]
    by_vendor = operator_client.get(OFFLINE_REVENUE, {"charger__vendor": "wanzhuang"}).context["cl"].result_list
    assert set(by_vendor) == {older, newer, late}
    assert list(operator_client.get(OFFLINE_REVENUE, {"q": "ACME-1"}).context["cl"].result_list) == [reset]


def test_offline_revenue_is_read_only_for_everyone(client, superuser, finance):
    row = reading(ChargerFactory(serial="1012399999"), 1)
    for user in (superuser, finance):
        client.force_login(user)
        assert client.get(OFFLINE_REVENUE).status_code == 200
        assert client.get(reverse("admin:chargers_offlinerevenuereading_add")).status_code == 403
        page = client.get(reverse("admin:chargers_offlinerevenuereading_change", args=[row.pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


def test_the_offline_revenue_list_asks_the_same_queries_for_5_rows_as_for_30(operator_client):
    def make_rows(count):
        for _ in range(count):
            reading(ChargerFactory(), 1)

    assert_changelist_queries_constant(operator_client, OFFLINE_REVENUE, make_rows)


def test_the_new_pages_render_in_chinese(client, superuser, cloud):
    # The operators' language: each page renders with the zh-hans catalogue, whatever it lacks so far.
    client.force_login(superuser)
    charger = ChargerFactory(vendor=VENDOR, serial="ACME-1")
    reading(charger, 1)

    for url in (CHARGERS, OFFLINE_REVENUE, reverse("admin:chargers_offlinerevenuereading_change",
                                                   args=[charger.offline_revenue.get().pk])):
        response = client.get(url)
        assert response.status_code == 200
        assert '<html lang="zh-hans"' in response.content.decode()
