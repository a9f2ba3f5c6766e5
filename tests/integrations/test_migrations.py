"""Partitioning the inbox is a migration that can be undone with the rows kept, even after dedupe keys have held
per day only: the reverse leaves one first arrival per key, as a key unique across days wants."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backoffice.days import BEIJING

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("integrations", "0007_history")]
NOON = dt.datetime(2026, 11, 20, 12, tzinfo=BEIJING)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def leaf():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def partitioned():
    apps = migrate(leaf())
    yield apps
    migrate(leaf())


def test_undoing_the_partitioning_keeps_every_row_and_one_first_arrival_per_key(partitioned):
    inbound = partitioned.get_model("integrations", "InboundMessage")

    def push(at, **fields):
        fields = {"status": "processed", **fields}
        return inbound.objects.create(vendor="tomda", kind="WORK_DATA", body="{}", received_at=at,
                                      received_day=at.date(), **fields).pk

    # Given a key first arrived on two days (a copy a day late), and a duplicate whose first arrival expired
    first = push(NOON, dedupe_key="K1")
    again = push(NOON + dt.timedelta(days=1), dedupe_key="K1")
    other = push(NOON + dt.timedelta(days=1), dedupe_key="K2")
    orphan = push(NOON + dt.timedelta(days=2), dedupe_key="K3", status="duplicate", duplicate_of_id=10**9)

    # When the migration is undone
    before = migrate(BEFORE)

    # Then the table is one plain table again, every row in it; the later arrival gave its key up
    inbound = before.get_model("integrations", "InboundMessage")
    rows = dict(inbound.objects.values_list("pk", "dedupe_key"))
    assert rows == {first: "K1", again: "", other: "K2", orphan: "K3"}
    assert inbound.objects.get(pk=orphan).duplicate_of_id is None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'integrations_inboundmessage'"
                           "::regclass")
            assert cursor.fetchone() is None

    # And it converts again, the rows kept
    after = migrate(leaf())
    assert after.get_model("integrations", "InboundMessage").objects.count() == 4
