"""Pricing: pure functions, no database. The only place a price is computed.

Prices are integer 0.0001 yuan (per kWh, or per hour for power tiers); energy is integer Wh; fees
are integer fen, rounded half up once per slice and component, so every fen is exact.
"""


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


def duration_fee_fen(*, seconds: int, price_e4_per_hour: int) -> int:
    """Fee in fen for `seconds` of charging at `price_e4_per_hour` (0.0001 yuan per hour)."""
    if seconds < 0 or price_e4_per_hour < 0:
        raise ValueError("duration and price must not be negative")
    return _divide_half_up(seconds * price_e4_per_hour, 360_000)
