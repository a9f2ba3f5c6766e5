"""A per-process memo of things seen to exist (a charger, an order), so that checking a push costs no query.

Only what was found is remembered, and only for `ttl` seconds: a charger imported a moment ago is
looked up and accepted at once, and one deleted is forgotten after at most `ttl`. The worker checks
everything again against the database when it applies a push, so a stale entry never lets bad news in.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

_all: list[Known] = []


class Known:
    def __init__(self, *, ttl: float, size: int = 100_000):
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _all.append(self)

    def get(self, key) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            expires, value = found
            if expires < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, key) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def known_clear_all() -> None:
    """Forget everything every memo holds (tests, whose databases come and go under the same names)."""
    for memo in _all:
        memo.clear()
