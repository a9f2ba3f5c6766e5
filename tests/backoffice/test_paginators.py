"""LargeTablePaginator: exact counts where they are cheap, the planner's estimate past the cap."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.adminkit import LargeTablePaginator
from chargers.models import ChargerEvent
from tests.chargers.factories import ChargerEventFactory, ChargerFactory

pytestmark = pytest.mark.django_db


class CappedAtTen(LargeTablePaginator):
    exact_count_cap = 10


def events(count):
    charger = ChargerFactory()
    ChargerEventFactory.create_batch(count, charger=charger)
    return ChargerEvent.objects.select_related("charger").order_by("-device_time", "-id")


def explains(captured):
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("EXPLAIN")]


def test_counts_exactly_up_to_the_cap_on_every_database():
    queryset = events(7)

    with CaptureQueriesContext(connection) as captured:
        count = CappedAtTen(queryset, per_page=5).count

    assert count == 7
    assert explains(captured) == []


def test_counts_exactly_at_the_cap_on_every_database():
    queryset = events(10)

    assert CappedAtTen(queryset, per_page=5).count == 10


def test_beyond_the_cap_estimates_on_postgresql_and_counts_exactly_elsewhere():
    # Given 25 rows and a cap of 10
    queryset = events(25)

    # When the paginator counts
    with CaptureQueriesContext(connection) as captured:
        count = CappedAtTen(queryset, per_page=5).count

    # Then PostgreSQL stops counting at cap + 1 and answers from the planner, never below cap + 1;
    # SQLite counts every row
    if connection.vendor == "postgresql":
        assert count >= 11
        assert "LIMIT 11" in captured.captured_queries[0]["sql"]
        assert len(explains(captured)) == 1
        # With fresh statistics the planner's estimate of this table is its true size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE chargers_chargerevent")
        assert CappedAtTen(queryset, per_page=5).count == 25
    else:
        assert count == 25
        assert explains(captured) == []


def test_the_count_is_computed_once_per_paginator():
    paginator = CappedAtTen(events(25), per_page=5)
    first = paginator.count

    with CaptureQueriesContext(connection) as captured:
        again = paginator.count
        pages = paginator.num_pages

    assert again == first
    assert pages >= 5
    assert captured.captured_queries == []


def test_the_default_cap_counts_a_small_table_exactly_and_pages_it():
    paginator = LargeTablePaginator(events(25), per_page=10)

    assert paginator.count == 25
    assert paginator.num_pages == 3
    assert len(paginator.page(3).object_list) == 5


def test_a_plain_list_is_counted_like_djangos_paginator():
    assert CappedAtTen(list(range(25)), per_page=10).count == 25
