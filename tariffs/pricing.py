"""Pricing: pure functions, no database. The only place a price is computed.

Prices are integer 0.0001 yuan: per kWh for a time-of-use period, per charge unit (`unit_seconds` of
charging, 3600 = per hour) for a power tier. Energy is integer Wh, time is aware datetimes, fees are
integer fen rounded half up once per line and component (DESIGN §4), so every fen is exact and the
total is the sum of its lines.

A `Tariff` is the plain-data form of one published tariff version (`Tariff.from_content` reads what
`TariffVersion.content` stores); the engine prices a session against it:

- a tariff of time-of-use periods prices cumulative energy readings: each energy delta between two
  readings is attributed to the periods it was consumed in, split in proportion to time where the
  readings straddle a period boundary or midnight;
- a tariff of power tiers prices the charging duration at the tier the session's peak power falls in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import islice
from operator import attrgetter, ge, gt, methodcaller
from typing import NamedTuple
from zoneinfo import ZoneInfo

#: Periods are minutes of the day in the operator's local time (a business day is Beijing time).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

MINUTES_PER_DAY = 1440
MAX_PERIODS = 48


def _divide_half_up(numerator: int, denominator: int) -> int:
    if numerator < 0:
        raise ValueError("amounts and prices must not be negative")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)


def fee_fen(*, wh: int, price_e4: int) -> int:
    """Fee in fen for `wh` watt-hours at `price_e4` (0.0001 yuan per kWh).

    Wh is 1e-3 kWh and the price 1e-4 yuan, so wh × price_e4 is in 1e-7 yuan = 1e-5 fen.
    """
    if wh < 0 or price_e4 < 0:
        raise ValueError("energy and price must not be negative")
    return _divide_half_up(wh * price_e4, 100_000)


def duration_fee_fen(*, seconds: int, price_e4: int, unit_seconds: int = 3600) -> int:
    """Fee in fen for `seconds` of charging at `price_e4` (0.0001 yuan) per `unit_seconds` of charging."""
    if seconds < 0 or price_e4 < 0:
        raise ValueError("duration and price must not be negative")
    if unit_seconds <= 0:
        raise ValueError("a charge unit must be longer than zero seconds")
    return _divide_half_up(seconds * price_e4, unit_seconds * 100)


# --- the tariff as plain data ---------------------------------------------------------------------


class Interval:
    """Time-of-use classes as stored (`tariffs.models.TimeInterval` holds their labels)."""

    CUSP = "cusp"
    PEAK = "peak"
    PLAIN = "plain"
    VALLEY = "valley"
    ALL = (CUSP, PEAK, PLAIN, VALLEY)


@dataclass(frozen=True)
class Period:
    """A time-of-use period: [start_minute, end_minute) of the local day, prices per kWh."""

    start_minute: int
    end_minute: int
    interval: str
    electricity_price_e4: int
    service_price_e4: int


@dataclass(frozen=True)
class PowerTier:
    """A power tier: sessions whose peak power is at most `power_upper_w` (and above the tier below)
    pay these prices per `unit_seconds` of charging."""

    power_upper_w: int
    electricity_price_e4: int
    service_price_e4: int
    unit_seconds: int = 3600


@dataclass(frozen=True)
class Tariff:
    """One tariff version: either periods (priced by energy) or power tiers (priced by time).

    `free_charge_seconds`: the first seconds of a session are not billed (their energy is shown on
    free lines). E-bike settings (Wanzhuang charge modes): `start_fee_fen` is the least a billed
    session costs, `max_pay_fen` the most (0: no cap), `free_charging` makes every session free;
    `refundable` and `min_balance_fen` are rules of payment, not of price, and the engine ignores them.
    """

    kind: str
    periods: tuple[Period, ...] = ()
    tiers: tuple[PowerTier, ...] = ()
    free_charge_seconds: int = 0
    min_balance_fen: int = 0
    start_fee_fen: int = 0
    max_pay_fen: int = 0
    refundable: bool = True
    free_charging: bool = False

    @property
    def by_energy(self) -> bool:
        return bool(self.periods)

    def to_content(self) -> dict:
        """JSON-ready form, as a tariff version stores it."""
        return {
            "kind": self.kind,
            "free_charge_seconds": self.free_charge_seconds,
            "min_balance_fen": self.min_balance_fen,
            "start_fee_fen": self.start_fee_fen,
            "max_pay_fen": self.max_pay_fen,
            "refundable": self.refundable,
            "free_charging": self.free_charging,
            "periods": [
                {
                    "start_minute": p.start_minute,
                    "end_minute": p.end_minute,
                    "interval": p.interval,
                    "electricity_price_e4": p.electricity_price_e4,
                    "service_price_e4": p.service_price_e4,
                }
                for p in self.periods
            ],
            "tiers": [
                {
                    "power_upper_w": t.power_upper_w,
                    "unit_seconds": t.unit_seconds,
                    "electricity_price_e4": t.electricity_price_e4,
                    "service_price_e4": t.service_price_e4,
                }
                for t in self.tiers
            ],
        }

    @classmethod
    def from_content(cls, content: dict) -> Tariff:
        return cls(
            kind=content["kind"],
            periods=tuple(Period(**row) for row in content.get("periods", ())),
            tiers=tuple(PowerTier(**row) for row in content.get("tiers", ())),
            free_charge_seconds=content.get("free_charge_seconds", 0),
            min_balance_fen=content.get("min_balance_fen", 0),
            start_fee_fen=content.get("start_fee_fen", 0),
            max_pay_fen=content.get("max_pay_fen", 0),
            refundable=content.get("refundable", True),
            free_charging=content.get("free_charging", False),
        )


class Reading(NamedTuple):
    """A cumulative energy reading of a session: the first reading is the session's start."""

    at: datetime
    energy_wh: int


