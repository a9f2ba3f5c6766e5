"""Operators start, reserve, stop, cancel and ask about sessions from the admin.

The vendor is the Tomda simulator over real HTTP (pushes off: the simulator never calls us back), so
an order moves only by what the admin asked and the vendor answered.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from chargers.models import Vendor
from chargers.vendor import ChargeStrategy
from orders.forms import SessionStartForm
from orders.models import Order, OrderStatus
from orders.services import order_reserve, order_start
from tariffs.models import VehicleKind
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.helpers import assert_changelist_queries_constant
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")


@pytest.fixture
def ev_connector(db):
    version = TariffVersionFactory()
    charger = ChargerFactory(
        station=StationFactory(tariff_template=version.template), vendor=Vendor.TOMDA, serial="1012300001"
    )
    return ConnectorFactory(charger=charger, number=1)


@pytest.fixture
def ebike_connector(db):
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)
    charger = ChargerFactory(
        station=station, vendor=Vendor.TOMDA, serial="1012300002", kind=VehicleKind.EBIKE,
        device_type_code="TOMDA_EB10_T1",
    )
    ConnectorFactory(charger=charger, number=1)
    return ConnectorFactory(charger=charger, number=2)


def start_url(connector):
    return reverse("admin:orders_order_start", args=[connector.pk])


def order_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def session_url(order, name):
    return reverse("admin:orders_order_session", args=[order.pk, name])


def shown_messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def vendor_paths(sim):
    return [path for _method, path, _params in sim.calls if path != "/api/sys/token/get"]


def start_post(strategy=ChargeStrategy.FULL, parameter="", authorized_amount="", driver_id=""):
    return {
        "start-strategy": strategy,
        "start-parameter": parameter,
        "start-authorized_amount": authorized_amount,
        "start-driver_id": driver_id,
        "start": "Start",
    }


def act(client, action, *orders):
    return client.post(ORDERS, {"action": action, ACTION_CHECKBOX_NAME: [order.pk for order in orders]})


# --- the form: the operator's units in, the services' units out ------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "typed", "param"),
    [
        (ChargeStrategy.TIME, "90", 90),
        (ChargeStrategy.AMOUNT, "12.34", 1234),
        (ChargeStrategy.AMOUNT, "20", 2000),
        (ChargeStrategy.ENERGY, "2.5", 2500),
        (ChargeStrategy.ENERGY, "0.001", 1),
        (ChargeStrategy.FULL, "", 0),
        (ChargeStrategy.FULL, "7", 0),
    ],
)
def test_the_parameter_is_typed_in_its_strategys_unit_and_converted_exactly(strategy, typed, param):
    form = SessionStartForm({"strategy": strategy, "parameter": typed, "authorized_amount": "50.05"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["strategy_param"] == param
    assert form.cleaned_data["authorized_amount_fen"] == 5005


@pytest.mark.parametrize(
    ("strategy", "typed"),
    [
        (ChargeStrategy.TIME, "1.5"),
        (ChargeStrategy.TIME, ""),
        (ChargeStrategy.AMOUNT, "0.001"),
        (ChargeStrategy.AMOUNT, "0"),
        (ChargeStrategy.ENERGY, "1.0005"),
        (ChargeStrategy.ENERGY, "-1"),
        (ChargeStrategy.ENERGY, "abc"),
    ],
)
def test_a_parameter_the_strategy_cannot_take_is_a_form_error(strategy, typed):
    form = SessionStartForm({"strategy": strategy, "parameter": typed})

    assert not form.is_valid()
    assert form.errors["parameter"]


def test_no_authorised_amount_means_no_limit():
    form = SessionStartForm({"strategy": ChargeStrategy.FULL})

    assert form.is_valid()
    assert form.cleaned_data["authorized_amount_fen"] is None


@pytest.mark.parametrize("typed", ["0", "0.00", "-1"])
def test_an_authorised_amount_of_nothing_is_a_form_error_not_no_limit(typed):
    form = SessionStartForm({"strategy": ChargeStrategy.FULL, "authorized_amount": typed})

    assert not form.is_valid()
    assert form.errors["authorized_amount"]


def test_the_form_offers_only_the_strategies_it_is_given_and_refuses_the_rest():
    form = SessionStartForm({"strategy": ChargeStrategy.AMOUNT, "parameter": "5"},
                            strategies=(ChargeStrategy.TIME, ChargeStrategy.FULL))

    assert [value for value, _label in form.fields["strategy"].choices] == [ChargeStrategy.FULL, ChargeStrategy.TIME]
    assert not form.is_valid()
    assert form.errors["strategy"]


# --- start and reserve on a connector -------------------------------------------------------------------


def test_the_connector_page_links_to_its_session_page_for_operators(operator_client, ev_connector):
    response = operator_client.get(reverse("admin:chargers_connector_change", args=[ev_connector.pk]))

    assert f'href="{start_url(ev_connector)}"' in response.content.decode()


def test_starting_creates_an_order_and_the_vendor_has_the_session(operator_client, tomda, ebike_connector):
    # When the operator starts a 90-minute session with 5.50 yuan authorised on the second e-bike connector
    response = operator_client.post(
        start_url(ebike_connector),
        start_post(ChargeStrategy.TIME, "90", "5.50", driver_id="D-42"),
    )

    # Then the order exists, starting, in the services' units
    order = Order.objects.get()
    assert (order.connector, order.status, order.strategy) == (ebike_connector, OrderStatus.STARTING, "time")
    assert (order.strategy_param, order.authorized_amount_fen, order.driver_id) == (90, 550, "D-42")
    # and the vendor charges under our order number, for 90 minutes, with the balance in fen
    session = tomda.sessions[order.order_no]
    assert (session.status, session.connector_id, session.limit_seconds, session.user_balance) == (
        "CHARGE", 2, 5400, 550
    )
    # and the operator is told, with a link to the order
    assert response.status_code == 302
    (message,) = shown_messages(response)
    assert f'<a href="{order_url(order)}">{order.order_no}</a>' in message


def test_the_vendors_refusal_shows_its_message_and_code_and_the_order_failed_to_start(
    operator_client, tomda, ev_connector
):
    tomda.fail_next("/api/sys/charger/start", "1423")

    response = operator_client.post(start_url(ev_connector), start_post(), follow=True)

    order = Order.objects.get()
    assert (order.status, order.vendor_close_code) == (OrderStatus.START_FAILED, "1423")
    assert shown_messages(response) == ["The vendor refused: [1423] 汤姆达云：充电桩离线（错误码 1423）"]
    assert order.order_no not in tomda.sessions
    # The page lists the failed order, so the operator can open it
    assert [o.pk for o in response.context["recent_orders"]] == [order.pk]


def test_a_value_the_form_refuses_sends_nothing(operator_client, tomda, ev_connector):
    response = operator_client.post(start_url(ev_connector), start_post(authorized_amount="12.345"))

    assert response.status_code == 200
    assert response.context["start_form"].errors["authorized_amount"] == ["Use at most 2 decimal places."]
    assert not Order.objects.exists()
    assert tomda.calls == []


def test_an_offline_charger_is_refused_before_the_vendor_is_asked(operator_client, tomda, ev_connector):
    ev_connector.charger.online = False
    ev_connector.charger.save()

    response = operator_client.post(start_url(ev_connector), start_post())

    assert shown_messages(response) == [f"Charger {ev_connector.charger} is offline."]
    assert not Order.objects.exists()
    assert tomda.calls == []


def test_a_charger_awaiting_a_station_takes_no_session_and_the_page_says_to_assign_it(
    operator_client, tomda, ev_connector
):
    ev_connector.charger.station = None
    ev_connector.charger.save()

    page = operator_client.get(start_url(ev_connector))
    response = operator_client.post(start_url(ev_connector), start_post())

    assert "awaiting a station" in page.content.decode()
    (message,) = shown_messages(response)
    assert "awaits a station" in message and "Import chargers from the vendor" in message
    assert not Order.objects.exists()
    assert tomda.calls == []


def test_the_start_form_offers_what_tomda_takes_for_the_kind_of_charger(operator_client, tomda, ev_connector,
                                                                         ebike_connector):
    def offered(connector):
        form = operator_client.get(start_url(connector)).context["start_form"]
        return [value for value, _label in form.fields["strategy"].choices]

    assert offered(ev_connector) == [ChargeStrategy.FULL]
    assert offered(ebike_connector) == [ChargeStrategy.FULL, ChargeStrategy.TIME]


@pytest.mark.parametrize("amount", [0, -1])
def test_the_service_refuses_an_authorised_amount_of_nothing_before_the_vendor_is_asked(tomda, ev_connector, amount):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="more than zero"):
        order_start(connector=ev_connector, authorized_amount_fen=amount)

    assert not Order.objects.exists()
    assert tomda.calls == []


def test_reserving_books_the_connector_at_the_vendor(operator_client, tomda, ev_connector):
    response = operator_client.post(start_url(ev_connector), {"reserve-driver_id": "D-7", "reserve": "Reserve"})

    order = Order.objects.get()
    assert (order.status, order.driver_id) == (OrderStatus.BOOKED, "D-7")
    assert tomda.sessions[order.order_no].status == "BOOKED"
    (message,) = shown_messages(response)
    assert order.order_no in message


def test_finance_may_neither_open_nor_post_the_session_page(client, finance, tomda, ev_connector):
    client.force_login(finance)

    assert client.get(start_url(ev_connector)).status_code == 403
    assert client.post(start_url(ev_connector), start_post()).status_code == 403
    assert not Order.objects.exists()
    assert tomda.calls == []


# --- stop, cancel, refresh: changelist actions --------------------------------------------------------------


def test_stopping_asks_the_vendor_and_the_order_is_stopping(operator_client, tomda, ev_connector):
    order = order_start(connector=ev_connector)

    response = act(operator_client, "stop_charging", order)

    order.refresh_from_db()
    assert order.status == OrderStatus.STOPPING
    assert tomda.sessions[order.order_no].status == "CLOSED"
    assert shown_messages(response) == ["The vendor was asked to stop 1 session."]


def test_asking_for_progress_brings_the_vendors_figures(operator_client, tomda, ev_connector):
    # Given a session the charger has run for ten minutes, of which we have heard nothing
    order = order_start(connector=ev_connector)
    tomda.advance(600)

    response = act(operator_client, "refresh_from_vendor", order)

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING
    assert order.energy_wh == tomda.sessions[order.order_no].energy_wh == 7000 * 600 // 3600
    assert order.charge_seconds == 600
    assert shown_messages(response) == ["1 order brought up to date from its vendor."]


def test_asking_about_a_session_the_vendor_ended_finishes_it_and_leaves_settling_to_the_vendor(
    operator_client, tomda, ev_connector
):
    order = order_start(connector=ev_connector)
    tomda.advance(600)
    act(operator_client, "stop_charging", order)

    act(operator_client, "refresh_from_vendor", order)

    order.refresh_from_db()
    assert (order.status, order.energy_wh) == (OrderStatus.FINISHED, 1166)
    assert not order.settlements.exists()


def test_cancelling_a_reservation_releases_the_connector_at_the_vendor(operator_client, tomda, ev_connector):
    order = order_reserve(connector=ev_connector)

    response = act(operator_client, "cancel_reservation", order)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert tomda.sessions[order.order_no].status == "CLOSED"
    assert shown_messages(response) == ["1 reservation cancelled."]


def test_a_command_that_does_not_fit_the_orders_status_names_the_order_and_calls_no_one(
    operator_client, tomda, ev_connector
):
    booked = order_reserve(connector=ev_connector)
    calls = len(tomda.calls)

    response = act(operator_client, "stop_charging", booked)

    booked.refresh_from_db()
    assert booked.status == OrderStatus.BOOKED
    (message,) = shown_messages(response)
    assert booked.order_no in message and "Booked" in message
    assert len(tomda.calls) == calls


def test_a_vendor_that_does_not_answer_a_question_changes_nothing(operator_client, settings, ev_connector):
    # Given a charging order, and a vendor address nothing listens on
    order = OrderFactory(connector=ev_connector, status=OrderStatus.CHARGING, ended_at=None, energy_wh=500)
    settings.TOMDA_BASE_URL, settings.TOMDA_API_ID, settings.TOMDA_API_KEY = "http://127.0.0.1:9/Manage", "i", "k"

    response = act(operator_client, "refresh_from_vendor", order)

    order.refresh_from_db()
    assert (order.status, order.energy_wh) == (OrderStatus.CHARGING, 500)
    (message,) = shown_messages(response)
    assert "did not answer" in message and order.order_no in message


def test_the_vendors_refusal_names_the_order_and_keeps_its_code(operator_client, tomda, ev_connector):
    order = order_start(connector=ev_connector)
    tomda.fail_next("/api/sys/charger/stop", "1505")

    response = act(operator_client, "stop_charging", order)

    (message,) = shown_messages(response)
    assert order.order_no in message
    assert "[1505] 汤姆达云：服务器控制充电桩失败（错误码 1505）" in message
    assert tomda.sessions[order.order_no].status == "CHARGE"


def test_more_orders_than_the_limit_are_refused_without_calling_the_vendor(operator_client, tomda):
    orders = OrderFactory.create_batch(51, status=OrderStatus.CHARGING, ended_at=None)

    response = act(operator_client, "refresh_from_vendor", *orders)

    assert shown_messages(response) == ["Select at most 50 rows at a time: each one is a call to the vendor."]
    assert tomda.calls == []


def test_finance_is_offered_only_the_exports_and_posting_a_session_action_does_nothing(
        client, finance, tomda, ev_connector):
    order = order_start(connector=ev_connector)
    client.force_login(finance)
    calls = len(tomda.calls)

    listing = client.get(ORDERS)
    act(client, "stop_charging", order)

    offered = [name for name, _label in listing.context["action_form"].fields["action"].choices if name]
    assert offered == ["orders_export_csv", "orders_export_xlsx"]
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING
    assert len(tomda.calls) == calls


def test_operators_see_the_three_actions(operator_client):
    listing = operator_client.get(ORDERS)

    choices = {name for name, _label in listing.context["action_form"].fields["action"].choices}
    assert {"stop_charging", "cancel_reservation", "refresh_from_vendor"} <= choices


def test_the_order_list_with_actions_still_runs_the_same_queries_for_more_rows(operator_client):
    assert_changelist_queries_constant(operator_client, ORDERS, OrderFactory.create_batch)


# --- the same commands as buttons on the order page -------------------------------------------------------


def test_the_order_page_offers_the_commands_that_fit_its_status(operator_client, tomda, ev_connector):
    charging = order_start(connector=ev_connector)
    finished = OrderFactory()

    charging_page = operator_client.get(order_url(charging)).content.decode()
    finished_page = operator_client.get(order_url(finished)).content.decode()

    assert f'action="{session_url(charging, "stop")}"' in charging_page
    assert f'action="{session_url(charging, "refresh")}"' in charging_page
    assert f'action="{session_url(charging, "cancel_reservation")}"' not in charging_page
    assert f'action="{session_url(finished, "refresh")}"' in finished_page
    assert f'action="{session_url(finished, "stop")}"' not in finished_page


def test_the_stop_button_stops_the_session_and_returns_to_the_order(operator_client, tomda, ev_connector):
    order = order_start(connector=ev_connector)

    response = operator_client.post(session_url(order, "stop"))

    assert response.status_code == 302
    assert response.url == order_url(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.STOPPING
    (message,) = shown_messages(response)
    assert order.order_no in message and "Stopping" in message


def test_the_commands_are_posts_only(operator_client, ev_connector):
    order = OrderFactory(connector=ev_connector, status=OrderStatus.CHARGING, ended_at=None)

    assert operator_client.get(session_url(order, "stop")).status_code == 405


def test_finance_gets_no_buttons_and_may_not_post_them(client, finance, tomda, ev_connector):
    order = order_start(connector=ev_connector)
    client.force_login(finance)
    calls = len(tomda.calls)

    page = client.get(order_url(order)).content.decode()
    response = client.post(session_url(order, "stop"))

    assert session_url(order, "stop") not in page
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTING
    assert len(tomda.calls) == calls
