"""The callbacks of the wz-open pages: what the cloud POSTs to `<callback_url>/<name>`, and its log of them.

start_power, finish_order and icc_pay_req are form-urlencoded, offline_profit is multipart/form-data; every
value is a string, with app_id, timestamp (real Unix seconds: our receiver checks it against its clock)
and sign computed as for the calls. Callbacks about sessions go out from one queue, in the order the events
happened (a start_power before its finish_order). A callback counts as delivered only when answered HTTP
200 with JSON code 1; otherwise it is tried again, `callback_retries` times in all.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from integrations.simulation import Delivery, Pusher
from integrations.wanzhuang.simulator.protocol import MULTIPART_CALLBACKS, SUCCESS, signature, unix

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class CallbackRecord(Delivery):
    """One callback: its name, every field posted (signing fields included), and how it went.

    `status`: "delivered" (HTTP 200, code 1), "refused" (answered with another code), "failed" (no usable
    answer), "dropped" (logged but never sent: `lose_finish`), "unsent" (no callback_url) or "pending".
    """

    name: str
    fields: dict[str, str]
    url: str
    created_at: int  # simulated Unix s
    charge_id: int | None = None
    dropped: bool = False
    unsent: bool = False
    retry_refusals: bool = True  # a refusal of icc_pay_req is an answer (the card is refused), not a failure

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and isinstance(self.reply, dict) and str(self.reply.get("code")) == str(SUCCESS)

    @property
    def answered(self) -> bool:
        return self.status_code == 200 and isinstance(self.reply, dict)

    @property
    def status(self) -> str:
        if self.dropped:
            return "dropped"
        if self.unsent:
            return "unsent"
        if self.attempts == 0:
            return "pending"
        if self.ok:
            return "delivered"
        return "refused" if self.answered else "failed"

    @property
    def reply_text(self) -> str:
        """Our reply as the callback log shows it ("" when there was none)."""
        if self.reply is not None:
            return json.dumps(self.reply, ensure_ascii=False, separators=(",", ":"))
        return self.error or ""

    @property
    def wants_retry(self) -> bool:
        return not (self.ok if self.retry_refusals else self.answered)


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body of text fields and its Content-Type."""
    boundary = f"----WzSimBoundary{secrets.token_hex(12)}"
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode("utf-8"), f"multipart/form-data; boundary={boundary}"


class CallbackPusher(Pusher):
    """The kit's pusher, with two things wz-open needs: each callback goes to its own URL (the base and its
    name), and an answer that is not code 1 is tried again like a failed one.

    The URL is per thread, so a callback sent at once (a card swipe) never borrows the URL of one the
    queue is sending. The kit tries each POST once; this loop makes the tries.
    """

    def __init__(self, *, attempts: int, retry_delay: float, timeout: float | tuple[float, float] = (3.0, 10.0)):
        self._local = threading.local()
        self._default_url = ""
        super().__init__("", timeout=timeout, attempts=1, retry_delay=retry_delay, name="wanzhuang-sim")
        self.tries = max(1, attempts)
        self.pause = retry_delay

    @property
    def url(self) -> str:
        return getattr(self._local, "url", self._default_url)

    @url.setter
    def url(self, value: str) -> None:
        self._default_url = value

    def send(self, delivery: CallbackRecord) -> CallbackRecord:
        self._local.url = delivery.url
        try:
            for attempt in range(1, self.tries + 1):
                super().send(delivery)
                delivery.attempts = attempt
                if not delivery.wants_retry:
                    break
                if attempt < self.tries:
                    time.sleep(self.pause)
        finally:
            del self._local.url
        reply = delivery.reply or {}
        logger.info(
            "CALLBACK %s %s -> %s %s %s (%s, %d tries)",
            delivery.name,
            json.dumps({k: v for k, v in delivery.fields.items() if k != "sign"}, ensure_ascii=False),
            delivery.status_code or delivery.error,
            reply.get("code", ""),
            reply.get("message", ""),
            delivery.status,
            delivery.attempts,
        )
        return delivery


