"""An operator's request over the selected rows: a selection too large is refused, each refusal is told with a
link to its row, and what worked is counted in one message.

First through real admin actions (a station sent to its vendor, a charger synced from it) against a fake vendor
cloud, then through the toolkit itself with an admin that only collects what it is told.
"""

from types import SimpleNamespace

import pytest
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import ngettext_lazy

from backoffice.adminkit import (
    Operation,
    admin_link,
    html_message,
    operation_run,
    operation_run_selected,
    selection_in_background,
    too_many_selected,
)
from backoffice.adminkit import actions as actions_module
from backoffice.errors import DomainError, no_answer_message
from chargers.models import ConnectorStatus
from chargers.vendor import ChargerInfo, VendorAdapter, VendorError, VendorUnavailable, registry
from stations.models import Station
from tests.chargers.factories import ChargerFactory
from tests.stations.factories import StationFactory

STATIONS = reverse("admin:stations_station_changelist")
CHARGERS = reverse("admin:chargers_charger_changelist")
VENDOR = "acme"


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def shown_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def english():
    # The messages are compared in the source language; the zh-hans catalogue translates them.
    with translation.override("en"):
        yield


# --- through the admin ---------------------------------------------------------------------------------


class FakeCloud(VendorAdapter):
    """A vendor cloud that takes every station and describes every charger, except where `refusals` says."""

    code = VENDOR

    def __init__(self):
        self.refusals = {}  # station code or charger serial -> the error the vendor answers with
        self.stations = []
        self.described = []

    def station_push(self, *, station):
        if station.code in self.refusals:
            raise self.refusals[station.code]
        self.stations.append(station.code)

    def charger_detail(self, *, serial):
        if serial in self.refusals:
            raise self.refusals[serial]
        self.described.append(serial)
        return ChargerInfo(serial=serial, online=True, vendor_status="IDLE", status=ConnectorStatus.FREE,
                           firmware_version="V9.9.9")


@pytest.fixture
def cloud():
    adapter = FakeCloud()
    registry.register(VENDOR, lambda: adapter)
    yield adapter
    registry.unregister(VENDOR)


def station_with_charger(code, name):
    station = StationFactory(code=code, name=name, tariff_template=None)
    ChargerFactory(station=station, vendor=VENDOR)
    return station


@pytest.mark.django_db
def test_sending_stations_tells_each_refusal_linked_to_its_station_then_the_count(operator_client, cloud):
    # Given three stations of the fake vendor: one it takes, one it refuses in HTML, one it does not answer for
    taken = station_with_charger("ST-A", "南山站")
    refused = station_with_charger("ST-B", "北门 & 东门")
    unanswered = station_with_charger("ST-C", "西门站")
    cloud.refusals["ST-B"] = VendorError("<b>拒绝</b> 站点", vendor=VENDOR, code="E<1>")
    cloud.refusals["ST-C"] = VendorUnavailable("Read timed out.", vendor=VENDOR, code="timeout")

    # When an operator sends all three
    response = operator_client.post(
        STATIONS,
        {"action": "send_to_vendor", ACTION_CHECKBOX_NAME: [unanswered.pk, taken.pk, refused.pk]},
        follow=True,
    )

    # Then the vendor got the one it took; each refusal names its station with a link, the vendor's words
    # escaped, and the unanswered one says sending again is safe; the count comes last
    assert cloud.stations == ["ST-A"]
    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [
        ("error", f'<a href="{change_url(refused)}">北门 &amp; 东门 (ST-B)</a>: '
                  "[E&lt;1&gt;] &lt;b&gt;拒绝&lt;/b&gt; 站点"),
        ("error", f'<a href="{change_url(unanswered)}">西门站 (ST-C)</a>: The vendor did not answer, so whether it '
                  "received this is unknown ([timeout] Read timed out.). Sending it again is safe."),
        ("success", "1 station sent to the vendors of its chargers."),
    ]
    # and the page shows the links as links and the vendor's markup as text
    content = response.content.decode()
    assert f'<a href="{change_url(refused)}">北门 &amp; 东门 (ST-B)</a>' in content
    assert "&lt;b&gt;拒绝&lt;/b&gt;" in content
    assert "<b>拒绝</b>" not in content


