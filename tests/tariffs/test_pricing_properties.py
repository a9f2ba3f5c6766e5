"""Properties of the pricing engine, over random tariffs and sessions (hypothesis)."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from math import floor, gcd
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs.pricing import (
    LOCAL_ZONE,
    MAX_PERIODS,
    MINUTES_PER_DAY,
    Interval,
    LineKind,
    Period,
    PowerTier,
    Reading,
    Tariff,
    fee_fen,
    price_by_energy,
    price_by_power,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_DAY = datetime(2024, 1, 1, tzinfo=LOCAL_ZONE)
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)
BILLED_KINDS = (LineKind.PERIOD, LineKind.TIER)
ADJUSTMENT_KINDS = (LineKind.MINIMUM, LineKind.MAXIMUM, LineKind.FREE_CHARGING)

prices = st.integers(0, 50_000)


@st.composite
def ebike_settings(draw):
    """Start fee, maximum payment (0 or at least the start fee) and free charging."""
    start_fee = draw(st.sampled_from([0, 0, 1, 100, 300]) | st.integers(0, 2000))
    max_pay = draw(st.just(0) | st.integers(max(start_fee, 1), 5000))
    return {"start_fee_fen": start_fee, "max_pay_fen": max_pay, "free_charging": draw(st.booleans())}


@st.composite
def period_tariffs(draw, *, free_time=True, adjustments=False):
    """1–48 periods tiling the day at minute boundaries, with random intervals and prices."""
    count = draw(st.integers(1, MAX_PERIODS))
    cuts = draw(st.sets(st.integers(1, MINUTES_PER_DAY - 1), min_size=count - 1, max_size=count - 1))
    bounds = [0, *sorted(cuts), MINUTES_PER_DAY]
    periods = tuple(
        Period(start, end, draw(st.sampled_from(Interval.ALL)), draw(prices), draw(prices))
        for start, end in pairwise(bounds)
    )
    free = draw(st.just(0) | st.integers(1, 7200)) if free_time else 0
    settings_ = draw(ebike_settings()) if adjustments else {}
    return Tariff(kind="ev", periods=periods, free_charge_seconds=free, **settings_)


@st.composite
def reading_series(draw, *, min_readings=1, max_readings=40, whole_seconds=False):
    """Readings in Beijing time, 1 s to 2 h apart (now and then twice the same), up to ~3 days long."""
    start = FIRST_DAY + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86_400)))
    if not whole_seconds:
        start += timedelta(microseconds=draw(st.integers(0, 999_999)))
    unit = 1_000_000 if whole_seconds else 1
    gaps = draw(
        st.lists(
            st.integers(1_000_000 // unit, 7_200_000_000 // unit) | st.just(0),
            min_size=min_readings - 1,
            max_size=max_readings - 1,
        )
    )
    energy = draw(st.integers(0, 10_000_000))
    offset = 0
    readings = [Reading(start, energy)]
    for gap in gaps:
        offset += gap * unit
        energy += draw(st.integers(0, 50_000)) if gap else 0
        readings.append(Reading((start + timedelta(microseconds=offset)).astimezone(LOCAL_ZONE), energy))
    return readings


def microseconds(at):
    return (at - EPOCH) // MICROSECOND


def whole_seconds(at):
    return (at - EPOCH) // SECOND


def energy_at(readings, at):
    """The attribution rule, written independently: the reading line through `at`, rounded half up."""
    # In UTC, as datetimes of one zone compare by wall clock, which a DST change does not keep in order.
    at = at.astimezone(UTC)
    readings = [(reading_at.astimezone(UTC), energy) for reading_at, energy in readings]
    for (t0, e0), (t1, e1) in pairwise(readings):
        if t0 <= at <= t1 and t1 > t0:
            exact = e0 + Fraction((e1 - e0) * microseconds_between(t0, at), microseconds_between(t0, t1))
            return floor(exact + Fraction(1, 2))
    return next(energy for reading_at, energy in readings if reading_at == at)


def microseconds_between(earlier, later):
    return (later - earlier) // MICROSECOND


def period_end(line_start, period):
    local_midnight = line_start.astimezone(LOCAL_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    return local_midnight + timedelta(minutes=period.end_minute)  # Beijing has no DST: wall time is exact


def assert_adjustments_hold(tariff, breakdown):
    billed = [line for line in breakdown.lines if line.kind not in ADJUSTMENT_KINDS]
    adjustments = [line for line in breakdown.lines if line.kind in ADJUSTMENT_KINDS]
    billed_total = sum(line.total_fen for line in billed)
    assert breakdown.electricity_fen >= 0
    assert breakdown.service_fen >= 0
    if tariff.free_charging:
        assert breakdown.total_fen == 0
        assert [line.kind for line in adjustments] == ([LineKind.FREE_CHARGING] if billed else [])
    elif billed_total > 0:
        assert breakdown.total_fen >= tariff.start_fee_fen
        if tariff.max_pay_fen:
            assert breakdown.total_fen <= tariff.max_pay_fen
        # Adjusted only as far as needed to get within the bounds
        if billed_total < tariff.start_fee_fen:
            assert breakdown.total_fen == tariff.start_fee_fen
        elif tariff.max_pay_fen and billed_total > tariff.max_pay_fen:
            assert breakdown.total_fen == tariff.max_pay_fen
        else:
            assert (breakdown.total_fen, adjustments) == (billed_total, [])
    else:
        assert adjustments == []
        assert breakdown.total_fen == 0


# --- energy --------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=200)
@given(tariff=period_tariffs(adjustments=True), readings=reading_series())
def test_lines_add_up_to_the_session_and_each_is_priced_by_its_own_energy(tariff, readings):
    breakdown = price_by_energy(tariff, readings)
    first, last = readings[0], readings[-1]
    lines = [line for line in breakdown.lines if line.kind not in ADJUSTMENT_KINDS]

    assert sum(line.energy_wh for line in lines) == last.energy_wh - first.energy_wh
    assert sum(line.seconds for line in lines) == whole_seconds(last.at) - whole_seconds(first.at)
    assert breakdown.electricity_fen == sum(line.electricity_fen for line in breakdown.lines)
    assert breakdown.service_fen == sum(line.service_fen for line in breakdown.lines)
    free_end = first.at + timedelta(seconds=tariff.free_charge_seconds)
    for line in lines:
        period = tariff.periods[line.row]
        assert line.interval == period.interval
        assert line.energy_wh == energy_at(readings, line.end) - energy_at(readings, line.start)
        assert line.seconds == whole_seconds(line.end) - whole_seconds(line.start)
        assert line.seconds > 0 or line.energy_wh > 0
        # Within the session and within one occurrence of its period
        assert first.at <= line.start < line.end <= last.at
        local_start = line.start.astimezone(LOCAL_ZONE)
        minute_of_day = local_start.hour * 60 + local_start.minute
        assert period.start_minute <= minute_of_day < period.end_minute
        assert line.end <= period_end(line.start, period)
        if line.kind == LineKind.FREE:
            assert line.end <= free_end
            assert (line.electricity_price_e4, line.service_price_e4, line.total_fen) == (0, 0, 0)
        else:
            assert line.kind == LineKind.PERIOD
            assert line.start >= free_end
            assert (line.electricity_price_e4, line.service_price_e4) == (
                period.electricity_price_e4,
                period.service_price_e4,
            )
            assert line.electricity_fen == fee_fen(wh=line.energy_wh, price_e4=period.electricity_price_e4)
            assert line.service_fen == fee_fen(wh=line.energy_wh, price_e4=period.service_price_e4)
    for before, after in pairwise(lines):
        assert before.end <= after.start
    assert_adjustments_hold(tariff, breakdown)


@st.composite
def readings_with_points_on_their_lines(draw):
    """A series and the same series with extra readings where the line between two readings crosses
    a whole Wh, at whole microseconds."""
    readings = draw(reading_series(min_readings=2, whole_seconds=draw(st.booleans())))
    refined = [readings[0]]
    for (t0, e0), (t1, e1) in pairwise(readings):
        span, delta = microseconds_between(t0, t1), e1 - e0
        # delta × (t − t0) is a multiple of span exactly when t − t0 is a multiple of `step`.
        step = span // gcd(delta, span) if span else 0
        if step and span // step > 1 and draw(st.booleans()):
            for multiple in sorted(draw(st.sets(st.integers(1, span // step - 1), min_size=1, max_size=3))):
                elapsed = multiple * step
                refined.append(Reading(t0 + timedelta(microseconds=elapsed), e0 + delta * elapsed // span))
        refined.append(Reading(t1, e1))
    return readings, refined


@settings(deadline=None, max_examples=200)
@given(tariff=period_tariffs(adjustments=True), series=readings_with_points_on_their_lines())
def test_readings_on_the_line_between_two_readings_change_nothing(tariff, series):
    readings, refined = series
    assert price_by_energy(tariff, refined) == price_by_energy(tariff, readings)


@settings(deadline=None)
@given(tariff=period_tariffs(free_time=False), data=st.data())
def test_a_session_within_one_period_costs_its_energy_at_that_periods_prices(tariff, data):
    period = data.draw(st.sampled_from(tariff.periods))
    day = FIRST_DAY + timedelta(days=data.draw(st.integers(0, 3 * 365)))
    period_start = day + timedelta(minutes=period.start_minute)
    length = (period.end_minute - period.start_minute) * 60_000_000
    offsets = sorted(data.draw(st.lists(st.integers(0, length), min_size=2, max_size=20, unique=True)))
    energies = sorted(data.draw(st.lists(st.integers(0, 1_000_000), min_size=len(offsets), max_size=len(offsets))))
    readings = [(period_start + timedelta(microseconds=o), e) for o, e in zip(offsets, energies, strict=True)]

    breakdown = price_by_energy(tariff, readings)

    wh = energies[-1] - energies[0]
    assert breakdown.energy_wh == wh
    assert len(breakdown.lines) <= 1
    assert breakdown.total_fen == fee_fen(wh=wh, price_e4=period.electricity_price_e4) + fee_fen(
        wh=wh, price_e4=period.service_price_e4
    )


@settings(deadline=None)
@given(tariff=period_tariffs(), readings=reading_series())
def test_the_zone_the_readings_are_given_in_does_not_matter(tariff, readings):
    in_utc = [(at.astimezone(UTC), wh) for at, wh in readings]
    assert price_by_energy(tariff, in_utc) == price_by_energy(tariff, readings)


DST_CHANGES = [datetime(2025, 3, 30, 1, tzinfo=UTC), datetime(2025, 10, 26, 1, tzinfo=UTC)]  # Europe/Berlin


@settings(deadline=None)
@given(
    tariff=period_tariffs(),
    change=st.sampled_from(DST_CHANGES),
    start=st.integers(-2 * 86_400_000_000, 86_400_000_000),
    gaps=st.lists(st.integers(0, 7_200_000_000), min_size=1, max_size=40),
    data=st.data(),
)
def test_lines_add_up_across_a_dst_change(tariff, change, start, gaps, data):
    # Beijing has no DST, but the zone is the zone's rules: lines must still add up where they change.
    berlin = ZoneInfo("Europe/Berlin")
    at, energy = change + timedelta(microseconds=start), 0
    readings = [Reading(at.astimezone(berlin), energy)]
    for gap in gaps:
        at += timedelta(microseconds=gap)
        energy += data.draw(st.integers(0, 50_000)) if gap else 0
        readings.append(Reading(at.astimezone(berlin), energy))

    breakdown = price_by_energy(tariff, readings, zone=berlin)

    assert breakdown.energy_wh == readings[-1].energy_wh
    assert breakdown.seconds == whole_seconds(readings[-1].at) - whole_seconds(readings[0].at)
    for line in breakdown.lines:
        assert line.energy_wh == energy_at(readings, line.end) - energy_at(readings, line.start)
        assert microseconds(line.start) < microseconds(line.end)
    for before, after in pairwise(breakdown.lines):
        assert microseconds(before.end) <= microseconds(after.start)


# --- power tiers -----------------------------------------------------------------------------------------


@st.composite
def tier_tariffs(draw):
    """1–5 tiers whose prices per second do not fall as the power rises, in charge units of ½ h to 4 h."""
    count = draw(st.integers(1, 5))
    bounds = sorted(draw(st.sets(st.integers(1, 5000), min_size=count, max_size=count)))
    # Rates per half hour, rising; a tier charged per n half hours costs n times its rate per unit.
    electricity = sorted(draw(st.lists(prices, min_size=count, max_size=count)))
    service = sorted(draw(st.lists(prices, min_size=count, max_size=count)))
    units = draw(st.lists(st.sampled_from([1800, 3600, 7200, 14_400]), min_size=count, max_size=count))
    tiers = tuple(
        PowerTier(bound, e * (unit // 1800), s * (unit // 1800), unit_seconds=unit)
        for bound, e, s, unit in zip(bounds, electricity, service, units, strict=True)
    )
    free = draw(st.just(0) | st.integers(1, 3600))
    return Tariff(kind="ebike", tiers=tiers, free_charge_seconds=free, **draw(ebike_settings()))


seconds_ = st.integers(0, 3 * 86_400)
powers = st.integers(0, 6000)


@settings(deadline=None)
@given(tariff=tier_tariffs(), seconds=st.tuples(seconds_, seconds_), peak_power_w=powers)
def test_a_longer_session_never_costs_less(tariff, seconds, peak_power_w):
    shorter, longer = sorted(seconds)
    assert (
        price_by_power(tariff, seconds=shorter, peak_power_w=peak_power_w).total_fen
        <= price_by_power(tariff, seconds=longer, peak_power_w=peak_power_w).total_fen
    )


@settings(deadline=None)
@given(tariff=tier_tariffs(), seconds=seconds_, peak_power_w=st.tuples(powers, powers))
def test_a_higher_peak_power_never_costs_less(tariff, seconds, peak_power_w):
    lower, higher = sorted(peak_power_w)
    assert (
        price_by_power(tariff, seconds=seconds, peak_power_w=lower).total_fen
        <= price_by_power(tariff, seconds=seconds, peak_power_w=higher).total_fen
    )


@settings(deadline=None)
@given(tariff=tier_tariffs(), seconds=seconds_, peak_power_w=powers)
def test_tier_lines_cover_the_session_and_adjustments_keep_the_total_within_bounds(tariff, seconds, peak_power_w):
    breakdown = price_by_power(tariff, seconds=seconds, peak_power_w=peak_power_w)

    lines = [line for line in breakdown.lines if line.kind not in ADJUSTMENT_KINDS]
    assert sum(line.seconds for line in lines) == seconds
    assert [line.kind for line in lines] == [
        kind
        for kind, present in (
            (LineKind.FREE, min(seconds, tariff.free_charge_seconds) > 0),
            (LineKind.TIER, seconds > tariff.free_charge_seconds),
        )
        if present
    ]
    assert_adjustments_hold(tariff, breakdown)
