"""The house units (tariffs/units.py) as template filters, so pages show exactly what is stored."""

from django import template

from tariffs import units
from tariffs.models import TimeInterval

register = template.Library()

register.filter("fen", units.format_fen)
register.filter("price_e4", units.format_price_e4)
register.filter("wh", units.format_wh)
register.filter("duration", units.format_duration)
register.filter("minute_of_day", units.format_minute_of_day)


@register.filter
def interval_label(value):
    """A stored time-of-use class as its label (尖, 峰, 平, 谷 in Chinese)."""
    return TimeInterval(value).label if value in TimeInterval.values else value
