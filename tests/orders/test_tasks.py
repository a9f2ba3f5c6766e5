"""The periodic questions about quiet sessions, against a stub vendor: which orders are asked about, what an
answer does, and how a vendor's failure is borne."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from chargers.vendor import SessionState, VendorAdapter, VendorError, VendorNotConfigured, VendorUnavailable, registry
from orders import tasks
from orders.models import CloseReason, Order, OrderStatus
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

VENDOR = "stubcloud"
OTHER_VENDOR = "othercloud"


class StubCloud(VendorAdapter):
    """A vendor that answers each query from `answers` (a state, or an error to raise) and notes who was asked.

    An order without an answer of its own is reported charging, 10 minutes and 1 kWh in.
    """

    code = VENDOR
    unknown_session_codes = frozenset({"NO_SUCH_ORDER"})

    def __init__(self, code=VENDOR):
        self.code = code
        self.answers = {}
        self.asked = []

    def session_query(self, *, order_no, serial, connector_number):
        self.asked.append(order_no)
        answer = self.answers.get(order_no)
        if isinstance(answer, Exception):
            raise answer
        return answer or state(order_no, OrderStatus.CHARGING)


def state(order_no, status, *, ended=False):
    started_at = timezone.now() - dt.timedelta(minutes=10)
    return SessionState(
        order_no=order_no,
        vendor_status=str(status).upper(),
        status=status,
        serial="S1",
        connector_number=1,
        started_at=started_at,
        ended_at=started_at + dt.timedelta(minutes=9) if ended else None,
        charge_seconds=540,
        energy_wh=1000,
        cost_fen=120,
    )


@pytest.fixture
def cloud():
    adapter = StubCloud()
    registry.register(VENDOR, lambda: adapter)
    yield adapter
    registry.unregister(VENDOR)


@pytest.fixture
def other_cloud():
    adapter = StubCloud(code=OTHER_VENDOR)
    registry.register(OTHER_VENDOR, lambda: adapter)
    yield adapter
    registry.unregister(OTHER_VENDOR)


def session(status, *, quiet_minutes, vendor=VENDOR, heard=True):
    """An order on `vendor`'s charger whose last news (or, when never `heard`, creation) is `quiet_minutes` old."""
    connector = ConnectorFactory(charger=ChargerFactory(vendor=vendor), number=1)
    order = OrderFactory(
        connector=connector,
        status=status,
        started_at=None,
        ended_at=None,
        energy_wh=0,
        charge_seconds=0,
        park_seconds=0,
        partner=None,
        partner_order_no="",
    )
    moment = timezone.now() - dt.timedelta(minutes=quiet_minutes)
    if heard:
        Order.objects.filter(pk=order.pk).update(last_data_at=moment)
    else:
        Order.objects.filter(pk=order.pk).update(last_data_at=None, created_at=moment)
    order.refresh_from_db()
    return order


def test_only_sessions_quiet_for_the_threshold_are_asked_about(cloud):
    quiet = session(OrderStatus.CHARGING, quiet_minutes=6)
    recent = session(OrderStatus.CHARGING, quiet_minutes=4)
    never_heard_long_ago = session(OrderStatus.STARTING, quiet_minutes=6, heard=False)
    never_heard_just_now = session(OrderStatus.STARTING, quiet_minutes=1, heard=False)

    assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 2

    assert sorted(cloud.asked) == sorted([quiet.order_no, never_heard_long_ago.order_no])
    recent.refresh_from_db()
    never_heard_just_now.refresh_from_db()
    assert (recent.energy_wh, never_heard_just_now.status) == (0, OrderStatus.STARTING)


def test_an_answer_brings_a_quiet_session_up_to_date(cloud):
    order = session(OrderStatus.STARTING, quiet_minutes=6)

    tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5)

    order.refresh_from_db()
    assert (order.status, order.energy_wh, order.charge_seconds) == (OrderStatus.CHARGING, 1000, 540)
    assert order.last_data_at > timezone.now() - dt.timedelta(minutes=1)


def test_the_poll_asks_about_booked_starting_and_charging_sessions_only(cloud):
    orders = {status: session(status, quiet_minutes=30) for status in OrderStatus.values}

    tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5)

    asked = {status for status, order in orders.items() if order.order_no in cloud.asked}
    assert asked == {OrderStatus.BOOKED, OrderStatus.STARTING, OrderStatus.CHARGING}


def test_the_stuck_check_asks_about_stopping_and_finished_sessions_only(cloud):
    orders = {status: session(status, quiet_minutes=90) for status in OrderStatus.values}

    tasks.sessions_stuck_check(vendor=VENDOR, quiet_minutes=60)

    asked = {status for status, order in orders.items() if order.order_no in cloud.asked}
    assert asked == {OrderStatus.STOPPING, OrderStatus.FINISHED}


def test_the_stuck_check_has_its_own_threshold(cloud):
    overdue = session(OrderStatus.STOPPING, quiet_minutes=61)
    session(OrderStatus.STOPPING, quiet_minutes=59)

    assert tasks.sessions_stuck_check(vendor=VENDOR, quiet_minutes=60) == 1

    assert cloud.asked == [overdue.order_no]


