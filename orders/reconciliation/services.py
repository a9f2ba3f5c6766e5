"""Writes of the daily close: building a statement, resolving its differences, closing and reopening a day.

A statement compares one counterparty's records of a business day with our orders, order by order, both
sides read once in order-number order (flat memory however large the day). Building it again finds each
difference again by its (category, key): a resolved one stays resolved while its figures are the same,
and opens again if they changed; an unresolved one that is gone is dropped, a resolved one is kept with
what was done about it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backoffice.days import business_day_of
from orders.models import (
    TERMINAL_STATUSES,
    BusinessDay,
    DayAction,
    DayEvent,
    LineAction,
    LineState,
    Order,
    OrderConflict,
    Statement,
    StatementCategory,
    StatementLine,
)
from orders.models.close import UNRESOLVED_STATES, LineActionKind
from orders.selectors import business_day_closed, orders_of_days
from orders.services.corrections import order_correct

from .sources import CounterpartyRecord, StatementSource, statement_sources

logger = logging.getLogger(__name__)

BATCH = 2000  # orders read, and lines written, at a time


def _refuse_closed(day: date) -> None:
    if business_day_closed(day=day):
        raise ValidationError(
            _("Business day %(day)s is closed: its statements cannot change. Finance can reopen the day, "
              "giving a reason.") % {"day": day.isoformat()},
            code="day_closed",
        )


def _require(user, permission: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the permission this needs (%(permission)s).")
                               % {"permission": permission})


# --- building ---------------------------------------------------------------------------------------------


def _merged(ours: Iterator[Order], theirs: Iterable[CounterpartyRecord]
            ) -> Iterator[tuple[str, Order | None, list[CounterpartyRecord]]]:
    """Both sides side by side by key: (key, our order or None, its records), each key once, in key order."""
    theirs = iter(theirs)
    order = next(ours, None)
    record = next(theirs, None)
    last = None
    while order is not None or record is not None:
        if record is not None and last is not None and record.key < last:
            raise ValueError(f"statement records out of order: {record.key!r} after {last!r}")
        key = min(k for k in (order.order_no if order else None, record.key if record else None) if k is not None)
        records = []
        while record is not None and record.key == key:
            records.append(record)
            last = key
            record = next(theirs, None)
        mine = None
        if order is not None and order.order_no == key:
            mine, order = order, next(ours, None)
        yield key, mine, records


def _distinct(records: list[CounterpartyRecord]) -> list[CounterpartyRecord]:
    """The records without exact copies: the same record (reference and figures) sent twice is one record;
    two records of one order with the same figures under two references are two (billed twice)."""
    seen, distinct = [], []
    for record in records:
        figures = (record.reference, record.energy_wh, record.amount_fen, record.status)
        if figures not in seen:
            seen.append(figures)
            distinct.append(record)
    return distinct


def _differences(source: StatementSource, key: str, order: Order | None, records: list[CounterpartyRecord]):
    """The differences for one key: dicts of the line's fields."""
    def line(category, **fields):
        return {"category": category, "key": key, "order_id": order.pk if order else None, **fields}

    records = _distinct(records)
    if order is None:
        yield line(StatementCategory.MISSING_OURS, reference=records[0].reference, theirs=records[0].figures())
        return
    ours = source.our_figures(order)
    if not records:
        if source.expects(order):
            yield line(StatementCategory.MISSING_THEIRS, ours=ours, detail=source.missing_detail(order)[:500])
        return
    first = records[0]
    theirs = first.figures()
    if len(records) > 1:
        yield line(StatementCategory.DUPLICATE, reference=first.reference, ours=ours,
                   theirs={"records": [record.figures() for record in records]})
    for category, name in ((StatementCategory.ENERGY, "energy_wh"), (source.amount_category, "amount_fen"),
                           (StatementCategory.STATUS, "status")):
        if getattr(first, name) not in (None, "") and ours.get(name) is not None and getattr(first, name) != ours[name]:
            yield line(category, reference=first.reference, ours=ours, theirs=theirs)


