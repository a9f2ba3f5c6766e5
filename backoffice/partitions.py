"""Tables that grow by tens of millions of rows a day: one partition per business day on PostgreSQL, and a
retention that drops whole days instead of deleting rows.

At 50,000 connectors the inbox and the order samples each grow by about 72 million rows a day. Deleting
expired rows from one table that size would cost as much as writing them; dropping a day's partition costs
a catalogue change. So on PostgreSQL such a table is declaratively partitioned by range on a day column (or a
time column, cut at midnight Asia/Shanghai), one partition per business day, plus a default partition that
takes a row no day partition covers (a clock far off, a day not created yet), so that an insert never fails
for want of a partition.

An app registers its table in its `AppConfig.ready` (`partition_register`), and its migration converts the
table (`partition_convert`). The scheduled task (`partitions_maintain`) then creates the coming days'
partitions ahead of time (a day whose rows already went to the default partition is moved out of it first),
and drops, or detaches into the `partition_archive` schema, the days past the table's retention. The rows of
such a day its table must keep (`hold`: pushes not applied yet, or failed and awaiting a replay) move to the
default partition first and wait there, so that no day is kept for a few rows; expired rows in the default
partition are deleted one by one once nothing holds them. On SQLite, or on a PostgreSQL table not yet
converted, the same retention deletes the expired rows in batches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from backoffice.days import BEIJING, business_day_bounds, business_day_of

logger = logging.getLogger(__name__)

ARCHIVE_SCHEMA = "partition_archive"
# Rows deleted by one statement where a retention deletes rows (SQLite, the default partition).
DELETE_BATCH = 10_000
# How long partition maintenance waits for a lock on a busy table before it gives up until its next run,
# rather than queueing every insert behind it.
LOCK_TIMEOUT = "5s"


def day_bounds(day: date, *, by_time: bool) -> tuple:
    """[day, day + 1) as the bounds of a partition on a date column, or on a moment column (`by_time`, cut at
    Beijing midnight)."""
    return business_day_bounds(day) if by_time else (day, day + timedelta(days=1))


@dataclass(frozen=True)
class PartitionedTable:
    """A table partitioned by business day: the model, the column that says the day, how long rows are kept
    (the name of the setting, in days), and which rows outlive their day (`hold`: moved to the default partition
    when the day expires, deleted once nothing holds them)."""

    label: str
    column: str
    retention_setting: str
    hold: Q | None = None

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def retention_days(self) -> int:
        return getattr(settings, self.retention_setting)

    def by_time(self) -> bool:
        """Whether the column is a moment (cut at Beijing midnight) rather than a date."""
        return isinstance(self.model._meta.get_field(self.column), models.DateTimeField)

    def bounds(self, day: date) -> tuple:
        """The partition bounds of `day`: [day, day + 1) in the column's own type."""
        return day_bounds(day, by_time=self.by_time())

    def partition_name(self, day: date) -> str:
        return f"{self.table}_p{day:%Y%m%d}"

    @property
    def default_name(self) -> str:
        return f"{self.table}_default"


_REGISTRY: dict[str, PartitionedTable] = {}


EXPIRED_ACTIONS = ("drop", "detach")


@checks.register(checks.Tags.compatibility)
def partition_settings_check(app_configs=None, **kwargs):
    errors = []
    if settings.PARTITION_EXPIRED_ACTION not in EXPIRED_ACTIONS:
        errors.append(checks.Error(f"PARTITION_EXPIRED_ACTION must be one of {', '.join(EXPIRED_ACTIONS)}, not "
                                   f"{settings.PARTITION_EXPIRED_ACTION!r}.", id="backoffice.E101"))
    for spec in partitioned_tables():
        if spec.retention_days < 1:
            errors.append(checks.Error(f"{spec.retention_setting} must be at least 1 day.", id="backoffice.E102"))
    if settings.PARTITION_DAYS_AHEAD < 1:
        errors.append(checks.Error("PARTITION_DAYS_AHEAD must be at least 1 day.", id="backoffice.E103"))
    return errors


def partition_register(*, label: str, column: str, retention_setting: str, hold: Q | None = None) -> None:
    _REGISTRY[label] = PartitionedTable(label=label, column=column, retention_setting=retention_setting, hold=hold)


def partitioned_tables() -> list[PartitionedTable]:
    return list(_REGISTRY.values())


def partitioned_table(label: str) -> PartitionedTable:
    return _REGISTRY[label]


@dataclass
class Maintained:
    """What one run of `partitions_maintain` did to one table."""

    table: str
    partitioned: bool
    created: list[str] = field(default_factory=list)
    moved_from_default: int = 0
    expired: list[str] = field(default_factory=list)
    moved_to_default: int = 0
    rows_deleted: int = 0
    busy: list[str] = field(default_factory=list)