class WanzhuangCallbacks:
    """What `WanzhuangSimulator` sends us; the queueing methods run with its lock held."""

    def _build_callback(self, name: str, fields: dict, charge_id: int | None = None) -> CallbackRecord:
        body = {key: str(value) for key, value in fields.items()}
        body["app_id"] = self.app_id
        body["timestamp"] = str(int(time.time()))
        body["sign"] = signature(body, self.app_secret, self.sign_method)
        if name in MULTIPART_CALLBACKS:
            data, content_type = multipart(body)
            headers = {"Content-Type": content_type}
        else:
            data, headers = dict(body), {}
        record = CallbackRecord(
            data=data,
            headers=headers,
            name=name,
            fields=body,
            url=f"{(self.callback_url or '').rstrip('/')}/{name}",
            created_at=unix(self.clock.now()),
            charge_id=charge_id,
            retry_refusals=name != "icc_pay_req",
        )
        self._callbacks.append(record)
        if charge_id is not None:
            self._callback_log.setdefault(charge_id, []).append(record)
        return record

    def _queue_callback(self, name: str, fields: dict, charge_id: int | None = None) -> CallbackRecord:
        """Build, log and queue a callback; a finish_order `lose_finish` asked to lose is logged, not sent."""
        record = self._build_callback(name, fields, charge_id)
        if name == "finish_order" and self._take_lost_finish(charge_id):
            record.dropped = True
            logger.info("CALLBACK finish_order of charge_id %s lost on purpose (logged, not sent)", charge_id)
        elif self._pusher is None:
            record.unsent = True
        else:
            self._pusher.enqueue(record)
        return record

    def _send_callback_now(self, name: str, fields: dict) -> CallbackRecord:
        """Send on the caller's thread and return the record with our reply. Call it without the lock: our
        receiver may call the cloud back while answering (a swipe accepted is a start)."""
        if self._pusher is None:
            raise RuntimeError("the simulator has no callback_url to send to")
        with self.lock:
            record = self._build_callback(name, fields)
        return self._pusher.send(record)

    def _take_lost_finish(self, charge_id: int | None) -> bool:
        for index, wanted in enumerate(self._lost_finishes):
            if wanted is None or wanted == charge_id:
                del self._lost_finishes[index]
                return True
        return False

    def _queue_start_power(self, session, state: int) -> None:
        self._queue_callback(
            "start_power",
            {
                "device_num": session.device_num,
                "device_port": session.port,
                "charge_id": session.charge_id,
                "state": state,
            },
            charge_id=session.charge_id,
        )

    def _finish_fields(self, session) -> dict:
        now = self.clock.now()
        return {
            "device_num": session.device_num,
            "device_port": session.port,
            "charge_id": session.charge_id,
            "stop_reason": session.stop_reason,
            "start_time": session.start_unix,
            "end_time": session.end_unix(now),
            "time_used": session.time_used(now),
            "eq_used": session.eq_wh // self.energy_unit_wh,
            "pay_amount": session.total_fee,
            "pay_used": session.pay_used,
            "refund_amount": session.refund_amount,
        }

    def callbacks(self, name: str | None = None) -> list[CallbackRecord]:
        """Every callback so far (of one name, or all), oldest first, with what we answered."""
        with self.lock:
            return [record for record in self._callbacks if name is None or record.name == name]

    def callback_log(self, charge_id: int) -> list[dict]:
        """The log /open/callback/log answers for a charge_id."""
        with self.lock:
            return [
                {
                    "type": record.name,
                    "req": dict(record.fields),
                    "res": record.reply_text,
                    "created_at": record.created_at,
                }
                for record in self._callback_log.get(charge_id, [])
            ]

    def drain(self, timeout: float = 10) -> None:
        """Block until every queued callback was sent (with its retries); TimeoutError otherwise."""
        if self._pusher:
            self._pusher.drain(timeout)