# --- what the engine returns ------------------------------------------------------------------------


class LineKind:
    PERIOD = "period"  # energy consumed within one occurrence of a period
    FREE = "free"  # energy or time within the free charging time
    TIER = "tier"  # time billed at a power tier
    MINIMUM = "minimum"  # raised to the start fee (e-bike)
    MAXIMUM = "maximum"  # capped at the maximum payment (e-bike)
    FREE_CHARGING = "free_charging"  # the template makes every session free (e-bike)


@dataclass(frozen=True)
class Line:
    """One line of a price breakdown.

    For a period line, `start`/`end` are the instants the line covers and `row` the index of the
    period in `Tariff.periods`; for a tier line, `row` indexes `Tariff.tiers`. Adjustment lines
    (minimum, maximum, free charging) carry only fees, which may be negative.
    """

    kind: str
    row: int | None = None
    interval: str = ""
    start: datetime | None = None
    end: datetime | None = None
    energy_wh: int = 0
    seconds: int = 0
    electricity_price_e4: int = 0
    service_price_e4: int = 0
    unit_seconds: int | None = None
    electricity_fen: int = 0
    service_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.electricity_fen + self.service_fen


@dataclass(frozen=True)
class Breakdown:
    lines: tuple[Line, ...] = field(default_factory=tuple)

    def to_content(self) -> list[dict]:
        """The lines as JSON, as an order stores the price it was settled at."""
        return [
            {name: value.isoformat() if isinstance(value, datetime) else value
             for name, value in asdict(line).items()}
            for line in self.lines
        ]

    @classmethod
    def from_content(cls, content: list[dict]) -> Breakdown:
        return cls(tuple(
            Line(**{**line, "start": _from_iso(line.get("start")), "end": _from_iso(line.get("end"))})
            for line in content
        ))

    @property
    def energy_wh(self) -> int:
        return sum(line.energy_wh for line in self.lines)

    @property
    def seconds(self) -> int:
        return sum(line.seconds for line in self.lines)

    @property
    def electricity_fen(self) -> int:
        return sum(line.electricity_fen for line in self.lines)

    @property
    def service_fen(self) -> int:
        return sum(line.service_fen for line in self.lines)

    @property
    def total_fen(self) -> int:
        return self.electricity_fen + self.service_fen

    def period_totals(self) -> dict[str, list[int]]:
        """Energy and fees by time-of-use class over the period lines: `{interval: [Wh, electricity fen,
        service fen]}` for each class the session touched, as an order stores them for its exports."""
        totals: dict[str, list[int]] = {}
        for line in self.lines:
            if line.kind == LineKind.PERIOD and line.interval:
                wh, electricity, service = totals.setdefault(line.interval, [0, 0, 0])
                totals[line.interval] = [wh + line.energy_wh, electricity + line.electricity_fen,
                                         service + line.service_fen]
        return totals


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- the engine -------------------------------------------------------------------------------------


