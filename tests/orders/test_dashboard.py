"""The orders' panels of the admin dashboard: figures per business day exact to the Wh and fen, the open
differences of the daily close by day, and who sees them."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.days import BEIJING, business_day_of
from orders.dashboard import (
    CHART_DAYS,
    DayDifferences,
    DayFigures,
    orders_figures_by_day,
    statement_lines_unresolved_by_day,
)
from orders.models import LineState, Order, OrderStatus, Statement, StatementCategory, StatementLine
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def order_created(at, **fields):
    """An order created at `at` (created_at is set on insert, so it is moved after)."""
    order = OrderFactory(**fields)
    Order.objects.filter(pk=order.pk).update(created_at=at)
    return order


def local(day, hour=0, minute=0, second=0, microsecond=0):
    return dt.datetime.combine(day, dt.time(hour, minute, second, microsecond), tzinfo=BEIJING)


def staff_with(django_user_model, username, *perms):
    user = django_user_model.objects.create_user(username, password="pw-staff-1234", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def line(statement, key, state):
    return StatementLine.objects.create(statement=statement, category=StatementCategory.ENERGY, key=key,
                                        state=state, found_at=timezone.now())


def statement_of(day, counterparty="tomda"):
    return Statement.objects.create(counterparty=counterparty, day=day, built_at=timezone.now())


def panel(content, name):
    """The HTML of one panel of the index."""
    match = re.search(rf'<div class="module dashboard-panel[^"]*" id="panel-{name}">(.*?)\n  </div>\n', content, re.S)
    return match.group(1) if match else None


# --- figures per business day --------------------------------------------------------------------------


def test_each_order_counts_on_the_beijing_day_it_was_created_in_exactly_to_the_wh_and_fen():
    # Given orders around the midnights of one Beijing day (16:00 UTC)
    day = dt.date(2026, 11, 3)
    order_created(local(day), energy_wh=10_001, electricity_fee_fen=651, service_fee_fen=400, total_fee_fen=1051)
    order_created(local(day, 23, 59, 59, 999_999), energy_wh=2_345, electricity_fee_fen=1, service_fee_fen=0,
                  total_fee_fen=1)
    order_created(local(day) - dt.timedelta(microseconds=1), energy_wh=7)  # the day before
    order_created(local(day + dt.timedelta(days=1)), energy_wh=9)  # the day after

    # When the figures of the three days are read
    with CaptureQueriesContext(connection) as queries:
        days = orders_figures_by_day(day_from=day - dt.timedelta(days=1), day_to=day + dt.timedelta(days=1))

    # Then each order is on its day, the sums exact, in one query
    assert days == [
        DayFigures(day=day - dt.timedelta(days=1), orders=1, energy_wh=7, revenue_fen=1050),
        DayFigures(day=day, orders=2, energy_wh=12_346, revenue_fen=1052),
        DayFigures(day=day + dt.timedelta(days=1), orders=1, energy_wh=9, revenue_fen=1050),
    ]
    assert len(queries) == 1


def test_a_day_without_orders_is_listed_with_zeros_and_sessions_that_never_charged_are_left_out():
    day = dt.date(2026, 11, 3)
    order_created(local(day, 10), status=OrderStatus.START_FAILED, energy_wh=0, electricity_fee_fen=0,
                  service_fee_fen=0, total_fee_fen=0, started_at=None, ended_at=None)
    order_created(local(day, 11), status=OrderStatus.CANCELLED, energy_wh=0, electricity_fee_fen=0,
                  service_fee_fen=0, total_fee_fen=0, started_at=None, ended_at=None)
    order_created(local(day, 12), status=OrderStatus.CHARGING, energy_wh=500, electricity_fee_fen=33,
                  service_fee_fen=20, total_fee_fen=53, ended_at=None)

    days = orders_figures_by_day(day_from=day - dt.timedelta(days=1), day_to=day)

    assert days == [
        DayFigures(day=day - dt.timedelta(days=1), orders=0, energy_wh=0, revenue_fen=0),
        DayFigures(day=day, orders=1, energy_wh=500, revenue_fen=53),
    ]


# --- open differences by day ---------------------------------------------------------------------------


def test_no_statement_lines_means_no_open_differences():
    assert statement_lines_unresolved_by_day() == ([], False)


def test_open_and_sent_back_lines_are_counted_by_the_day_of_their_statement_latest_first():
    # Given statements of two days of two counterparties, with lines in every state
    first, second = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    for counterparty in ("tomda", "partner"):
        statement = statement_of(first, counterparty)
        line(statement, "a", LineState.OPEN)
        line(statement, "b", LineState.SENT_BACK)
        line(statement, "c", LineState.ACCEPTED)
    statement = statement_of(second)
    line(statement, "a", LineState.OPEN)
    line(statement, "b", LineState.CORRECTED)
    statement_of(dt.date(2026, 11, 4))  # a day without differences

    with CaptureQueriesContext(connection) as queries:
        days, more = statement_lines_unresolved_by_day()

    assert days == [DayDifferences(day=second, open=1, sent_back=0), DayDifferences(day=first, open=2, sent_back=2)]
    assert more is False
    assert len(queries) == 1


def test_only_the_latest_days_are_listed_and_the_rest_is_said():
    for offset in range(3):
        line(statement_of(dt.date(2026, 11, 1) + dt.timedelta(days=offset)), "a", LineState.OPEN)

    days, more = statement_lines_unresolved_by_day(limit=2)

    assert [d.day for d in days] == [dt.date(2026, 11, 3), dt.date(2026, 11, 2)]
    assert more is True


# --- on the admin index --------------------------------------------------------------------------------


def test_the_index_charts_the_last_30_days_with_a_bar_and_its_exact_value_per_day(client, superuser):
    # Given two orders today and one 29 days ago (the first day shown), and one 30 days ago (not shown)
    now = timezone.now()
    today = business_day_of(now)
    order_created(now, energy_wh=10_001, electricity_fee_fen=651, service_fee_fen=400, total_fee_fen=1051)
    order_created(now, energy_wh=2_345, electricity_fee_fen=1, service_fee_fen=0, total_fee_fen=1)
    order_created(local(today - dt.timedelta(days=CHART_DAYS - 1), 12), energy_wh=1)
    order_created(local(today - dt.timedelta(days=CHART_DAYS), 12), energy_wh=1_000_000)
    client.force_login(superuser)

    # When the superuser opens the admin index
    response = client.get(INDEX)

    # Then the app list is still there, and the panel shows three charts of one bar per day
    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["app_list"]
    html = panel(content, "orders-days")
    assert html is not None
    for chart in ("chart-energy", "chart-revenue", "chart-orders"):
        svg = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', html, re.S).group(1)
        assert "<svg" in svg and "<text" in svg
        assert svg.count('<rect class="bar"') == CHART_DAYS
    # the totals and today's tooltips are exact decimals of the stored integers
    assert re.search(r'id="total-energy">12\.347<', html)
    assert re.search(r'id="total-revenue">21\.02<', html)
    assert re.search(r'id="total-orders">3<', html)
    titles = re.findall(rf"<title>{today.isoformat()}[:：] ?([^<]*)</title>", html)
    assert len(titles) == 3
    assert "12.346" in titles[0] and "10.52" in titles[1] and "2" in titles[2]


def test_the_index_reads_the_same_few_queries_for_few_or_many_orders(client, superuser):
    client.force_login(superuser)
    client.get(INDEX)  # warm-up: content types, permissions, the session
    now = timezone.now()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(INDEX).status_code == 200
        return len(captured)

    few = queries()
    for days_ago in range(20):
        order_created(now - dt.timedelta(days=days_ago))
        line(statement_of(business_day_of(now) - dt.timedelta(days=days_ago)), "a", LineState.OPEN)
    assert queries() == few


def test_a_user_who_may_view_orders_but_not_differences_sees_the_chart_panel_only(client, django_user_model):
    client.force_login(staff_with(django_user_model, "viewer", "orders.view_order"))

    response = client.get(INDEX)

    assert [p.name for p in response.context["dashboard_panels"]] == ["orders-days"]
    content = response.content.decode()
    assert panel(content, "orders-days") is not None
    assert panel(content, "open-differences") is None


def test_a_user_who_may_view_differences_sees_them_by_day_or_an_empty_state(client, django_user_model):
    client.force_login(staff_with(django_user_model, "closer", "orders.view_statementline"))

    empty = panel(client.get(INDEX).content.decode(), "open-differences")
    line(statement_of(dt.date(2026, 11, 2)), "a", LineState.SENT_BACK)
    listed = panel(client.get(INDEX).content.decode(), "open-differences")

    assert 'class="empty-state"' in empty and "<table" not in empty
    assert listed.count('<tr class="difference-day">') == 1 and "2026-11-02" in listed
    assert panel(client.get(INDEX).content.decode(), "orders-days") is None


def test_a_staff_user_without_permissions_sees_no_panel(client, django_user_model):
    client.force_login(staff_with(django_user_model, "nobody"))

    response = client.get(INDEX)

    assert response.status_code == 200
    assert response.context["dashboard_panels"] == []
    assert 'id="dashboard"' not in response.content.decode()


def test_each_day_of_differences_links_to_its_unresolved_lines(client, superuser):
    # Given unresolved and resolved lines on two days
    first, second = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    statement = statement_of(first)
    line(statement, "a", LineState.OPEN)
    line(statement, "b", LineState.SENT_BACK)
    line(statement, "c", LineState.ACCEPTED)
    line(statement_of(second), "a", LineState.OPEN)
    client.force_login(superuser)

    # When the links of the panel are followed
    html = panel(client.get(INDEX).content.decode(), "open-differences")
    links = dict(re.findall(r'<a href="([^"]+)">(\d{4}-\d\d-\d\d)</a>', html))

    # Then each lists that day's unresolved lines, and the last link all of them
    assert sorted(links.values()) == [first.isoformat(), second.isoformat()]
    for url, day in links.items():
        listed = client.get(url.replace("&amp;", "&"))
        assert listed.status_code == 200
        assert listed.context["cl"].result_count == (2 if day == first.isoformat() else 1)
    everything = re.search(r'<p><a href="([^"]+)">', html).group(1)
    assert client.get(everything.replace("&amp;", "&")).context["cl"].result_count == 3
