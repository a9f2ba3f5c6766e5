"""Periodic rounds on one thread, each job at its own fixed real-time interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Ticker:
    """Runs each job every `interval` real seconds from `start()` until `stop()`.

    Jobs run one after another on one thread, so a round never overlaps another; a job that raises
    is logged and runs again at its next time, so one bad round does not stop the rest.
    """

    def __init__(self, name: str = "simulator"):
        self.name = name
        self._jobs: list[tuple[float, Callable[[], None]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def every(self, interval: float, job: Callable[[], None]) -> None:
        if interval <= 0:
            raise ValueError("a periodic job needs a positive interval")
        self._jobs.append((interval, job))

    def start(self) -> None:
        """Start the rounds; without jobs there is nothing to run and no thread."""
        if not self._jobs or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        jobs = list(self._jobs)
        due = [time.monotonic() + interval for interval, _job in jobs]
        while True:
            if self._stop.wait(max(0.0, min(due) - time.monotonic())):
                return
            now = time.monotonic()
            for index, (interval, job) in enumerate(jobs):
                if now < due[index]:
                    continue
                due[index] += interval
                try:
                    job()
                except Exception:
                    logger.exception("%s: a periodic round failed", self.name)
