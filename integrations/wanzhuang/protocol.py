"""Wanzhuang's callbacks, read in memory: each kind's form fields as a typed callback, its dedupe key, our reply
codes and envelope. Nothing here touches the database.

Wanzhuang posts each callback to a URL of its own (`/integrations/wanzhuang/callback/<name>`), so the kind is
the URL's. start_power, finish_order and icc_pay_req come as urlencoded forms, offline_profit as multipart;
each field is text. What the public pages leave out (vendors.md §3.3) is assumed as README.md says: the
finish_order fields past `charge_id`, the meaning of start_power's `state`, the unit of `eq_used` and the reply
that stops a retry (code 1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from django.conf import settings
from django.utils.translation import gettext as _

from integrations import values
from integrations.inbox import InboundRejected, Parsed
from integrations.inbox.protocol import malformed as _malformed
from integrations.inbox.protocol import push_read as _read
from integrations.models import RejectReason
from orders.services import Settlement

from . import constants as c
from . import mappers
from .signing import signing_string

# Our reply codes: Wanzhuang's own 1 for success; for a refusal, the codes its API answers us with.
OK = c.SUCCESS_CODE
FAILED = c.FAILURE_CODE
AUTH = c.AUTH_CODE
BAD_REQUEST = 1002
UNKNOWN_DEVICE = 1003
UNKNOWN_ORDER = 1006

REPLY_CODES = {
    RejectReason.MALFORMED: BAD_REQUEST,
    RejectReason.UNKNOWN_KIND: BAD_REQUEST,
    RejectReason.VERIFICATION: AUTH,
    RejectReason.SENDER: AUTH,
    RejectReason.UNKNOWN_CHARGER: UNKNOWN_DEVICE,
    RejectReason.UNKNOWN_CONNECTOR: BAD_REQUEST,
    RejectReason.UNKNOWN_ORDER: UNKNOWN_ORDER,
    RejectReason.UNKNOWN_TEMPLATE: BAD_REQUEST,
    RejectReason.INVALID: FAILED,
}

START_POWER, FINISH_ORDER, CARD_SWIPE, OFFLINE_PROFIT = "start_power", "finish_order", "icc_pay_req", "offline_profit"
# The signing fields every callback carries: not part of what it says.
SIGNING_FIELDS = frozenset({"app_id", "timestamp", "sign"})
MAX_FIELDS = 64
MAX_SESSION = timedelta(seconds=values.SESSION_SECONDS_MAX)
# A swipe is a driver at the port now: one signed longer ago than this, or applied later than this after we
# received it (a backlog, a retry, a replay), starts nothing; whoever is at the port then is not the card's.
SWIPE_MAX_AGE = timedelta(minutes=5)


# --- typed callbacks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartPower:
    serial: str
    port: int
    order_no: str
    state: int

    @property
    def started(self) -> bool:
        return self.state in settings.WANZHUANG_START_OK_STATES


@dataclass(frozen=True)
class FinishOrder:
    serial: str
    port: int
    order_no: str
    settlement: Settlement
    pay_amount_fen: int
    refund_fen: int


@dataclass(frozen=True)
class CardSwipe:
    serial: str
    port: int
    card_number: str
    amount_fen: int  # 0: what the balance allows
    received_at: datetime | None = None


@dataclass(frozen=True)
class OfflineProfit:
    serial: str
    coin_total_fen: int
    card_total_fen: int
    at: datetime


# --- reading -------------------------------------------------------------------------------------------


def _unreadable(value: str) -> bool:
    return "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def form_fields(*, body: bytes, content_type: str) -> dict[str, str]:
    """A callback's fields: an urlencoded or multipart form of text fields (the last of a repeated name)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body)
        if not message.is_multipart():
            raise _malformed(_("The multipart body cannot be read: check its boundary."))
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                raise _malformed(_("A part of the multipart body has no name."))
            if part.get_filename():
                raise _malformed(_("%(field)s: a file is not a callback field.") % {"field": name})
            payload = part.get_payload(decode=True) or b""
            try:
                fields[str(name)] = payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _malformed(_("%(field)s is not UTF-8 text.") % {"field": name}) from exc
    elif media in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
            fields = dict(parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS))
        except UnicodeDecodeError as exc:
            raise _malformed(_("The body is not UTF-8 text.")) from exc
        except ValueError as exc:
            raise _malformed(_("The form cannot be read: %(error)s.") % {"error": exc}) from exc
    else:
        raise _malformed(_("Send the callback as an urlencoded or multipart form, not %(type)s.")
                         % {"type": values.shown(media)})
    if len(fields) > MAX_FIELDS:
        raise _malformed(_("The form has more than %(count)s fields.") % {"count": MAX_FIELDS})
    for name, value in fields.items():
        if _unreadable(name) or _unreadable(value):
            raise _malformed(_("%(field)s contains a NUL character or a lone surrogate.")
                             % {"field": values.shown(name)})
    return fields


