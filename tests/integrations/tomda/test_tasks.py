"""The periodic Tomda tasks against the simulator: quiet sessions are asked about with Tomda's thresholds and
Tomda's answers applied, lost settlements recovered, the token kept fresh."""

import datetime as dt

import pytest
from django.utils import timezone

from chargers.models import Vendor
from integrations.models import VendorToken
from integrations.tomda import tasks
from integrations.tomda.simulator import SimCharger
from orders.models import CloseReason, Order, OrderStatus
from orders.services import order_start
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.helpers import tomda_cloud
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

SERIAL = "1012300001"


@pytest.fixture
def sim(settings):
    # No push URL: the vendor's news never reaches us on its own, as when pushes are lost.
    with tomda_cloud(settings, [SimCharger(serial=SERIAL, kind="ev")]) as simulator:
        settings.TOMDA_POLL_AFTER_MINUTES = 5
        settings.TOMDA_STUCK_AFTER_MINUTES = 60
        yield simulator


@pytest.fixture
def connector():
    version = TariffVersionFactory()
    charger = ChargerFactory(
        station=StationFactory(tariff_template=version.template), vendor=Vendor.TOMDA, serial=SERIAL
    )
    return ConnectorFactory(charger=charger, number=1)


def quiet_for(order, minutes):
    Order.objects.filter(pk=order.pk).update(last_data_at=timezone.now() - dt.timedelta(minutes=minutes))


def test_a_quiet_charging_session_is_asked_about_and_brought_up_to_date(sim, connector):
    order = order_start(connector=connector)
    sim.advance(1200)
    quiet_for(order, 6)

    assert tasks.sessions_poll() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING
    assert order.energy_wh == sim.sessions[order.order_no].energy_wh > 0
    assert order.last_data_at > timezone.now() - dt.timedelta(minutes=1)


def test_a_session_with_recent_news_is_left_alone(sim, connector):
    order = order_start(connector=connector)
    quiet_for(order, 2)
    calls = len(sim.calls)

    assert tasks.sessions_poll() == 0

    assert len(sim.calls) == calls


def test_a_stopping_session_whose_settlement_never_came_is_settled_from_the_vendors_answer(sim, connector):
    order = order_start(connector=connector)
    sim.advance(3600)
    sim.finish(order.order_no)  # the pile stopped; its ORDER_DATA was lost
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.STOPPING)
    quiet_for(order, 61)

    assert tasks.sessions_stuck_check() == 1

    order.refresh_from_db()
    vendor = sim.sessions[order.order_no]
    assert order.status == OrderStatus.SETTLED
    assert (order.energy_wh, order.close_reason, order.settled_from) == (
        vendor.energy_wh,
        CloseReason.OTHER,
        "progress",
    )
    assert order.total_fee_fen > 0


def test_the_stuck_check_waits_for_tomdas_stuck_threshold_not_the_polls(sim, connector):
    order = order_start(connector=connector)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.STOPPING)
    quiet_for(order, 30)
    calls = len(sim.calls)

    assert tasks.sessions_stuck_check() == 0

    assert len(sim.calls) == calls


def test_a_quiet_session_the_vendor_ended_is_finished_by_the_poll_and_left_for_its_settlement(sim, connector):
    order = order_start(connector=connector)
    sim.advance(3600)
    sim.finish(order.order_no)  # the pile stopped; neither its last reading nor its ORDER_DATA came yet
    quiet_for(order, 6)

    assert tasks.sessions_poll() == 1

    order.refresh_from_db()
    assert (order.status, order.energy_wh) == (OrderStatus.FINISHED, sim.sessions[order.order_no].energy_wh)
    assert not order.settlements.exists()


def test_a_start_tomda_never_heard_of_is_a_failed_start(sim, connector):
    from tests.orders.factories import OrderFactory

    order = OrderFactory(
        connector=connector, status=OrderStatus.STARTING, ended_at=None, partner=None, partner_order_no=""
    )
    quiet_for(order, 6)

    tasks.sessions_poll()

    order.refresh_from_db()
    assert (order.status, order.vendor_close_code) == (OrderStatus.START_FAILED, "2013")


def test_a_booking_tomda_never_heard_of_is_cancelled_not_asked_about_forever(sim, connector):
    from tests.orders.factories import OrderFactory

    # The reservation's answer never came, and Tomda has no such booking
    order = OrderFactory(
        connector=connector,
        status=OrderStatus.BOOKED,
        started_at=None,
        ended_at=None,
        partner=None,
        partner_order_no="",
    )
    quiet_for(order, 6)

    tasks.sessions_poll()

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert tasks.sessions_poll() == 0


def test_a_booking_tomda_closed_is_cancelled_even_when_tomda_gives_it_a_start_time(sim, connector):
    from orders.services import order_reserve

    order = order_reserve(connector=connector)
    sim.advance(900)
    sim.expire_booking(order.order_no)
    quiet_for(order, 6)

    tasks.sessions_poll()

    order.refresh_from_db()
    assert (order.status, order.energy_wh, order.started_at) == (OrderStatus.CANCELLED, 0, None)
    [params] = [params for _method, path, params in sim.calls if path == "/api/sys/charger/sync"]
    assert sim.handle_api("POST", "/api/sys/charger/sync", params)["data"]["chargeStartTime"]


def test_the_token_is_renewed_ahead_of_its_expiry(sim):
    assert tasks.token_refresh() is True
    first = VendorToken.objects.get(vendor=Vendor.TOMDA)

    assert tasks.token_refresh() is True

    second = VendorToken.objects.get(vendor=Vendor.TOMDA)
    assert second.token != first.token
    assert second.expires_at > timezone.now() + dt.timedelta(hours=1)


def test_without_tomda_settings_the_tasks_do_nothing(settings, connector):
    settings.TOMDA_BASE_URL = ""
    order = Order.objects.create(
        order_no="20261121100000000001",
        connector=connector,
        charger=connector.charger,
        station=connector.charger.station,
        status=OrderStatus.CHARGING,
    )
    quiet_for(order, 30)

    assert tasks.token_refresh() is False
    assert tasks.sessions_poll() == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CHARGING