def _conflict_lines(source: StatementSource, orders) -> Iterator[dict]:
    """The conflicts recorded on the source's orders of the day, one line each."""
    conflicts = (OrderConflict.objects.filter(order__in=orders).select_related("order")
                 .order_by("order__order_no", "id"))
    with translation.override(settings.LANGUAGE_CODE):
        for conflict in conflicts.iterator(chunk_size=BATCH):
            yield {"category": conflict.kind, "key": f"{conflict.order.order_no}#{conflict.pk}",
                   "order_id": conflict.order_id, "ours": {"conflict": conflict.pk, **conflict.figures},
                   "detail": str(conflict.detail)[:500]}


def statement_build(*, source: StatementSource, day: date, repair: bool = True,
                    now: datetime | None = None) -> Statement:
    """Compare the source's records of `day` with our orders and keep the differences as the day's statement.

    With `repair`, the source first asks its counterparty for what is missing, so that what a dropped push
    left out is fetched back rather than reported. Refused for a closed day.
    """
    now = now or timezone.now()
    if day > business_day_of(now):
        raise ValidationError(_("Business day %(day)s has not begun: there is nothing to compare yet.")
                              % {"day": day.isoformat()}, code="future")
    _refuse_closed(day)
    orders = source.orders(orders_of_days(day_from=day))
    repaired = source.repair(day=day, orders=orders) if repair else None
    ours_iter = (orders.select_related("charger", "connector", "station", "partner").order_by("order_no")
                 .iterator(chunk_size=BATCH))
    totals = {"our_orders": 0, "our_energy_wh": 0, "our_amount_fen": 0,
              "their_orders": 0, "their_energy_wh": 0, "their_amount_fen": 0}
    found: dict[tuple[str, str], dict] = {}
    for key, order, records in _merged(ours_iter, source.records(day=day, orders=orders)):
        if order is not None and (records or source.expects(order)):
            ours = source.our_figures(order)
            totals["our_orders"] += 1
            totals["our_energy_wh"] += ours.get("energy_wh") or 0
            totals["our_amount_fen"] += ours.get("amount_fen") or 0
        if records:
            totals["their_orders"] += 1
            for each in _distinct(records):  # a duplicate counts with every record it has
                totals["their_energy_wh"] += each.energy_wh or 0
                totals["their_amount_fen"] += each.amount_fen or 0
        for difference in _differences(source, key, order, records):
            found[(difference["category"], key)] = difference
    if source.runs_chargers:
        for difference in _conflict_lines(source, orders):
            found[(difference["category"], difference["key"])] = difference
    summary = source.summary(day=day)
    with transaction.atomic():
        _refuse_closed(day)
        statement, _created = Statement.objects.select_for_update().get_or_create(
            counterparty=source.code, day=day, defaults={"built_at": now}
        )
        _lines_merge(statement, found, now=now)
        for name, value in totals.items():
            setattr(statement, name, value)
        statement.built_at = now
        statement.summary = summary
        if repaired is not None:  # a comparison without asking anyone keeps the count of the last repair
            statement.repaired = repaired
        statement.save()
    return statement


def _lines_merge(statement: Statement, found: dict[tuple[str, str], dict], *, now: datetime) -> None:
    existing = {(line.category, line.key): line for line in statement.lines.all()}
    new, reopened, changed = [], [], []
    for identity, difference in found.items():
        figures = {"ours": difference.get("ours", {}), "theirs": difference.get("theirs", {})}
        line = existing.pop(identity, None)
        if line is None:
            new.append(StatementLine(
                statement=statement, category=difference["category"], key=difference["key"],
                order_id=difference.get("order_id"), reference=difference.get("reference", "")[:100],
                detail=difference.get("detail", ""), found_at=now, **figures,
            ))
            continue
        if ({"ours": line.ours, "theirs": line.theirs} == figures and line.detail == difference.get("detail", "")
                and line.state != LineState.GONE):
            continue
        line.ours, line.theirs = figures["ours"], figures["theirs"]
        line.detail = difference.get("detail", "")
        if line.state not in UNRESOLVED_STATES:
            line.state = LineState.OPEN
            reopened.append(line)
        changed.append(line)
    StatementLine.objects.bulk_create(new, batch_size=BATCH)
    StatementLine.objects.bulk_update(changed, ["ours", "theirs", "detail", "state"], batch_size=BATCH)
    LineAction.objects.bulk_create(
        [LineAction(line=line, action=LineActionKind.REOPENED, at=now) for line in reopened], batch_size=BATCH
    )
    # A difference that is gone: dropped if nobody acted on it; kept with what was done about it otherwise
    # (an unresolved one, e.g. sent back and fixed by operations, then says it no longer differs).
    gone = [line for line in existing.values() if line.state != LineState.GONE]
    acted = set(LineAction.objects.filter(line__in=gone).values_list("line_id", flat=True).distinct())
    StatementLine.objects.filter(
        pk__in=[line.pk for line in gone if line.state == LineState.OPEN and line.pk not in acted]
    ).delete()
    settled = [line for line in gone if line.state in UNRESOLVED_STATES and line.pk in acted]
    StatementLine.objects.filter(pk__in=[line.pk for line in settled]).update(state=LineState.GONE)
    LineAction.objects.bulk_create([LineAction(line=line, action=LineActionKind.GONE, at=now) for line in settled])