def _device(fields: dict) -> tuple[str, int]:
    return _read(values.text, fields, "device_num"), _read(mappers.port_number, fields.get("device_port"))


def _start_power(fields: dict, received_at: datetime | None) -> StartPower:
    serial, port = _device(fields)
    return StartPower(serial=serial, port=port, order_no=_read(mappers.order_no_of, fields.get("charge_id")),
                      state=_read(values.integer, fields, "state", minimum=-999, maximum=999))


def _finish_order(fields: dict, received_at: datetime | None) -> FinishOrder:
    serial, port = _device(fields)
    order_no = _read(mappers.order_no_of, fields.get("charge_id"))
    code = _read(values.integer, fields, "stop_reason", maximum=999)
    reason, reason_text = mappers.close_reason(code)
    started = _read(mappers.unix_time, fields, "start_time", around=received_at)
    ended = _read(mappers.unix_time, fields, "end_time", around=received_at)
    if ended - started > MAX_SESSION:
        raise _malformed(_("end_time: a session from %(start)s to %(end)s is longer than %(days)s days.")
                         % {"start": fields["start_time"], "end": fields["end_time"], "days": MAX_SESSION.days})
    pay_amount = _read(values.integer, fields, "pay_amount", default=0, maximum=values.AMOUNT_FEN_MAX)
    pay_used = _read(values.integer, fields, "pay_used", maximum=values.AMOUNT_FEN_MAX)
    refund = _read(values.integer, fields, "refund_amount", default=0, maximum=values.AMOUNT_FEN_MAX)
    if pay_amount and pay_used > pay_amount:
        raise _malformed(_("pay_used: %(used)s fen is more than the %(paid)s fen paid (pay_amount).")
                         % {"used": pay_used, "paid": pay_amount})
    if refund > pay_amount:
        raise _malformed(_("refund_amount: %(refund)s fen is more than the %(paid)s fen paid (pay_amount).")
                         % {"refund": refund, "paid": pay_amount})
    settlement = Settlement(
        started_at=started,
        ended_at=ended,
        energy_wh=_read(mappers.energy_wh, fields, "eq_used"),
        charge_seconds=_read(values.integer, fields, "time_used", default=0, maximum=values.SESSION_SECONDS_MAX),
        vendor_total_fen=pay_used,
        close_reason=reason,
        vendor_close_code=str(code),
        close_reason_text=reason_text,
        vendor_status=f"stop_reason {code}",
    )
    return FinishOrder(serial=serial, port=port, order_no=order_no, settlement=settlement,
                       pay_amount_fen=pay_amount, refund_fen=refund)


