"""The daily close in the admin: the morning list, a day's statements side by side, resolving a difference,
closing and reopening, and the nightly schedule that builds yesterday's statements."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from backoffice.days import business_day_of
from integrations.schedules import schedules_ensure
from orders import tasks
from orders.models import BusinessDay, DayEvent, LineState, Order, Statement, StatementLine
from orders.reconciliation.services import statements_build
from tests.orders.ledger import DAY, record, settled

pytestmark = pytest.mark.django_db


def user_in(django_user_model, name, group, *extra):
    user = django_user_model.objects.create_user(name)
    user.groups.add(Group.objects.get(name=group))
    user.is_staff = True
    user.save()
    for codename in extra:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def finance_client(client, django_user_model):
    client.force_login(user_in(django_user_model, "finance", "Finance"))
    return client


@pytest.fixture
def operator_client(client, django_user_model):
    client.force_login(user_in(django_user_model, "operator", "Operators"))
    return client


@pytest.fixture
def differing(ledger):
    order = settled(ledger.partner)
    ledger.ledger = [record(order, energy_wh=12_000)]
    statements_build(day=DAY)
    return order


def day_url(name="day"):
    return reverse(f"admin:orders_businessday_{name}", args=[DAY.isoformat()])


def test_the_morning_list_shows_each_day_and_where_it_stands(finance_client, differing):
    response = finance_client.get(reverse("admin:orders_businessday_changelist"))

    assert response.status_code == 200
    days = {item.day: item for item in response.context["days"]}
    assert len(days) == 31
    assert (days[DAY].orders, days[DAY].unresolved, days[DAY].state) == (1, 1, "differences")
    assert days[business_day_of(timezone.now())].state == "running"
    assert day_url().encode() in response.content


def test_a_days_page_shows_each_statement_beside_ours(finance_client, differing):
    response = finance_client.get(day_url())

    assert response.status_code == 200
    (row,) = response.context["statements"]
    assert row["totals"][1] == ("kWh", "10.000", "12.000", "2.000")
    assert row["unresolved"] == 1
    assert response.context["blockers"]
    assert b'id="close-day"' in response.content and b"disabled" in response.content


def test_finance_resolves_a_difference_on_its_page_and_a_correction_needs_a_comment(finance_client, differing):
    line = StatementLine.objects.get()
    url = reverse("admin:orders_statementline_resolve", args=[line.pk])
    assert finance_client.get(url).status_code == 200

    response = finance_client.post(url, {"action": "correct", "comment": "", "energy_wh": 12_000,
                                         "electricity_fee_fen": 780, "service_fee_fen": 480})
    assert response.status_code == 200 and response.context["form"].errors["comment"]

    response = finance_client.post(url, {"action": "correct", "comment": "以对方为准", "energy_wh": 12_000,
                                         "electricity_fee_fen": 780, "service_fee_fen": 480})

    assert response.status_code == 302
    line.refresh_from_db()
    differing.refresh_from_db()
    assert (line.state, differing.energy_wh, differing.total_fee_fen) == (LineState.CORRECTED, 12_000, 1260)
    assert line.actions.get().user.username == "finance"


def test_operators_see_differences_but_cannot_resolve_or_close(operator_client, differing):
    line = StatementLine.objects.get()
    assert operator_client.get(reverse("admin:orders_statementline_changelist")).status_code == 200
    assert operator_client.get(day_url()).status_code == 200

    response = operator_client.post(reverse("admin:orders_statementline_resolve", args=[line.pk]),
                                    {"action": "accept", "comment": ""})
    assert response.status_code == 403
    assert operator_client.post(day_url("close")).status_code == 403
    line.refresh_from_db()
    assert line.state == LineState.OPEN and not BusinessDay.objects.exists()


def test_closing_from_the_admin_locks_the_day_and_reopening_needs_its_permission(
        client, django_user_model, finance_client, differing):
    line = StatementLine.objects.get()
    finance_client.post(reverse("admin:orders_statementline_resolve", args=[line.pk]), {"action": "accept"})

    response = finance_client.post(day_url("close"), follow=True)

    assert BusinessDay.objects.get(day=DAY).closed, [str(m) for m in response.context["messages"]]
    # A closed day's difference can no longer be resolved another way, nor its statements rebuilt.
    response = finance_client.post(reverse("admin:orders_statementline_resolve", args=[line.pk]),
                                   {"action": "send_back", "comment": "再查"}, follow=True)
    line.refresh_from_db()
    assert line.state == LineState.ACCEPTED
    assert any(DAY.isoformat() in str(message) for message in response.context["messages"])
    built = Statement.objects.get(counterparty="ledger").built_at
    finance_client.post(day_url("build"))
    assert Statement.objects.get(counterparty="ledger").built_at == built

    assert finance_client.post(day_url("reopen"), {"reason": "补账"}).status_code == 403
    client.force_login(user_in(django_user_model, "chief", "Finance", "reopen_day"))
    client.post(day_url("reopen"), {"reason": "运营商补发账单"})

    assert not BusinessDay.objects.get(day=DAY).closed
    assert DayEvent.objects.filter(action="reopened", reason="运营商补发账单", user__username="chief").exists()


def test_the_nightly_schedule_is_created_by_the_code_and_builds_yesterday(settings, ledger):
    settings.STATEMENTS_BUILD_AT = "04:30"
    schedules_ensure()

    schedule = Schedule.objects.get(name="statements_build")
    assert (schedule.func, schedule.schedule_type) == ("orders.tasks.statements_build_previous_day", Schedule.DAILY)
    assert timezone.localtime(schedule.next_run).strftime("%H:%M") == "04:30"
    assert schedule.next_run > timezone.now()

    order = settled(ledger.partner)
    yesterday = business_day_of(timezone.now()) - dt.timedelta(days=1)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    ledger.ledger = []

    assert tasks.statements_build_previous_day() == 1

    statement = Statement.objects.get(counterparty="ledger")
    assert statement.day == yesterday and ledger.repairs == 1
    assert statement.lines.get().category == "missing_theirs"
