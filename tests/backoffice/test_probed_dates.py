"""The probed date hierarchy: the admin's year/month/day drill-down from index probes, never a scan."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.adminkit import with_probed_dates
from chargers.models import ChargerEvent
from tests.chargers.factories import ChargerEventFactory, ChargerFactory

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")


def beijing(*args):
    return dt.datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def events_around_midnights():
    """Events on both sides of Beijing's year, month and day boundaries (UTC disagrees on each)."""
    charger = ChargerFactory()
    moments = [
        beijing(2024, 6, 30, 12, 0),
        beijing(2025, 12, 31, 23, 59),
        beijing(2026, 1, 1, 0, 1),
        beijing(2026, 1, 1, 7, 59),
        beijing(2026, 2, 28, 23, 30),
        beijing(2026, 3, 1, 0, 30),
        beijing(2026, 3, 1, 8, 0),
    ]
    for moment in moments:
        ChargerEventFactory(charger=charger, device_time=moment)
    return ChargerEvent.objects.all()


@pytest.mark.parametrize("kind", ["year", "month", "day"])
@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize(
    "window",
    [{}, {"device_time__gte": beijing(2026, 1, 1), "device_time__lt": beijing(2027, 1, 1)}],
    ids=["all", "year-2026"],
)
def test_probed_datetimes_equal_djangos_distinct_datetimes(events_around_midnights, kind, order, window):
    queryset = events_around_midnights.filter(**window)

    probed = with_probed_dates(queryset).datetimes("device_time", kind, order)

    assert list(probed) == list(queryset.datetimes("device_time", kind, order))


def test_probed_datetimes_of_an_empty_queryset_are_empty():
    assert with_probed_dates(ChargerEvent.objects.all()).datetimes("device_time", "month") == []


def test_probed_datetimes_read_bounds_and_probes_in_two_queries_without_distinct(events_around_midnights):
    queryset = with_probed_dates(events_around_midnights.filter(device_time__gte=beijing(2026, 1, 1)))

    with CaptureQueriesContext(connection) as captured:
        days = queryset.datetimes("device_time", "day")

    assert [(d.year, d.month, d.day) for d in days] == [(2026, 1, 1), (2026, 2, 28), (2026, 3, 1)]
    assert len(captured.captured_queries) == 2
    assert not any("DISTINCT" in q["sql"].upper() for q in captured.captured_queries)


def test_the_probed_queryset_is_still_the_same_rows_and_class_family(events_around_midnights):
    probed = with_probed_dates(events_around_midnights.filter(charger__isnull=False))

    assert isinstance(probed, type(events_around_midnights))
    assert list(probed.filter(device_time__year=2026)) == list(events_around_midnights.filter(device_time__year=2026))
