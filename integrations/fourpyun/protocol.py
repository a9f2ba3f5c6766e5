"""4pyun's pushes about our charging orders, read in memory: each kind's form fields as a typed report, its dedupe
key, our reply codes and envelope. Nothing here touches the database.

4pyun posts each kind to a URL of its own (`/integrations/4pyun/push/<name>`, the names of `ReportKind`), as an
urlencoded UTF-8 form (doc.4pyun.com/openapi/energy: 推送启动充电结果, 推送停止充电结果, 推送充电状态,
推送充电订单信息):

- start-result, stop-result: station_uuid, order, device_no, port_no, state, state_desc.
- charging-status, order-info: the same, plus device_type, energy_code, start_time and end_time (Beijing time
  `yyyy-MM-dd HH:mm:ss`), replenish_time (s), plate, quantity (0.001 kWh: our Wh), total_value, energy_value and
  fee_value (fen).
- When 4pyun signs: app_id, timestamp (ms), sign_type, sign (`inbox.py` checks them). Other fields are tolerated.

`state` is a replenish_state in every kind (0 未充电, -1 启动失败/充电异常, 2 充电中, 3 充电完成). Where the
pages say every field is required but a state cannot have a value, we take it blank or left out: a plate (an
e-bike has none), a state_desc, and the times of a session that has not started or not ended; a finished one
(state 3) states both. `order` is our order number, which we sent 4pyun with the order's records.

A push is 4pyun's view of one of our orders: it is kept for finance to compare, and moves nothing of ours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from django.utils.translation import gettext as _

from integrations import values
from integrations.inbox import InboundRejected, Parsed
from integrations.inbox.protocol import malformed as _malformed
from integrations.inbox.protocol import push_read as _read
from integrations.models import RejectReason

from .mappers import DEVICE_TYPE, ENERGY_CODE, FINISHED, REPLENISH_STATES
from .models import ReportKind

MAX_FIELDS = 64
MAX_SESSION = timedelta(seconds=values.SESSION_SECONDS_MAX)

# Each kind's documented fields: what a push says (and what its dedupe key is made of).
RESULT_FIELDS = ("station_uuid", "order", "device_no", "port_no", "state", "state_desc")
CHARGING_FIELDS = (*RESULT_FIELDS, "device_type", "energy_code", "start_time", "end_time", "replenish_time",
                   "plate", "quantity", "total_value", "energy_value", "fee_value")
FIELDS = {
    ReportKind.START_RESULT.value: RESULT_FIELDS,
    ReportKind.STOP_RESULT.value: RESULT_FIELDS,
    ReportKind.STATUS.value: CHARGING_FIELDS,
    ReportKind.ORDER.value: CHARGING_FIELDS,
}
# The public parameters of a signed push: how it was sent, not what it says.
SIGNING_FIELDS = frozenset({"app_id", "timestamp", "sign_type", "sign"})
DEVICE_TYPES = tuple(sorted(set(DEVICE_TYPE.values())))
ENERGY_CODES = tuple(sorted(set(ENERGY_CODE.values())))

# --- our replies: 4pyun's envelope {code, message, hint}, code a string ---------------------------------------
#
# | code | HTTP | when |
# |---|---|---|
# | 1001 | 200 | stored (or stored before: a duplicate) |
# | 400 | 400 | a field cannot be read, or an unknown push name (405 for a method other than POST, 413 for a body
# |     |     | too large) |
# | 401 | 401 | the signature is missing where one is required, or wrong |
# | 403 | 403 | the sender is not in FOURPYUN_PUSH_ALLOWED_IPS |
# | 1002 | 404 | the order is not ours, or not at the station the push names |
# | 503 | 503 | we could not store it: send it again |
#
# 1002 goes with HTTP 404, not 200: 4pyun re-sends a push until it is answered 1001, and a sender that reads only
# the HTTP status must not take a push we refused for delivered either. Its cause may be fixed on our side (a
# station's 4pyun UUID set or corrected), and a refused push gives up its dedupe key, so the copy sent then is
# applied. The codes 400 and 401 are 4pyun's own (its API answers them for a parameter and a signature error),
# 1002 is what its API answers for an order it does not have; each goes with the HTTP status of the same meaning.
OK = "1001"
BAD_REQUEST, UNAUTHORISED, FORBIDDEN, UNKNOWN_ORDER, UNAVAILABLE = "400", "401", "403", "1002", "503"
OK_MESSAGE = "成功"
MESSAGES = {
    BAD_REQUEST: "参数错误",
    UNAUTHORISED: "请求签名校验不通过",
    FORBIDDEN: "请求来源不在白名单内",
    UNKNOWN_ORDER: "订单不存在",
    UNAVAILABLE: "服务暂不可用，请稍后重试",
}
# (code, HTTP status) of each refusal; a reason 4pyun's pushes never give is answered as a parameter error.
REPLY_CODES = {
    RejectReason.MALFORMED: (BAD_REQUEST, 400),
    RejectReason.UNKNOWN_KIND: (BAD_REQUEST, 400),
    RejectReason.VERIFICATION: (UNAUTHORISED, 401),
    RejectReason.SENDER: (FORBIDDEN, 403),
    RejectReason.UNKNOWN_ORDER: (UNKNOWN_ORDER, 404),
    RejectReason.INVALID: (BAD_REQUEST, 400),
}


def envelope(code: str, hint: str | None = None) -> dict:
    """4pyun's answer shape: {code, message} and, for a refusal or a note, the hint that says what and why."""
    reply = {"code": code, "message": OK_MESSAGE if code == OK else MESSAGES[code]}
    if hint is not None:
        reply["hint"] = hint
    return reply