class SessionTooLong(ValueError):
    """A session longer than the engine prices (`PRICING_MAX_SESSION_HOURS`): a garbled clock, not a price."""

    def __init__(self, max_hours: int):
        super().__init__(f"the session is longer than {max_hours} hours (PRICING_MAX_SESSION_HOURS)")
        self.max_hours = max_hours


def max_session_hours() -> int:
    """The longest session the engine prices, in hours: the setting `PRICING_MAX_SESSION_HOURS`."""
    from django.conf import settings

    return settings.PRICING_MAX_SESSION_HOURS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_US_PER_SECOND = 1_000_000

# Tariffs are immutable and a batch prices many sessions against few of them: remembering the checked
# period starts by identity saves hashing the periods for every session. The tariff is kept in the
# entry so its id cannot be reused while the entry lives.
_PERIOD_STARTS: dict[int, tuple[Tariff, tuple[int, ...]]] = {}
_PERIOD_STARTS_SIZE = 256


def price_session(
    tariff: Tariff,
    *,
    readings: Sequence[tuple[datetime, int]] = (),
    seconds: int | None = None,
    peak_power_w: int | None = None,
    zone: ZoneInfo = LOCAL_ZONE,
) -> Breakdown:
    """Price one session: by its energy readings for a tariff of periods, by its duration and peak power
    for a tariff of power tiers.

    Callers pass what they know of the session; what the tariff does not price by is ignored. For a
    tier tariff without `seconds`, the duration is taken from the first and last reading.
    """
    if tariff.by_energy:
        return price_by_energy(tariff, readings, zone=zone)
    if peak_power_w is None:
        raise ValueError("a power-tier tariff needs the session's peak power")
    if seconds is None:
        if not readings:
            raise ValueError("a power-tier tariff needs the charging duration or the session's readings")
        instants, _ = _checked_readings(readings)
        seconds = _microseconds(instants[-1]) // _US_PER_SECOND - _microseconds(instants[0]) // _US_PER_SECOND
    return price_by_power(tariff, seconds=seconds, peak_power_w=peak_power_w)


