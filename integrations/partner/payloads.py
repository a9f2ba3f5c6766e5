"""Our tariffs as the partner interface shows them: the fee texts of StubInfo (§2.2, `syncStubInfo`).

StubInfo describes one charger to the partner. Its `electricFee` (电费描述) and `serviceFee` (服务费描述) are
"String" descriptions with no format: texts for people, not amounts for a program. They are written in Chinese
whatever the admin's language, and prices keep our four decimals of yuan, so nothing is rounded.

Where the spec is silent, we assumed:

- a fee the same all day is described by its price alone ("0.6500元/度"); otherwise each period in day order
  as "HH:MM-HH:MM <尖|峰|平|谷> <price>元/度" (no interval word for a period without one), joined by "；";
- a power tier reads "≤<bound>W <price>元/<charge unit>", the unit in the largest whole unit ("小时",
  "4小时", "30分钟", "90秒"), the tiers in power order, joined by "；";
- the free time at the start spares both fees, so each text ends with it, in minutes when whole
  ("，前3分钟免费"), else in seconds ("，前90秒免费");
- `totalFeeInfo` (总费用, a number the spec does not explain) and `parkingFeeInfo` are not derived from a
  tariff here.
"""

from __future__ import annotations

from tariffs.pricing import Interval, Period, PowerTier, Tariff
from tariffs.renderings import periods_in_day_order, require_rows, tiers_in_power_order
from tariffs.units import format_minute_of_day, format_price_e4

# Protocol text: Chinese whatever the admin language, so plain literals rather than gettext.
_INTERVAL_ZH = {Interval.CUSP: "尖", Interval.PEAK: "峰", Interval.PLAIN: "平", Interval.VALLEY: "谷"}


def _zh_charge_unit(seconds: int) -> str:
    """A charge unit as the partner reads it: 3600 -> "小时", 14400 -> "4小时", 1800 -> "30分钟", 90 -> "90秒"."""
    if seconds % 3600 == 0:
        count, name = seconds // 3600, "小时"
    elif seconds % 60 == 0:
        count, name = seconds // 60, "分钟"
    else:
        count, name = seconds, "秒"
    return name if count == 1 else f"{count}{name}"


def _zh_periods(periods: list[Period], price_of) -> str:
    if len({price_of(period) for period in periods}) == 1:
        return f"{format_price_e4(price_of(periods[0]))}元/度"
    parts = []
    for period in periods:
        span = f"{format_minute_of_day(period.start_minute)}-{format_minute_of_day(period.end_minute)}"
        interval = _INTERVAL_ZH.get(period.interval)
        words = [span, interval] if interval else [span]
        parts.append(" ".join([*words, f"{format_price_e4(price_of(period))}元/度"]))
    return "；".join(parts)


def _zh_tiers(tiers: list[PowerTier], price_of) -> str:
    return "；".join(
        f"≤{tier.power_upper_w}W {format_price_e4(price_of(tier))}元/{_zh_charge_unit(tier.unit_seconds)}"
        for tier in tiers
    )


def fee_descriptions(tariff: Tariff) -> dict:
    """`{"electricFee": ..., "serviceFee": ...}`: the StubInfo fee texts of `tariff`, in Chinese."""
    require_rows(tariff)
    if tariff.periods:
        periods = [period for _label, period in periods_in_day_order(tariff)]
        electric = _zh_periods(periods, lambda period: period.electricity_price_e4)
        service = _zh_periods(periods, lambda period: period.service_price_e4)
    else:
        tiers = [tier for _label, tier in tiers_in_power_order(tariff)]
        electric = _zh_tiers(tiers, lambda tier: tier.electricity_price_e4)
        service = _zh_tiers(tiers, lambda tier: tier.service_price_e4)
    free = tariff.free_charge_seconds
    if free > 0:
        # The free time spares both fees, so each text says so on its own.
        suffix = f"，前{free // 60}分钟免费" if free % 60 == 0 else f"，前{free}秒免费"
        electric += suffix
        service += suffix
    return {"electricFee": electric, "serviceFee": service}
