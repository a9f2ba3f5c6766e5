"""The pricing engine against answers worked out by hand.

Fees are `round_half_up(wh × price_e4 / 100_000)` fen per line and component for energy, and
`round_half_up(seconds × price_e4 / (unit_seconds × 100))` fen for time; the arithmetic is in the comments.
"""

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from tariffs.pricing import (
    LOCAL_ZONE,
    Breakdown,
    Interval,
    LineKind,
    Period,
    PowerTier,
    Reading,
    Tariff,
    duration_fee_fen,
    fee_fen,
    price_by_energy,
    price_by_power,
    price_session,
)


@pytest.mark.parametrize(
    ("wh", "price_e4", "expected"),
    [
        (10_000, 6500, 650),  # 10 kWh at 0.65 yuan
        (1, 6500, 0),  # 0.065 fen rounds down
        (77, 6500, 5),  # 5.005 fen: below the half, so 5
        (1000, 5, 0),  # 0.05 fen
        (1000, 15, 0),  # 0.15 fen
        (10_000, 5, 1),  # 0.5 fen rounds up
        (12_345, 12_345, 1524),  # 1523.99... fen
        (0, 99_999, 0),
    ],
)
def test_energy_fee_is_rounded_half_up_to_the_fen(wh, price_e4, expected):
    assert fee_fen(wh=wh, price_e4=price_e4) == expected


@pytest.mark.parametrize(
    ("seconds", "price_e4", "unit_seconds", "expected"),
    [
        (3600, 5000, 3600, 50),
        (1800, 5000, 3600, 25),
        (35, 5000, 3600, 0),  # 0.486 fen
        (36, 5000, 3600, 1),  # 0.5 fen rounds up
        (72, 2500, 3600, 1),
        (5400, 7000, 3600, 105),
        (14_400, 10_000, 14_400, 100),  # one 4-hour unit at 1 yuan
        (3600, 10_000, 14_400, 25),  # a quarter of it
        (72, 10_000, 14_400, 1),  # 72 × 10000 / 1_440_000 = 0.5 fen rounds up
        (71, 10_000, 14_400, 0),
    ],
)
def test_duration_fee_is_rounded_half_up_to_the_fen(seconds, price_e4, unit_seconds, expected):
    assert duration_fee_fen(seconds=seconds, price_e4=price_e4, unit_seconds=unit_seconds) == expected


def test_duration_fee_is_per_hour_unless_told_otherwise():
    assert duration_fee_fen(seconds=1800, price_e4=5000) == 25


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError):
        fee_fen(wh=-1, price_e4=100)
    with pytest.raises(ValueError):
        duration_fee_fen(seconds=10, price_e4=-1)
    with pytest.raises(ValueError):
        duration_fee_fen(seconds=10, price_e4=1, unit_seconds=0)


# --- energy tariffs -----------------------------------------------------------------------------------

PEAK_E, VALLEY_E, SERVICE = 10_325, 3_512, 8_000

#: 00:00–08:00 valley (row 0), 08:00–23:00 peak (row 1), 23:00–24:00 valley (row 2).
PEAK_VALLEY = Tariff(
    kind="ev",
    periods=(
        Period(0, 480, Interval.VALLEY, VALLEY_E, SERVICE),
        Period(480, 1380, Interval.PEAK, PEAK_E, SERVICE),
        Period(1380, 1440, Interval.VALLEY, VALLEY_E, SERVICE),
    ),
)


def local(day, hour, minute=0, second=0, microsecond=0):
    return datetime(2025, 3, day, hour, minute, second, microsecond, tzinfo=LOCAL_ZONE)


def summary(breakdown):
    return [
        (
            line.kind,
            line.row,
            line.start,
            line.end,
            line.energy_wh,
            line.seconds,
            line.electricity_fen,
            line.service_fen,
        )
        for line in breakdown.lines
    ]


