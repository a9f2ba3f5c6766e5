"""The inbox and the order samples by business day: partitions made ahead, rows of a day not made yet moved into
it, days past their retention dropped or archived (the pushes still needed moved to the default partition first),
and on a table that is not partitioned the same retention by deleting rows."""

import datetime as dt
import re

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.days import BEIJING, business_day_of
from backoffice.partitions import (
    ARCHIVE_SCHEMA,
    day_partitions,
    is_partitioned,
    partition_create,
    partitioned_table,
    rows_expire,
    table_maintain,
)
from integrations.inbox.receiver import DEDUPE_CARRY, inbound_dedupe_holder, inbound_insert
from integrations.models import Counterparty, InboundMessage, InboundStatus
from orders.models import OrderSample
from orders.selectors import SAMPLE_CLOCK_SLACK, order_samples
from tests.integrations.factories import InboundMessageFactory
from tests.orders.factories import OrderFactory, OrderSampleFactory

pytestmark = pytest.mark.django_db
postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's")

INBOX = "integrations.InboundMessage"
SAMPLES = "orders.OrderSample"
TODAY = business_day_of(timezone.now())


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=BEIJING)


def partition_holding(model, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else ""


def days_from(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}


@postgresql
def test_after_migrate_both_tables_are_partitioned_by_day_from_yesterday_to_a_week_ahead():
    for label in (INBOX, SAMPLES):
        spec = partitioned_table(label)
        assert is_partitioned(spec.table)
        assert days_from(TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=7)) <= set(day_partitions(spec))


@postgresql
def test_a_push_and_a_sample_land_in_the_partition_of_the_day_they_were_received():
    message = InboundMessageFactory()
    sample = OrderSampleFactory()

    assert partition_holding(InboundMessage, message.pk) == f"integrations_inboundmessage_p{TODAY:%Y%m%d}"
    assert partition_holding(OrderSample, sample.pk) == f"orders_ordersample_p{TODAY:%Y%m%d}"


@postgresql
def test_maintenance_makes_the_coming_days_and_moves_a_days_early_rows_out_of_the_default_partition(settings):
    # Given a push received on a day whose partition does not exist yet: it went to the default partition
    later = TODAY + dt.timedelta(days=20)
    early = InboundMessageFactory(received_at=at_noon(later))
    assert partition_holding(InboundMessage, early.pk) == "integrations_inboundmessage_default"

    # When maintenance runs on the day before it, a week ahead
    done = table_maintain(spec=partitioned_table(INBOX), today=later - dt.timedelta(days=1))

    # Then every day up to a week after is there, and the early row sits in its own day
    assert days_from(later - dt.timedelta(days=2), later + dt.timedelta(days=6)) <= set(
        day_partitions(partitioned_table(INBOX)))
    assert f"integrations_inboundmessage_p{later:%Y%m%d}" in done.created
    assert done.moved_from_default == 1
    assert partition_holding(InboundMessage, early.pk) == f"integrations_inboundmessage_p{later:%Y%m%d}"
    # and a second run finds nothing to do
    again = table_maintain(spec=partitioned_table(INBOX), today=later - dt.timedelta(days=1))
    assert (again.created, again.expired, again.moved_from_default) == ([], [], 0)


@postgresql
def test_days_past_retention_are_dropped_and_the_pushes_still_needed_wait_in_the_default_partition(settings):
    settings.INBOX_RETENTION_DAYS = 3
    spec = partitioned_table(INBOX)
    old, kept = (TODAY - dt.timedelta(days=n) for n in (5, 2))
    for day in (old, kept):
        partition_create(spec=spec, day=day)
    applied = InboundMessageFactory(received_at=at_noon(old))
    waiting = InboundMessageFactory(received_at=at_noon(old), status=InboundStatus.RECEIVED)
    failed = InboundMessageFactory(received_at=at_noon(old), status=InboundStatus.FAILED, attempts=5)
    recent = InboundMessageFactory(received_at=at_noon(kept))

    done = table_maintain(spec=spec, today=TODAY)

    # Then the day is gone, whatever it held: what still waits (not applied yet, or failed and awaiting a replay)
    # moved to the default partition, the rest went with the day
    assert f"integrations_inboundmessage_p{old:%Y%m%d}" in done.expired
    assert old not in day_partitions(spec)
    assert done.moved_to_default == 2
    assert set(InboundMessage.objects.values_list("pk", flat=True)) == {waiting.pk, failed.pk, recent.pk}
    assert {partition_holding(InboundMessage, pk) for pk in (waiting.pk, failed.pk)} == {
        "integrations_inboundmessage_default"}
    assert applied.pk not in set(InboundMessage.objects.values_list("pk", flat=True))

    # When the failed push is replayed and applied, the next run deletes it from the default partition
    InboundMessage.objects.filter(pk=failed.pk).update(status=InboundStatus.PROCESSED)
    again = table_maintain(spec=spec, today=TODAY)
    assert again.rows_deleted == 1
    assert set(InboundMessage.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}


