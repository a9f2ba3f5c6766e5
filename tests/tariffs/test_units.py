"""House units shown to people: integer arithmetic, exact to the last digit."""

import pytest

from tariffs.units import (
    format_duration,
    format_fen,
    format_minute_of_day,
    format_price_e4,
    format_tenths,
    format_wh,
)


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [(0, "0.00"), (5, "0.05"), (99, "0.99"), (100, "1.00"), (1050, "10.50"), (123_456_789, "1234567.89")],
)
def test_fen_are_shown_as_yuan_with_two_decimals(fen, yuan):
    assert format_fen(fen) == yuan


@pytest.mark.parametrize(("fen", "yuan"), [(-5, "-0.05"), (-1050, "-10.50")])
def test_negative_fen_keep_their_sign_in_front(fen, yuan):
    assert format_fen(fen) == yuan


@pytest.mark.parametrize(("price", "yuan"), [(0, "0.0000"), (1, "0.0001"), (6500, "0.6500"), (12_345, "1.2345")])
def test_prices_in_ten_thousandths_are_shown_with_four_decimals(price, yuan):
    assert format_price_e4(price) == yuan


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00:00"), (59, "0:00:59"), (3900, "1:05:00"), (90_000, "25:00:00")]
)
def test_durations_are_shown_as_hours_minutes_seconds(seconds, shown):
    assert format_duration(seconds) == shown


@pytest.mark.parametrize(("minute", "shown"), [(1, "00:01"), (480, "08:00"), (1439, "23:59"), (1440, "24:00")])
def test_period_ends_are_shown_as_clock_times(minute, shown):
    assert format_minute_of_day(minute) == shown


def test_missing_values_are_left_to_the_admins_empty_marker():
    assert [
        format_fen(None),
        format_price_e4(None),
        format_duration(None),
        format_minute_of_day(None),
        format_wh(None),
        format_tenths(None),
    ] == [None] * 6


@pytest.mark.parametrize(
    ("wh", "shown"), [(0, "0.000"), (5, "0.005"), (999, "0.999"), (10_000, "10.000"), (12_345, "12.345")]
)
def test_energy_is_shown_in_kwh_from_integer_wh(wh, shown):
    assert format_wh(wh) == shown


@pytest.mark.parametrize(("tenths", "shown"), [(0, "0.0"), (7, "0.7"), (2205, "220.5"), (3800, "380.0")])
def test_voltage_and_current_are_shown_from_tenths(tenths, shown):
    assert format_tenths(tenths) == shown
