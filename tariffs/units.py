"""Display of the house units (DESIGN §4) for people: admin pages now, exports later.

Integer arithmetic only, never float: what finance reads is exactly what is stored.
"""


def format_fen(fen):
    """Integer fen as yuan with two decimals: 1050 -> "10.50", -5 -> "-0.05"."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def format_price_e4(price_e4):
    """A unit price in 0.0001 yuan as yuan with four decimals: 6500 -> "0.6500"."""
    if price_e4 is None:
        return None
    sign = "-" if price_e4 < 0 else ""
    price_e4 = abs(price_e4)
    return f"{sign}{price_e4 // 10_000}.{price_e4 % 10_000:04d}"


def format_duration(seconds):
    """Seconds as H:MM:SS, hours unbounded: 3900 -> "1:05:00"."""
    if seconds is None:
        return None
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def format_minute_of_day(minute):
    """Minutes after midnight as HH:MM; 1440 is shown as 24:00, the end of the day."""
    if minute is None:
        return None
    hours, minutes = divmod(minute, 60)
    return f"{hours:02d}:{minutes:02d}"


def format_wh(wh):
    """Integer Wh as kWh with three decimals: 10500 -> "10.500"."""
    if wh is None:
        return None
    return f"{wh // 1000}.{wh % 1000:03d}"


def format_tenths(value):
    """A value in tenths of its unit (0.1 V, 0.1 A) with one decimal: 2205 -> "220.5"."""
    if value is None:
        return None
    return f"{value // 10}.{value % 10}"