@pytest.mark.django_db
def test_a_sync_without_an_answer_says_nothing_changed_rather_than_to_send_again(operator_client, cloud):
    # Given two chargers of the fake vendor, one of which it does not answer for
    synced = ChargerFactory(vendor=VENDOR, serial="ACME-1", firmware_version="V0.1")
    silent = ChargerFactory(vendor=VENDOR, serial="ACME-2", name="北门 2 号桩", firmware_version="V0.1")
    cloud.refusals["ACME-2"] = VendorUnavailable("Read timed out.", vendor=VENDOR)

    # When an operator syncs both
    response = operator_client.post(
        CHARGERS, {"action": "sync_from_vendor", ACTION_CHECKBOX_NAME: [synced.pk, silent.pk]}
    )

    # Then the answered one is updated, and the silent one is told in the words of a question
    synced.refresh_from_db()
    silent.refresh_from_db()
    assert (synced.firmware_version, silent.firmware_version) == ("V9.9.9", "V0.1")
    assert shown_messages(response) == [
        f'<a href="{change_url(silent)}">北门 2 号桩</a>: '
        "The vendor did not answer (Read timed out.). Try again later.",
        "1 charger synced from its vendor.",
    ]


@pytest.mark.django_db
def test_selecting_more_stations_than_a_click_may_ask_the_vendor_for_is_refused_and_none_is_sent(
    operator_client, cloud
):
    # Given 51 stations, each with a charger of the fake vendor
    stations = [station_with_charger(f"ST-{n:03d}", f"站 {n}") for n in range(51)]

    # When an operator sends them all
    response = operator_client.post(
        STATIONS, {"action": "send_to_vendor", ACTION_CHECKBOX_NAME: [station.pk for station in stations]}
    )

    # Then one message refuses the selection and the vendor was never asked
    assert shown_messages(response) == ["Select at most 50 rows at a time: each one is a call to the vendor."]
    assert cloud.stations == []


# --- the toolkit itself ----------------------------------------------------------------------------------


class CollectingAdmin:
    """An admin that keeps what it is told, as (level, message)."""

    list_per_page = 2

    def __init__(self):
        self.told = []

    def message_user(self, request, message, level=messages.INFO):
        self.told.append((level, message))


REQUEST = SimpleNamespace(user=SimpleNamespace(pk=7))
DONE = ngettext_lazy("%(count)d station sent.", "%(count)d stations sent.", "count")


@pytest.fixture
def model_admin():
    return CollectingAdmin()


def stations(*codes):
    """Stations as rows of a selection; they need no database to be linked to."""
    return [Station(pk=n, code=code, name=f"站 {code}") for n, code in enumerate(codes, start=1)]


class Service:
    """A service that records the rows it is called for and refuses those in `refusals`."""

    def __init__(self, **refusals):
        self.refusals = refusals
        self.called = []

    def __call__(self, station):
        self.called.append(station.code)
        if station.code in self.refusals:
            raise self.refusals[station.code]
        return f"sent {station.code}"


def test_more_rows_than_the_limit_are_refused_in_one_message_and_none_is_run(model_admin):
    service = Service()

    done = operation_run_selected(model_admin, REQUEST, stations("A", "B", "C"), Operation(service, DONE), limit=2)

    assert done == 0
    assert service.called == []
    assert model_admin.told == [(messages.ERROR, "Select at most 2 rows at a time: each one is a call to the vendor.")]


def test_as_many_rows_as_the_limit_are_all_run(model_admin):
    service = Service()

    done = operation_run_selected(model_admin, REQUEST, stations("A", "B"), Operation(service, DONE), limit=2)

    assert (done, service.called) == (2, ["A", "B"])
    assert model_admin.told == [(messages.SUCCESS, "2 stations sent.")]


