"""Tomda's push protocol (§5), read in memory: the envelope, each type as a typed push, the dedupe key,
our reply codes and envelope. Nothing here touches the database: the receiver refuses a push it cannot
read before storing it, and the worker reads the stored body again the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.http import QueryDict
from django.utils.translation import gettext as _

from chargers.vendor import ChargerInfo
from integrations import values
from integrations.inbox import InboundRejected, Parsed
from integrations.inbox.protocol import malformed as _malformed
from integrations.inbox.protocol import push_read as _read
from integrations.models import RejectReason
from orders.services import Progress, Settlement

from . import constants as c
from . import mappers

# Our reply codes, from appendix 4 where one fits (the spec has no table of push reply codes).
OK = c.SUCCESS_CODE
BAD_REQUEST = "1401"
NOT_FOUND = "1400"
UNKNOWN_PLATFORM = "2001"
UNKNOWN_CHARGER = "2003"
UNKNOWN_CONNECTOR = "2010"
UNKNOWN_ORDER = "2013"
FAILED = "2002"

REPLY_CODES = {
    RejectReason.MALFORMED: BAD_REQUEST,
    RejectReason.UNKNOWN_KIND: BAD_REQUEST,
    RejectReason.VERIFICATION: FAILED,
    RejectReason.SENDER: UNKNOWN_PLATFORM,
    RejectReason.UNKNOWN_CHARGER: UNKNOWN_CHARGER,
    RejectReason.UNKNOWN_CONNECTOR: UNKNOWN_CONNECTOR,
    RejectReason.UNKNOWN_ORDER: UNKNOWN_ORDER,
    RejectReason.UNKNOWN_TEMPLATE: NOT_FOUND,
    RejectReason.INVALID: FAILED,
}

# Questions are answered afresh each time; only news is deduplicated.
QUERIES = {"QUERY_ORDER_BALANCE_INFO", "QUERY_CHARGER_ELEC_FEE"}
# News whose content carries no time of its own: the same state reported again later is new news
# (a connector free again after a session), so the push's time is part of its identity.
UNTIMED = {"DEVICE_INFO", "PUSH_ELEC_FEE_RESULT"}
# How deep a push's JSON may nest; Tomda's deepest (content → workDataInfo → item) is three.
MAX_DEPTH = 16
# No charging session lasts longer; a settlement that says so has a garbled clock.
MAX_SESSION = timedelta(seconds=values.SESSION_SECONDS_MAX)


@dataclass(frozen=True)
class Envelope:
    type: str
    time: str
    content: dict
    received_at: datetime | None = None  # the window of the push's times is around it


# --- typed pushes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    connector_number: int
    order_no: str
    run_status: str
    progress: Progress


@dataclass(frozen=True)
class WorkData:
    serial: str
    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class Event:
    code: str
    name: str
    state: str
    at: datetime
    is_fault: bool


@dataclass(frozen=True)
class Events:
    serial: str
    source: str
    connector_number: int | None
    events: tuple[Event, ...]


@dataclass(frozen=True)
class OrderEnd:
    serial: str
    order_no: str
    settlement: Settlement


@dataclass(frozen=True)
class DeviceReport:
    info: ChargerInfo
    at: datetime | None  # the push's time, when it has a readable one


@dataclass(frozen=True)
class FeeResult:
    serial: str
    external_id: str
    accepted: bool
    at: datetime | None


@dataclass(frozen=True)
class BalanceQuestion:
    order_no: str


@dataclass(frozen=True)
class FeeQuestion:
    serial: str


# --- reading -------------------------------------------------------------------------------------------


def _unreadable_text(value, path: str = "content", *, strings: bool = True) -> str | None:
    """Where a value holds text no database column takes (NUL, a lone surrogate) or nests too deep.

    `strings=False` skips looking into the strings, for a body whose text shows no way to write either.
    """
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return _("%(field)s nests deeper than %(depth)s levels") % {"field": where, "depth": MAX_DEPTH}
        if isinstance(item, str):
            if not strings:
                continue
            if "\x00" in item:
                return _("%(field)s contains a NUL character") % {"field": where}
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return _("%(field)s contains a lone surrogate (an unpaired \\uD800–\\uDFFF escape)") % {"field": where}
        elif isinstance(item, dict):
            stack.extend((v, f"{where}.{k}", depth + 1) for k, v in item.items())
            stack.extend((k, f"{where}[key]", depth + 1) for k in item)
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
    return None


def envelope_parse(*, body: bytes, content_type: str) -> Envelope:
    """The push as §5.2.2 (JSON `{type, time, content}`) or as deployed clouds send it (form fields)."""
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(_("The body is not UTF-8 text.")) from exc
    if media == "multipart/form-data":
        raise _malformed(_("Send the push as JSON or as an urlencoded form, not multipart."))
    form_like = media != "application/json" and not text.lstrip().startswith("{")
    try:
        if media == "application/x-www-form-urlencoded" or form_like:
            form = QueryDict(text, encoding="utf-8")
            fields = {key: form.get(key) for key in ("type", "time", "content")}
        else:
            try:
                fields = json.loads(text, parse_int=values.json_integer)
            except ValueError as exc:  # not JSON, or a number longer than Python reads
                raise _malformed(_("The body is not JSON: %(error)s.") % {"error": exc}) from exc
            if not isinstance(fields, dict):
                raise _malformed(_("The body must be a JSON object with type, time and content."))
        content = fields.get("content")
        # A lone surrogate or a NUL can only come from a \u escape in JSON text or a %00 in a form;
        # most pushes have neither, and their strings need no look.
        strings = "\\u" in text or "%00" in text or "\x00" in text or (isinstance(content, str) and "\\u" in content)
        if isinstance(content, str):
            try:
                content = json.loads(content, parse_int=values.json_integer)
            except ValueError as exc:
                raise _malformed(_("content is not a JSON object: %(error)s.") % {"error": exc}) from exc
    except RecursionError as exc:
        raise _malformed(_("The body nests deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}) from exc
    kind, time = fields.get("type"), fields.get("time")
    for name, value in (("type", kind), ("time", time)):
        if value is not None and (not isinstance(value, str | int) or isinstance(value, bool)):
            raise _malformed(_("%(field)s must be text.") % {"field": name})
    problem = _unreadable_text(str(kind or ""), "type") or _unreadable_text(str(time or ""), "time")
    if problem:
        raise _malformed(_("The push cannot be read: %(problem)s.") % {"problem": problem})
    kind = str(kind or "").strip()
    if not kind:
        raise _malformed(_("The push has no type."))
    if not isinstance(content, dict):
        raise _malformed(_("content must be a JSON object."), kind=kind)
    problem = _unreadable_text(content, strings=strings)
    if problem:
        raise _malformed(_("The push cannot be read: %(problem)s.") % {"problem": problem}, kind=kind)
    return Envelope(type=kind, time=str(time or ""), content=content)


def dedupe_key(envelope: Envelope) -> str:
    """Identical news has one key however often it is pushed; questions have none."""
    if envelope.type in QUERIES:
        return ""
    identity = [envelope.content, envelope.time] if envelope.type in UNTIMED else envelope.content
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{envelope.type}:{hashlib.sha256(canonical.encode()).hexdigest()}"


def _push_time(envelope: Envelope) -> datetime | None:
    """The push's own time: the order of news about a device when nothing finer is sent.

    A time that is not a time is none (the push is still news); one outside the window is a garbled
    clock that would make every later report look older, and refuses the push.
    """
    if not envelope.time:
        return None
    try:
        moment = values.wall_time(envelope.time)
    except ValueError:
        return None
    return _read(values.moment_checked, moment, field="time", around=envelope.received_at)


def _time(envelope: Envelope, value, field: str) -> datetime:
    return _read(mappers.parse_time, value, field=field, around=envelope.received_at)


def _given(value) -> bool:
    """Whether a field is sent: Tomda's cloud writes a field it leaves out as null or empty as often as not."""
    return value is not None and value != ""