def refusal_reply(rejected: InboundRejected, *, hint: str = "") -> tuple[dict, int]:
    code, status = REPLY_CODES.get(rejected.reason, (BAD_REQUEST, 400))
    return envelope(code, hint or rejected.message), status


# --- typed reports -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultReport:
    """start-result or stop-result: whether the port started or stopped, in 4pyun's replenish_state."""

    kind: str
    station_uuid: str
    order_no: str
    device_no: str
    port_no: str
    state: int
    state_desc: str


@dataclass(frozen=True)
class ChargingReport(ResultReport):
    """charging-status or order-info: the session as 4pyun knows it, in house units (Wh, fen)."""

    device_type: int
    energy_code: str
    started_at: datetime | None
    ended_at: datetime | None
    charge_seconds: int
    plate: str
    energy_wh: int
    electricity_fee_fen: int
    service_fee_fen: int
    total_fee_fen: int


# --- reading -----------------------------------------------------------------------------------------------


def form_fields(*, body: bytes, content_type: str) -> dict[str, str]:
    """A push's fields: an urlencoded UTF-8 form of text fields (the last of a repeated name)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ("application/x-www-form-urlencoded", ""):
        raise _malformed(_("Send the push as an urlencoded form, not %(type)s.") % {"type": values.shown(media)})
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise _malformed(_("The body is not UTF-8 text.")) from exc
    except ValueError as exc:  # more fields than MAX_FIELDS, or a percent-escape that is not UTF-8
        raise _malformed(_("The form cannot be read: %(error)s.") % {"error": exc}) from exc
    fields = dict(pairs)
    if len(fields) > MAX_FIELDS:
        raise _malformed(_("The form has more than %(count)s fields.") % {"count": MAX_FIELDS})
    for name, value in fields.items():
        # PostgreSQL keeps no NUL in text; a lone surrogate is no UTF-8.
        if any(ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF for ch in name + value):
            raise _malformed(_("%(field)s contains a NUL character or a lone surrogate.")
                             % {"field": values.shown(name)})
    return fields


def _one_of(fields: dict, field: str, number, allowed: tuple):
    if number not in allowed:
        raise _malformed(_("%(field)s: %(value)s is not one of %(values)s.")
                         % {"field": field, "value": values.shown(fields.get(field)),
                            "values": ", ".join(str(value) for value in allowed)})
    return number


def _time(fields: dict, field: str, *, required: bool, received_at: datetime | None) -> datetime | None:
    """4pyun's local `yyyy-MM-dd HH:mm:ss` (Beijing time) within the window around receipt; None when blank."""
    value = str(fields.get(field) or "")
    if not value.strip():
        if required:
            raise _malformed(_("%(field)s is missing.") % {"field": field})
        return None
    try:
        moment = values.wall_time(value)
    except ValueError as exc:
        raise _malformed(_("%(field)s: %(value)s is not a time of the form yyyy-MM-dd HH:mm:ss.")
                         % {"field": field, "value": values.shown(value)}) from exc
    return _read(values.moment_checked, moment, field=field, around=received_at)


def _result(kind: str, fields: dict) -> dict:
    # Signed and not read; still milliseconds when sent, or the push is not 4pyun's.
    _read(values.integer, fields, "timestamp", default=0, maximum=values.UNIX_SECONDS_MAX * 1000)
    state = _read(values.integer, fields, "state", minimum=-999, maximum=999)
    return {
        "kind": kind,
        # The lengths are the columns that keep them: StatusReport's, our order number's, the inbox's.
        "station_uuid": _read(values.text, fields, "station_uuid", max_length=64),
        "order_no": _read(values.text, fields, "order", max_length=20),
        "device_no": _read(values.text, fields, "device_no", max_length=64),
        "port_no": _read(values.text, fields, "port_no", max_length=16),
        "state": _one_of(fields, "state", state, REPLENISH_STATES),
        "state_desc": _read(values.text, fields, "state_desc", required=False, max_length=255),
    }


