"""The pushes of spec section 5: what the cloud sends our receiver, and what it does with our answers.

Pushes go out from one queue, in order, on one thread, so a test sees them in the order the events
happened (WORK_DATA FINISH before ORDER_DATA before DEVICE_INFO).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from integrations.simulation import Delivery
from integrations.tomda.simulator.fees import FeeSchedule
from integrations.tomda.simulator.protocol import SUCCESS, ApiError, wire_time
from integrations.tomda.simulator.state import LINE_VOLTAGE_DV, SimCharger, SimSession

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class PushRecord(Delivery):
    """One push and what our receiver answered; `reply` is None when there was no JSON answer."""

    type: str
    content: dict
    time: str
    encoding: str

    @classmethod
    def build(cls, push_type: str, content: dict, push_time: str, encoding: str) -> PushRecord:
        content_json = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        if encoding == "form":
            # As deployed clouds send it: form fields, content a JSON string (vendors.md §2).
            data = {"type": push_type, "time": push_time, "content": content_json}
            headers = {}
        else:
            body = f'{{"type":{json.dumps(push_type)},"time":{json.dumps(push_time)},"content":{content_json}}}'
            data = body.encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        return cls(data=data, headers=headers, type=push_type, content=content, time=push_time, encoding=encoding)

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and bool(self.reply) and str(self.reply.get("errorCode")) == SUCCESS


class TomdaPushes:
    """What `TomdaSimulator` pushes; the queueing methods run with its lock held."""

    def _queue(self, push_type: str, content: dict, on_reply: Callable[[PushRecord], None] | None = None) -> None:
        if self._pusher:
            record = PushRecord.build(push_type, content, wire_time(self.clock.now()), self.push_encoding)
            self._pusher.enqueue(record, then=on_reply)

    def _send(self, push_type: str, content: dict, encoding: str | None = None) -> PushRecord:
        """Push now, not via the queue, and return the push with our answer (the simulator needs a push_url)."""
        record = PushRecord.build(push_type, content, wire_time(self.now()), encoding or self.push_encoding)
        return self._pusher.send(record)

    def _queue_device_info(self, charger: SimCharger) -> None:
        self._queue("DEVICE_INFO", {"deviceType": "CHARGER", "deviceInfo": charger.as_wire()})

    def _queue_work_data(self, charger: SimCharger, finishing: SimSession | None = None) -> None:
        sessions = [finishing] if finishing else self._running(charger)
        if sessions:
            items = [self._work_item(charger, s) for s in sessions]
            self._queue("WORK_DATA", {"serialNum": charger.serial, "workDataInfo": items})

    def _work_item(self, charger: SimCharger, session: SimSession) -> dict:
        finished = session.status != "CHARGE"
        power = 0 if finished else session.power_w
        item = {
            "connectorId": charger.wire_connector_id(session.connector_id),
            "clientOrderId": session.order_no,
            "deviceTime": wire_time(session.ended_at if finished else self.clock.now()),
            "chargerRunStatus": session.status,
            "chargeTime": session.charge_seconds // 60,
            "chargeVoltage": LINE_VOLTAGE_DV,
            "chargeCurrent": round(power * 100 / LINE_VOLTAGE_DV),  # 0.1 A: P / U, U in 0.1 V
            "chargePower": power,
            "chargeEnergy": session.energy_wh,
            "chargeCost": session.cost_fen,
        }
        if charger.kind == "ev":  # an e-bike pile cannot know the battery's charge
            item["soc"] = session.soc
        return item

    def _queue_fee_query(self, charger: SimCharger) -> None:
        self._queue(
            "QUERY_CHARGER_ELEC_FEE",
            {"serialNum": charger.serial},
            on_reply=lambda record: self._take_fee_reply(charger.serial, record),
        )

    def _take_fee_reply(self, serial: str, record: PushRecord) -> None:
        data = (record.reply or {}).get("data") if record.ok else None
        model = data.get("elecFeeModelInfo") if isinstance(data, dict) else None
        if isinstance(model, str):
            try:
                model = json.loads(model)
            except ValueError:
                model = None
        if not model:
            return
        with self.lock:
            charger = self.chargers[serial]
            try:
                schedule = FeeSchedule(model)
            except ApiError as exc:
                logger.warning("Tomda simulator: ignoring the fee model answered for %s: %s", serial, exc.desc)
                return
            if schedule.kind != charger.kind:
                logger.warning(
                    "Tomda simulator: a %s fee model was answered for the %s charger %s",
                    schedule.kind,
                    charger.kind,
                    serial,
                )
                return
            self.fee_templates[schedule.model_id] = model
            charger.fee_model = model

    def _take_balance_reply(self, order_no: str, record: PushRecord) -> None:
        data = (record.reply or {}).get("data") if record.ok else None
        balance = data.get("balance") if isinstance(data, dict) else None
        try:
            balance = int(balance)
        except (TypeError, ValueError):
            return  # no usable answer: the pile keeps charging, as it would on a lost query
        with self.lock:
            session = self.sessions.get(order_no)
            if balance <= 0 and session and session.status == "CHARGE":
                self._end_session(session, "EBIKE_DEAUTHORIZED")

    def _log_push(self, record: PushRecord) -> None:
        reply = record.reply or {}
        logger.info(
            "PUSH %s %s -> %s %s %s",
            record.type,
            json.dumps(record.content, ensure_ascii=False),
            record.status_code or record.error,
            reply.get("errorCode", ""),
            reply.get("errorDesc", ""),
        )