def price_by_energy(
    tariff: Tariff, readings: Sequence[tuple[datetime, int]], *, zone: ZoneInfo = LOCAL_ZONE
) -> Breakdown:
    """Price cumulative energy readings (aware instant, Wh) against the tariff's time-of-use periods.

    The energy at an instant between two readings is interpolated on the straight line between them,
    rounded half up to the Wh; a line's energy is the value at its end minus the value at its start, so
    the lines add up to the session's energy exactly and a reading that lies on that line changes nothing.
    """
    starts = _period_starts(tariff)
    instants, energies = _checked_readings(readings)
    count = len(instants)
    if count == 1:
        return Breakdown()
    periods = tariff.periods
    first_us, last_us = _microseconds(instants[0]), _microseconds(instants[-1])
    hours = max_session_hours()
    if last_us - first_us > hours * 3600 * _US_PER_SECOND:
        raise SessionTooLong(hours)
    start_at = instants[0].astimezone(zone)
    end_at = instants[-1].astimezone(zone)

    # The period boundaries strictly inside the session, as (instant, aware datetime, row that begins).
    # The first day's midnight is its first instant even where the zone skips midnight, so the period the
    # session starts in is found on its own local day.
    first_day = start_at.toordinal()
    day_us, day_at = _day_boundaries(starts, zone, first_day)
    first_cut = bisect_right(day_us, first_us)
    row = first_cut - 1 if first_cut else len(starts) - 1
    cuts: list[tuple[int, datetime, int]] = []
    for ordinal in range(first_day, end_at.toordinal() + 1):
        if ordinal != first_day:
            day_us, day_at = _day_boundaries(starts, zone, ordinal)
        for next_row in range(first_cut if ordinal == first_day else 0, len(starts)):
            us = day_us[next_row]
            if us >= last_us:
                break
            cuts.append((us, day_at[next_row], next_row))
    cuts.append((last_us, end_at, row))  # the row after the session's end is never read

    free_end_us = first_us + tariff.free_charge_seconds * _US_PER_SECOND
    lines: list[Line] = []
    hint = 0
    reading_zone = instants[0].tzinfo

    def energy_at(us: int, at: datetime) -> int:
        # Only the two readings around a boundary are turned into microseconds, not the whole series.
        nonlocal hint
        # In the readings' own zone (a fixed offset: see _checked_readings), comparing needs no offset lookups.
        at = at.astimezone(reading_zone)
        j = hint = bisect_left(instants, at, hint)
        if instants[j] == at:
            return energies[j]
        t0, e0 = _microseconds(instants[j - 1]), energies[j - 1]
        span = _microseconds(instants[j]) - t0
        quotient, remainder = divmod((energies[j] - e0) * (us - t0), span)
        return e0 + quotient + (remainder * 2 >= span)

    def add_line(a_us: int, a_at: datetime, a_wh: int, b_us: int, b_at: datetime, b_wh: int, row: int) -> None:
        wh = b_wh - a_wh
        seconds = b_us // _US_PER_SECOND - a_us // _US_PER_SECOND
        if not seconds and not wh:
            return
        period = periods[row]
        if b_us <= free_end_us:
            lines.append(
                Line(
                    kind=LineKind.FREE,
                    row=row,
                    interval=period.interval,
                    start=a_at,
                    end=b_at,
                    energy_wh=wh,
                    seconds=seconds,
                )
            )
            return
        lines.append(
            Line(
                kind=LineKind.PERIOD,
                row=row,
                interval=period.interval,
                start=a_at,
                end=b_at,
                energy_wh=wh,
                seconds=seconds,
                electricity_price_e4=period.electricity_price_e4,
                service_price_e4=period.service_price_e4,
                electricity_fen=fee_fen(wh=wh, price_e4=period.electricity_price_e4),
                service_fen=fee_fen(wh=wh, price_e4=period.service_price_e4),
            )
        )

    a_us, a_at, a_wh = first_us, start_at, energies[0]
    for b_us, b_at, next_row in cuts:
        if a_us < free_end_us < b_us:
            free_at = _instant(free_end_us, zone)
            free_wh = energy_at(free_end_us, free_at)
            add_line(a_us, a_at, a_wh, free_end_us, free_at, free_wh, row)
            a_us, a_at, a_wh = free_end_us, free_at, free_wh
        b_wh = energies[count - 1] if b_us == last_us else energy_at(b_us, b_at)
        add_line(a_us, a_at, a_wh, b_us, b_at, b_wh, row)
        a_us, a_at, a_wh, row = b_us, b_at, b_wh, next_row
    return _adjusted(tariff, lines)