# --- reading the catalogue ------------------------------------------------------------------------------------


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
                       [connection.ops.quote_name(table)])
        return cursor.fetchone() is not None


def partitions_of(table: str) -> list[str]:
    """The names of `table`'s partitions (the default one included), sorted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [connection.ops.quote_name(table)],
        )
        return [row[0] for row in cursor.fetchall()]


def day_partitions(spec: PartitionedTable) -> dict[date, str]:
    """`spec`'s day partitions by day, read from their names (`<table>_pYYYYMMDD`, as they are made here)."""
    prefix = f"{spec.table}_p"
    days = {}
    for name in partitions_of(spec.table):
        if name.startswith(prefix):
            days[datetime.strptime(name[len(prefix):], "%Y%m%d").date()] = name  # noqa: DTZ007 (a date)
    return days


# --- making and dropping days -----------------------------------------------------------------------------


def partition_literal(value) -> str:
    """A bound as SQL: partition bounds are part of the DDL, which takes no parameters."""
    if isinstance(value, datetime):
        return f"'{value.astimezone(BEIJING).isoformat()}'::timestamptz"
    return f"'{value.isoformat()}'::date"


def _lock_timeout(cursor) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


def partition_create(*, spec: PartitionedTable, day: date) -> int | None:
    """Create `day`'s partition of `spec`'s table; None when it exists, else the rows moved into it.

    A row of that day already in the default partition (its partition did not exist when it came) would make
    a plain `CREATE TABLE ... PARTITION OF` fail, so such rows move into the new table first, which is then
    attached; in one transaction, so no row is ever in neither.
    """
    if day in day_partitions(spec):
        return None
    qn = connection.ops.quote_name
    parent, name, default = qn(spec.table), qn(spec.partition_name(day)), qn(spec.default_name)
    low, high = (partition_literal(bound) for bound in spec.bounds(day))
    column = qn(spec.column)
    in_day = f"{column} >= {low} AND {column} < {high}"
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_timeout(cursor)
        # No row of that day may reach the default partition between the look and the new table.
        cursor.execute(f"LOCK TABLE {default} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_day})")  # noqa: S608
        if not cursor.fetchone()[0]:
            cursor.execute(f"CREATE TABLE {name} PARTITION OF {parent} FOR VALUES FROM ({low}) TO ({high})")
            return 0
        cursor.execute(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(f"WITH moved AS (DELETE FROM {default} WHERE {in_day} RETURNING *)"  # noqa: S608
                       f" INSERT INTO {name} SELECT * FROM moved")
        moved = cursor.rowcount
        cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})")
    logger.warning("%s: %d rows of %s moved out of the default partition into their day's", spec.table, moved, day)
    return moved


def partition_expire(*, spec: PartitionedTable, day: date, action: str) -> int:
    """Drop `day`'s partition, or with `action` "detach" keep it as a table of the archive schema; how many of its
    rows moved to the default partition first because something still holds them (`spec.hold`: pushes not applied
    yet, or failed and awaiting a replay), where they wait until nothing does.

    The held rows are locked before the day is detached, so none changes between the look and the move; once
    detached, no partition covers the day, so what is put back into the table lands in the default partition.
    """
    qn = connection.ops.quote_name
    parent, name = qn(spec.table), qn(spec.partition_name(day))
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_timeout(cursor)
        held = _held_in(spec, day)
        cursor.execute(f"ALTER TABLE {parent} DETACH PARTITION {name}")
        if held:
            pk = qn(spec.model._meta.pk.column)
            cursor.execute(f"WITH moved AS (DELETE FROM {name} WHERE {pk} = ANY(%s) RETURNING *)"  # noqa: S608
                           f" INSERT INTO {parent} SELECT * FROM moved", [held])
        if action == "detach":
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {qn(ARCHIVE_SCHEMA)}")
            cursor.execute(f"ALTER TABLE {name} SET SCHEMA {qn(ARCHIVE_SCHEMA)}")
        else:
            cursor.execute(f"DROP TABLE {name}")
    return len(held)


def _expired_rows(spec: PartitionedTable, cutoff) -> models.QuerySet:
    rows = spec.model._base_manager.filter(**{f"{spec.column}__lt": cutoff})
    return rows.exclude(spec.hold) if spec.hold is not None else rows


def rows_expire(*, spec: PartitionedTable, cutoff) -> int:
    """Delete `spec`'s rows before `cutoff` that nothing holds, in batches; how many.

    Rows, not days: where the table is one table (SQLite), and for what a dropped day cannot take (the
    default partition). A raw delete: nothing refers to these rows by a constraint.
    """
    deleted = 0
    while True:
        batch = list(_expired_rows(spec, cutoff).values_list("pk", flat=True)[:DELETE_BATCH])
        if not batch:
            return deleted
        rows = _expired_rows(spec, cutoff).filter(pk__in=batch)  # what became held meanwhile stays
        deleted += rows._raw_delete(rows.db)


