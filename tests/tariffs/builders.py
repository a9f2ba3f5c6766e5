"""Tariffs in a line, for the tests of every shape a tariff is rendered in (ours and each counterparty's)."""

from tariffs.pricing import Period, Tariff


def hm(hours, minutes=0):
    """Minutes since midnight."""
    return hours * 60 + minutes


def ev(periods, **settings):
    return Tariff(kind="ev", periods=tuple(periods), **settings)


def ebike_tiers(tiers, **settings):
    return Tariff(kind="ebike", tiers=tuple(tiers), **settings)


def ebike_periods(periods, **settings):
    return Tariff(kind="ebike", periods=tuple(periods), **settings)


def flat_day(price_e4, service_e4=0):
    return (Period(0, hm(24), "plain", price_e4, service_e4),)


# A 尖峰平谷 day of nine periods, prices in whole fen per kWh; one period ends on the half hour.
NINE_PERIODS = (
    Period(hm(0), hm(7), "valley", 3500, 4000),
    Period(hm(7), hm(10), "plain", 6500, 6000),
    Period(hm(10), hm(11), "peak", 10_000, 6000),
    Period(hm(11), hm(13), "cusp", 12_000, 6000),
    Period(hm(13), hm(14, 30), "peak", 10_000, 6000),
    Period(hm(14, 30), hm(17), "plain", 6500, 6000),
    Period(hm(17), hm(19), "cusp", 12_000, 6000),
    Period(hm(19), hm(23), "peak", 10_000, 6000),
    Period(hm(23), hm(24), "valley", 3500, 4000),
)
