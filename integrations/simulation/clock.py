"""Simulated time: it starts at a given moment and moves only through `advance()`."""

from __future__ import annotations

import datetime as dt
import threading
from fractions import Fraction


class SimClock:
    """A clock a simulator writes every time from, so its times are deterministic in tests.

    It follows real time only when something advances it on a timer (a `Ticker` round that advances it
    by the interval times a speed); otherwise it stands still.
    """

    def __init__(self, start: dt.datetime | None = None, *, tz: dt.tzinfo = dt.UTC):
        self.tz = tz
        self._now = (start or dt.datetime.now(tz)).astimezone(tz)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float | Fraction) -> dt.datetime:
        """Move forward by `seconds` (microsecond resolution) and return the new time."""
        if seconds < 0:
            raise ValueError("time runs forward")
        step = dt.timedelta(microseconds=round(seconds * 1_000_000))
        with self._lock:
            self._now += step
            return self._now