def _object(content: dict, field: str) -> dict:
    value = content.get(field)
    if not isinstance(value, dict):
        raise _malformed(_("%(field)s must be a JSON object.") % {"field": field})
    return value


def _list_of_objects(content: dict, *names: str) -> list[dict]:
    value = next((content[name] for name in names if content.get(name) is not None), None)
    if not isinstance(value, list) or not value:
        raise _malformed(_("%(field)s must be a non-empty list.") % {"field": names[0]})
    if not all(isinstance(item, dict) for item in value):
        raise _malformed(_("Each %(field)s item must be an object.") % {"field": names[0]})
    return value


def _work_data(envelope: Envelope) -> WorkData:
    content = envelope.content
    serial = _read(values.text, content, "serialNum")
    readings = []
    for item in _list_of_objects(content, "workDataInfo"):
        run_status = _read(values.text, item, "chargerRunStatus", max_length=32)
        status = mappers.order_status(run_status)
        if status is None:
            raise _malformed(
                _("chargerRunStatus %(status)s is not in appendix 3.") % {"status": values.shown(run_status)}
            )
        # -1 (or nothing) is Tomda's "no SOC"; a number beyond 0–100 is read as none too.
        soc = _read(values.integer, item, "soc", default=-1, minimum=-1, maximum=255)
        progress = Progress(
            at=_time(envelope, item.get("deviceTime") or content.get("deviceTime"), "deviceTime"),
            status=status,
            vendor_status=run_status,
            energy_wh=_read(values.integer, item, "chargeEnergy", maximum=values.ENERGY_WH_MAX),
            charge_seconds=_read(values.integer, item, "chargeTime", default=0,
                                 maximum=values.SESSION_SECONDS_MAX // 60) * 60,
            power_w=_read(values.integer, item, "chargePower", default=0, maximum=values.POWER_W_MAX),
            voltage_dv=_read(values.integer, item, "chargeVoltage", default=0, maximum=values.VOLTAGE_DV_MAX),
            current_da=_read(values.integer, item, "chargeCurrent", default=0, maximum=values.CURRENT_DA_MAX),
            cost_fen=_read(values.integer, item, "chargeCost", default=0, maximum=values.AMOUNT_FEN_MAX) or None,
            soc=soc if 0 <= soc <= 100 else None,
        )
        readings.append(
            Reading(
                connector_number=_read(mappers.connector_number, item.get("connectorId")),
                order_no=_read(values.text, item, "clientOrderId"),
                run_status=run_status,
                progress=progress,
            )
        )
    return WorkData(serial=serial, readings=tuple(readings))


def _events(envelope: Envelope) -> Events:
    content = envelope.content
    serial = _read(values.text, content, "serialNum")
    source_word = content.get("eventSource")
    source = mappers.EVENT_SOURCE.get(str(source_word) if _given(source_word) else "CHARGER")
    if source is None:
        raise _malformed(_("eventSource %(source)s is unknown.") % {"source": values.shown(source_word)})
    # Read whenever sent, as every field is; a charger-wide event is about no connector, whatever it says.
    number = None
    if _given(content.get("connectorId")):
        number = _read(mappers.connector_number, content.get("connectorId"))
    if source == "charger":
        number = None
    _read(values.integer, content, "eventCount", default=0)
    events = []
    for event in _list_of_objects(content, "eventInfo", "eventinfo"):
        state_word = str(event["eventStatus"]) if _given(event.get("eventStatus")) else "HAPPENING"
        state = mappers.EVENT_STATE.get(state_word)
        if state is None:
            raise _malformed(_("eventStatus %(state)s is unknown.") % {"state": values.shown(state_word)})
        code = _read(values.text, event, "eventCode")
        events.append(
            Event(
                code=code,
                is_fault=mappers.is_fault(code),
                name=str(event.get("eventName") or "")[:100],  # a description: cut, never a reason to refuse
                state=state,
                at=_time(envelope, event.get("deviceTime"), "deviceTime"),
            )
        )
    return Events(serial=serial, source=source, connector_number=number, events=tuple(events))


def _order_end(envelope: Envelope) -> OrderEnd:
    content = envelope.content
    if _given(content.get("connectorId")):  # the order names its connector; still a connector number when sent
        _read(mappers.connector_number, content.get("connectorId"))
    close_type = _read(values.text, content, "closeType", required=False)
    reason, reason_text = mappers.close_reason(close_type)
    cost = _read(values.integer, content, "chargeCost", default=0, maximum=values.AMOUNT_FEN_MAX)
    started = _time(envelope, content.get("chargeStartTime"), "chargeStartTime")
    ended = _time(envelope, content.get("chargeEndTime"), "chargeEndTime")
    if ended - started > MAX_SESSION:
        raise _malformed(
            _("chargeEndTime: a session from %(start)s to %(end)s is longer than %(days)s days.")
            % {"start": content.get("chargeStartTime"), "end": content.get("chargeEndTime"),
               "days": MAX_SESSION.days}
        )
    settlement = Settlement(
        started_at=started,
        ended_at=ended,
        energy_wh=_read(values.integer, content, "chargeEnergy", maximum=values.ENERGY_WH_MAX),
        charge_seconds=_read(values.integer, content, "chargeTime", default=0, maximum=values.SESSION_SECONDS_MAX),
        vendor_total_fen=cost or None,
        close_reason=reason,
        vendor_close_code=close_type,
        close_reason_text=reason_text,
        vendor_status=_read(values.text, content, "orderStatus", required=False, max_length=32),
    )
    return OrderEnd(
        serial=_read(values.text, content, "serialNum"),
        order_no=_read(values.text, content, "clientOrderId"),
        settlement=settlement,
    )


def _device_report(envelope: Envelope) -> DeviceReport:
    content = envelope.content
    device_type = str(content["deviceType"]) if _given(content.get("deviceType")) else "CHARGER"
    if device_type != "CHARGER":
        raise InboundRejected(
            _("deviceType %(type)s is not a charger; only CHARGER is handled.") % {"type": values.shown(device_type)},
            reason=RejectReason.INVALID,
        )
    return DeviceReport(info=_read(mappers.charger_info, _object(content, "deviceInfo")), at=_push_time(envelope))


def _fee_result(envelope: Envelope) -> FeeResult:
    content = envelope.content
    return FeeResult(
        serial=_read(values.text, content, "serialNum"),
        external_id=_read(values.text, content, "clientElecFeeModelId"),
        accepted=_read(values.integer, content, "pushResult") == 1,
        at=_push_time(envelope),
    )


def _balance_question(envelope: Envelope) -> BalanceQuestion:
    return BalanceQuestion(order_no=_read(values.text, envelope.content, "clientOrderId"))


def _fee_question(envelope: Envelope) -> FeeQuestion:
    return FeeQuestion(serial=_read(values.text, envelope.content, "serialNum"))


READERS = {
    "WORK_DATA": _work_data,
    "EVENT_DATA": _events,
    "EVENT_INFO": _events,  # the name deployed clouds use
    "ORDER_DATA": _order_end,
    "DEVICE_INFO": _device_report,
    "QUERY_ORDER_BALANCE_INFO": _balance_question,
    "QUERY_CHARGER_ELEC_FEE": _fee_question,
    "PUSH_ELEC_FEE_RESULT": _fee_result,
}


def serial_of(record) -> str:
    if isinstance(record, DeviceReport):
        return record.info.serial
    return getattr(record, "serial", "")


def _order_no_of(record) -> str:
    if isinstance(record, WorkData):
        return record.readings[0].order_no
    return getattr(record, "order_no", "")


def envelope(code: str, description: str = "", data=None) -> dict:
    """Tomda's reply shape (§5.2.3)."""
    return {"errorCode": code, "errorDesc": description, "data": data}


def push_parse(*, body: bytes, content_type: str, received_at: datetime | None = None) -> Parsed:
    """A push's bytes as a typed push: what the inbox stores it as and the worker applies."""
    parsed = replace(envelope_parse(body=body, content_type=content_type), received_at=received_at)
    reader = READERS.get(parsed.type)
    if reader is None:
        raise InboundRejected(
            _("type: push type %(type)s is unknown; we accept %(types)s.")
            % {"type": values.shown(parsed.type), "types": ", ".join(READERS)},
            reason=RejectReason.UNKNOWN_KIND,
            kind=parsed.type,
        )
    try:
        record = reader(parsed)
    except InboundRejected as exc:
        exc.kind = parsed.type
        raise
    return Parsed(
        kind=parsed.type,
        record=record,
        dedupe_key=dedupe_key(parsed),
        charger_serial=serial_of(record),
        order_no=_order_no_of(record),
        received_at=received_at,
    )
