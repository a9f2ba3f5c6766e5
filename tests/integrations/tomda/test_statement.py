"""Tomda's statement of a day against the simulator over real HTTP: a dropped ORDER_DATA is fetched back by
the repair step, and what Tomda contradicts is listed, each difference by its category."""

import datetime as dt

import pytest
from django.utils import timezone

from backoffice.days import business_day_of
from integrations.models import InboundMessage, InboundStatus
from integrations.tomda.simulator import SimCharger
from integrations.tomda.statement import TomdaStatementSource
from orders.models import Order, OrderStatus, SettlementSource, StatementCategory
from orders.reconciliation.services import statement_build
from orders.services import order_start
from tests.helpers import tomda_cloud
from tests.integrations.tomda.test_push import ok, order_data
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

TODAY = business_day_of(timezone.now())


@pytest.fixture
def sim(settings, ev_charger):
    # No push URL: nothing the simulated piles say reaches us by itself, as when pushes are dropped.
    with tomda_cloud(settings, [SimCharger(serial=ev_charger.serial, kind="ev")]) as simulator:
        yield simulator


def lines(statement):
    return {(line.category, line.key): line for line in statement.lines.all()}


def test_a_dropped_order_data_is_fetched_back_by_the_repair_and_not_reported(sim, ev_charger):
    order = order_start(connector=ev_charger.connectors.get())
    sim.advance(3600)
    sim.finish(order.order_no)  # the pile ended the session; its ORDER_DATA never came

    statement = statement_build(source=TomdaStatementSource(), day=TODAY)

    order.refresh_from_db()
    vendor = sim.sessions[order.order_no]
    assert (order.status, order.settled_from, order.energy_wh) == (
        OrderStatus.SETTLED, SettlementSource.PROGRESS, vendor.energy_wh)
    assert any(path.endswith("/api/sys/charger/sync") and params.get("clientOrderId") == order.order_no
               for _method, path, params in sim.calls)  # asked over HTTP
    assert statement.repaired == 1
    found = lines(statement)
    assert not {key for key in found if key[1] == order.order_no} - {(StatementCategory.PRICE, order.order_no)}
    assert (statement.our_orders, statement.their_orders) == (1, 1)
    assert statement.their_energy_wh == vendor.energy_wh == statement.our_energy_wh


def test_a_session_still_running_after_the_repair_is_missing_on_tomdas_side(sim, ev_charger):
    order = order_start(connector=ev_charger.connectors.get())
    sim.advance(600)

    statement = statement_build(source=TomdaStatementSource(), day=TODAY)

    line = lines(statement)[(StatementCategory.MISSING_THEIRS, order.order_no)]
    order.refresh_from_db()
    assert line.ours["status"] == OrderStatus.CHARGING == order.status
    assert order.energy_wh > 0  # the repair brought its progress up to date


def test_what_tomda_contradicts_is_listed_by_category(push, charging_order, ev_charger):
    # Settled on Tomda's bill of 22.06 yuan against our 22.05.
    ok(push("ORDER_DATA", order_data(charging_order, cost=2206)))
    # A second, different settlement of the same session: kept beside the first, not applied.
    ok(push("ORDER_DATA", order_data(charging_order, energy_wh=21_500, cost=2258)))
    # A settlement of a session we never had (the pile's own start, or another system's order number).
    stranger = f"{TODAY:%Y%m%d}235959000042"
    stranger_push = push("ORDER_DATA", {**order_data(charging_order), "clientOrderId": stranger})
    assert InboundMessage.objects.get(order_no=stranger).status == InboundStatus.REJECTED, stranger_push.content
    # A start that failed: Tomda owes no settlement for it.
    failed = OrderFactory(connector=ev_charger.connectors.get(), status=OrderStatus.START_FAILED, started_at=None,
                          ended_at=None, partner=None, partner_order_no="")

    statement = statement_build(source=TomdaStatementSource(), day=TODAY)

    found = lines(statement)
    categories = {category for category, _key in found}
    assert (StatementCategory.PRICE, charging_order.order_no) in found
    price = found[(StatementCategory.PRICE, charging_order.order_no)]
    assert (price.ours["amount_fen"], price.theirs["amount_fen"]) == (2205, 2206)
    assert StatementCategory.SETTLEMENT_DIFFERS in categories
    missing = found[(StatementCategory.MISSING_OURS, stranger)]
    assert (missing.order, missing.theirs["energy_wh"], missing.theirs["amount_fen"]) == (None, 21_000, 2205)
    assert not [key for key in found if key[1] == failed.order_no]
    assert Order.objects.get(pk=charging_order.pk).vendor_total_fen == 2206
    assert (statement.our_orders, statement.their_orders) == (1, 2)
    assert (statement.our_amount_fen, statement.their_amount_fen) == (2205, 2206 + 2205)


def test_an_order_data_that_failed_to_apply_is_tomdas_word_beside_ours(push, charging_order, monkeypatch):
    from integrations.tomda import processor

    def broken(push):
        raise RuntimeError("database went away")

    monkeypatch.setattr(processor, "_order_end_apply", broken)
    ok(push("ORDER_DATA", order_data(charging_order)))
    assert InboundMessage.objects.get(kind="ORDER_DATA").status == InboundStatus.FAILED

    statement = statement_build(source=TomdaStatementSource(), day=TODAY, repair=False)

    found = lines(statement)
    assert found[(StatementCategory.STATUS, charging_order.order_no)].theirs["status"] == OrderStatus.SETTLED
    assert found[(StatementCategory.ENERGY, charging_order.order_no)].theirs["energy_wh"] == 21_000
    assert dt.date.fromisoformat(str(statement.day)) == TODAY
