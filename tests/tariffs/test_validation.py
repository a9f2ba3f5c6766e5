"""The rules of a tariff: every valid day is accepted, every broken one refused with the row at fault."""

from dataclasses import replace

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs.pricing import Interval, Period, PowerTier, Tariff
from tariffs.validation import PERIODS, TIERS, TariffInvalid, tariff_problems, tariff_validate

prices = st.integers(min_value=0, max_value=50_000)


@st.composite
def tilings(draw):
    """Periods that cover 00:00–24:00 exactly once, in a shuffled order."""
    cuts = draw(st.lists(st.integers(min_value=1, max_value=1439), max_size=47, unique=True))
    bounds = [0, *sorted(cuts), 1440]
    periods = [
        Period(start, end, draw(st.sampled_from(Interval.ALL)), draw(prices), draw(prices))
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]
    return draw(st.permutations(periods))


def ev(periods):
    return Tariff(kind="ev", periods=tuple(periods))


def messages(tariff):
    with translation.override("en"):
        return [problem.message for problem in tariff_problems(tariff)]


@settings(deadline=None)
@given(tilings())
def test_every_tiling_of_the_day_is_accepted(periods):
    assert tariff_problems(ev(periods)) == []


@settings(deadline=None)
@given(tilings(), st.data())
def test_a_gap_is_always_refused(periods, data):
    # Given a sound day, when one period starts later (or is removed), then the rules refuse it
    index = data.draw(st.integers(min_value=0, max_value=len(periods) - 1))
    period = periods[index]
    if period.end_minute - period.start_minute > 1:
        late = data.draw(st.integers(min_value=period.start_minute + 1, max_value=period.end_minute - 1))
        broken = [*periods[:index], replace(period, start_minute=late), *periods[index + 1 :]]
    else:
        broken = [*periods[:index], *periods[index + 1 :]]
    assert tariff_problems(ev(broken))


@settings(deadline=None)
@given(tilings(), st.data())
def test_an_overlap_is_always_refused(periods, data):
    # Given a sound day with a period that does not start at midnight, when it starts earlier
    movable = [i for i, p in enumerate(periods) if p.start_minute > 0]
    if not movable:
        periods = [Period(0, 600, "valley", 1, 1), Period(600, 1440, "peak", 1, 1)]
        movable = [1]
    index = data.draw(st.sampled_from(movable))
    period = periods[index]
    early = data.draw(st.integers(min_value=0, max_value=period.start_minute - 1))
    broken = [*periods[:index], replace(period, start_minute=early), *periods[index + 1 :]]
    assert tariff_problems(ev(broken))


@settings(deadline=None)
@given(tilings(), st.integers(min_value=1, max_value=600))
def test_a_day_longer_than_24_hours_is_always_refused(periods, extra):
    # Either the last period runs past 24:00 or one more period is added after it
    last = max(periods, key=lambda p: p.end_minute)
    stretched = [replace(p, end_minute=1440 + extra) if p is last else p for p in periods]
    added = [*periods, Period(1440, 1440 + extra, "plain", 1, 1)]
    assert tariff_problems(ev(stretched))
    assert tariff_problems(ev(added))


@settings(deadline=None)
@given(tilings(), st.data(), st.integers(max_value=-1), st.booleans())
def test_a_negative_price_is_always_refused_on_its_row(periods, data, price, electricity):
    index = data.draw(st.integers(min_value=0, max_value=len(periods) - 1))
    field = "electricity_price_e4" if electricity else "service_price_e4"
    broken = list(periods)
    broken[index] = replace(broken[index], **{field: price})
    problems = tariff_problems(ev(broken))
    assert [(p.row, p.rows) for p in problems] == [(index, PERIODS)]


# --- messages an operator reads ----------------------------------------------------------------------


def test_gap_overlap_midnight_and_coverage_messages_name_the_rows():
    day = [Period(0, 480, "valley", 1, 1), Period(540, 1320, "peak", 1, 1), Period(1200, 1380, "plain", 1, 1)]
    assert messages(ev(day)) == [
        "period 09:00–22:00: nothing covers 08:00–09:00 before it; the day has a gap.",
        "period 20:00–23:00 overlaps period 09:00–22:00: they share 20:00–22:00.",
        "Nothing covers 23:00–24:00: the periods must cover the whole day.",
    ]
    assert messages(ev([Period(0, 1320, "peak", 1, 1), Period(1320, 360, "valley", 1, 1)])) == [
        "period 22:00–06:00: a period cannot cross midnight; split it into 22:00–24:00 and 00:00–06:00."
    ]


def test_problems_point_at_the_row_as_given_whatever_the_order():
    day = [Period(720, 1440, "peak", 1, 1), Period(0, 600, "valley", 1, 1)]
    (problem,) = tariff_problems(ev(day))
    assert (problem.row, problem.rows) == (0, PERIODS)


def test_more_than_48_periods_is_refused():
    day = [Period(m, m + 20, "plain", 1, 1) for m in range(0, 1440, 20)]
    assert "A day has at most 48 periods; this tariff has 72." in messages(ev(day))


def test_ev_tariffs_take_periods_only_and_no_e_bike_settings():
    tariff = Tariff(kind="ev", tiers=(PowerTier(200, 1, 1),), start_fee_fen=100)
    assert messages(tariff) == [
        "An EV tariff is priced by time-of-use periods; power tiers are for e-bikes.",
        "Start fee, maximum payment and free charging are e-bike settings; clear them for an EV.",
    ]


def test_tiers_need_distinct_positive_bounds_and_a_charge_unit():
    tiers = (PowerTier(200, 1, 1), PowerTier(200, 1, 1), PowerTier(0, 1, 1, unit_seconds=0))
    problems = tariff_problems(Tariff(kind="ebike", tiers=tiers))
    with translation.override("en"):
        assert [(p.row, p.rows) for p in problems] == [(1, TIERS), (2, TIERS), (2, TIERS)]


def test_e_bike_start_fee_above_the_cap_and_empty_tariffs_are_refused():
    tariff = Tariff(kind="ebike", start_fee_fen=500, max_pay_fen=300)
    assert messages(tariff) == [
        "The start fee cannot be more than the maximum payment.",
        "Add the periods of the day (or, for e-bikes, the power tiers).",
    ]


def test_validate_raises_one_error_listing_every_problem():
    with pytest.raises(TariffInvalid) as excinfo:
        tariff_validate(ev([Period(0, 600, "valley", 1, 1)]))
    assert len(excinfo.value.problems) == 1
    assert excinfo.value.messages == [excinfo.value.problems[0].message]
