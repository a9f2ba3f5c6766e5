"""What a device took by itself (coins, offline cards): its running totals kept reading by reading, what each
adds since the last one counted (a counter that fell, a reset or a repair, is a new baseline adding nothing),
and a day's sum by device with its resets."""

import datetime as dt

import pytest

from chargers.models import OfflineRevenueReading, Vendor
from chargers.selectors import offline_revenue_between
from chargers.services import charger_offline_revenue_record
from tests.chargers.factories import ChargerFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing time
HOUR = dt.timedelta(hours=1)
DAY = dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC)  # 2026-11-21 00:00 Beijing time
RECEIVED = dt.datetime(2026, 11, 22, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def device(db):
    return ChargerFactory(vendor=Vendor.WANZHUANG, serial="19285526", station=StationFactory(name="科技园电单车站"))


def record(charger, at, coin, card, *, received_at=RECEIVED):
    return charger_offline_revenue_record(charger=charger, device_time=at, coin_total_fen=coin, card_total_fen=card,
                                          received_at=received_at)


def figures(reading):
    return reading.coin_fen, reading.card_fen, reading.counted, reading.reset


# --- the service ---------------------------------------------------------------------------------------


def test_the_first_reading_is_the_baseline(device):
    reading = record(device, T0, 1000, 500)

    assert figures(reading) == (0, 0, True, False)
    kept = OfflineRevenueReading.objects.get()
    assert (kept.charger, kept.device_time, kept.coin_total_fen, kept.card_total_fen, kept.received_at) == (
        device, T0, 1000, 500, RECEIVED)


def test_a_newer_reading_adds_what_each_total_grew(device):
    record(device, T0, 1000, 500)

    assert figures(record(device, T0 + HOUR, 1300, 500)) == (300, 0, True, False)
    assert figures(record(device, T0 + 2 * HOUR, 1350, 900)) == (50, 400, True, False)


def test_a_reading_with_the_same_totals_adds_nothing(device):
    record(device, T0, 1000, 500)

    assert figures(record(device, T0 + HOUR, 1000, 500)) == (0, 0, True, False)


@pytest.mark.parametrize("late", [T0 + HOUR, T0 + HOUR / 2, T0 - HOUR])
def test_a_reading_not_newer_than_the_last_counted_is_kept_but_not_counted(device, late):
    record(device, T0, 1000, 500)
    record(device, T0 + HOUR, 1300, 800)

    reading = record(device, late, 1200, 700)

    assert figures(reading) == (0, 0, False, False)
    assert OfflineRevenueReading.objects.count() == 3


def test_the_next_reading_counts_from_the_last_counted_not_from_a_late_one(device):
    record(device, T0, 1000, 500)
    record(device, T0 + 2 * HOUR, 1300, 800)
    record(device, T0 + HOUR, 1200, 700)  # late

    assert figures(record(device, T0 + 3 * HOUR, 1400, 850)) == (100, 50, True, False)


def test_a_reset_is_a_new_baseline_adding_nothing(device):
    record(device, T0, 1000, 500)

    # Totals that fell (a reset, a repair) say nothing of what was taken since: never the whole new totals
    reset = record(device, T0 + HOUR, 120, 30)

    assert figures(reset) == (0, 0, True, True)
    assert (reset.coin_total_fen, reset.card_total_fen) == (120, 30)  # kept: the next reading counts from them
    assert figures(record(device, T0 + 2 * HOUR, 200, 30)) == (80, 0, True, False)


def test_a_reset_to_zero_counts_nothing(device):
    record(device, T0, 1000, 500)

    assert figures(record(device, T0 + HOUR, 0, 0)) == (0, 0, True, True)
    assert figures(record(device, T0 + 2 * HOUR, 40, 10)) == (40, 10, True, False)


def test_each_counter_is_judged_on_its_own(device):
    record(device, T0, 1000, 500)

    # The coin counter fell (a new baseline, adding nothing), the card counter grew (adding its growth)
    assert figures(record(device, T0 + HOUR, 100, 650)) == (0, 150, True, True)
    # The card counter fell, the coin counter grew from its new baseline
    assert figures(record(device, T0 + 2 * HOUR, 130, 20)) == (30, 0, True, True)
    assert figures(record(device, T0 + 3 * HOUR, 130, 45)) == (0, 25, True, False)


def test_a_late_reading_after_a_reset_is_not_counted(device):
    record(device, T0, 1000, 500)
    record(device, T0 + 2 * HOUR, 100, 50)  # reset

    assert figures(record(device, T0 + HOUR, 1100, 550)) == (0, 0, False, False)


def test_readings_of_one_device_count_against_its_own(device):
    other = ChargerFactory(vendor=Vendor.WANZHUANG, serial="19285527")
    record(device, T0, 1000, 500)
    record(other, T0 + HOUR, 50, 50)

    assert figures(OfflineRevenueReading.objects.get(charger=other)) == (0, 0, True, False)
    assert figures(record(device, T0 + 2 * HOUR, 1010, 500)) == (10, 0, True, False)


def test_one_device_time_reported_twice_counts_once(device):
    record(device, T0, 1000, 500)
    record(device, T0 + HOUR, 1100, 500)

    assert figures(record(device, T0 + HOUR, 1100, 500)) == (0, 0, False, False)


# --- the selector --------------------------------------------------------------------------------------


def between(start=DAY, end=DAY + dt.timedelta(days=1), vendor=Vendor.WANZHUANG):
    return offline_revenue_between(vendor=vendor, start=start, end=end)


def test_a_days_sum_by_device_of_its_counted_readings(device):
    record(device, T0, 1000, 500)
    record(device, T0 + HOUR, 1300, 800)
    record(device, T0 + HOUR / 2, 1200, 700)  # late: kept, not counted
    record(device, T0 + 2 * HOUR, 100, 50)  # reset: a new baseline, adding nothing
    record(device, T0 + 3 * HOUR, 160, 50)

    assert between() == [{"serial": "19285526", "station": "科技园电单车站", "coin_fen": 360, "card_fen": 300,
                          "readings": 4, "resets": 1}]


def test_a_days_resets_are_counted_and_none_is_zero(device):
    other = ChargerFactory(vendor=Vendor.WANZHUANG, serial="19285527")
    for at, coin, card in ((T0, 1000, 500), (T0 + HOUR, 10, 500), (T0 + 2 * HOUR, 20, 5), (T0 + 3 * HOUR, 0, 0)):
        record(device, at, coin, card)
    record(other, T0, 0, 0)
    record(other, T0 + HOUR, 100, 0)

    assert [(row["serial"], row["coin_fen"], row["card_fen"], row["readings"], row["resets"]) for row in between()] == [
        ("19285526", 10, 0, 4, 3), ("19285527", 100, 0, 2, 0)]


def test_the_window_is_by_device_time_start_included_end_excluded(device):
    record(device, DAY - HOUR, 1000, 500)  # the day before: the baseline
    record(device, DAY, 1100, 500)  # at the start: in
    record(device, DAY + dt.timedelta(days=1) - dt.timedelta(seconds=1), 1150, 520)  # the last second: in
    record(device, DAY + dt.timedelta(days=1), 1400, 600)  # at the end: the next day

    [row] = between()
    assert (row["coin_fen"], row["card_fen"], row["readings"]) == (150, 20, 2)
    [next_day] = between(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2))
    assert (next_day["coin_fen"], next_day["card_fen"], next_day["readings"]) == (250, 80, 1)