def price_by_power(tariff: Tariff, *, seconds: int, peak_power_w: int) -> Breakdown:
    """Price `seconds` of charging at the power tier of the session's peak power.

    Above the top tier the top tier applies: the charger stops such a session, and it must not come out
    cheaper than one within the tiers.
    """
    tiers = tariff.tiers
    if not tiers:
        raise ValueError("this tariff has no power tiers; price it by energy")
    if seconds < 0:
        raise ValueError("the charging duration must not be negative")
    hours = max_session_hours()
    if seconds > hours * 3600:
        raise SessionTooLong(hours)
    if peak_power_w < 0:
        raise ValueError("the peak power must not be negative")
    row = len(tiers) - 1
    for index, tier in enumerate(tiers):
        if tier.power_upper_w >= peak_power_w:
            row = index
            break
    tier = tiers[row]
    free = min(seconds, tariff.free_charge_seconds)
    lines: list[Line] = []
    if free > 0:
        lines.append(Line(kind=LineKind.FREE, row=row, seconds=free))
    billable = seconds - free
    if billable > 0:
        lines.append(
            Line(
                kind=LineKind.TIER,
                row=row,
                seconds=billable,
                unit_seconds=tier.unit_seconds,
                electricity_price_e4=tier.electricity_price_e4,
                service_price_e4=tier.service_price_e4,
                electricity_fen=duration_fee_fen(
                    seconds=billable, price_e4=tier.electricity_price_e4, unit_seconds=tier.unit_seconds
                ),
                service_fen=duration_fee_fen(
                    seconds=billable, price_e4=tier.service_price_e4, unit_seconds=tier.unit_seconds
                ),
            )
        )
    return _adjusted(tariff, lines)


def _adjusted(tariff: Tariff, lines: list[Line]) -> Breakdown:
    """The breakdown with the e-bike adjustments (free charging, start fee, maximum payment) appended."""
    if not (tariff.free_charging or tariff.start_fee_fen or tariff.max_pay_fen):
        return Breakdown(tuple(lines))
    electricity = sum(line.electricity_fen for line in lines)
    service = sum(line.service_fen for line in lines)
    if tariff.free_charging:
        # Lines stay, so the receipt shows what the session would have cost; an empty session stays empty.
        if lines:
            lines.append(Line(kind=LineKind.FREE_CHARGING, electricity_fen=-electricity, service_fen=-service))
        return Breakdown(tuple(lines))
    total = electricity + service
    if total > 0:
        if total < tariff.start_fee_fen:
            raised = tariff.start_fee_fen - total
            lines.append(Line(kind=LineKind.MINIMUM, electricity_fen=raised))
            electricity += raised
            total += raised
        # The cap is checked after the start fee, so a template whose start fee exceeds its cap charges the cap.
        if 0 < tariff.max_pay_fen < total:
            excess = total - tariff.max_pay_fen
            off_electricity = min(excess, electricity)
            lines.append(
                Line(kind=LineKind.MAXIMUM, electricity_fen=-off_electricity, service_fen=off_electricity - excess)
            )
    return Breakdown(tuple(lines))


def _period_starts(tariff: Tariff) -> tuple[int, ...]:
    """Start minutes of the tariff's periods, after checking they tile the day in order."""
    cached = _PERIOD_STARTS.get(id(tariff))
    if cached is not None and cached[0] is tariff:
        return cached[1]
    if not tariff.periods:
        raise ValueError("this tariff has no time-of-use periods; price it by power")
    reached = 0
    for period in tariff.periods:
        if period.start_minute != reached or period.end_minute <= period.start_minute:
            raise ValueError("the tariff's periods must cover 00:00–24:00 in order, without gaps or overlaps")
        reached = period.end_minute
    if reached != MINUTES_PER_DAY:
        raise ValueError("the tariff's periods must cover 00:00–24:00 in order, without gaps or overlaps")
    starts = tuple(period.start_minute for period in tariff.periods)
    if len(_PERIOD_STARTS) >= _PERIOD_STARTS_SIZE:
        _PERIOD_STARTS.clear()
    _PERIOD_STARTS[id(tariff)] = (tariff, starts)
    return starts