def test_too_many_selected_says_nothing_within_the_limit(model_admin):
    assert too_many_selected(model_admin, REQUEST, [1, 2], limit=2) is False
    assert model_admin.told == []
    assert too_many_selected(model_admin, REQUEST, [1, 2, 3], limit=2) is True
    assert len(model_admin.told) == 1


def test_a_row_the_request_does_not_apply_to_is_told_why_and_its_service_is_not_called(model_admin):
    # Given an operation that does not apply to a closed station
    service = Service()
    operation = Operation(
        service, DONE, not_applicable=lambda station: "it is closed." if station.code == "B" else None
    )
    first, closed = stations("A", "B")

    # When it runs over both
    done = operation_run_selected(model_admin, REQUEST, [first, closed], operation)

    # Then only the open one was sent; the closed one is named with why, and the count is of the one done
    assert (done, service.called) == (1, ["A"])
    assert model_admin.told == [
        (messages.ERROR, f'<a href="{change_url(closed)}">站 B (B)</a>: it is closed.'),
        (messages.SUCCESS, "1 station sent."),
    ]


def test_a_refusal_links_its_row_and_escapes_the_vendors_message(model_admin):
    # Given a vendor that refuses with markup in its message
    service = Service(A=VendorError('<img src=x onerror="alert(1)">', code="E1"))
    (row,) = stations("A")

    # When the operation runs
    done = operation_run_selected(model_admin, REQUEST, [row], Operation(service, DONE))

    # Then the one message links the row and shows the markup as text; no count is told, none was done
    assert done == 0
    ((level, message),) = model_admin.told
    assert level == messages.ERROR
    assert message == f'<a href="{change_url(row)}">站 A (A)</a>: [E1] &lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    assert isinstance(message, SafeData)


def test_the_rows_label_names_its_link_escaped(model_admin):
    service = Service(A=DomainError("Busy."))
    operation = Operation(service, DONE, label=lambda station: f"<i>{station.code}</i>")
    (row,) = stations("A")

    operation_run_selected(model_admin, REQUEST, [row], operation)

    assert model_admin.told == [(messages.ERROR, f'<a href="{change_url(row)}">&lt;i&gt;A&lt;/i&gt;</a>: Busy.')]


def test_a_rules_refusal_is_told_in_the_rules_words(model_admin):
    service = Service(A=ValidationError(["No chargers.", "No tariff."]))
    (row,) = stations("A")

    operation_run_selected(model_admin, REQUEST, [row], Operation(service, DONE))

    assert model_admin.told == [(messages.ERROR, f'<a href="{change_url(row)}">站 A (A)</a>: No chargers. No tariff.')]


def test_a_request_without_an_answer_is_told_in_the_operations_own_words(model_admin):
    # Given an operation whose unanswered requests are questions (nothing changed)
    service = Service(A=VendorUnavailable("Read timed out."))
    (row,) = stations("A")

    operation_run_selected(model_admin, REQUEST, [row], Operation(service, DONE, unknown=no_answer_message))

    # Then its words are used, not the default "sending again is safe"
    assert model_admin.told == [
        (messages.ERROR, f'<a href="{change_url(row)}">站 A (A)</a>: The vendor did not answer (Read timed out.). '
                         "Try again later.")
    ]


def test_an_error_that_is_no_refusal_is_not_swallowed(model_admin):
    service = Service(A=RuntimeError("bug"))

    with pytest.raises(RuntimeError, match="bug"):
        operation_run_selected(model_admin, REQUEST, stations("A"), Operation(service, DONE))


def test_the_count_is_of_the_rows_done_and_told_once(model_admin):
    service = Service(B=DomainError("Busy."))

    done = operation_run_selected(model_admin, REQUEST, stations("A", "B", "C"), Operation(service, DONE))

    assert done == 2
    assert service.called == ["A", "B", "C"]
    assert [message for level, message in model_admin.told if level == messages.SUCCESS] == ["2 stations sent."]