def statements_build(*, day: date, repair: bool = True) -> list[Statement]:
    """Every registered source's statement of `day`: each repairs first, then compares.

    A closed or future day is refused at once. One source that fails (its counterparty unreachable, a
    record it cannot read) is logged and leaves the others to be built; the failure is raised after them,
    so that the task shows it and the day's page says that source's statement is out of date.
    """
    built, failed = [], None
    for source in statement_sources:
        try:
            built.append(statement_build(source=source, day=day, repair=repair))
        except ValidationError:
            raise
        except Exception as exc:  # one counterparty never holds back the others
            logger.exception("building the %s statement of %s failed", source.code, day)
            failed = failed or exc
    if failed is not None:
        raise failed
    return built


# --- resolving --------------------------------------------------------------------------------------------


def _line_locked(line: StatementLine, seen: dict | None = None) -> StatementLine:
    """The line locked; refused for a closed day, and (given `seen`, the figures the person was shown) if a
    rebuild has changed its figures since."""
    line = (StatementLine.objects.select_for_update(of=("self",)).select_related("statement", "order")
            .get(pk=line.pk))
    _refuse_closed(line.statement.day)
    if seen is not None and {"ours": line.ours, "theirs": line.theirs} != seen:
        raise ValidationError(_("The figures of this difference changed while you looked at it (the statement was "
                                "built again): read them again before you resolve it."), code="changed")
    return line


def _line_resolve(*, line: StatementLine, user, action: str, state: str, comment: str, values: dict | None = None,
                  now: datetime | None = None) -> StatementLine:
    line.state = state
    line.save(update_fields=["state"])
    LineAction.objects.create(line=line, action=action, comment=comment, values=values or {}, user=user,
                              at=now or timezone.now())
    return line


def statement_line_accept(*, line: StatementLine, user, comment: str = "", seen: dict | None = None
                          ) -> StatementLine:
    """Finance takes the difference as it is: our figures go to accounting unchanged.

    `seen` ({"ours": ..., "theirs": ...}) is what the person was shown; the line's figures must still be those.
    """
    _require(user, "orders.resolve_statementline")
    with transaction.atomic():
        line = _line_locked(line, seen)
        return _line_resolve(line=line, user=user, action=LineActionKind.ACCEPTED, state=LineState.ACCEPTED,
                             comment=comment.strip())


def statement_line_send_back(*, line: StatementLine, user, comment: str, seen: dict | None = None
                             ) -> StatementLine:
    """Finance hands the difference to operations (a session to stop, a charger to ask); it stays unresolved."""
    _require(user, "orders.resolve_statementline")
    if not comment.strip():
        raise ValidationError(_("Say what operations should look at: a comment is required."), code="required")
    with transaction.atomic():
        line = _line_locked(line, seen)
        return _line_resolve(line=line, user=user, action=LineActionKind.SENT_BACK, state=LineState.SENT_BACK,
                             comment=comment.strip())


def statement_line_correct(*, line: StatementLine, user, comment: str, energy_wh: int, electricity_fee_fen: int,
                           service_fee_fen: int, seen: dict | None = None) -> StatementLine:
    """Finance corrects the order's figures (energy and our two fees) and says why; both are kept."""
    _require(user, "orders.resolve_statementline")
    if not comment.strip():
        raise ValidationError(_("A correction needs a comment that says why."), code="required")
    with transaction.atomic():
        line = _line_locked(line, seen)
        if line.order is None:
            raise ValidationError(_("This difference names no order of ours: there is nothing to correct. Accept "
                                    "it or send it back to operations."), code="invalid")
        values = order_correct(order=line.order, energy_wh=energy_wh, electricity_fee_fen=electricity_fee_fen,
                               service_fee_fen=service_fee_fen)
        return _line_resolve(line=line, user=user, action=LineActionKind.CORRECTED, state=LineState.CORRECTED,
                             comment=comment.strip(), values=values)