def test_a_night_session_at_constant_power_is_split_at_23_00_and_at_midnight():
    # Given readings every 10 minutes from 22:00 to 02:00 at 7 kW: 7000 × k / 6 Wh after k readings,
    # rounded half up (1167, 2333, 3500, ...); 23:00, 24:00 and 02:00 fall on readings 6, 12 and 24.
    readings = [Reading(local(10, 22) + timedelta(minutes=10 * k), (7000 * k + 3) // 6) for k in range(25)]

    # When it is priced
    breakdown = price_by_energy(PEAK_VALLEY, readings)

    # Then three lines, as 24:00 ends a day even between two valley periods:
    #   22–23 peak    7000 Wh: 7000 × 10325 = 72_275_000 → 722.75 → 723 fen; 7000 × 8000 → 560 fen
    #   23–24 valley  7000 Wh: 7000 × 3512 = 24_584_000 → 245.84 → 246 fen;  560 fen
    #   00–02 valley 14000 Wh: 14000 × 3512 = 49_168_000 → 491.68 → 492 fen; 1120 fen
    assert summary(breakdown) == [
        (LineKind.PERIOD, 1, local(10, 22), local(10, 23), 7000, 3600, 723, 560),
        (LineKind.PERIOD, 2, local(10, 23), local(11, 0), 7000, 3600, 246, 560),
        (LineKind.PERIOD, 0, local(11, 0), local(11, 2), 14000, 7200, 492, 1120),
    ]
    assert [line.interval for line in breakdown.lines] == [Interval.PEAK, Interval.VALLEY, Interval.VALLEY]
    assert [(line.electricity_price_e4, line.service_price_e4) for line in breakdown.lines] == [
        (PEAK_E, SERVICE),
        (VALLEY_E, SERVICE),
        (VALLEY_E, SERVICE),
    ]
    # 723 + 246 + 492 = 1461; 560 + 560 + 1120 = 2240
    assert (breakdown.energy_wh, breakdown.seconds) == (28_000, 14_400)
    assert (breakdown.electricity_fen, breakdown.service_fen, breakdown.total_fen) == (1461, 2240, 3701)


def test_irregular_readings_are_split_in_proportion_to_time_at_each_boundary():
    # Given readings at 22:00, 22:37, 23:20, 00:45 and 02:00
    readings = [
        (local(10, 22), 0),
        (local(10, 22, 37), 4000),
        (local(10, 23, 20), 9000),
        (local(11, 0, 45), 18000),
        (local(11, 2), 27000),
    ]

    # When it is priced
    breakdown = price_by_energy(PEAK_VALLEY, readings)

    # Then at 23:00, 23 of the 43 minutes of 22:37→23:20 have passed: 4000 + 5000 × 1380 / 2580
    #   = 4000 + 2674.42 → 6674 Wh; at 00:00, 40 of the 85 minutes of 23:20→00:45:
    #   9000 + 9000 × 2400 / 5100 = 9000 + 4235.29 → 13235 Wh. So 6674, 13235 − 6674 = 6561 and
    #   27000 − 13235 = 13765 Wh:
    #   peak    6674 × 10325 = 68_909_050 → 689;  6674 × 8000 = 53_392_000 → 533.92 → 534
    #   valley  6561 × 3512 = 23_042_232 → 230;   6561 × 8000 = 52_488_000 → 524.88 → 525
    #   valley 13765 × 3512 = 48_342_680 → 483;  13765 × 8000 = 110_120_000 → 1101.2 → 1101
    assert summary(breakdown) == [
        (LineKind.PERIOD, 1, local(10, 22), local(10, 23), 6674, 3600, 689, 534),
        (LineKind.PERIOD, 2, local(10, 23), local(11, 0), 6561, 3600, 230, 525),
        (LineKind.PERIOD, 0, local(11, 0), local(11, 2), 13765, 7200, 483, 1101),
    ]
    assert breakdown.total_fen == 689 + 534 + 230 + 525 + 483 + 1101


@pytest.mark.parametrize(
    ("delta_wh", "peak_wh", "valley_wh"),
    [
        (1000, 500, 500),  # 10 of 20 minutes on each side
        (1001, 501, 500),  # 500.5 Wh at 23:00 rounds half up
        (999, 500, 499),  # 499.5 → 500
        (1, 1, 0),  # 0.5 → 1
        (0, 0, 0),
    ],
)
def test_a_reading_pair_straddling_a_boundary_is_split_in_proportion_to_time(delta_wh, peak_wh, valley_wh):
    # Given two readings 22:50 and 23:10 around the 23:00 boundary
    readings = [(local(10, 22, 50), 12_000), (local(10, 23, 10), 12_000 + delta_wh)]

    # When priced
    breakdown = price_by_energy(PEAK_VALLEY, readings)

    # Then each side gets its share of the energy, rounded half up at the boundary
    assert [(line.row, line.energy_wh, line.seconds) for line in breakdown.lines] == [
        (1, peak_wh, 600),
        (2, valley_wh, 600),
    ]


def test_the_period_a_session_starts_in_is_found_whatever_the_zone_of_the_readings():
    # Given the night session with its readings in UTC (as stored), 14:00 UTC being 22:00 in Beijing
    readings = [(datetime(2025, 3, 10, 14, tzinfo=UTC) + timedelta(minutes=10 * k), 1000 * k) for k in range(25)]

    # When priced
    breakdown = price_by_energy(PEAK_VALLEY, readings)

    # Then the lines are those of Beijing time and shown in it
    assert [(line.row, line.start, line.energy_wh) for line in breakdown.lines] == [
        (1, local(10, 22), 6000),
        (2, local(10, 23), 6000),
        (0, local(11, 0), 12000),
    ]
    assert all(line.start.tzinfo is LOCAL_ZONE for line in breakdown.lines)


def test_energy_within_the_free_time_is_shown_on_a_free_line_and_not_billed():
    # Given 15 free minutes and readings every 10 minutes at 6 kW from 22:00 to 22:30
    tariff = Tariff(kind="ev", periods=PEAK_VALLEY.periods, free_charge_seconds=900)
    readings = [(local(10, 22), 0), (local(10, 22, 10), 1000), (local(10, 22, 20), 2000), (local(10, 22, 30), 3000)]

    # When priced
    breakdown = price_by_energy(tariff, readings)

    # Then 22:00–22:15 is free (1000 + 1000 × 5/10 = 1500 Wh) and 22:15–22:30 is billed at peak:
    #   1500 × 10325 = 15_487_500 → 154.875 → 155 fen; 1500 × 8000 = 12_000_000 → 120 fen
    assert summary(breakdown) == [
        (LineKind.FREE, 1, local(10, 22), local(10, 22, 15), 1500, 900, 0, 0),
        (LineKind.PERIOD, 1, local(10, 22, 15), local(10, 22, 30), 1500, 900, 155, 120),
    ]
    assert (breakdown.lines[0].electricity_price_e4, breakdown.lines[0].service_price_e4) == (0, 0)
    assert breakdown.energy_wh == 3000
    assert breakdown.total_fen == 275


def test_a_free_time_across_a_boundary_gives_a_free_line_in_each_period():
    # Given 20 free minutes and a session 22:50–23:30 at 6 kW (100 Wh a minute)
    tariff = Tariff(kind="ev", periods=PEAK_VALLEY.periods, free_charge_seconds=1200)
    readings = [(local(10, 22, 50), 0), (local(10, 23, 30), 4000)]

    # When priced
    breakdown = price_by_energy(tariff, readings)

    # Then 22:50–23:00 (1000 Wh) and 23:00–23:10 (1000 Wh) are free, 23:10–23:30 (2000 Wh) is billed in the
    # valley: 2000 × 3512 = 7_024_000 → 70.24 → 70 fen; 2000 × 8000 → 160 fen
    assert summary(breakdown) == [
        (LineKind.FREE, 1, local(10, 22, 50), local(10, 23), 1000, 600, 0, 0),
        (LineKind.FREE, 2, local(10, 23), local(10, 23, 10), 1000, 600, 0, 0),
        (LineKind.PERIOD, 2, local(10, 23, 10), local(10, 23, 30), 2000, 1200, 70, 160),
    ]


def test_a_session_shorter_than_the_free_time_costs_nothing():
    tariff = Tariff(kind="ev", periods=PEAK_VALLEY.periods, free_charge_seconds=3600)
    breakdown = price_by_energy(tariff, [(local(10, 10), 0), (local(10, 10, 30), 3000)])
    assert summary(breakdown) == [(LineKind.FREE, 1, local(10, 10), local(10, 10, 30), 3000, 1800, 0, 0)]


def test_line_seconds_count_whole_seconds_so_they_add_up_to_the_session():
    # Given a session 22:59:59.600 → 23:00:00.400 → 23:00:01.200: 0.4 s of peak, 1.2 s of valley
    readings = [(local(10, 22, 59, 59, 600_000), 0), (local(10, 23, 0, 1, 200_000), 16)]

    # When priced
    breakdown = price_by_energy(PEAK_VALLEY, readings)

    # Then the peak line runs from second 59 to second 0 of the next minute (1 s), the valley line from
    # second 0 to second 1 (1 s): 2 s, as 23:00:01 − 22:59:59. The energy is 16 × 0.4/1.6 = 4 Wh and 12 Wh.
    assert [(line.row, line.seconds, line.energy_wh) for line in breakdown.lines] == [(1, 1, 4), (2, 1, 12)]


def test_a_slice_of_energy_shorter_than_a_second_is_kept_so_no_energy_is_lost():
    # Given a session that starts 0.5 s before 23:00 and ends 0.2 s after it, with 7 Wh
    readings = [(local(10, 22, 59, 59, 500_000), 0), (local(10, 23, 0, 0, 200_000), 7)]

    # When priced
    breakdown = price_by_energy(PEAK_VALLEY, readings)

    # Then 7 × 5/7 = 5 Wh before 23:00 (1 whole second, 59 → 0) and 2 Wh after it (0 whole seconds)
    assert [(line.row, line.seconds, line.energy_wh) for line in breakdown.lines] == [(1, 1, 5), (2, 0, 2)]


def test_rounding_is_half_up_at_the_half_fen():
    # Given one period all day at 0.5 yuan electricity and 0.4999 yuan service
    tariff = Tariff(kind="ev", periods=(Period(0, 1440, Interval.PLAIN, 5000, 4999),))

    # When 10 Wh and 30 Wh are priced
    ten = price_by_energy(tariff, [(local(10, 9), 0), (local(10, 9, 1), 10)])
    thirty = price_by_energy(tariff, [(local(10, 9), 0), (local(10, 9, 1), 30)])

    # Then 10 × 5000 = 50_000 is 0.5 fen → 1; 10 × 4999 = 49_990 is 0.4999 fen → 0;
    # 30 × 5000 = 150_000 → 1.5 → 2; 30 × 4999 = 149_970 → 1.4997 → 1
    assert (ten.electricity_fen, ten.service_fen) == (1, 0)
    assert (thirty.electricity_fen, thirty.service_fen) == (2, 1)


def test_a_session_of_a_single_reading_or_of_no_time_has_no_lines():
    assert price_by_energy(PEAK_VALLEY, [(local(10, 9), 500)]) == Breakdown()
    assert price_by_energy(PEAK_VALLEY, [(local(10, 9), 500), (local(10, 9), 500)]) == Breakdown()


def test_a_session_over_several_days_gets_a_line_per_period_and_day():
    # Given one period a day and a session from 12:00 on the 10th to 12:00 on the 12th at 1000 Wh an hour
    tariff = Tariff(kind="ev", periods=(Period(0, 1440, Interval.PLAIN, 10_000, 0),))
    readings = [(local(10, 12), 0), (local(12, 12), 48_000)]

    # When priced
    breakdown = price_by_energy(tariff, readings)

    # Then 12 h, 24 h, 12 h: 12000, 24000, 12000 Wh at 1 yuan/kWh: 1200, 2400, 1200 fen
    assert [(line.start, line.energy_wh, line.electricity_fen) for line in breakdown.lines] == [
        (local(10, 12), 12_000, 1200),
        (local(11, 0), 24_000, 2400),
        (local(12, 0), 12_000, 1200),
    ]


def test_boundaries_follow_the_zones_wall_clock_across_a_dst_change():
    # Given a zone with DST (Berlin moves from 02:00 to 03:00 on 2025-03-30) and periods at 01:00 and 04:00
    berlin = ZoneInfo("Europe/Berlin")
    tariff = Tariff(
        kind="ev",
        periods=(
            Period(0, 60, Interval.VALLEY, 1000, 0),
            Period(60, 240, Interval.PEAK, 2000, 0),
            Period(240, 1440, Interval.PLAIN, 3000, 0),
        ),
    )
    readings = [(datetime(2025, 3, 30, 0, 30, tzinfo=berlin), 0), (datetime(2025, 3, 30, 4, 30, tzinfo=berlin), 3000)]

    # When priced in Berlin time
    breakdown = price_by_energy(tariff, readings, zone=berlin)

    # Then 01:00–04:00 local is 2 real hours: the session's 3 hours are 30 min, 2 h and 30 min
    assert [(line.row, line.seconds, line.energy_wh) for line in breakdown.lines] == [
        (0, 1800, 500),
        (1, 7200, 2000),
        (2, 1800, 500),
    ]


def test_a_period_starting_in_the_skipped_hour_starts_when_the_clock_skips():
    # Given periods at 01:00, 02:30 (a wall time Berlin skips on 2025-03-30) and 04:00
    berlin = ZoneInfo("Europe/Berlin")
    tariff = Tariff(
        kind="ev",
        periods=(
            Period(0, 60, Interval.VALLEY, 1000, 0),
            Period(60, 150, Interval.PLAIN, 2000, 0),
            Period(150, 240, Interval.PEAK, 3000, 0),
            Period(240, 1440, Interval.PLAIN, 4000, 0),
        ),
    )
    readings = [(datetime(2025, 3, 30, 0, 30, tzinfo=berlin), 0), (datetime(2025, 3, 30, 4, 30, tzinfo=berlin), 3000)]

    # When priced in Berlin time
    breakdown = price_by_energy(tariff, readings, zone=berlin)

    # Then 01:00–02:00 CET is the 01:00 period (1 h) and 03:00–04:00 CEST, the first wall time after 02:30,
    # the 02:30 period (1 h)
    assert [(line.row, line.start, line.seconds, line.energy_wh) for line in breakdown.lines] == [
        (0, datetime(2025, 3, 30, 0, 30, tzinfo=berlin), 1800, 500),
        (1, datetime(2025, 3, 30, 1, tzinfo=berlin), 3600, 1000),
        (2, datetime(2025, 3, 30, 3, tzinfo=berlin), 3600, 1000),
        (3, datetime(2025, 3, 30, 4, tzinfo=berlin), 1800, 500),
    ]


def test_readings_in_a_repeated_hour_are_ordered_by_instant_not_by_wall_clock():
    # Given Berlin readings around the change of 2025-10-26 (03:00 CEST becomes 02:00 CET): 02:30 CEST,
    # then 02:10 CET and 02:50 CET, 40 and 80 minutes later
    berlin = ZoneInfo("Europe/Berlin")
    tariff = Tariff(kind="ev", periods=(Period(0, 1440, Interval.PLAIN, 10_000, 0),))
    readings = [
        (datetime(2025, 10, 26, 2, 30, tzinfo=berlin), 0),
        (datetime(2025, 10, 26, 2, 10, fold=1, tzinfo=berlin), 400),
        (datetime(2025, 10, 26, 2, 50, fold=1, tzinfo=berlin), 800),
    ]

    # When priced, then it is one line of 80 minutes
    breakdown = price_by_energy(tariff, readings, zone=berlin)
    assert [(line.seconds, line.energy_wh, line.electricity_fen) for line in breakdown.lines] == [(4800, 800, 80)]


class NoOffset(tzinfo):
    """A zone that does not know its offset: its datetimes are naive, by Python's definition."""

    def utcoffset(self, dt):
        return None


@pytest.mark.parametrize(
    ("readings", "message"),
    [
        ([], "at least one"),
        ([(datetime(2025, 3, 10, 9), 0)], "aware"),  # noqa: DTZ001 - the naive time is the point
        ([(local(10, 9), 0), (datetime(2025, 3, 10, 10), 1)], "aware"),  # noqa: DTZ001
        ([(datetime(2025, 3, 10, 9, tzinfo=NoOffset()), 0)], "aware"),
        ([(local(10, 9), 0), (local(10, 8), 10)], "earlier"),
        ([(local(10, 9), 10), (local(10, 10), 9)], "decreases"),
        ([(local(10, 9), 10), (local(10, 9), 11)], "same time"),
        ([(local(10, 9), 0), (local(10, 10), 1.5)], "integer"),
    ],
)
def test_invalid_readings_are_refused(readings, message):
    with pytest.raises(ValueError, match=message):
        price_by_energy(PEAK_VALLEY, readings)


def test_a_tariff_without_periods_cannot_price_energy():
    with pytest.raises(ValueError, match="no time-of-use periods"):
        price_by_energy(EBIKE, [(local(10, 9), 0)])


def test_periods_that_do_not_cover_the_day_are_refused():
    tariff = Tariff(kind="ev", periods=(Period(0, 600, Interval.PLAIN, 1, 1), Period(660, 1440, Interval.PLAIN, 1, 1)))
    with pytest.raises(ValueError, match="00:00–24:00"):
        price_by_energy(tariff, [(local(10, 9), 0)])


# --- e-bike power tiers --------------------------------------------------------------------------------

#: Up to 200 W: 0.6 + 0.4 yuan per 4 hours; up to 400 W: 0.3 + 0.2 yuan per hour; up to 800 W: 0.5 + 0.3.
TIERS = (
    PowerTier(200, 6000, 4000, unit_seconds=14_400),
    PowerTier(400, 3000, 2000),
    PowerTier(800, 5000, 3000),
)
EBIKE = Tariff(kind="ebike", tiers=TIERS)


def tier_summary(breakdown):
    return [(line.kind, line.row, line.seconds, line.electricity_fen, line.service_fen) for line in breakdown.lines]


@pytest.mark.parametrize(
    ("peak_power_w", "row", "electricity_fen", "service_fen"),
    [
        # 3 h at tier 0: 10800 × 6000 / 1_440_000 = 45; 10800 × 4000 / 1_440_000 = 30
        (0, 0, 45, 30),
        (200, 0, 45, 30),  # on the bound: still the lower tier
        # tier 1: 10800 × 3000 / 360_000 = 90; 10800 × 2000 / 360_000 = 60
        (201, 1, 90, 60),
        (400, 1, 90, 60),
        # tier 2: 10800 × 5000 / 360_000 = 150; 10800 × 3000 / 360_000 = 90
        (800, 2, 150, 90),
        (1200, 2, 150, 90),  # above the top tier: the top tier
    ],
)
def test_three_hours_are_priced_at_the_tier_of_the_peak_power(peak_power_w, row, electricity_fen, service_fen):
    breakdown = price_by_power(EBIKE, seconds=10_800, peak_power_w=peak_power_w)
    assert tier_summary(breakdown) == [(LineKind.TIER, row, 10_800, electricity_fen, service_fen)]
    line = breakdown.lines[0]
    assert (line.unit_seconds, line.electricity_price_e4, line.service_price_e4) == (
        TIERS[row].unit_seconds,
        TIERS[row].electricity_price_e4,
        TIERS[row].service_price_e4,
    )


def test_free_time_comes_off_the_start_of_a_tier_session():
    # Given 10 free minutes, when 3 h are charged at 300 W
    tariff = Tariff(kind="ebike", tiers=TIERS, free_charge_seconds=600)
    breakdown = price_by_power(tariff, seconds=10_800, peak_power_w=300)

    # Then 600 s free and 10200 s at tier 1: 10200 × 3000 / 360_000 = 85; 10200 × 2000 / 360_000 = 56.67 → 57
    assert tier_summary(breakdown) == [(LineKind.FREE, 1, 600, 0, 0), (LineKind.TIER, 1, 10_200, 85, 57)]
    assert breakdown.seconds == 10_800


def test_a_session_within_the_free_time_costs_nothing_and_pays_no_start_fee():
    tariff = Tariff(kind="ebike", tiers=TIERS, free_charge_seconds=600, start_fee_fen=100)
    breakdown = price_by_power(tariff, seconds=400, peak_power_w=300)
    assert tier_summary(breakdown) == [(LineKind.FREE, 1, 400, 0, 0)]
    assert breakdown.total_fen == 0


def test_a_short_session_is_raised_to_the_start_fee():
    # Given a 1 yuan start fee, when 10 minutes are charged at tier 1:
    # 600 × 3000 / 360_000 = 5; 600 × 2000 / 360_000 = 3.33 → 3; 8 fen in all
    tariff = Tariff(kind="ebike", tiers=TIERS, start_fee_fen=100)
    breakdown = price_by_power(tariff, seconds=600, peak_power_w=300)

    # Then a minimum line adds 92 fen to the electricity fee
    assert tier_summary(breakdown) == [(LineKind.TIER, 1, 600, 5, 3), (LineKind.MINIMUM, None, 0, 92, 0)]
    assert (breakdown.electricity_fen, breakdown.service_fen, breakdown.total_fen) == (97, 3, 100)


@pytest.mark.parametrize(
    ("max_pay_fen", "cut"),
    [
        (200, (-200, 0)),  # excess 200 comes off the electricity fee (250)
        (100, (-250, -50)),  # excess 300: all 250 of electricity, then 50 of service
        (400, None),  # exactly at the cap: nothing to take off
        (0, None),  # no cap
    ],
)
def test_a_long_session_is_capped_at_the_maximum_payment(max_pay_fen, cut):
    # Given 5 h at tier 2: 18000 × 5000 / 360_000 = 250; 18000 × 3000 / 360_000 = 150; 400 fen in all
    tariff = Tariff(kind="ebike", tiers=TIERS, max_pay_fen=max_pay_fen)

    # When priced
    breakdown = price_by_power(tariff, seconds=18_000, peak_power_w=800)

    # Then the cap takes the excess off electricity first, and never leaves a component negative
    expected = [(LineKind.TIER, 2, 18_000, 250, 150)]
    if cut:
        expected.append((LineKind.MAXIMUM, None, 0, *cut))
    assert tier_summary(breakdown) == expected
    assert breakdown.total_fen == (max_pay_fen if cut else 400)
    assert breakdown.electricity_fen >= 0
    assert breakdown.service_fen >= 0


def test_free_charging_zeroes_the_session_but_keeps_its_lines():
    tariff = Tariff(kind="ebike", tiers=TIERS, start_fee_fen=100, max_pay_fen=200, free_charging=True)
    breakdown = price_by_power(tariff, seconds=18_000, peak_power_w=800)
    assert tier_summary(breakdown) == [
        (LineKind.TIER, 2, 18_000, 250, 150),
        (LineKind.FREE_CHARGING, None, 0, -250, -150),
    ]
    assert breakdown.total_fen == 0


def test_no_charging_time_gives_no_lines():
    assert price_by_power(EBIKE, seconds=0, peak_power_w=300) == Breakdown()
    free_charging = Tariff(kind="ebike", tiers=TIERS, free_charging=True)
    assert price_by_power(free_charging, seconds=0, peak_power_w=300) == Breakdown()


@pytest.mark.parametrize(
    ("tariff", "seconds", "peak_power_w", "message"),
    [
        (EBIKE, -1, 100, "duration"),
        (EBIKE, 10, -1, "peak power"),
        (PEAK_VALLEY, 10, 100, "no power tiers"),
    ],
)
def test_invalid_tier_sessions_are_refused(tariff, seconds, peak_power_w, message):
    with pytest.raises(ValueError, match=message):
        price_by_power(tariff, seconds=seconds, peak_power_w=peak_power_w)


# --- the entry point ------------------------------------------------------------------------------------


def test_price_session_prices_energy_tariffs_by_their_readings():
    readings = [(local(10, 22, 50), 0), (local(10, 23, 10), 1000)]
    assert price_session(PEAK_VALLEY, readings=readings, seconds=99, peak_power_w=7000) == price_by_energy(
        PEAK_VALLEY, readings
    )


def test_price_session_takes_a_tier_sessions_duration_from_its_readings_when_not_given():
    # 10:00:00.900 → 11:00:00.100 is 3600 whole seconds (second 0 to second 3600), as energy lines count them
    readings = [(local(10, 10, 0, 0, 900_000), 0), (local(10, 11, 0, 0, 100_000), 300)]
    breakdown = price_session(EBIKE, readings=readings, peak_power_w=300)
    assert tier_summary(breakdown) == [(LineKind.TIER, 1, 3600, 30, 20)]
    assert price_session(EBIKE, readings=readings, seconds=7200, peak_power_w=300).seconds == 7200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 3600}, "peak power"),
        ({"peak_power_w": 300}, "duration or the session's readings"),
        ({"readings": [(local(10, 10), 0), (local(10, 9), 0)], "peak_power_w": 300}, "earlier"),
    ],
)
def test_price_session_refuses_a_tier_session_it_cannot_price(kwargs, message):
    with pytest.raises(ValueError, match=message):
        price_session(EBIKE, **kwargs)