def _card_swipe(fields: dict, received_at: datetime | None) -> CardSwipe:
    serial, port = _device(fields)
    if fields.get("timestamp") and received_at is not None:
        signed_at = _read(values.integer, fields, "timestamp", maximum=values.UNIX_SECONDS_MAX)
        age = abs(received_at.timestamp() - signed_at)
        if age > SWIPE_MAX_AGE.total_seconds():
            raise InboundRejected(
                _("timestamp: the swipe was signed %(age)s seconds from our clock, more than %(limit)s: a swipe is "
                  "answered while the driver is at the port.")
                % {"age": int(age), "limit": int(SWIPE_MAX_AGE.total_seconds())},
                reason=RejectReason.INVALID,
            )
    return CardSwipe(serial=serial, port=port, card_number=_read(values.text, fields, "icc_id", max_length=32),
                     amount_fen=_read(values.integer, fields, "pay_amount", default=0, maximum=values.AMOUNT_FEN_MAX),
                     received_at=received_at)


def _offline_profit(fields: dict, received_at: datetime | None) -> OfflineProfit:
    return OfflineProfit(
        serial=_read(values.text, fields, "device_num"),
        coin_total_fen=_read(values.integer, fields, "coin"),
        card_total_fen=_read(values.integer, fields, "card"),
        at=_read(mappers.unix_time, fields, "time", around=received_at),
    )


READERS = {START_POWER: _start_power, FINISH_ORDER: _finish_order, CARD_SWIPE: _card_swipe,
           OFFLINE_PROFIT: _offline_profit}


def dedupe_key(kind: str, fields: dict, *, received_at: datetime | None = None) -> str:
    """The same callback sent again (a retry) has one key: what its signature covers (no empty field), without
    the signature's own fields, so that a field added empty makes no new callback of a signed one.

    A card swipe keeps its timestamp: two swipes of one card on one port for the same amount are two
    requests, and only a retry repeats its timestamp. An unsigned swipe has none, so the time we received it
    tells it apart (a retry of it is then a second request, which the port's one live session refuses).
    """
    ignored = SIGNING_FIELDS - {"timestamp"} if kind == CARD_SWIPE else SIGNING_FIELDS
    identity = {name: value for name, value in fields.items() if name not in ignored}
    if kind == CARD_SWIPE and not fields.get("timestamp") and received_at is not None:
        identity["received_at"] = received_at.isoformat()
    return f"{kind}:{hashlib.sha256(signing_string(identity).encode()).hexdigest()}"


def callback_read(kind: str, fields: dict, *, received_at: datetime | None = None):
    """One callback's fields as its typed record; InboundRejected naming the field at fault."""
    reader = READERS.get(kind)
    if reader is None:
        raise InboundRejected(
            _("%(kind)s is not a Wanzhuang callback; we take %(kinds)s.")
            % {"kind": values.shown(kind), "kinds": ", ".join(READERS)},
            reason=RejectReason.UNKNOWN_KIND, kind=kind,
        )
    try:
        # Signed and, but for a swipe, not read; still Unix seconds when sent, or the callback is not Wanzhuang's.
        _read(values.integer, fields, "timestamp", default=0, maximum=values.UNIX_SECONDS_MAX)
        return reader(fields, received_at)
    except InboundRejected as exc:
        exc.kind = kind
        exc.charger_serial = str(fields.get("device_num") or "")[:64]
        raise


def callback_parse(*, kind: str, body: bytes, content_type: str, received_at: datetime | None = None) -> Parsed:
    """A callback's bytes as what the inbox stores and the worker applies."""
    try:
        fields = form_fields(body=body, content_type=content_type)
    except InboundRejected as exc:
        exc.kind = kind
        raise
    record = callback_read(kind, fields, received_at=received_at)
    return Parsed(
        kind=kind,
        record=record,
        dedupe_key=dedupe_key(kind, fields, received_at=received_at),
        charger_serial=record.serial,
        order_no=getattr(record, "order_no", ""),
        received_at=received_at,
    )


def envelope(code: int, message: str = "", data=None) -> dict:
    """Wanzhuang's answer shape: {code, message, data}."""
    return {"code": code, "message": message, "data": data if data is not None else {}}
