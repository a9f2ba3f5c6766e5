"""The rules a tariff must keep before it can be published: pure, no database.

`tariff_problems` lists every problem with the row it concerns, in words an operator can act on;
the admin puts each message on its row, and publishing refuses a tariff with any problem. Rows may
come in any order: periods are checked in order of their start, tiers in order of their power.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tariffs.pricing import MAX_PERIODS, MINUTES_PER_DAY, Interval, Period, PowerTier, Tariff
from tariffs.units import format_minute_of_day

KINDS = ("ev", "ebike")


PERIODS, TIERS = "periods", "tiers"


@dataclass(frozen=True)
class Problem:
    """What is wrong; `row` indexes the tariff's `periods` or `tiers` (named by `rows`) as given,
    None for the whole tariff."""

    message: str
    row: int | None = None
    rows: str = ""


def period_label(period: Period) -> str:
    return _("period %(start)s–%(end)s") % {
        "start": format_minute_of_day(period.start_minute),
        "end": format_minute_of_day(period.end_minute),
    }


def tier_label(tier: PowerTier) -> str:
    return _("tier ≤ %(power)s W") % {"power": tier.power_upper_w}


def _price_problems(rows, row, label, electricity_price_e4, service_price_e4):
    problems = []
    for price, name in ((electricity_price_e4, _("electricity price")), (service_price_e4, _("service price"))):
        if price is None or price < 0:
            problems.append(
                Problem(_("%(row)s: the %(price)s must be zero or more.") % {"row": label, "price": name}, row, rows)
            )
    return problems


def _period_problems(periods) -> list[Problem]:
    problems = []
    if len(periods) > MAX_PERIODS:
        problems.append(
            Problem(
                _("A day has at most %(max)s periods; this tariff has %(count)s.")
                % {"max": MAX_PERIODS, "count": len(periods)}
            )
        )
    well_formed = []
    for index, period in enumerate(periods):
        label = period_label(period)
        start, end = period.start_minute, period.end_minute
        if period.interval not in Interval.ALL:
            problems.append(Problem(_("%(row)s: choose cusp, peak, plain or valley.") % {"row": label}, index, PERIODS))
        problems.extend(_price_problems(PERIODS, index, label, period.electricity_price_e4, period.service_price_e4))
        if start < 0 or end < 0:
            problems.append(Problem(_("%(row)s: times cannot be negative.") % {"row": label}, index, PERIODS))
        elif start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
            problems.append(
                Problem(
                    _("%(row)s: a day ends at 24:00; no period can start or end after it.") % {"row": label},
                    index,
                    PERIODS,
                )
            )
        elif end == start:
            problems.append(
                Problem(
                    _("%(row)s: the period is empty; its end must be after its start.") % {"row": label}, index, PERIODS
                )
            )
        elif end < start:
            problems.append(
                Problem(
                    _("%(row)s: a period cannot cross midnight; split it into %(start)s–24:00 and 00:00–%(end)s.")
                    % {"row": label, "start": format_minute_of_day(start), "end": format_minute_of_day(end)},
                    index,
                    PERIODS,
                )
            )
        else:
            well_formed.append((start, end, index))
    if len(well_formed) < len(periods):
        return problems

    # Every row is sound on its own: now the rows must tile the day exactly once.
    reached = 0
    previous = None
    for start, end, index in sorted(well_formed):
        label = period_label(periods[index])
        if start > reached:
            gap = {"start": format_minute_of_day(reached), "end": format_minute_of_day(start)}
            problems.append(
                Problem(
                    _("%(row)s: nothing covers %(start)s–%(end)s before it; the day has a gap.")
                    % {"row": label, **gap},
                    index,
                    PERIODS,
                )
            )
        elif start < reached:
            problems.append(
                Problem(
                    _("%(row)s overlaps %(other)s: they share %(start)s–%(end)s.")
                    % {
                        "row": label,
                        "other": period_label(periods[previous]),
                        "start": format_minute_of_day(start),
                        "end": format_minute_of_day(min(reached, end)),
                    },
                    index,
                    PERIODS,
                )
            )
        if end > reached:
            reached, previous = end, index
    if reached < MINUTES_PER_DAY:
        problems.append(
            Problem(
                _("Nothing covers %(start)s–24:00: the periods must cover the whole day.")
                % {"start": format_minute_of_day(reached)},
                previous,
                PERIODS,
            )
        )
    return problems


def _tier_problems(tiers) -> list[Problem]:
    problems = []
    if len(tiers) > MAX_PERIODS:
        problems.append(
            Problem(
                _("A tariff has at most %(max)s power tiers; this one has %(count)s.")
                % {"max": MAX_PERIODS, "count": len(tiers)}
            )
        )
    seen = {}
    for index, tier in enumerate(tiers):
        label = tier_label(tier)
        problems.extend(_price_problems(TIERS, index, label, tier.electricity_price_e4, tier.service_price_e4))
        if tier.power_upper_w is None or tier.power_upper_w <= 0:
            problems.append(
                Problem(_("%(row)s: the upper bound must be more than 0 W.") % {"row": label}, index, TIERS)
            )
        elif tier.power_upper_w in seen:
            problems.append(
                Problem(
                    _("%(row)s: another tier has the same upper bound; each tier needs its own.") % {"row": label},
                    index,
                    TIERS,
                )
            )
        else:
            seen[tier.power_upper_w] = index
        if tier.unit_seconds is None or tier.unit_seconds <= 0:
            problems.append(
                Problem(_("%(row)s: the charge unit must be at least 1 second.") % {"row": label}, index, TIERS)
            )
    return problems


def tariff_problems(tariff: Tariff) -> list[Problem]:
    """Everything that keeps `tariff` from being published; an empty list means it is sound."""
    if tariff.kind not in KINDS:
        return [Problem(_("Choose a vehicle kind."))]
    problems = []
    for value, name in (
        (tariff.free_charge_seconds, _("free charging time")),
        (tariff.min_balance_fen, _("minimum balance")),
        (tariff.start_fee_fen, _("start fee")),
        (tariff.max_pay_fen, _("maximum payment")),
    ):
        if value < 0:
            problems.append(Problem(_("The %(setting)s must be zero or more.") % {"setting": name}))
    if tariff.kind == "ev":
        if tariff.tiers:
            problems.append(Problem(_("An EV tariff is priced by time-of-use periods; power tiers are for e-bikes.")))
        if tariff.start_fee_fen or tariff.max_pay_fen or tariff.free_charging:
            problems.append(
                Problem(_("Start fee, maximum payment and free charging are e-bike settings; clear them for an EV."))
            )
    elif tariff.max_pay_fen and tariff.start_fee_fen > tariff.max_pay_fen:
        problems.append(Problem(_("The start fee cannot be more than the maximum payment.")))

    if tariff.periods and tariff.tiers:
        problems.append(Problem(_("A tariff has either periods or power tiers, not both.")))
    elif not tariff.periods and not tariff.tiers:
        problems.append(Problem(_("Add the periods of the day (or, for e-bikes, the power tiers).")))
    if tariff.periods:
        problems.extend(_period_problems(tariff.periods))
    problems.extend(_tier_problems(tariff.tiers))
    return problems


class TariffInvalid(ValidationError):
    """A tariff that breaks a rule; one message per problem."""

    def __init__(self, problems: list[Problem]):
        super().__init__([problem.message for problem in problems])
        self.problems = problems


def tariff_validate(tariff: Tariff) -> None:
    problems = tariff_problems(tariff)
    if problems:
        raise TariffInvalid(problems)
