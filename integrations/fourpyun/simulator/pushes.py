"""What 4pyun pushes to us about an order: HTTP POST forms to `<push_base_url>/<name>`, and how each went.

The fields are those of 4pyun's push pages (推送充电状态, 推送充电订单信息, 推送启动/停止充电结果), every value a
string, UTF-8, form-urlencoded. The pages do not say how 4pyun signs a push; assumed, as its payment notification
does: `app_id`, `timestamp` (real milliseconds: our receiver checks it against its own clock) and `sign_type` MD5
added, and the open platform's form signature (`signing.form_sign`, our app secret) in a `sign` field.

A push counts as delivered only when answered HTTP 200 with `{"code": "1001"}`; otherwise 4pyun notifies again,
as its payment notification page says it does, a few times with a growing pause.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from integrations.fourpyun.signing import form_sign
from integrations.fourpyun.simulator.protocol import OK, SIGN_TYPE, local_time, parse_utc
from integrations.simulation import Delivery, Pusher

logger = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded; charset=UTF-8"
ORDER_FIELDS = (
    "station_uuid", "order", "device_no", "port_no", "device_type", "energy_code", "start_time", "end_time",
    "replenish_time", "plate", "quantity", "total_value", "energy_value", "fee_value", "state", "state_desc",
)  # fmt: skip
RESULT_FIELDS = ("station_uuid", "order", "device_no", "port_no", "state", "state_desc")


@dataclass(kw_only=True)
class PushRecord(Delivery):
    """One push: its name, every field posted (the signing fields included), where, and how it went.

    `status`: "delivered" (HTTP 200, code 1001), "refused" (a JSON answer with another code or status),
    "failed" (no JSON answer, or none at all) or "pending". `text` is our last answer's body as text.
    """

    name: str
    fields: dict[str, str]
    url: str
    order: str | None = None
    automatic: bool = False  # sent by the simulator after accepting a record, rather than through push()
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and isinstance(self.reply, dict) and str(self.reply.get("code")) == OK

    @property
    def status(self) -> str:
        if self.attempts == 0:
            return "pending"
        if self.ok:
            return "delivered"
        return "refused" if isinstance(self.reply, dict) else "failed"


def order_fields(record: dict) -> dict[str, str]:
    """A charging-status or order-info push built from a charging record 4pyun accepted: its UTC times in Beijing
    local time, the charging time in seconds, the total of both fees, no plate as ""."""
    start, end = parse_utc(record["start_time"]), parse_utc(record["end_time"])
    fields = {
        "station_uuid": record["station_uuid"],
        "order": record["order"],
        "device_no": record["device_no"],
        "port_no": record["port_no"],
        "device_type": record["device_type"],
        "energy_code": record["energy_code"],
        "start_time": local_time(start),
        "end_time": local_time(end),
        "replenish_time": int((end - start).total_seconds()),
        "plate": record.get("plate") or "",
        "quantity": record["quantity"],
        "total_value": record["energy_value"] + record["fee_value"],
        "energy_value": record["energy_value"],
        "fee_value": record["fee_value"],
        "state": record["state"],
        "state_desc": record["state_desc"],
    }
    return {name: str(value) for name, value in fields.items()}


def result_fields(record: dict, *, state: int | None = None, state_desc: str | None = None) -> dict[str, str]:
    """A start-result or stop-result push about the order of `record` (its state unless another is given)."""
    fields = {name: record[name] for name in RESULT_FIELDS}
    if state is not None:
        fields["state"] = state
    if state_desc is not None:
        fields["state_desc"] = state_desc
    return {name: str(value) for name, value in fields.items()}


def signed_fields(fields: dict, *, app_id: str, secret: str, sign: bool = True, tamper: bool = False) -> dict[str, str]:
    """`fields` as 4pyun posts them: strings, with app_id, timestamp and sign_type unless given, then `sign`.

    `tamper` changes a value after signing (the state's description, or adds a field when there is none), so the
    signature no longer matches what arrives: what a man in the middle would send.
    """
    body = {name: "" if value is None else str(value) for name, value in fields.items()}
    body.setdefault("app_id", app_id)
    body.setdefault("timestamp", str(int(time.time() * 1000)))
    body.setdefault("sign_type", SIGN_TYPE)
    if sign:
        body["sign"] = form_sign(body, secret)
    if tamper:
        if "state_desc" in body:
            body["state_desc"] += "(篡改)"
        else:
            body["tampered"] = "1"
    return body


def new_push(name: str, fields: dict[str, str], *, url: str, automatic: bool = False) -> PushRecord:
    return PushRecord(data=urlencode(fields).encode("ascii"), headers={"Content-Type": FORM}, name=name,
                      fields=fields, url=url, order=fields.get("order"), automatic=automatic)


class PushSender(Pusher):
    """The kit's pusher (one queue, in order, on its thread; `drain`, `deliveries`), sending each push to its own
    URL and trying again on anything but code 1001, not only on a 5xx; `send(push, attempts=1)` tries once."""

    def __init__(self, *, attempts: int = 3, retry_delay: float = 0.2, backoff: float = 2.0,
                 timeout: float | tuple[float, float] = (3.0, 10.0)):
        # The URL only names the receiver in the kit's messages: each push carries its own.
        super().__init__("the push receiver", timeout=timeout, attempts=attempts, retry_delay=retry_delay,
                         backoff=backoff, name="fourpyun-sim")

    def send(self, delivery: PushRecord, attempts: int | None = None) -> PushRecord:
        tries = attempts or self.attempts
        for attempt in range(1, tries + 1):
            delivery.attempts = attempt
            self._post(delivery)
            if delivery.ok:
                break
            if attempt < tries:
                time.sleep(self.retry_delay * self.backoff ** (attempt - 1))
        with self._cond:
            self._deliveries.append(delivery)
        logger.info(
            "PUSH %s %s -> %s %s (%s, %d %s)",
            delivery.name,
            delivery.order or "",
            delivery.status_code or "no answer",
            json.dumps(delivery.reply, ensure_ascii=False) if delivery.reply is not None else (delivery.error or ""),
            delivery.status,
            delivery.attempts,
            "try" if delivery.attempts == 1 else "tries",
        )
        if self.on_delivery:
            self.on_delivery(delivery)
        return delivery

    def forget(self) -> None:
        """Drop the pushes sent so far from `deliveries` (a test starting over)."""
        with self._cond:
            self._deliveries.clear()

    def _post(self, delivery: PushRecord) -> None:
        try:
            response = requests.post(delivery.url, data=delivery.data, headers=delivery.headers, timeout=self.timeout)
        except requests.RequestException as exc:
            delivery.status_code, delivery.reply, delivery.text = None, None, None
            delivery.error = f"{type(exc).__name__}: {exc}"
            return
        delivery.status_code, delivery.text = response.status_code, response.text
        try:
            reply = response.json()
        except ValueError:
            reply = None
        delivery.reply = reply if isinstance(reply, dict) else None
        if delivery.ok:
            delivery.error = None
        elif delivery.reply is None:
            delivery.error = f"HTTP {response.status_code}, not a JSON object"
        else:
            delivery.error = f"HTTP {response.status_code}, code {delivery.reply.get('code')!r}"

