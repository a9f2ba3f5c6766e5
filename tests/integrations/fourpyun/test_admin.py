"""4pyun's admin: the mapped stations and their device syncs, the orders at them with their records, the report by
business day, an order's 4pyun page with its buttons, and 4pyun's reports; against a 4pyun simulator on loopback
where something is sent."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backoffice.days import BEIJING
from integrations.fourpyun.devices import DEVICE_KIND
from integrations.fourpyun.models import DeviceSync, ReportKind, StatusReport
from integrations.fourpyun.records import FINAL, RECORD_KIND, records_of
from integrations.fourpyun.simulator import FourpyunSimulator
from integrations.models import Counterparty, DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.outbox import delivery_enqueue
from orders.models import Order, OrderStatus
from tariffs.models import VehicleKind
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db

UUID = "7c1e5a9e-0f0b-4a51-9a35-5a0e2f4d6b01"
APP_ID = "op00admin0000001"
APP_SECRET = "admin-test-secret"
STATIONS = reverse("admin:fourpyun_fourpyunstation_changelist")
ORDERS = reverse("admin:fourpyun_fourpyunorder_changelist")
REPORT = reverse("admin:fourpyun_fourpyunorder_report")
REPORTS = reverse("admin:fourpyun_statusreport_changelist")
REFUSED_PLATE = ('{"code":"400","message":"请求参数错误","hint":"`plate` 车牌号码格式错误","seqno":"1"}')
CONFIRMED = '{"code":"1001","message":"成功","seqno":"2"}'


# --- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def english(client):
    # Messages and texts are compared in the source language; the zh-hans catalogue translates them.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def viewer(django_user_model):
    """Staff who may look at 4pyun's pages, but neither send a record again nor change a station."""
    user = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw-view-1234", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="fourpyun",
        codename__in=["view_fourpyunorder", "view_fourpyunstation", "view_statusreport"]))
    return user


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def configured(settings):
    """4pyun configured (records are written), pointing nowhere: nothing here is sent."""
    settings.FOURPYUN_BASE_URL = "http://127.0.0.1:9"
    settings.FOURPYUN_APP_ID = APP_ID
    settings.FOURPYUN_APP_SECRET = APP_SECRET


@pytest.fixture
def platform(settings):
    """4pyun's platform on loopback, knowing the mapped station, with our settings pointing at it."""
    with FourpyunSimulator(APP_ID, APP_SECRET, stations=[UUID]) as sim:
        settings.FOURPYUN_BASE_URL = sim.base_url
        settings.FOURPYUN_APP_ID = APP_ID
        settings.FOURPYUN_APP_SECRET = APP_SECRET
        yield sim


@pytest.fixture
def mapped():
    return StationFactory(code="CD001", name="成都天府停车场充电站", fourpyun_station_uuid=UUID)


@pytest.fixture
def unmapped():
    return StationFactory(code="SZ001", name="深圳南山充电站")


def order_at(station, *, kind=VehicleKind.EV, **fields):
    """A settled session on a charger of its own at `station`."""
    charger = ChargerFactory(station=station, kind=kind)
    return OrderFactory(connector=ConnectorFactory(charger=charger), status=fields.pop("status", OrderStatus.SETTLED),
                        **fields)


def final_record(order, status=DeliveryStatus.PENDING, *, number=1, error="", answers=(), plate=""):
    """A final record of `order` in the state history left it, with attempts answered `answers`."""
    fields = {"order": order.order_no, "state": 3, "state_desc": "充电完成"}
    if plate:
        fields["plate"] = plate
    with transaction.atomic():
        # Written as the records are; then moved to the state its attempts left it in.
        delivery = delivery_enqueue(
            vendor=Counterparty.FOURPYUN, kind=RECORD_KIND, key=f"4pyun:{order.order_no}:final:{number}",
            payload={"event": FINAL, "state": 3, "fields": fields, "reduction_problem": ""},
            order_no=order.order_no, charger_serial=order.charger.serial)
    OutboundDelivery.objects.filter(pk=delivery.pk).update(status=status, attempts=len(answers), last_error=error)
    delivery.refresh_from_db()
    for n, (http_status, head) in enumerate(answers, start=1):
        DeliveryAttempt.objects.create(delivery=delivery, number=n, started_at=timezone.now(),
                                       succeeded=head == CONFIRMED, http_status=http_status, response_head=head)
    return delivery