def test_devices_are_listed_by_serial_with_their_station(device):
    awaiting = ChargerFactory(vendor=Vendor.WANZHUANG, serial="10000001", station=None)
    for charger in (device, awaiting):
        record(charger, T0, 0, 0)
        record(charger, T0 + HOUR, 10, 20)

    rows = between()

    assert [(row["serial"], row["station"], row["coin_fen"], row["card_fen"]) for row in rows] == [
        ("10000001", "", 10, 20), ("19285526", "科技园电单车站", 10, 20)]


def test_only_the_vendors_devices_are_summed(device):
    tomda = ChargerFactory(vendor=Vendor.TOMDA, serial="1012300001")
    record(tomda, T0, 0, 0)
    record(tomda, T0 + HOUR, 500, 0)

    assert between() == []
    assert [row["coin_fen"] for row in between(vendor=Vendor.TOMDA)] == [500]


def test_a_device_with_only_uncounted_readings_in_the_window_is_not_listed(device):
    record(device, T0 + 5 * HOUR, 1000, 500)  # counted, the next day in the query below
    record(device, T0, 900, 400)  # late

    assert between(DAY - dt.timedelta(days=1), DAY) == []
    assert between()[0]["readings"] == 1


def test_no_readings_no_rows(db):
    assert between() == []