def _held_in(spec: PartitionedTable, day: date) -> list:
    """The ids of `day`'s rows that `spec.hold` keeps, locked until the transaction ends."""
    if spec.hold is None:
        return []
    low, high = spec.bounds(day)
    rows = spec.model._base_manager.filter(spec.hold, **{f"{spec.column}__gte": low, f"{spec.column}__lt": high})
    return list(rows.select_for_update().values_list("pk", flat=True))


def first_kept_day(*, spec: PartitionedTable, today: date) -> date:
    """The first day `spec`'s retention keeps: its `retention_days` days up to `today`."""
    return today - timedelta(days=spec.retention_days - 1)


def retention_cutoff(*, spec: PartitionedTable, today: date):
    """The first day kept (its start, in the column's type): the `retention_days` days up to `today`."""
    return spec.bounds(first_kept_day(spec=spec, today=today))[0]


def table_maintain(*, spec: PartitionedTable, today: date) -> Maintained:
    """Create `spec`'s partitions from yesterday to PARTITION_DAYS_AHEAD days ahead, expire the days past
    its retention; on a table that is not partitioned, delete its expired rows."""
    cutoff = retention_cutoff(spec=spec, today=today)
    if not is_partitioned(spec.table):
        return Maintained(table=spec.table, partitioned=False, rows_deleted=rows_expire(spec=spec, cutoff=cutoff))
    done = Maintained(table=spec.table, partitioned=True)
    first_kept = first_kept_day(spec=spec, today=today)
    for offset in range(-1, settings.PARTITION_DAYS_AHEAD + 1):
        day = today + timedelta(days=offset)
        if day < first_kept:
            continue
        try:
            moved = partition_create(spec=spec, day=day)
        except DatabaseError as error:
            if not _lock_busy(error):
                raise
            done.busy.append(spec.partition_name(day))
            continue
        if moved is not None:
            done.created.append(spec.partition_name(day))
            done.moved_from_default += moved
    for day, name in sorted(day_partitions(spec).items()):
        if day >= first_kept:
            continue
        try:
            done.moved_to_default += partition_expire(spec=spec, day=day, action=settings.PARTITION_EXPIRED_ACTION)
        except DatabaseError as error:
            if not _lock_busy(error):
                raise
            done.busy.append(name)
            continue
        done.expired.append(name)
    # The default partition: what is expired in it goes row by row.
    done.rows_deleted = rows_expire(spec=spec, cutoff=cutoff)
    return done


def _lock_busy(error: Exception) -> bool:
    """Whether `error` is the lock timeout: the table was busy, the next run tries again."""
    cause = getattr(error, "__cause__", None)
    return getattr(cause, "sqlstate", None) == "55P03"


def partitions_maintain(*, today: date | None = None) -> list[Maintained]:
    """Partition maintenance of every registered table (the scheduled task's work); what was done.

    A table that fails is logged and the others are still maintained; the run then fails, naming it.
    """
    today = today or business_day_of(timezone.now())
    done, failed = [], []
    for spec in partitioned_tables():
        try:
            result = table_maintain(spec=spec, today=today)
        except DatabaseError:
            logger.exception("%s: partition maintenance failed", spec.table)
            failed.append(spec.table)
            continue
        if result.moved_to_default:
            logger.warning("%s: %d rows of expired days still needed, moved to the default partition", spec.table,
                           result.moved_to_default)
        if result.busy:
            logger.warning("%s: busy, left for the next run: %s", spec.table, ", ".join(result.busy))
        done.append(result)
    if failed:
        raise DatabaseError(f"partition maintenance failed for {', '.join(failed)}; the others were maintained")
    return done


# --- converting a table (migrations) ---------------------------------------------------------------------------