def _result_report(kind: str, fields: dict, received_at: datetime | None) -> ResultReport:
    return ResultReport(**_result(kind, fields))


def _charging_report(kind: str, fields: dict, received_at: datetime | None) -> ChargingReport:
    common = _result(kind, fields)
    finished = common["state"] == FINISHED
    started = _time(fields, "start_time", required=finished, received_at=received_at)
    ended = _time(fields, "end_time", required=finished, received_at=received_at)
    if ended is not None:
        if started is None:
            raise _malformed(_("%(field)s is missing.") % {"field": "start_time"})
        if ended < started:
            raise _malformed(_("end_time: %(end)s is before start_time %(start)s.")
                             % {"end": fields["end_time"], "start": fields["start_time"]})
        if ended - started > MAX_SESSION:
            raise _malformed(_("end_time: a session from %(start)s to %(end)s is longer than %(days)s days.")
                             % {"start": fields["start_time"], "end": fields["end_time"], "days": MAX_SESSION.days})
    energy_fen = _read(values.integer, fields, "energy_value", maximum=values.AMOUNT_FEN_MAX)
    service_fen = _read(values.integer, fields, "fee_value", maximum=values.AMOUNT_FEN_MAX)
    total_fen = _read(values.integer, fields, "total_value", maximum=values.AMOUNT_FEN_MAX)
    if total_fen != energy_fen + service_fen:
        raise _malformed(_("total_value: %(total)s fen is not energy_value + fee_value (%(energy)s + %(service)s "
                           "fen).") % {"total": total_fen, "energy": energy_fen, "service": service_fen})
    device_type = _read(values.integer, fields, "device_type", maximum=99)
    energy_code = _read(values.text, fields, "energy_code", max_length=16)
    return ChargingReport(
        **common,
        device_type=_one_of(fields, "device_type", device_type, DEVICE_TYPES),
        energy_code=_one_of(fields, "energy_code", energy_code, ENERGY_CODES),
        started_at=started,
        ended_at=ended,
        charge_seconds=_read(values.integer, fields, "replenish_time", maximum=values.SESSION_SECONDS_MAX),
        plate=_read(values.text, fields, "plate", required=False, max_length=16),
        energy_wh=_read(values.integer, fields, "quantity", maximum=values.ENERGY_WH_MAX),
        electricity_fee_fen=energy_fen,
        service_fee_fen=service_fen,
        total_fee_fen=total_fen,
    )


READERS = {
    ReportKind.START_RESULT.value: _result_report,
    ReportKind.STOP_RESULT.value: _result_report,
    ReportKind.STATUS.value: _charging_report,
    ReportKind.ORDER.value: _charging_report,
}


def dedupe_key(kind: str, order_no: str, fields: dict) -> str:
    """The same news sent again has one key: its kind, its order and a digest of what it says (the kind's
    documented fields that are not blank, as sent). The public parameters are left out, so a copy signed again
    with a new timestamp is a duplicate, and so are unknown extras, which say nothing we read; any change of a
    documented field (a new state, more energy) is new news."""
    said = sorted((name, str(fields[name]).strip()) for name in FIELDS[kind] if str(fields.get(name) or "").strip())
    digest = hashlib.sha256("&".join(f"{name}={value}" for name, value in said).encode("utf-8")).hexdigest()
    # At most 15 + 1 + 20 + 1 + 64 characters: inside the inbox's column of 128.
    return f"{kind}:{order_no}:{digest}"


def report_read(kind: str, fields: dict, *, received_at: datetime | None = None) -> ResultReport:
    """One push's fields as its typed report; InboundRejected naming the field at fault."""
    reader = READERS.get(kind)
    if reader is None:
        raise InboundRejected(
            _("%(kind)s is not a 4pyun push; we take %(kinds)s.")
            % {"kind": values.shown(kind), "kinds": ", ".join(READERS)},
            reason=RejectReason.UNKNOWN_KIND, kind=kind,
        )
    try:
        return reader(kind, fields, received_at)
    except InboundRejected as exc:
        # What it was about, as far as it could be read, so that the admin's filters find even a refused push.
        exc.kind = kind
        exc.order_no = str(fields.get("order") or "")[:64]
        exc.charger_serial = str(fields.get("device_no") or "")[:64]
        raise


def push_parse(*, kind: str, body: bytes, content_type: str, received_at: datetime | None = None) -> Parsed:
    """A push's bytes as what the inbox stores and the worker applies."""
    try:
        fields = form_fields(body=body, content_type=content_type)
    except InboundRejected as exc:
        exc.kind = kind
        raise
    record = report_read(kind, fields, received_at=received_at)
    return Parsed(
        kind=kind,
        record=record,
        dedupe_key=dedupe_key(kind, record.order_no, fields),
        charger_serial=record.device_no,
        order_no=record.order_no,
        received_at=received_at,
    )