# --- closing ----------------------------------------------------------------------------------------------


def business_day_blockers(*, day: date, now: datetime | None = None) -> list[str]:
    """What keeps `day` from closing, in words; empty when it can be closed."""
    now = now or timezone.now()
    if day >= business_day_of(now):
        return [_("The day has not ended yet.")]
    blockers = []
    orders = orders_of_days(day_from=day)
    running = orders.exclude(status__in=TERMINAL_STATUSES).count()
    if running:
        blockers.append(_("%(count)s orders of the day have not ended or been settled.") % {"count": running})
    statements = {statement.counterparty: statement for statement in Statement.objects.filter(day=day)}
    for source in statement_sources:
        statement = statements.get(source.code)
        if statement is None:
            blockers.append(_("%(source)s: no statement has been built.") % {"source": source.label})
            continue
        mine = source.orders(orders)
        last_change = mine.aggregate(at=Max("updated_at"))["at"]
        last_conflict = OrderConflict.objects.filter(order__in=mine).aggregate(at=Max("recorded_at"))["at"]
        if any(at is not None and at > statement.built_at for at in (last_change, last_conflict)):
            blockers.append(_("%(source)s: orders changed after the statement was built; build it again.")
                            % {"source": source.label})
    unresolved = StatementLine.objects.filter(statement__day=day, state__in=UNRESOLVED_STATES).count()
    if unresolved:
        blockers.append(_("%(count)s differences are not resolved.") % {"count": unresolved})
    return blockers


# The key of a day's advisory lock on PostgreSQL: (DAY_LOCK, days since 2000-01-01). The triggers of
# migration 0011 take it shared for every write of the day's rows; the close takes it exclusive.
DAY_LOCK = 1919
_EPOCH = date(2000, 1, 1)


def _day_lock(day: date) -> None:
    """Wait for the writes of `day` under way to commit, and hold new ones until this transaction ends.

    SQLite needs none: its write transactions (BEGIN IMMEDIATE) already run one at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [DAY_LOCK, (day - _EPOCH).days])


def business_day_close(*, day: date, user, now: datetime | None = None) -> BusinessDay:
    """Close `day`: from now on nobody changes its orders or statements (on PostgreSQL, not even in SQL)."""
    _require(user, "orders.close_day")
    now = now or timezone.now()
    with transaction.atomic():
        _day_lock(day)
        business_day, _created = BusinessDay.objects.select_for_update().get_or_create(day=day)
        if business_day.closed:
            raise ValidationError(_("Business day %(day)s is closed already.") % {"day": day.isoformat()},
                                  code="day_closed")
        blockers = business_day_blockers(day=day, now=now)
        if blockers:
            raise ValidationError(_("Business day %(day)s cannot be closed: %(blockers)s")
                                  % {"day": day.isoformat(), "blockers": " ".join(blockers)}, code="not_ready")
        business_day.closed, business_day.closed_at, business_day.closed_by = True, now, user
        business_day.save()
        DayEvent.objects.create(day=business_day, action=DayAction.CLOSED, user=user, at=now)
    return business_day


def business_day_reopen(*, day: date, user, reason: str, now: datetime | None = None) -> BusinessDay:
    """Reopen a closed day, with the reason on record; a permission of its own."""
    _require(user, "orders.reopen_day")
    if not reason.strip():
        raise ValidationError(_("Reopening a closed day needs a reason."), code="required")
    now = now or timezone.now()
    with transaction.atomic():
        business_day = BusinessDay.objects.select_for_update().filter(day=day).first()
        if business_day is None or not business_day.closed:
            raise ValidationError(_("Business day %(day)s is not closed.") % {"day": day.isoformat()},
                                  code="not_closed")
        business_day.closed = False
        business_day.save(update_fields=["closed"])
        DayEvent.objects.create(day=business_day, action=DayAction.REOPENED, reason=reason.strip(), user=user, at=now)
    return business_day