def partition_convert(*, schema_editor, model: type[models.Model], column: str, days_ahead: int = 7) -> None:
    """Rebuild `model`'s table (the migration's historical model) as partitioned by day on `column`, keeping its
    rows, its columns, its indexes and constraints under Django's names; PostgreSQL only.

    PostgreSQL wants the partition column in the primary key and in every unique constraint, and an identity
    column cannot be partitioned before PostgreSQL 17: the primary key becomes (id, column) and the id a plain
    sequence. Nothing may refer to the table by a foreign key (no unique id alone to refer to).
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    opts = model._meta
    table = opts.db_table
    pk = opts.pk
    spec = PartitionedTable(label=opts.label, column=column, retention_setting="")
    old, sequence = f"{table}_unpartitioned", f"{table}_{pk.column}_seq"
    key_field = opts.get_field(column)
    execute = schema_editor.execute

    execute(f"ALTER TABLE {qn(table)} RENAME TO {qn(old)}")
    # The old table's indexes and constraints keep their names until it is dropped: rename them out of the way.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s)", [qn(old)])
        constraints = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [old])
        indexes = [row[0] for row in cursor.fetchall()]
    for name in constraints:
        execute(f"ALTER TABLE {qn(old)} RENAME CONSTRAINT {qn(name)} TO {qn('old_' + name[:59])}")
    for name in indexes:
        execute(f"ALTER INDEX IF EXISTS {qn(name)} RENAME TO {qn('old_' + name[:59])}")

    execute(f"ALTER SEQUENCE IF EXISTS {qn(sequence)} RENAME TO {qn('old_' + sequence[:59])}")
    execute(f"CREATE SEQUENCE {qn(sequence)}")
    columns = []
    for fld in opts.local_concrete_fields:
        if fld is pk:
            columns.append(f"{qn(fld.column)} bigint NOT NULL DEFAULT nextval('{sequence}')")
            continue
        definition, params = schema_editor.column_sql(model, fld, include_default=False)
        check = fld.db_parameters(connection=schema_editor.connection)["check"]
        if check:
            definition += f" CHECK ({check})"
        columns.append(f"{qn(fld.column)} {definition % tuple(schema_editor.quote_value(p) for p in params)}")
    columns.append(f"PRIMARY KEY ({qn(pk.column)}, {qn(key_field.column)})")
    execute(f"CREATE TABLE {qn(table)} ({', '.join(columns)}) PARTITION BY RANGE ({qn(key_field.column)})")
    execute(f"ALTER SEQUENCE {qn(sequence)} OWNED BY {qn(table)}.{qn(pk.column)}")
    execute(f"CREATE TABLE {qn(spec.default_name)} PARTITION OF {qn(table)} DEFAULT")

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT min({qn(key_field.column)}), max({qn(key_field.column)}) FROM {qn(old)}")  # noqa: S608
        first, last = cursor.fetchone()
    today = business_day_of(timezone.now())
    by_time = isinstance(key_field, models.DateTimeField)
    first_day = (business_day_of(first) if by_time else first) if first is not None else today
    last_day = max((business_day_of(last) if by_time else last) if last is not None else today, today)
    day = min(first_day, today - timedelta(days=1))
    while day <= last_day + timedelta(days=days_ahead):
        low, high = (partition_literal(bound) for bound in day_bounds(day, by_time=by_time))
        execute(f"CREATE TABLE {qn(spec.partition_name(day))} PARTITION OF {qn(table)}"
                f" FOR VALUES FROM ({low}) TO ({high})")
        day += timedelta(days=1)

    names = ", ".join(qn(fld.column) for fld in opts.local_concrete_fields)
    execute(f"INSERT INTO {qn(table)} ({names}) SELECT {names} FROM {qn(old)}")  # noqa: S608
    execute(f"SELECT setval('{sequence}', coalesce((SELECT max({qn(pk.column)}) FROM {qn(table)}), 0) + 1,"  # noqa: S608
            " false)")
    execute(f"DROP TABLE {qn(old)}")  # refused if anything still depends on it: nothing may be lost with it

    for statement in schema_editor._model_indexes_sql(model):
        execute(statement)
    for constraint in opts.constraints:
        execute(constraint.create_sql(model, schema_editor))
    for fld in opts.local_concrete_fields:
        if fld.remote_field and fld.db_constraint:
            execute(schema_editor._create_fk_sql(model, fld, "_fk_%(to_table)s_%(to_column)s"))


def partition_revert(*, schema_editor, model: type[models.Model]) -> None:
    """Undo `partition_convert`: `model`'s table as one plain table again, its rows kept (a migration's reverse)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    opts = model._meta
    table, kept = opts.db_table, f"{opts.db_table}_kept"
    names = ", ".join(qn(fld.column) for fld in opts.local_concrete_fields)
    execute = schema_editor.execute
    execute(f"CREATE TEMPORARY TABLE {qn(kept)} AS SELECT {names} FROM {qn(table)}")  # noqa: S608
    execute(f"DROP TABLE {qn(table)} CASCADE")
    schema_editor.create_model(model)
    execute(f"INSERT INTO {qn(table)} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM {qn(kept)}")  # noqa: S608
    execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{opts.pk.column}'),"  # noqa: S608
            f" coalesce((SELECT max({qn(opts.pk.column)}) FROM {qn(table)}), 0) + 1, false)")
    execute(f"DROP TABLE {qn(kept)}")