def test_operation_run_gives_whether_it_was_done_and_the_services_result(model_admin):
    service = Service(B=DomainError("Busy."))
    operation = Operation(service, DONE)
    first, second = stations("A", "B")

    assert operation_run(model_admin, REQUEST, first, operation) == (True, "sent A")
    assert operation_run(model_admin, REQUEST, second, operation) == (False, None)
    assert len(model_admin.told) == 1


# --- a selection too large for a page goes to a task -------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(actions_module, "async_chain", lambda chain: calls.append(list(chain)))
    return calls


QUEUED = ngettext_lazy("%(count)d station will be sent later.", "%(count)d stations will be sent later.", "count")


@pytest.mark.django_db
def test_a_selection_within_a_page_is_left_to_the_action(model_admin, queued):
    StationFactory.create_batch(2, tariff_template=None)

    handled = selection_in_background(model_admin, REQUEST, Station.objects.all(), task="x.task", queued=QUEUED)

    assert handled is False
    assert queued == []
    assert model_admin.told == []


@pytest.mark.django_db
def test_a_selection_of_more_than_a_page_is_queued_in_its_order_for_the_user(model_admin, queued):
    # Given three stations, one more than a page
    rows = [StationFactory(code=code, tariff_template=None) for code in ("ST-B", "ST-C", "ST-A")]

    # When they are handed over in code order
    handled = selection_in_background(
        model_admin, REQUEST, Station.objects.order_by("code"), task="x.task", queued=QUEUED
    )

    # Then one chain of one task gets their ids in that order and the user's id, and the operator is told
    assert handled is True
    assert queued == [[("x.task", ([rows[2].pk, rows[0].pk, rows[1].pk], 7))]]
    assert model_admin.told == [(messages.SUCCESS, "3 stations will be sent later.")]


@pytest.mark.django_db
def test_a_large_selection_is_split_into_tasks_that_run_one_after_another_in_its_order(
    model_admin, queued, monkeypatch
):
    # Given five stations and tasks of two rows each
    monkeypatch.setattr(actions_module, "BACKGROUND_CHUNK", 2)
    rows = [StationFactory(code=f"ST-{n}", tariff_template=None) for n in range(5)]

    # When they are handed over
    selection_in_background(model_admin, REQUEST, Station.objects.order_by("code"), task="x.task", queued=QUEUED)

    # Then one chain holds three tasks, each with its slice of the ids in order
    ids = [row.pk for row in rows]
    assert queued == [[("x.task", (ids[0:2], 7)), ("x.task", (ids[2:4], 7)), ("x.task", (ids[4:5], 7))]]


@pytest.mark.django_db
def test_a_selection_over_the_background_limit_is_refused_and_not_queued(model_admin, queued):
    StationFactory.create_batch(4, tariff_template=None)

    handled = selection_in_background(
        model_admin, REQUEST, Station.objects.all(), task="x.task", queued=QUEUED, limit=3
    )

    assert handled is True
    assert queued == []
    assert model_admin.told == [(messages.ERROR, "Select at most 3 rows at a time; a filter narrows the list.")]


# --- messages with links -----------------------------------------------------------------------------------


def test_a_message_escapes_its_text_and_plain_values_but_keeps_links():
    link = format_html('<a href="{}">{}</a>', "/admin/x/1/", "<b>")

    message = html_message("%(object)s <em>failed</em>: %(error)s (%(count)s)", object=link, error="<script>", count=3)

    assert message == '<a href="/admin/x/1/">&lt;b&gt;</a> &lt;em&gt;failed&lt;/em&gt;: &lt;script&gt; (3)'
    assert isinstance(message, SafeData)


def test_a_value_marked_safe_by_its_maker_is_kept_as_it_is():
    assert html_message("%(value)s", value=mark_safe("<br>")) == "<br>"  # noqa: S308 - a literal


def test_a_link_goes_to_the_rows_change_page_named_by_the_row_or_the_text_given():
    (row,) = stations("A")

    assert admin_link(row) == f'<a href="{change_url(row)}">站 A (A)</a>'
    assert admin_link(row, "A & B") == f'<a href="{change_url(row)}">A &amp; B</a>'