# --- bounds and the stored form --------------------------------------------------------------------------


def test_a_session_longer_than_the_limit_is_refused_not_spread_over_years(settings):
    from tariffs.pricing import SessionTooLong
    from tests.tariffs.builders import NINE_PERIODS, ev

    settings.PRICING_MAX_SESSION_HOURS = 168
    start = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    tariff = ev(NINE_PERIODS)

    at_limit = price_by_energy(tariff, [(start, 0), (start + timedelta(hours=168), 70_000)])
    with pytest.raises(SessionTooLong) as refused:
        price_by_energy(tariff, [(start, 0), (start + timedelta(hours=168, seconds=1), 70_000)])

    assert at_limit.energy_wh == 70_000
    assert refused.value.max_hours == 168
    with pytest.raises(SessionTooLong):
        price_by_energy(tariff, [(start, 0), (datetime(2099, 1, 1, tzinfo=UTC), 5_000)])


def test_a_tier_session_longer_than_the_limit_is_refused(settings):
    from tariffs.pricing import SessionTooLong
    from tests.tariffs.builders import ebike_tiers

    settings.PRICING_MAX_SESSION_HOURS = 24
    tariff = ebike_tiers([PowerTier(power_upper_w=400, electricity_price_e4=10_000, service_price_e4=0)])

    assert price_by_power(tariff, seconds=24 * 3600, peak_power_w=200).total_fen == 2400
    with pytest.raises(SessionTooLong):
        price_by_power(tariff, seconds=24 * 3600 + 1, peak_power_w=200)


def test_a_breakdown_stored_as_json_reads_back_the_same():
    import json

    from tests.tariffs.builders import NINE_PERIODS, ev

    start = datetime(2026, 11, 21, 1, 40, tzinfo=UTC)
    breakdown = price_by_energy(ev(NINE_PERIODS), [(start, 0), (start + timedelta(hours=5), 31_234)])

    stored = json.loads(json.dumps(breakdown.to_content()))

    assert Breakdown.from_content(stored) == breakdown
    assert len(breakdown.lines) > 1
