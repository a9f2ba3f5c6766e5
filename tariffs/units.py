"""Display of the house units (DESIGN §4) for people: admin pages now, exports later.

Integer arithmetic only, never float: what finance reads is exactly what is stored.
None stays None, so the admin shows its empty marker.
"""


def format_scaled(value, places):
    """An integer count of 10^-places units as a decimal string: (1050, 2) -> "10.50", (-5, 2) -> "-0.05"."""
    if value is None:
        return None
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


def format_fen(fen):
    """Integer fen as yuan with two decimals: 1050 -> "10.50"."""
    return format_scaled(fen, 2)


def format_price_e4(price_e4):
    """A unit price in 0.0001 yuan as yuan with four decimals: 6500 -> "0.6500"."""
    return format_scaled(price_e4, 4)


def format_wh(wh):
    """Integer Wh as kWh with three decimals: 10500 -> "10.500"."""
    return format_scaled(wh, 3)


def format_tenths(value):
    """A value in tenths of its unit (0.1 V, 0.1 A) with one decimal: 2205 -> "220.5"."""
    return format_scaled(value, 1)


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