def test_the_poll_finishes_an_ended_session_but_leaves_it_for_the_vendors_settlement(cloud):
    order = session(OrderStatus.CHARGING, quiet_minutes=6)
    cloud.answers[order.order_no] = state(order.order_no, OrderStatus.FINISHED, ended=True)

    assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.FINISHED
    assert not order.settlements.exists()


def test_the_stuck_check_closes_an_ended_session_from_the_answer(cloud):
    order = session(OrderStatus.STOPPING, quiet_minutes=61)
    cloud.answers[order.order_no] = state(order.order_no, OrderStatus.FINISHED, ended=True)

    assert tasks.sessions_stuck_check(vendor=VENDOR, quiet_minutes=60) == 1

    order.refresh_from_db()
    assert (order.status, order.settled_from, order.close_reason) == (
        OrderStatus.SETTLED,
        "progress",
        CloseReason.OTHER,
    )
    assert (order.energy_wh, order.vendor_total_fen) == (1000, 120)
    assert list(order.settlements.values_list("source", flat=True)) == ["progress"]


def test_the_run_stops_when_the_vendor_is_not_configured(cloud, caplog):
    first = session(OrderStatus.CHARGING, quiet_minutes=20)
    second = session(OrderStatus.CHARGING, quiet_minutes=10)
    cloud.answers[first.order_no] = VendorNotConfigured("no settings", vendor=VENDOR)

    with caplog.at_level(logging.WARNING, logger="orders.tasks"):
        assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 0

    assert cloud.asked == [first.order_no]
    second.refresh_from_db()
    assert second.energy_wh == 0
    assert f"vendor {VENDOR} is not configured; 2 orders wait" in caplog.text


def test_a_vendor_without_an_adapter_is_not_asked_and_nothing_changes(caplog):
    order = session(OrderStatus.CHARGING, quiet_minutes=20)

    with caplog.at_level(logging.WARNING, logger="orders.tasks"):
        assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 0

    order.refresh_from_db()
    assert (order.status, order.energy_wh) == (OrderStatus.CHARGING, 0)
    assert f"vendor {VENDOR} is not configured" in caplog.text


@pytest.mark.parametrize(
    "error",
    [VendorError("refused", vendor=VENDOR, code="E42"), VendorUnavailable("timed out", vendor=VENDOR)],
    ids=["refused", "unreachable"],
)
def test_a_vendor_error_on_one_order_is_logged_and_the_rest_are_still_asked_about(cloud, caplog, error):
    failing = session(OrderStatus.CHARGING, quiet_minutes=20)
    fine = session(OrderStatus.CHARGING, quiet_minutes=10)
    cloud.answers[failing.order_no] = error

    with caplog.at_level(logging.WARNING, logger="orders.tasks"):
        assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 1

    assert cloud.asked == [failing.order_no, fine.order_no]
    fine.refresh_from_db()
    failing.refresh_from_db()
    assert (fine.status, fine.energy_wh) == (OrderStatus.CHARGING, 1000)
    assert failing.energy_wh == 0
    assert f"asking vendor {VENDOR} about order {failing.order_no}" in caplog.text


def test_other_vendors_orders_are_left_alone(cloud, other_cloud):
    ours = session(OrderStatus.CHARGING, quiet_minutes=20)
    theirs_live = session(OrderStatus.CHARGING, quiet_minutes=20, vendor=OTHER_VENDOR)
    theirs_ending = session(OrderStatus.STOPPING, quiet_minutes=120, vendor=OTHER_VENDOR)
    cloud.answers[ours.order_no] = state(ours.order_no, OrderStatus.CHARGING)

    assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 1
    assert tasks.sessions_stuck_check(vendor=VENDOR, quiet_minutes=60) == 0

    assert cloud.asked == [ours.order_no]
    assert other_cloud.asked == []
    for order, status in ((theirs_live, OrderStatus.CHARGING), (theirs_ending, OrderStatus.STOPPING)):
        order.refresh_from_db()
        assert (order.status, order.energy_wh) == (status, 0)


def test_one_run_asks_about_the_longest_quiet_first_up_to_its_limit(cloud, monkeypatch):
    monkeypatch.setattr(tasks, "PER_RUN", 2)
    quietest = session(OrderStatus.CHARGING, quiet_minutes=40)
    session(OrderStatus.CHARGING, quiet_minutes=10)
    quieter = session(OrderStatus.CHARGING, quiet_minutes=30)

    assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 2

    assert cloud.asked == [quietest.order_no, quieter.order_no]


def test_a_vendor_that_answers_nothing_three_times_in_a_row_stops_the_run(cloud, caplog):
    quiet = [session(OrderStatus.CHARGING, quiet_minutes=20 - n) for n in range(5)]
    for order in quiet:
        cloud.answers[order.order_no] = VendorUnavailable("timed out", vendor=VENDOR)

    assert tasks.sessions_poll(vendor=VENDOR, quiet_minutes=5) == 0

    # Each unanswered question costs a timeout: after three the rest wait for the next run.
    assert cloud.asked == [order.order_no for order in quiet[:3]]
    assert "does not answer" in caplog.text
