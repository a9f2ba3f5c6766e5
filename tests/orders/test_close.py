"""The daily close: a statement lists every kind of difference, each is resolved with a record, a day
closes only when nothing is open, and a closed day refuses every change until it is reopened."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from backoffice.days import business_day_of
from orders.models import (
    BusinessDay,
    ConflictKind,
    DayEvent,
    LineAction,
    LineState,
    Order,
    OrderStatus,
    Statement,
    StatementCategory,
    StatementLine,
)
from orders.reconciliation.services import (
    business_day_blockers,
    business_day_close,
    business_day_reopen,
    statement_build,
    statement_line_accept,
    statement_line_correct,
    statement_line_send_back,
    statements_build,
)
from orders.reconciliation.sources import CounterpartyRecord
from orders.services import Progress, order_progress_record
from tests.orders.factories import OrderConflictFactory, OrderFactory
from tests.orders.ledger import DAY, NOON, record, settled

pytestmark = pytest.mark.django_db

def reading(energy_wh):
    return Progress(at=timezone.now(), status=OrderStatus.CHARGING, vendor_status="CHARGE", energy_wh=energy_wh,
                    charge_seconds=600)


def lines(statement):
    return {(line.category, line.key): line for line in statement.lines.all()}


def test_a_statement_lists_every_kind_of_difference_with_totals_side_by_side(ledger):
    same = settled(ledger.partner)
    energy = settled(ledger.partner)
    amount = settled(ledger.partner)
    status = settled(ledger.partner)
    duplicated = settled(ledger.partner)
    missing_theirs = settled(ledger.partner)
    running = OrderFactory(partner=ledger.partner, status=OrderStatus.CHARGING, ended_at=None)
    Order.objects.filter(pk=running.pk).update(created_at=NOON)
    ledger.ledger = [
        record(same),
        record(energy, energy_wh=10_001),
        record(amount, amount_fen=1049),
        record(status, status=OrderStatus.CANCELLED),
        record(duplicated), record(duplicated, amount_fen=2000),
        record(duplicated),  # an exact copy is the same record, not a third
        CounterpartyRecord(order_no="20261130000000999999", reference="THEIRS-1", energy_wh=5000, amount_fen=500,
                           status=OrderStatus.SETTLED),
    ]

    statement = statement_build(source=ledger, day=DAY)

    found = {(line.category, line.key) for line in statement.lines.all()}
    assert found == {
        (StatementCategory.ENERGY, energy.order_no),
        (StatementCategory.AMOUNT, amount.order_no),
        (StatementCategory.STATUS, status.order_no),
        (StatementCategory.DUPLICATE, duplicated.order_no),
        (StatementCategory.MISSING_THEIRS, missing_theirs.order_no),
        (StatementCategory.MISSING_OURS, "20261130000000999999"),
    }
    line = lines(statement)[(StatementCategory.ENERGY, energy.order_no)]
    assert (line.order, line.ours["energy_wh"], line.theirs["energy_wh"], line.reference) == (
        energy, 10_000, 10_001, f"R{energy.pk}")
    assert len(lines(statement)[(StatementCategory.DUPLICATE, duplicated.order_no)].theirs["records"]) == 2
    missing = lines(statement)[(StatementCategory.MISSING_OURS, "20261130000000999999")]
    assert (missing.order, missing.reference, missing.theirs["amount_fen"]) == (None, "THEIRS-1", 500)
    # Ours: the six settled orders (the running one is not expected and has no record); theirs: six orders,
    # one of them not ours, the duplicated one counted once with the figures of both its records.
    assert (statement.our_orders, statement.our_energy_wh, statement.our_amount_fen) == (6, 60_000, 6300)
    assert (statement.their_orders, statement.their_energy_wh, statement.their_amount_fen) == (6, 65_001, 7749)
    assert ledger.repairs == 1


def test_a_vendor_source_adds_our_price_against_its_bill_and_the_orders_conflicts(ledger):
    ledger.runs_chargers = True
    ledger.amount_category = StatementCategory.PRICE
    priced = settled(ledger.partner)
    conflicted = settled(ledger.partner)
    conflict = OrderConflictFactory(order=conflicted, kind=ConflictKind.SETTLEMENT_TIMES)
    ledger.ledger = [record(priced, amount_fen=1100), record(conflicted)]

    statement = statement_build(source=ledger, day=DAY)

    found = lines(statement)
    assert set(found) == {(StatementCategory.PRICE, priced.order_no),
                          (StatementCategory.SETTLEMENT_TIMES, f"{conflicted.order_no}#{conflict.pk}")}
    assert found[(StatementCategory.SETTLEMENT_TIMES, f"{conflicted.order_no}#{conflict.pk}")].detail


def test_building_again_keeps_resolutions_reopens_changed_figures_and_drops_what_is_gone(ledger, finance):
    accepted, changed, fixed, sent = (settled(ledger.partner) for _ in range(4))
    ledger.ledger = [record(o, energy_wh=9_000) for o in (accepted, changed, fixed, sent)]
    statement = statement_build(source=ledger, day=DAY)
    found = lines(statement)
    statement_line_accept(line=found[(StatementCategory.ENERGY, accepted.order_no)], user=finance)
    statement_line_accept(line=found[(StatementCategory.ENERGY, changed.order_no)], user=finance)
    statement_line_send_back(line=found[(StatementCategory.ENERGY, sent.order_no)], user=finance,
                             comment="请核对电桩读数")

    ledger.ledger = [record(accepted, energy_wh=9_000), record(changed, energy_wh=8_000), record(fixed),
                     record(sent)]
    statement = statement_build(source=ledger, day=DAY)

    found = lines(statement)
    assert found[(StatementCategory.ENERGY, accepted.order_no)].state == LineState.ACCEPTED
    assert found[(StatementCategory.ENERGY, changed.order_no)].state == LineState.OPEN
    assert found[(StatementCategory.ENERGY, changed.order_no)].actions.last().action == "reopened"
    assert (StatementCategory.ENERGY, fixed.order_no) not in found  # open, nobody acted: dropped
    assert found[(StatementCategory.ENERGY, sent.order_no)].state == LineState.GONE  # kept, with its history
    assert Statement.objects.filter(counterparty="ledger", day=DAY).count() == 1


def test_each_resolution_is_recorded_with_who_and_when_and_a_correction_changes_the_order(ledger, finance):
    accepted, corrected, sent = (settled(ledger.partner) for _ in range(3))
    ledger.ledger = [record(o, energy_wh=12_000, amount_fen=1260) for o in (accepted, corrected, sent)]
    found = lines(statement_build(source=ledger, day=DAY))

    statement_line_accept(line=found[(StatementCategory.ENERGY, accepted.order_no)], user=finance, comment="属实")
    with pytest.raises(ValidationError):
        statement_line_correct(line=found[(StatementCategory.ENERGY, corrected.order_no)], user=finance,
                               comment=" ", energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)
    statement_line_correct(line=found[(StatementCategory.ENERGY, corrected.order_no)], user=finance,
                           comment="以运营商账单为准", energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)
    with pytest.raises(ValidationError):
        statement_line_send_back(line=found[(StatementCategory.AMOUNT, sent.order_no)], user=finance, comment="")
    statement_line_send_back(line=found[(StatementCategory.AMOUNT, sent.order_no)], user=finance, comment="查桩")

    corrected.refresh_from_db()
    assert (corrected.energy_wh, corrected.electricity_fee_fen, corrected.service_fee_fen,
            corrected.total_fee_fen) == (12_000, 780, 480, 1260)
    action = LineAction.objects.get(action="corrected")
    assert (action.user, action.comment) == (finance, "以运营商账单为准")
    assert action.values == {
        "before": {"energy_wh": 10_000, "electricity_fee_fen": 650, "service_fee_fen": 400, "total_fee_fen": 1050},
        "after": {"energy_wh": 12_000, "electricity_fee_fen": 780, "service_fee_fen": 480, "total_fee_fen": 1260},
    }
    assert abs(action.at - timezone.now()) < dt.timedelta(minutes=1)
    assert list(LineAction.objects.order_by("id").values_list("action", "user__username", "comment")) == [
        ("accepted", "finance", "属实"), ("corrected", "finance", "以运营商账单为准"), ("sent_back", "finance", "查桩")]


def test_operators_cannot_resolve_or_close(ledger, operator):
    order = settled(ledger.partner)
    ledger.ledger = [record(order, energy_wh=1)]
    line = statement_build(source=ledger, day=DAY).lines.get()

    with pytest.raises(PermissionDenied):
        statement_line_accept(line=line, user=operator)
    with pytest.raises(PermissionDenied):
        business_day_close(day=DAY, user=operator)


def build_all():
    return statements_build(day=DAY)


def test_a_day_closes_only_when_every_statement_is_built_current_and_resolved(ledger, finance):
    order = settled(ledger.partner)
    ledger.ledger = [record(order, energy_wh=1)]
    assert any("Ledger" in blocker for blocker in business_day_blockers(day=DAY))  # nothing built yet
    with pytest.raises(ValidationError):
        business_day_close(day=DAY, user=finance)

    build_all()
    line = StatementLine.objects.get(statement__counterparty="ledger")
    with pytest.raises(ValidationError):
        business_day_close(day=DAY, user=finance)  # one difference open
    statement_line_send_back(line=line, user=finance, comment="查")
    with pytest.raises(ValidationError):
        business_day_close(day=DAY, user=finance)  # sent back is still unresolved
    statement_line_accept(line=line, user=finance)
    built = Statement.objects.get(counterparty="ledger").built_at
    Order.objects.filter(pk=order.pk).update(updated_at=built + dt.timedelta(microseconds=1))
    assert [blocker for blocker in business_day_blockers(day=DAY) if "Ledger" in blocker]  # out of date
    build_all()

    business_day = business_day_close(day=DAY, user=finance)

    assert business_day.closed and business_day.closed_by == finance
    assert DayEvent.objects.get().action == "closed"


def test_a_day_with_a_running_order_or_not_yet_over_does_not_close(ledger, finance):
    running = OrderFactory(partner=ledger.partner, status=OrderStatus.CHARGING, ended_at=None)
    Order.objects.filter(pk=running.pk).update(created_at=NOON)
    build_all()
    assert any(str(1) in blocker for blocker in business_day_blockers(day=DAY))
    with pytest.raises(ValidationError):
        business_day_close(day=DAY, user=finance)
    with pytest.raises(ValidationError):
        business_day_close(day=business_day_of(timezone.now()), user=finance)


@pytest.fixture
def closed_day(ledger, finance):
    """DAY closed with one order, whose difference finance accepted."""
    order = settled(ledger.partner)
    ledger.ledger = [record(order, energy_wh=9_000)]
    build_all()
    statement_line_accept(line=StatementLine.objects.get(), user=finance)
    business_day_close(day=DAY, user=finance)
    return order


def test_a_closed_day_refuses_every_service(closed_day, ledger, finance):
    order = closed_day
    line = StatementLine.objects.get()

    with pytest.raises(ValidationError, match=DAY.isoformat()):
        order_progress_record(order=order, progress=reading(20_000))
    with pytest.raises(ValidationError, match=DAY.isoformat()):
        statement_build(source=ledger, day=DAY)
    with pytest.raises(ValidationError, match=DAY.isoformat()):
        build_all()
    with pytest.raises(ValidationError, match=DAY.isoformat()):
        statement_line_send_back(line=line, user=finance, comment="再查")
    with pytest.raises(ValidationError, match=DAY.isoformat()):
        statement_line_correct(line=line, user=finance, comment="改", energy_wh=9_000, electricity_fee_fen=1,
                               service_fee_fen=1)
    with pytest.raises(ValidationError, match=DAY.isoformat()):
        business_day_close(day=DAY, user=finance)
    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.energy_wh, order.samples.count(), line.state) == (10_000, 0, LineState.ACCEPTED)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database's own lock is PostgreSQL's")
def test_on_postgresql_the_database_refuses_a_raw_update_of_a_closed_days_order(closed_day):
    with pytest.raises(DatabaseError, match="closed business day"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE orders_order SET energy_wh = 1 WHERE id = %s", [closed_day.pk])
    for sql in ("DELETE FROM orders_order WHERE id = %s",
                "INSERT INTO orders_orderconflict (order_id, kind, figures, recorded_at) VALUES (%s, 'x', '{}', now())",
                "UPDATE orders_statement SET our_orders = 0 WHERE day = (SELECT (created_at AT TIME ZONE "
                "'Asia/Shanghai')::date FROM orders_order WHERE id = %s)"):
        with pytest.raises(DatabaseError, match="closed business day"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql, [closed_day.pk])
    closed_day.refresh_from_db()
    assert closed_day.energy_wh == 10_000


def test_reopening_needs_its_own_permission_and_a_reason_and_is_recorded(closed_day, django_user_model):
    clerk = django_user_model.objects.create_user("clerk")
    clerk.groups.add(Group.objects.get(name="Finance"))
    supervisor = django_user_model.objects.create_user("supervisor")
    supervisor.groups.add(Group.objects.get(name="Finance"))
    supervisor.user_permissions.add(Permission.objects.get(codename="reopen_day"))
    clerk, supervisor = (django_user_model.objects.get(pk=user.pk) for user in (clerk, supervisor))

    with pytest.raises(PermissionDenied):
        business_day_reopen(day=DAY, user=clerk, reason="账单更正")
    with pytest.raises(ValidationError):
        business_day_reopen(day=DAY, user=supervisor, reason="  ")

    business_day_reopen(day=DAY, user=supervisor, reason="运营商补发账单")

    assert not BusinessDay.objects.get(day=DAY).closed
    event = DayEvent.objects.get(action="reopened")
    assert (event.user, event.reason) == (supervisor, "运营商补发账单")
    order_progress_record(order=closed_day, progress=reading(20_000))
    closed_day.refresh_from_db()
    assert closed_day.samples.count() == 1


def test_a_difference_that_comes_back_after_it_was_gone_is_open_again(ledger, finance):
    order = settled(ledger.partner)
    ledger.ledger = [record(order, energy_wh=9_000)]
    line = statement_build(source=ledger, day=DAY).lines.get()
    statement_line_send_back(line=line, user=finance, comment="查桩")
    ledger.ledger = [record(order)]
    statement_build(source=ledger, day=DAY)
    line.refresh_from_db()
    assert line.state == LineState.GONE

    ledger.ledger = [record(order, energy_wh=9_000)]
    statement_build(source=ledger, day=DAY)

    line.refresh_from_db()
    assert line.state == LineState.OPEN
    assert line.actions.last().action == "reopened"
    assert business_day_blockers(day=DAY)


def test_two_records_of_one_order_with_the_same_figures_are_billed_twice(ledger):
    order = settled(ledger.partner)
    ledger.ledger = [record(order, reference="BILL-1"), record(order, reference="BILL-2"),
                     record(order, reference="BILL-2")]  # BILL-2 sent twice is one record

    statement = statement_build(source=ledger, day=DAY)

    line = statement.lines.get()
    assert (line.category, len(line.theirs["records"])) == (StatementCategory.DUPLICATE, 2)
    assert (statement.their_orders, statement.their_amount_fen) == (1, 2100)


def test_a_day_that_has_not_begun_has_no_statement(ledger):
    with pytest.raises(ValidationError):
        statement_build(source=ledger, day=business_day_of(timezone.now()) + dt.timedelta(days=1))
    assert not Statement.objects.exists()


def test_a_difference_whose_figures_changed_since_it_was_shown_is_not_resolved_unseen(ledger, finance):
    order = settled(ledger.partner)
    ledger.ledger = [record(order, energy_wh=9_000)]
    line = statement_build(source=ledger, day=DAY).lines.get()
    shown = {"ours": line.ours, "theirs": line.theirs}
    ledger.ledger = [record(order, energy_wh=8_000)]
    statement_build(source=ledger, day=DAY)

    with pytest.raises(ValidationError):
        statement_line_accept(line=line, user=finance, seen=shown)

    line.refresh_from_db()
    assert line.state == LineState.OPEN and not line.actions.exclude(action="reopened").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the day's advisory lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_close_waits_for_a_write_under_way_and_then_sees_it(ledger, django_user_model):
    import threading

    from django.db import connections

    # Not the Finance group: a transactional test's database may have been flushed of the migrations' groups.
    finance = django_user_model.objects.create_user("closer")
    finance.user_permissions.add(Permission.objects.get(codename="close_day"))
    finance = django_user_model.objects.get(pk=finance.pk)
    order = settled(ledger.partner)
    ledger.ledger = [record(order)]
    build_all()
    written, release = threading.Event(), threading.Event()
    outcome = {}

    def write():  # a correction of the day's order, committed only once the close has begun
        try:
            with transaction.atomic():
                Order.objects.filter(pk=order.pk).update(energy_wh=1, updated_at=timezone.now())
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    def close():
        try:
            business_day_close(day=DAY, user=finance)
            outcome["closed"] = True
        except ValidationError as exc:
            outcome["refused"] = exc
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    assert written.wait(10)
    closer = threading.Thread(target=close)
    closer.start()
    closer.join(1.0)
    assert closer.is_alive()  # the close waits for the write under way
    release.set()
    writer.join(10)
    closer.join(10)

    # ... and then sees it: the statement is out of date, so the day does not close over the change.
    assert "refused" in outcome, outcome
    assert not BusinessDay.objects.filter(day=DAY, closed=True).exists()
    assert Order.objects.get(pk=order.pk).energy_wh == 1