@lru_cache(maxsize=4096)
def _day_boundaries(
    starts: tuple[int, ...], zone: ZoneInfo, ordinal: int
) -> tuple[tuple[int, ...], tuple[datetime, ...]]:
    """The instants the periods begin on one local day: epoch microseconds and aware datetimes in `zone`.

    Each is the local wall-clock time as the zone's rules give it, never a fixed offset from midnight.
    Where a DST change repeats an hour, a boundary in it is its first occurrence; where one skips an hour,
    a boundary in it is the moment the clock skips. Both keep the boundaries in the order of the day.
    """
    day = date.fromordinal(ordinal)
    instants = tuple(
        _wall_clock_instant(datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone))
        for minute in starts
    )
    return instants, tuple(_instant(us, zone) for us in instants)


def _wall_clock_instant(wall: datetime) -> int:
    """Epoch microseconds of the first instant whose local time (in `wall`'s zone) is `wall` or later."""
    us = _microseconds(wall)  # fold=0: the first occurrence of a repeated time
    if _instant(us, wall.tzinfo).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return us
    # The clock skips `wall`: fold=1 reads it with the offset after the change, which falls before the
    # change, fold=0 with the offset before it, which falls after. Zones change on whole seconds.
    naive = wall.replace(tzinfo=None)
    low, high = _microseconds(wall.replace(fold=1)) // _US_PER_SECOND, us // _US_PER_SECOND
    while high - low > 1:
        middle = (low + high) // 2
        if _instant(middle * _US_PER_SECOND, wall.tzinfo).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high * _US_PER_SECOND


def _instant(us: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


def _microseconds(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


_TZINFO = attrgetter("tzinfo")
_UTCOFFSET = methodcaller("utcoffset")


def _checked_readings(readings: Sequence[tuple[datetime, int]]) -> tuple[tuple[datetime, ...], tuple[int, ...]]:
    """The readings' instants and cumulative energies, after checking them.

    The instants come back in UTC or fixed offsets, where comparing datetimes compares instants: two
    datetimes of one `ZoneInfo` compare by wall clock, which is not the order of instants around a DST
    change. Readings as stored (UTC) are used as they are; turning every reading into integer
    microseconds would cost more than the rest of the pricing, so only the few around boundaries are.
    """
    if not readings:
        raise ValueError("a session needs at least one energy reading")
    instants, energies = zip(*readings, strict=True)
    zones = set(map(_TZINFO, instants))
    if not all(type(zone) is timezone for zone in zones):
        # astimezone() would read a naive datetime as the server's local time. `timezone` and `ZoneInfo`
        # always give an offset; any other tzinfo may answer None, which also makes a datetime naive.
        if None in zones or (
            not all(isinstance(zone, timezone | ZoneInfo) for zone in zones) and None in map(_UTCOFFSET, instants)
        ):
            raise ValueError("reading times must be aware datetimes (with a time zone)")
        instants = tuple([at.astimezone(UTC) for at in instants])
    if set(map(type, energies)) != {int}:
        raise ValueError("reading energies must be integer Wh")
    # The common case is checked at C speed; only a series that fails is walked to name the reading.
    if any(map(ge, instants, islice(instants, 1, None))):
        _raise_for_times(instants, energies)
    if any(map(gt, energies, islice(energies, 1, None))):
        for index in range(1, len(energies)):
            if energies[index] < energies[index - 1]:
                raise ValueError(f"cumulative energy decreases at reading {index}")
    return instants, energies


def _raise_for_times(instants: tuple[datetime, ...], energies: tuple[int, ...]) -> None:
    for index in range(1, len(instants)):
        if instants[index] < instants[index - 1]:
            raise ValueError(f"reading {index} is earlier than the reading before it")
        if instants[index] == instants[index - 1] and energies[index] != energies[index - 1]:
            raise ValueError(f"readings {index - 1} and {index} have the same time but different energies")