def listed(response):
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def shown_messages(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def actions_offered(response):
    form = response.context["action_form"]
    return set(dict(form.fields["action"].choices)) if form is not None else set()


def page_of(order):
    return reverse("admin:fourpyun_fourpyunorder_change", args=[order.pk])


# --- 4pyun stations -------------------------------------------------------------------------------------------


def test_the_stations_list_shows_only_mapped_stations_with_their_chargers_syncs_and_given_up_syncs(
        admin_client, mapped, unmapped):
    # Given a mapped station with two chargers, one synced at 10:03:04 Beijing time and one whose sync was given up
    first, second = ChargerFactory(station=mapped), ChargerFactory(station=mapped)
    ChargerFactory(station=unmapped)
    DeviceSync.objects.create(charger=first, station_uuid=UUID, fingerprint="f",
                              changed_at=dt.datetime(2026, 11, 21, 2, 3, 4, tzinfo=dt.UTC))
    with transaction.atomic():
        dead = delivery_enqueue(vendor=Counterparty.FOURPYUN, kind=DEVICE_KIND, key="4pyun:device:x",
                                payload={"charger_id": second.pk}, charger_serial=second.serial)
    OutboundDelivery.objects.filter(pk=dead.pk).update(status=DeliveryStatus.DEAD)

    # When the list is opened
    response = admin_client.get(STATIONS)

    # Then only the mapped station is listed, linking to its own page, with its figures
    assert listed(response) == {mapped.pk}
    row = response.context["cl"].result_list[0]
    assert (row.charger_count, row.syncs_dead) == (2, 1)
    content = response.content.decode()
    assert reverse("admin:stations_station_change", args=[mapped.pk]) in content
    assert UUID in content and "2026-11-21 10:03:04" in content
    assert not response.context["has_add_permission"]


def test_a_mapped_stations_row_opens_the_stations_own_page(admin_client, mapped, unmapped):
    response = admin_client.get(reverse("admin:fourpyun_fourpyunstation_change", args=[mapped.pk]))

    assert response.status_code == 302
    assert response.url == reverse("admin:stations_station_change", args=[mapped.pk])
    # A station 4pyun does not know opens as its own page too: that is where it is mapped
    assert admin_client.get(reverse("admin:fourpyun_fourpyunstation_change", args=[unmapped.pk])).url == reverse(
        "admin:stations_station_change", args=[unmapped.pk])
    assert admin_client.get(reverse("admin:fourpyun_fourpyunstation_change", args=[unmapped.pk + 1000])
                            ).status_code == 404
    assert admin_client.get(reverse("admin:fourpyun_fourpyunstation_delete", args=[mapped.pk])).status_code == 403


def test_sync_devices_now_writes_a_device_sync_of_each_charger_of_the_selected_stations(
        admin_client, configured, mapped):
    chargers = [ChargerFactory(station=mapped), ChargerFactory(station=mapped)]

    response = admin_client.post(STATIONS, {"action": "sync_devices", "_selected_action": [mapped.pk]}, follow=True)

    assert shown_messages(response) == [("success", "2 device syncs were written for 4pyun; the outbox sends them "
                                                    "now (their deliveries show the answers).")]
    assert set(DeviceSync.objects.values_list("charger_id", flat=True)) == {charger.pk for charger in chargers}
    assert OutboundDelivery.objects.filter(kind=DEVICE_KIND).count() == 2


def test_sync_devices_needs_the_permission_to_change_stations(viewer_client, configured, mapped):
    ChargerFactory(station=mapped)

    response = viewer_client.post(STATIONS, {"action": "sync_devices", "_selected_action": [mapped.pk]}, follow=True)

    assert response.status_code == 200
    assert "sync_devices" not in actions_offered(response)
    assert not DeviceSync.objects.exists()


# --- orders at 4pyun stations ---------------------------------------------------------------------------------


def test_the_orders_list_shows_only_orders_at_mapped_stations_with_their_final_records(admin_client, mapped,
                                                                                       unmapped):
    refused = order_at(mapped)
    final_record(refused, DeliveryStatus.DEAD, error="4pyun record final: 400 请求参数错误: `plate` 车牌号码格式错误",
                 answers=[(400, REFUSED_PLATE)])
    order_at(unmapped)

    response = admin_client.get(ORDERS)

    assert listed(response) == {refused.pk}
    content = response.content.decode()
    assert "Refused or given up" in content and "车牌号码格式错误" in content
    assert reverse("admin:orders_order_change", args=[refused.pk]) in content
    assert page_of(refused) in content


def test_the_final_record_filter_selects_by_the_newest_final_record(admin_client, mapped):
    confirmed = order_at(mapped)
    final_record(confirmed, DeliveryStatus.DEAD, number=1)
    final_record(confirmed, DeliveryStatus.DELIVERED, number=2, answers=[(200, CONFIRMED)])
    waiting = order_at(mapped)
    final_record(waiting, DeliveryStatus.PENDING)
    given_up = order_at(mapped)
    final_record(given_up, DeliveryStatus.DEAD)
    none = order_at(mapped)
    charging = order_at(mapped, status=OrderStatus.CHARGING, ended_at=None)

    def selected(value):
        return listed(admin_client.get(ORDERS, {"final": value}))

    assert selected("confirmed") == {confirmed.pk}
    # Not confirmed: what the daily close misses on 4pyun's side, ended orders only
    assert selected("not_confirmed") == {waiting.pk, given_up.pk, none.pk}
    assert selected("given_up") == {given_up.pk}
    assert selected("none") == {none.pk, charging.pk}


def test_the_reduction_filter_lists_ev_sessions_without_a_plate_4pyun_can_match(admin_client, mapped):
    ordinary = order_at(mapped, plate="粤B12345")
    new_energy = order_at(mapped, plate="川AD12345")
    no_plate = order_at(mapped, plate="")
    malformed = order_at(mapped, plate="粤B1234")
    ebike = order_at(mapped, kind=VehicleKind.EBIKE, plate="")

    assert listed(admin_client.get(ORDERS, {"reduction": "not_possible"})) == {no_plate.pk, malformed.pk}
    assert listed(admin_client.get(ORDERS, {"reduction": "possible"})) == {ordinary.pk, new_energy.pk, ebike.pk}
    # Each row says why, in words
    content = admin_client.get(ORDERS, {"reduction": "not_possible"}).content.decode()
    assert "No licence plate was recorded for the session." in content
    assert "“粤B1234” has 6 characters" in content


def test_orders_are_found_by_exact_number_or_plate_prefix(admin_client, mapped):
    first = order_at(mapped, plate="粤B12345")
    second = order_at(mapped, plate="川A660N2")

    assert listed(admin_client.get(ORDERS, {"q": first.order_no})) == {first.pk}
    assert listed(admin_client.get(ORDERS, {"q": first.order_no[:-1]})) == set()
    assert listed(admin_client.get(ORDERS, {"q": "川A66"})) == {second.pk}


def test_the_orders_list_costs_the_same_queries_for_a_page_of_many_rows(client, superuser, mapped,
                                                                       django_assert_max_num_queries):
    client.force_login(superuser)

    def make(count):
        for _ in range(count):
            order = order_at(mapped, plate="")
            final_record(order, DeliveryStatus.DEAD, error="4pyun record final: 400", answers=[(400, REFUSED_PLATE)])

    make(3)
    client.get(ORDERS)  # warm-up: content types, session, permissions
    with django_assert_max_num_queries(12) as few:
        client.get(ORDERS)
    make(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(ORDERS)
    assert len(listed(response)) == 30


# --- the report by business day -------------------------------------------------------------------------------


def created_on(order, moment):
    Order.objects.filter(pk=order.pk).update(created_at=moment)
    return order


def test_the_report_counts_each_days_ended_orders_and_links_to_them(admin_client, mapped, unmapped):
    now = timezone.now()
    today = now.astimezone(BEIJING).date()
    yesterday = today - dt.timedelta(days=1)
    # Yesterday 23:30 Beijing time is yesterday's, though it is today in UTC for none of it
    late = dt.datetime.combine(yesterday, dt.time(23, 30), tzinfo=BEIJING)
    confirmed = created_on(order_at(mapped, plate="粤B12345"), late)
    final_record(confirmed, DeliveryStatus.DELIVERED)
    refused = created_on(order_at(mapped, plate=""), late)
    final_record(refused, DeliveryStatus.DEAD)
    created_on(order_at(mapped, status=OrderStatus.CHARGING, ended_at=None), late)  # not ended: not counted
    created_on(order_at(unmapped), late)  # not 4pyun's
    waiting_today = order_at(mapped, plate="")

    response = admin_client.get(REPORT)

    assert response.status_code == 200
    days = {row["day"]: row for row in response.context["days"]}
    assert len(days) == 31
    assert {key: days[yesterday][key] for key in ("ended", "confirmed", "not_confirmed", "no_reduction")} == {
        "ended": 2, "confirmed": 1, "not_confirmed": 1, "no_reduction": 1}
    assert (days[today]["ended"], days[today]["not_confirmed"], days[today]["no_reduction"]) == (1, 1, 1)
    assert days[today - dt.timedelta(days=2)]["ended"] == 0
    # Each count links to the list of those very orders
    row = days[yesterday]
    assert listed(admin_client.get(row["ended_url"])) == {confirmed.pk, refused.pk}
    assert listed(admin_client.get(row["confirmed_url"])) == {confirmed.pk}
    assert listed(admin_client.get(row["not_confirmed_url"])) == {refused.pk}
    assert listed(admin_client.get(row["no_reduction_url"])) == {refused.pk}
    assert listed(admin_client.get(days[today]["not_confirmed_url"])) == {waiting_today.pk}
    assert REPORT in admin_client.get(ORDERS).content.decode()


# --- an order's 4pyun page ------------------------------------------------------------------------------------


def test_the_orders_page_shows_each_attempt_with_4pyuns_hint_and_the_reports_it_pushed(admin_client, mapped):
    order = order_at(mapped, plate="")
    final_record(order, DeliveryStatus.DEAD, error="4pyun record final: 400 请求参数错误: `plate` 车牌号码格式错误",
                 answers=[(400, REFUSED_PLATE)])
    broken = final_record(order, DeliveryStatus.PENDING, number=2, error="4pyun record final: HTTP 502",
                          answers=[(502, "<html>Bad Gateway</html>")])
    broken.attempt_rows.update(error="VendorUnavailable: 4pyun record final: HTTP 502")
    StatusReport.objects.create(order=order, kind=ReportKind.ORDER, station_uuid=UUID, state=3, state_desc="充电完成",
                                energy_wh=10_000, total_fee_fen=1050, inbound_id=1, received_at=timezone.now())

    response = admin_client.get(page_of(order))

    assert response.status_code == 200
    content = response.content.decode()
    assert "`plate` 车牌号码格式错误" in content and "请求参数错误" in content and "HTTP 400" in content
    assert "VendorUnavailable: 4pyun record final: HTTP 502" in content
    assert "No licence plate was recorded for the session." in content
    assert "10.000 kWh" in content and "10.50 yuan" in content and "充电完成" in content
    assert [record["key"] for record in response.context["records"]] == [
        f"4pyun:{order.order_no}:final:2", f"4pyun:{order.order_no}:final:1"]


def test_resend_sends_the_final_record_and_the_page_then_says_confirmed(admin_client, platform, mapped):
    order = order_at(mapped)

    response = admin_client.post(reverse("admin:fourpyun_fourpyunorder_resend", args=[order.pk]), follow=True)

    assert shown_messages(response) == [("success", f"4pyun confirmed the final record of order {order.order_no}.")]
    received = platform.final_of(order.order_no)
    assert received is not None and received.body["plate"] == "粤B12345"
    assert "Confirmed by 4pyun" in response.content.decode()
    assert records_of(order.order_no, FINAL).get().status == DeliveryStatus.DELIVERED
    # Sent again, 4pyun holds the newest already
    again = admin_client.post(reverse("admin:fourpyun_fourpyunorder_resend", args=[order.pk]), follow=True)
    assert shown_messages(again) == [
        ("info", f"4pyun confirmed the newest final record of order {order.order_no} already; nothing was sent.")]


def test_a_refused_resend_says_4pyuns_hint(admin_client, platform, mapped):
    order = order_at(mapped)
    platform.refuse(order.order_no, "400", hint="`order` 充电单不予受理")

    response = admin_client.post(reverse("admin:fourpyun_fourpyunorder_resend", args=[order.pk]), follow=True)

    [(level, text)] = shown_messages(response)
    assert level == "error"
    assert text.startswith(f"4pyun refused the final record of order {order.order_no}: ")
    assert "`order` 充电单不予受理" in text


def test_the_resend_action_sends_each_selected_orders_final_record(admin_client, platform, mapped):
    orders = [order_at(mapped), order_at(mapped)]

    response = admin_client.post(ORDERS, {"action": "resend_final", "_selected_action": [o.pk for o in orders]},
                                 follow=True)

    assert shown_messages(response) == [("success", "4pyun confirmed 2 final records.")]
    assert {record.order for record in platform.records} == {o.order_no for o in orders}


def test_add_the_plate_refuses_one_that_is_none_in_its_field(admin_client, platform, mapped):
    order = order_at(mapped, plate="")
    final_record(order, DeliveryStatus.DELIVERED, answers=[(200, CONFIRMED)])

    response = admin_client.post(reverse("admin:fourpyun_fourpyunorder_plate", args=[order.pk]), {"plate": "粤B1234"})

    assert response.status_code == 200
    errors = response.context["plate_form"].errors
    assert list(errors) == ["plate"] and "“粤B1234” has 6 characters" in errors["plate"][0]
    assert records_of(order.order_no, FINAL).count() == 1 and platform.records == []
    order.refresh_from_db()
    assert order.plate == ""


def test_add_the_plate_sends_a_final_record_carrying_it(admin_client, platform, mapped):
    # Given an order 4pyun confirmed without a plate: its record grants no reduction
    order = order_at(mapped, plate="")
    final_record(order, DeliveryStatus.DELIVERED, answers=[(200, CONFIRMED)])
    assert listed(admin_client.get(ORDERS, {"reduction": "not_possible"})) == {order.pk}

    # When the operator adds the plate
    response = admin_client.post(reverse("admin:fourpyun_fourpyunorder_plate", args=[order.pk]),
                                 {"plate": "粤b 12345", "vin": ""}, follow=True)

    # Then the next final record carries it, 4pyun confirmed it, and the order grants a reduction
    assert shown_messages(response) == [
        ("success", f"The plate of order {order.order_no} is 粤B12345 now."),
        ("success", f"4pyun confirmed the final record of order {order.order_no}."),
    ]
    newest = records_of(order.order_no, FINAL).first()
    assert newest.payload["fields"]["plate"] == "粤B12345" and newest.status == DeliveryStatus.DELIVERED
    assert platform.final_of(order.order_no).body["plate"] == "粤B12345"
    assert listed(admin_client.get(ORDERS, {"reduction": "not_possible"})) == set()
    assert listed(admin_client.get(ORDERS, {"reduction": "possible"})) == {order.pk}


def test_a_viewer_sees_the_page_without_buttons_and_cannot_resend_or_add_a_plate(viewer_client, configured, mapped):
    order = order_at(mapped, plate="")

    page = viewer_client.get(page_of(order))
    resend = viewer_client.post(reverse("admin:fourpyun_fourpyunorder_resend", args=[order.pk]))
    plate = viewer_client.post(reverse("admin:fourpyun_fourpyunorder_plate", args=[order.pk]), {"plate": "粤B12345"})
    action = viewer_client.post(ORDERS, {"action": "resend_final", "_selected_action": [order.pk]}, follow=True)

    assert page.status_code == 200
    assert 'id="resend-form"' not in page.content.decode() and page.context["plate_form"] is None
    assert (resend.status_code, plate.status_code) == (403, 403)
    assert "resend_final" not in actions_offered(action)
    assert not records_of(order.order_no).exists()
    order.refresh_from_db()
    assert order.plate == ""


def test_staff_without_4pyun_permissions_are_refused(client, viewer, mapped):
    order = order_at(mapped)
    # staff who may see orders and edit stations, but were given nothing of 4pyun's
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_order", "change_station"]))
    client.force_login(viewer)

    for url in (STATIONS, ORDERS, REPORT, page_of(order), REPORTS):
        assert client.get(url).status_code == 403, url


def test_an_order_at_an_unmapped_station_has_no_4pyun_page_and_opens_its_own(admin_client, unmapped):
    order = order_at(unmapped)

    response = admin_client.get(page_of(order))

    assert response.status_code == 302 and response.url == reverse("admin:orders_order_change", args=[order.pk])
    assert admin_client.post(reverse("admin:fourpyun_fourpyunorder_resend", args=[order.pk])).status_code == 404
    assert admin_client.get(reverse("admin:fourpyun_fourpyunorder_change", args=[order.pk + 1000])).status_code == 404


def test_the_orders_own_page_links_its_4pyun_records_only_at_a_mapped_station(admin_client, client, viewer,
                                                                              mapped, unmapped):
    at_4pyun, elsewhere = order_at(mapped), order_at(unmapped)

    def linked(browser, order):
        content = browser.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
        return page_of(order) in content

    assert linked(admin_client, at_4pyun) and not linked(admin_client, elsewhere)
    # Staff who may see orders but not 4pyun's pages get no link
    viewer.user_permissions.set(Permission.objects.filter(codename="view_order"))
    client.force_login(viewer)
    assert not linked(client, at_4pyun)


# --- 4pyun's reports ------------------------------------------------------------------------------------------


def test_the_reports_list_shows_figures_in_house_units_and_filters_by_kind_and_state(admin_client, mapped):
    order = order_at(mapped)
    received = dt.datetime(2026, 11, 21, 2, 3, 4, tzinfo=dt.UTC)
    final = StatusReport.objects.create(order=order, kind=ReportKind.ORDER, station_uuid=UUID, state=3,
                                        state_desc="充电完成", energy_wh=12_345, total_fee_fen=1050, inbound_id=7,
                                        received_at=received)
    charging = StatusReport.objects.create(order=order, kind=ReportKind.STATUS, station_uuid=UUID, state=2,
                                           state_desc="充电中", energy_wh=500, inbound_id=8, received_at=received)

    response = admin_client.get(REPORTS)

    content = response.content.decode()
    assert listed(response) == {final.pk, charging.pk}
    assert "2026-11-21 10:03:04" in content and "12.345" in content and "10.50" in content
    assert reverse("admin:orders_order_change", args=[order.pk]) in content
    assert listed(admin_client.get(REPORTS, {"kind__exact": ReportKind.ORDER})) == {final.pk}
    assert listed(admin_client.get(REPORTS, {"state": "2"})) == {charging.pk}
    assert listed(admin_client.get(REPORTS, {"q": order.order_no})) == {final.pk, charging.pk}
    page = admin_client.get(reverse("admin:fourpyun_statusreport_change", args=[final.pk]))
    assert page.status_code == 200 and reverse("admin:integrations_inboundmessage_change", args=[7]) in (
        page.content.decode())


def test_a_refusal_kept_as_text_is_shown_as_the_error(admin_client, mapped):
    # An answer cut off at its first characters is no JSON: the attempt's error says what happened
    order = order_at(mapped)
    delivery = final_record(order, DeliveryStatus.PENDING, answers=[(400, json.dumps({"code": "400"})[:-3])])
    delivery.attempt_rows.update(error="4pyun record final: HTTP 400, and the answer is not a JSON object")

    content = admin_client.get(page_of(order)).content.decode()

    assert "the answer is not a JSON object" in content


def test_operators_see_4pyuns_pages_and_may_resend(client, operator, mapped):
    order = order_at(mapped)
    client.force_login(operator)

    for url in (STATIONS, ORDERS, REPORT, page_of(order), REPORTS):
        assert client.get(url).status_code == 200, url
    assert operator.has_perm("fourpyun.resend_record")
