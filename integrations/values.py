"""A counterparty's values read at the edge: each field against its type, its range or length, and each
time against a window around our clock. Every vendor's and partner's mappers read through these, so a
value that could never be applied is refused at once with the field named, before anything is stored
as news or acknowledged.

The ranges are what a charging session can physically be, with a wide margin; they also keep every
figure inside the columns that hold it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.days import BEIJING
from orders.services.progress import SESSION_AMOUNT_MAX_FEN, SESSION_ENERGY_MAX_WH, SESSION_POWER_MAX_W


class MappingError(ValueError):
    """A value a counterparty sent that we cannot read; the message names the field."""


# The largest integer our columns hold (PostgreSQL's integer).
INTEGER_MAX = 2_147_483_647
# What one session can be: 2 MWh, 2 MW, 2,000 V, 2,000 A, 100,000 yuan, 31 days.
ENERGY_WH_MAX = SESSION_ENERGY_MAX_WH
POWER_W_MAX = SESSION_POWER_MAX_W
VOLTAGE_DV_MAX = 20_000
CURRENT_DA_MAX = 20_000
AMOUNT_FEN_MAX = SESSION_AMOUNT_MAX_FEN
SESSION_SECONDS_MAX = 31 * 86_400
# Times outside these years are garbled clocks whatever the window says (and some fit no column).
YEARS = range(2000, 2100)
# The latest Unix time in seconds a counterparty may send: 2100-01-01 (times 1000 where it counts milliseconds).
UNIX_SECONDS_MAX = 4_102_444_800


def shown(value) -> str:
    """A value as an error message quotes it: short, whatever the sender wrote."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def integer(content: dict, field: str, *, default: int | None = None, minimum: int | None = 0,
            maximum: int = INTEGER_MAX) -> int | None:
    """An integer field (sent as a number or as digits); a missing one gives `default`."""
    value = content.get(field)
    if value is None or value == "":
        if default is None:
            raise MappingError(_("%(field)s is missing.") % {"field": field})
        return default
    if isinstance(value, bool | dict | list | float):
        raise MappingError(_("%(field)s: %(value)s is not an integer.") % {"field": field, "value": shown(value)})
    text = str(value).strip()
    if not text.lstrip("+-").isascii():
        raise MappingError(_("%(field)s: %(value)s is not an integer.") % {"field": field, "value": shown(value)})
    # More digits than the largest allowed value has can only be out of range; int() of them is not read.
    if len(text.lstrip("+-").lstrip("0")) > len(str(maximum)):
        raise MappingError(_("%(field)s: %(value)s is above %(maximum)s.")
                           % {"field": field, "value": shown(value), "maximum": maximum})
    try:
        number = int(text)
    except ValueError as exc:
        raise MappingError(
            _("%(field)s: %(value)s is not an integer.") % {"field": field, "value": shown(value)}
        ) from exc
    if minimum is not None and number < minimum:
        raise MappingError(_("%(field)s: %(value)s is below %(minimum)s.")
                           % {"field": field, "value": number, "minimum": minimum})
    if number > maximum:
        raise MappingError(_("%(field)s: %(value)s is above %(maximum)s.")
                           % {"field": field, "value": number, "maximum": maximum})
    return number


def text(content: dict, field: str, *, required: bool = True, max_length: int = 64) -> str:
    """A text field, at most `max_length` characters (the column that keeps it)."""
    value = content.get(field)
    if isinstance(value, bool | dict | list | float):
        raise MappingError(_("%(field)s: %(value)s is not text.") % {"field": field, "value": shown(value)})
    if value is None or str(value).strip() == "":
        if required:
            raise MappingError(_("%(field)s is missing.") % {"field": field})
        return ""
    value = str(value).strip()
    if len(value) > max_length:
        raise MappingError(_("%(field)s: %(value)s is longer than %(length)s characters.")
                           % {"field": field, "value": shown(value), "length": max_length})
    return value


WALL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Exactly that form, two digits a field: strptime alone would take `2026-1-3 9:31:00`.
WALL_TIME_PATTERN = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
_WALL_TIME = re.compile(WALL_TIME_PATTERN)


def wall_time(value) -> datetime:
    """A counterparty's local `yyyy-MM-dd HH:mm:ss` (Beijing time) as an aware datetime; ValueError when it is
    not exactly of that form."""
    text = str(value)
    if not _WALL_TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not of the form yyyy-MM-dd HH:mm:ss")
    return datetime.strptime(text, WALL_TIME_FORMAT).replace(tzinfo=BEIJING)


def time_window(around: datetime | None = None) -> tuple[datetime, datetime]:
    """The earliest and latest time a counterparty may send, around `around` (when we received it; now)."""
    around = around or timezone.now()
    return (around - timedelta(days=settings.INBOX_TIME_BEHIND_DAYS),
            around + timedelta(hours=settings.INBOX_TIME_AHEAD_HOURS))


def moment_checked(moment: datetime, *, field: str, around: datetime | None = None) -> datetime:
    """`moment` when it lies in the years we take and in the window around `around`; else MappingError.

    The window is around the time we received the value, so news replayed later is judged as it was then.
    """
    if moment.year not in YEARS:
        raise MappingError(_("%(field)s: %(value)s is outside the years %(first)s to %(last)s.")
                           % {"field": field, "value": _local(moment), "first": YEARS.start, "last": YEARS.stop - 1})
    earliest, latest = time_window(around)
    if moment > latest:
        raise MappingError(
            _("%(field)s: %(value)s is more than %(hours)s hours ahead of our clock (%(now)s); check the "
              "device's clock.")
            % {"field": field, "value": _local(moment), "hours": settings.INBOX_TIME_AHEAD_HOURS,
               "now": _local(latest - timedelta(hours=settings.INBOX_TIME_AHEAD_HOURS))}
        )
    if moment < earliest:
        raise MappingError(
            _("%(field)s: %(value)s is more than %(days)s days before our clock (%(now)s); check the "
              "device's clock.")
            % {"field": field, "value": _local(moment), "days": settings.INBOX_TIME_BEHIND_DAYS,
               "now": _local(earliest + timedelta(days=settings.INBOX_TIME_BEHIND_DAYS))}
        )
    return moment


def _local(moment: datetime) -> str:
    moment = timezone.localtime(moment) if YEARS.start <= moment.year < YEARS.stop else moment
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"


def json_integer(digits: str) -> int | str:
    """`json.loads`'s `parse_int`: an integer of more digits than any field takes stays text, so that the
    field's reader refuses it by name instead of the whole body failing to parse."""
    return int(digits) if len(digits) <= 32 else digits
