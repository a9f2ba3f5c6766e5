"""The contract's words as the partner reads them: paths, codes, times and numbers.

Written from the contract rather than imported from our server's protocol module, so that the simulator checks
our server against the document instead of agreeing with it by construction.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

API_PREFIX = "/api/partner/v1/"
BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

OK = 0
BAD_TOKEN = 2002
EXPIRED_TOKEN = 2003
# The answers that mean "get a new token and ask again".
TOKEN_RETRY_CODES = frozenset({BAD_TOKEN, EXPIRED_TOKEN})
THROTTLED = 4290
SERVER_ERROR = 5000
UNAVAILABLE = 5003
# Answers about the server's state rather than the request: worth asking again later.
TRANSIENT_CODES = frozenset({THROTTLED, SERVER_ERROR, UNAVAILABLE})

# Order status of the detail.
STATUS_START_FAILED = 0
STATUS_CHARGING = 1
STATUS_ENDED = 2
STATUS_ENDED_ABNORMALLY = 9
FINAL_STATUSES = frozenset({STATUS_START_FAILED, STATUS_ENDED, STATUS_ENDED_ABNORMALLY})

# Which callback tells more about an order: a late progress never undoes an end.
NOTIFY_RANK = {"start": 0, "progress": 1, "end": 2}

# StubInfo and gun status "0": idle.
IDLE = "0"


def loads(raw: bytes | str):
    """JSON with every non-integer number as a Decimal, so yuan and kWh stay exactly what was sent."""
    return json.loads(raw, parse_float=Decimal)


def wire_time(moment: dt.datetime) -> str:
    """An aware datetime as the contract writes times: Beijing local "yyyy-MM-dd HH:mm:ss"."""
    if moment.tzinfo is None:
        raise ValueError("a wire time needs an aware datetime (which zone would a naive one be in?)")
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def parse_wire_time(text: str) -> dt.datetime | None:
    """ "yyyy-MM-dd HH:mm:ss" (Beijing) as an aware datetime; None for "" (not happened yet) or anything else."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)
    except ValueError:
        return None


def as_decimal(value) -> Decimal:
    """A figure of an answer as a Decimal: Decimal or int from `loads`, a string if the sender quoted it."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a number")
    return Decimal(str(value))