@postgresql
def test_an_expired_day_can_be_detached_into_the_archive_schema_instead_of_dropped(settings):
    settings.SAMPLES_RETENTION_DAYS = 2
    settings.PARTITION_EXPIRED_ACTION = "detach"
    spec = partitioned_table(SAMPLES)
    old = TODAY - dt.timedelta(days=4)
    partition_create(spec=spec, day=old)
    sample = OrderSampleFactory()
    OrderSample.objects.filter(pk=sample.pk).update(received_at=at_noon(old))

    done = table_maintain(spec=spec, today=TODAY)

    name = f"orders_ordersample_p{old:%Y%m%d}"
    assert name in done.expired
    assert not OrderSample.objects.filter(pk=sample.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {ARCHIVE_SCHEMA}.{name} WHERE id = %s", [sample.pk])  # noqa: S608
        assert cursor.fetchone()[0] == 1


@postgresql
def test_an_orders_samples_are_read_from_the_partition_of_the_day_they_were_received():
    order = OrderFactory()
    OrderSampleFactory.create_batch(3, order=order)
    order.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        rows = list(order_samples(order=order))
    plan = "\n".join(row[0] for row in connection.cursor().execute(
        f"EXPLAIN {queries.captured_queries[0]['sql']}").fetchall())  # noqa: S608

    # Then only the days from its creation (less the clocks' slack) to its last sample are read: one, or two
    # just after midnight
    scanned = set(re.findall(r" on (orders_ordersample_p\d{8})", plan))
    first, last = (business_day_of(moment) for moment in (order.created_at - SAMPLE_CLOCK_SLACK, order.samples_until))
    assert len(rows) == 3
    assert scanned == {f"orders_ordersample_p{day:%Y%m%d}" for day in days_from(first, last)}, plan
    assert len(scanned) <= 2


def test_retention_by_rows_deletes_expired_rows_and_keeps_those_held(settings):
    # The way a table that is not partitioned (SQLite) keeps its retention; on PostgreSQL it takes what a dropped
    # day cannot: the default partition
    spec = partitioned_table(INBOX)
    long_ago = TODAY - dt.timedelta(days=40)
    expired = InboundMessageFactory.create_batch(3, received_at=at_noon(long_ago))
    waiting = InboundMessageFactory(received_at=at_noon(long_ago), status=InboundStatus.FAILED)
    recent = InboundMessageFactory()

    deleted = rows_expire(spec=spec, cutoff=TODAY - dt.timedelta(days=29))

    assert deleted == len(expired)
    assert set(InboundMessage.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the plain table's retention (SQLite)")
def test_on_a_plain_table_maintenance_deletes_the_rows_past_retention(settings):
    settings.SAMPLES_RETENTION_DAYS = 10
    old = OrderSampleFactory()
    OrderSample.objects.filter(pk=old.pk).update(received_at=at_noon(TODAY - dt.timedelta(days=10)))
    new = OrderSampleFactory()

    done = table_maintain(spec=partitioned_table(SAMPLES), today=TODAY)

    assert (done.partitioned, done.rows_deleted) == (False, 1)
    assert list(OrderSample.objects.values_list("pk", flat=True)) == [new.pk]


def inbox_row(received_at, key="WORK_DATA:1012300001:1:20261202100000"):
    return inbound_insert(vendor=Counterparty.TOMDA, kind="WORK_DATA", dedupe_key=key, received_at=received_at,
                          status=InboundStatus.RECEIVED)


def test_a_dedupe_key_is_held_across_midnight_by_the_first_arrival_of_the_day_before():
    # Given a push received one second before midnight
    midnight = dt.datetime.combine(TODAY, dt.time(), tzinfo=BEIJING)
    first = inbox_row(midnight - dt.timedelta(seconds=1))

    # When its copy comes two seconds later, on the next business day
    copy = inbox_row(midnight + dt.timedelta(seconds=1))
    holder = inbound_dedupe_holder(vendor=Counterparty.TOMDA, key="WORK_DATA:1012300001:1:20261202100000",
                                   received_at=midnight + dt.timedelta(seconds=1))

    # Then the copy is not stored as a first arrival, and the first one is found holding its key
    assert first is not None
    assert copy is None
    assert holder == first


def test_past_the_first_hours_of_a_day_the_day_before_no_longer_holds_a_key():
    # Given a push received one second before midnight
    midnight = dt.datetime.combine(TODAY, dt.time(), tzinfo=BEIJING)
    first = inbox_row(midnight - dt.timedelta(seconds=1))

    # When the same push comes again just after the carry window of the next day
    later = midnight + DEDUPE_CARRY + dt.timedelta(seconds=1)
    holder = inbound_dedupe_holder(vendor=Counterparty.TOMDA, key="WORK_DATA:1012300001:1:20261202100000",
                                   received_at=later)
    again = inbox_row(later)

    # Then it is stored as news of its own (vendors re-send within minutes, not hours)
    assert holder is None
    assert again is not None and again != first


def test_the_scheduled_task_maintains_every_registered_table_and_reports_it():
    from backoffice.tasks import partitions_maintain

    done = partitions_maintain()

    assert {result["table"] for result in done} == {"integrations_inboundmessage", "orders_ordersample"}
    assert {result["partitioned"] for result in done} == {connection.vendor == "postgresql"}


def test_a_table_whose_maintenance_fails_leaves_the_others_maintained_and_fails_the_run(monkeypatch, caplog):
    from backoffice import partitions

    maintain = partitions.table_maintain
    seen = []

    def failing_for_the_first(*, spec, today):
        seen.append(spec.table)
        if len(seen) == 1:
            raise DatabaseError("partition constraint of default partition would be violated")
        return maintain(spec=spec, today=today)

    monkeypatch.setattr(partitions, "table_maintain", failing_for_the_first)

    with pytest.raises(DatabaseError) as failed:
        partitions.partitions_maintain()

    # Then the table after it was maintained all the same, and the run names the one that failed
    assert sorted(seen) == ["integrations_inboundmessage", "orders_ordersample"]
    assert seen[0] in str(failed.value) and seen[1] not in str(failed.value)
    assert f"{seen[0]}: partition maintenance failed" in caplog.text
