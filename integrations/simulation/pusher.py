"""POSTs to one receiver: queued messages in order on one thread, others at once, each retried with backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Delivery:
    """A message to POST and, once sent, how it went.

    `data` is the body as bytes (say its Content-Type in `headers`) or form fields. A simulator
    subclasses it to keep what the message was about next to its outcome.
    """

    data: bytes | dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    status_code: int | None = None  # of the last attempt; None: no HTTP answer
    reply: dict | None = None  # the last answer's JSON object; None: the answer was not one
    error: str | None = None  # why the last attempt failed; None: it was answered below 500

    @property
    def delivered(self) -> bool:
        return self.attempts > 0 and self.error is None


class Pusher:
    """Sends `Delivery` messages to `url` and records each, oldest first, in `deliveries`.

    An attempt fails on a transport error or an HTTP status of 500 or more; a failed message is tried
    again after `retry_delay` seconds, each wait `backoff` times the one before, `attempts` times in
    all, then given up with its last outcome. `on_delivery` is told of every message once it is done.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float | tuple[float, float] = (3.0, 10.0),
        attempts: int = 3,
        retry_delay: float = 0.2,
        backoff: float = 2.0,
        name: str = "simulator",
        on_delivery: Callable[[Delivery], None] | None = None,
    ):
        if attempts < 1:
            raise ValueError("a message is tried at least once")
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.backoff = backoff
        self.name = name
        self.on_delivery = on_delivery
        self._deliveries: list[Delivery] = []
        self._queue: deque[tuple[Delivery, Callable[[Delivery], None] | None]] = deque()
        self._cond = threading.Condition()
        self._unfinished = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def deliveries(self) -> list[Delivery]:
        with self._cond:
            return list(self._deliveries)

    def send(self, delivery: Delivery) -> Delivery:
        """POST now, on the caller's thread, retrying as configured; returns `delivery` with its outcome."""
        for attempt in range(1, self.attempts + 1):
            delivery.attempts = attempt
            try:
                response = requests.post(self.url, data=delivery.data, headers=delivery.headers, timeout=self.timeout)
            except requests.RequestException as exc:
                delivery.status_code, delivery.reply, delivery.error = None, None, f"{type(exc).__name__}: {exc}"
            else:
                delivery.status_code, delivery.error = response.status_code, None
                try:
                    reply = response.json()
                except ValueError:
                    reply = None
                delivery.reply = reply if isinstance(reply, dict) else None
                if response.status_code < 500:
                    break
                delivery.error = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                time.sleep(self.retry_delay * self.backoff ** (attempt - 1))
        with self._cond:
            self._deliveries.append(delivery)
        if self.on_delivery:
            self.on_delivery(delivery)
        return delivery

    def enqueue(self, delivery: Delivery, then: Callable[[Delivery], None] | None = None) -> None:
        """Send later on the pusher's thread, after everything queued before; `then` gets the outcome."""
        with self._cond:
            self._queue.append((delivery, then))
            self._unfinished += 1
            self._cond.notify_all()

    def start(self) -> None:
        with self._cond:
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-pusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the message being sent; messages still queued are not sent."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=30)
            self._thread = None

    def drain(self, timeout: float = 10) -> None:
        """Block until every queued message was sent and its `then` ran; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._unfinished == 0, timeout=timeout):
                raise TimeoutError(f"{self._unfinished} messages to {self.url} still pending after {timeout} s")

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                delivery, then = self._queue.popleft()
            try:
                self.send(delivery)
                if then:
                    then(delivery)
            except Exception:  # a bug in a reaction must not kill the only pusher thread
                logger.exception("%s: handling a message to %s failed", self.name, self.url)
            finally:
                with self._cond:
                    self._unfinished -= 1
                    self._cond.notify_all()
