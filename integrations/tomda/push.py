"""Tomda pushes (§5): reading the envelope, the dedupe key, and one processor per push type.

Processors run inside `integrations.inbox.inbound_process`'s transaction. They validate the whole
push before changing anything, raise `InboundRejected` for what we will never accept (unknown
charger, order or template, unreadable fields) and return the `data` of our reply.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Charger, ChargerTariffPush, Connector, ConnectorStatus, TariffPushResult, Vendor
from chargers.services import (
    charger_device_update,
    charger_event_record,
    charger_open_fault_codes,
    connector_status_update,
)
from integrations.inbox import InboundRejected
from integrations.models import InboundMessage, RejectReason
from orders.models import Order
from orders.selectors import order_balance_remaining
from orders.services import Progress, Settlement, order_progress_record, order_settle
from tariffs.renderings import TariffRenderError

from . import constants as c
from . import mappers
from .mappers import MappingError
from .payloads import fee_model_for_version, fee_version_for_template

# Our reply codes, from appendix 4 where one fits (the spec has no table of push reply codes).
OK = c.SUCCESS_CODE
BAD_REQUEST = "1401"
NOT_FOUND = "1400"
UNKNOWN_CHARGER = "2003"
UNKNOWN_CONNECTOR = "2010"
UNKNOWN_ORDER = "2013"
FAILED = "2002"

REPLY_CODES = {
    RejectReason.MALFORMED: BAD_REQUEST,
    RejectReason.UNKNOWN_KIND: BAD_REQUEST,
    RejectReason.VERIFICATION: FAILED,
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


@dataclass(frozen=True)
class Envelope:
    type: str
    time: str
    content: dict


def _malformed(message: str) -> InboundRejected:
    return InboundRejected(message, reason=RejectReason.MALFORMED, code=BAD_REQUEST)


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
    if media == "application/x-www-form-urlencoded" or form_like:
        form = QueryDict(text, encoding="utf-8")
        fields = {key: form.get(key) for key in ("type", "time", "content")}
    else:
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _malformed(_("The body is not JSON: %(error)s.") % {"error": exc}) from exc
        if not isinstance(fields, dict):
            raise _malformed(_("The body must be a JSON object with type, time and content."))
    kind = str(fields.get("type") or "").strip()
    if not kind:
        raise _malformed(_("The push has no type."))
    content = fields.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except json.JSONDecodeError as exc:
            raise _malformed(_("content is not a JSON object: %(error)s.") % {"error": exc}) from exc
    if not isinstance(content, dict):
        raise _malformed(_("content must be a JSON object."))
    return Envelope(type=kind, time=str(fields.get("time") or ""), content=content)


def dedupe_key(envelope: Envelope) -> str:
    """Identical news has one key however often it is pushed; questions have none."""
    if envelope.type in QUERIES:
        return ""
    identity = [envelope.content, envelope.time] if envelope.type in UNTIMED else envelope.content
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{envelope.type}:{hashlib.sha256(canonical.encode()).hexdigest()}"


def references(envelope: Envelope) -> tuple[str, str]:
    """(charger serial, order number) a push is about, for the admin's filters."""
    content = envelope.content
    serial = content.get("serialNum") or (content.get("deviceInfo") or {}).get("serialNum") or ""
    order_no = content.get("clientOrderId") or ""
    items = content.get("workDataInfo")
    if not order_no and isinstance(items, list) and items and isinstance(items[0], dict):
        order_no = items[0].get("clientOrderId") or ""
    return str(serial), str(order_no)


# --- lookups that reject with a clear message ---


def _charger(serial: str) -> Charger:
    charger = Charger.objects.filter(vendor=Vendor.TOMDA, serial=serial).select_related("station").first()
    if charger is None:
        raise InboundRejected(
            _(
                "Charger %(serial)s is not in our back office; import it into a station "
                "(Chargers → Import chargers from the vendor) and the next push will be accepted."
            )
            % {"serial": serial},
            reason=RejectReason.UNKNOWN_CHARGER,
            code=UNKNOWN_CHARGER,
        )
    return charger


def _connector(charger: Charger, number: int) -> Connector:
    connector = Connector.objects.filter(charger=charger, number=number).first()
    if connector is None:
        raise InboundRejected(
            _("Charger %(serial)s has no connector %(number)s in our back office.")
            % {"serial": charger.serial, "number": number},
            reason=RejectReason.UNKNOWN_CONNECTOR,
            code=UNKNOWN_CONNECTOR,
        )
    return connector


def _order(order_no: str, *, charger: Charger | None = None) -> Order:
    order = Order.objects.filter(order_no=order_no).select_related("charger", "connector", "tariff_version").first()
    if order is None or (charger is not None and order.charger_id != charger.pk):
        where = _(" on charger %(serial)s") % {"serial": charger.serial} if charger is not None else ""
        raise InboundRejected(
            _("Order %(order)s%(where)s is not one of ours.") % {"order": order_no, "where": where},
            reason=RejectReason.UNKNOWN_ORDER,
            code=UNKNOWN_ORDER,
        )
    return order


def _read(function, *args, **kwargs):
    """Call a mapper; its MappingError becomes a rejection of the push as malformed."""
    try:
        return function(*args, **kwargs)
    except MappingError as exc:
        raise _malformed(str(exc)) from exc


def _push_time(envelope: Envelope) -> datetime:
    """The push's own time, else now: the order of news about a device when nothing finer is sent."""
    if envelope.time:
        try:
            return mappers.parse_time(envelope.time, field="time")
        except MappingError:
            pass
    return timezone.now()


# --- processors ---


def _work_data(envelope: Envelope) -> dict | None:
    content = envelope.content
    charger = _charger(_read(mappers.text, content, "serialNum"))
    items = content.get("workDataInfo")
    if not isinstance(items, list) or not items:
        raise _malformed(_("workDataInfo must be a non-empty list."))
    readings = []
    for item in items:
        if not isinstance(item, dict):
            raise _malformed(_("Each workDataInfo item must be an object."))
        connector = _connector(charger, _read(mappers.connector_number, item.get("connectorId")))
        order = _order(_read(mappers.text, item, "clientOrderId"), charger=charger)
        run_status = _read(mappers.text, item, "chargerRunStatus")
        status = mappers.order_status(run_status)
        if status is None:
            raise _malformed(_("chargerRunStatus %(status)s is not in appendix 3.") % {"status": run_status})
        device_time = item.get("deviceTime") or content.get("deviceTime")
        soc = _read(mappers.integer, item, "soc", default=-1)
        progress = Progress(
            at=_read(mappers.parse_time, device_time, field="deviceTime"),
            status=status,
            vendor_status=run_status,
            energy_wh=_read(mappers.integer, item, "chargeEnergy"),
            charge_seconds=_read(mappers.integer, item, "chargeTime", default=0) * 60,
            power_w=_read(mappers.integer, item, "chargePower", default=0),
            voltage_dv=_read(mappers.integer, item, "chargeVoltage", default=0),
            current_da=_read(mappers.integer, item, "chargeCurrent", default=0),
            cost_fen=_read(mappers.integer, item, "chargeCost", default=0) or None,
            soc=soc if 0 <= soc <= 100 else None,
        )
        readings.append((connector, order, run_status, progress))
    for connector, order, run_status, progress in readings:
        order_progress_record(order=order, progress=progress)
        connector_state = mappers.RUN_STATUS_CONNECTOR.get(run_status)
        if connector_state is not None and connector.status not in (ConnectorStatus.FAULT, ConnectorStatus.OFFLINE):
            connector_status_update(
                connector=connector, status=connector_state, vendor_status=connector.vendor_status, at=progress.at
            )
    return None


def _event_data(envelope: Envelope) -> dict | None:
    content = envelope.content
    charger = _charger(_read(mappers.text, content, "serialNum"))
    source = mappers.EVENT_SOURCE.get(str(content.get("eventSource") or "CHARGER"))
    if source is None:
        raise _malformed(_("eventSource %(source)s is unknown.") % {"source": content.get("eventSource")})
    connector = None
    if content.get("connectorId") not in (None, "") and source != "charger":
        connector = _connector(charger, _read(mappers.connector_number, content.get("connectorId")))
    events = content.get("eventInfo") or content.get("eventinfo")
    if not isinstance(events, list) or not events:
        raise _malformed(_("eventInfo must be a non-empty list."))
    parsed = []
    for event in events:
        if not isinstance(event, dict):
            raise _malformed(_("Each eventInfo item must be an object."))
        state_word = str(event.get("eventStatus") or "HAPPENING")
        state = mappers.EVENT_STATE.get(state_word)
        if state is None:
            raise _malformed(_("eventStatus %(state)s is unknown.") % {"state": state_word})
        parsed.append(
            (
                _read(mappers.text, event, "eventCode"),
                str(event.get("eventName") or "")[:100],
                state,
                _read(mappers.parse_time, event.get("deviceTime"), field="deviceTime"),
            )
        )
    latest = max(at for *_rest, at in parsed)
    for code, name, state, at in parsed:
        charger_event_record(
            charger=charger, connector=connector, source=source, code=code, name=name, state=state, device_time=at
        )
    _faults_apply(charger=charger, connector=connector, at=latest)
    return None


def _faults_apply(*, charger: Charger, connector: Connector | None, at: datetime) -> None:
    """A happening fault makes the connector (all of them, for a charger-wide event) faulty; when none is
    left the connector takes back the status its vendor last reported."""
    codes = set(
        charger.events.filter(code__contains=mappers.FAULT_MARK).values_list("code", flat=True).distinct()
    )
    charger_wide = charger_open_fault_codes(charger=charger, connector=None, fault_codes=codes)
    targets = [connector] if connector is not None else list(charger.connectors.all())
    for target in targets:
        open_here = charger_open_fault_codes(charger=charger, connector=target, fault_codes=codes)
        if open_here or charger_wide:
            connector_status_update(connector=target, status=ConnectorStatus.FAULT, vendor_status=target.vendor_status,
                                    at=at)
        elif target.status == ConnectorStatus.FAULT:
            status = mappers.device_status(target.vendor_status)
            connector_status_update(connector=target, status=status, vendor_status=target.vendor_status, at=at)


def _order_data(envelope: Envelope) -> dict | None:
    content = envelope.content
    charger = _charger(_read(mappers.text, content, "serialNum"))
    order = _order(_read(mappers.text, content, "clientOrderId"), charger=charger)
    close_type = str(content.get("closeType") or "")
    reason, reason_text = mappers.close_reason(close_type)
    started = _read(mappers.parse_time, content.get("chargeStartTime"), field="chargeStartTime")
    ended = _read(mappers.parse_time, content.get("chargeEndTime"), field="chargeEndTime")
    cost = _read(mappers.integer, content, "chargeCost", default=0)
    settlement = Settlement(
        started_at=started,
        ended_at=ended,
        energy_wh=_read(mappers.integer, content, "chargeEnergy"),
        charge_seconds=_read(mappers.integer, content, "chargeTime", default=0),
        vendor_total_fen=cost or None,
        close_reason=reason,
        vendor_close_code=close_type,
        close_reason_text=reason_text,
        vendor_status=str(content.get("orderStatus") or ""),
    )
    order_settle(order=order, settlement=settlement)
    return None


def _device_info(envelope: Envelope) -> dict | None:
    content = envelope.content
    device_type = str(content.get("deviceType") or "CHARGER")
    if device_type != "CHARGER":
        raise InboundRejected(
            _("deviceType %(type)s is not a charger; only CHARGER is handled.") % {"type": device_type},
            reason=RejectReason.INVALID,
            code=BAD_REQUEST,
        )
    info = _read(mappers.charger_info, content.get("deviceInfo"))
    charger_device_update(charger=_charger(info.serial), info=info, at=_push_time(envelope))
    return None


def _balance_query(envelope: Envelope) -> dict:
    order = _order(_read(mappers.text, envelope.content, "clientOrderId"))
    return {"balance": order_balance_remaining(order=order)}


def _fee_query(envelope: Envelope) -> dict:
    charger = _charger(_read(mappers.text, envelope.content, "serialNum"))
    template = charger.station.tariff_template
    if template is None:
        raise InboundRejected(
            _("Station %(station)s of charger %(serial)s has no tariff template.")
            % {"station": charger.station, "serial": charger.serial},
            reason=RejectReason.UNKNOWN_TEMPLATE,
            code=NOT_FOUND,
        )
    try:
        return {"elecFeeModelInfo": fee_model_for_version(fee_version_for_template(template))}
    except TariffRenderError as exc:
        raise InboundRejected(str(exc), reason=RejectReason.INVALID, code=FAILED) from exc


def _fee_result(envelope: Envelope) -> dict | None:
    content = envelope.content
    charger = _charger(_read(mappers.text, content, "serialNum"))
    external_id = _read(mappers.text, content, "clientElecFeeModelId")
    result = _read(mappers.integer, content, "pushResult")
    push = (
        ChargerTariffPush.objects.select_for_update()
        .filter(charger=charger, tariff_version__template__external_id=external_id)
        .order_by("-requested_at", "-id")
        .first()
    )
    if push is None:
        raise InboundRejected(
            _("We never sent tariff template %(template)s to charger %(serial)s.")
            % {"template": external_id, "serial": charger.serial},
            reason=RejectReason.UNKNOWN_TEMPLATE,
            code=NOT_FOUND,
        )
    push.result = TariffPushResult.ACCEPTED if result == 1 else TariffPushResult.REFUSED
    push.answered_at = _push_time(envelope)
    push.save(update_fields=["result", "answered_at"])
    return None


PROCESSORS = {
    "WORK_DATA": _work_data,
    "EVENT_DATA": _event_data,
    "EVENT_INFO": _event_data,  # the name deployed clouds use
    "ORDER_DATA": _order_data,
    "DEVICE_INFO": _device_info,
    "QUERY_ORDER_BALANCE_INFO": _balance_query,
    "QUERY_CHARGER_ELEC_FEE": _fee_query,
    "PUSH_ELEC_FEE_RESULT": _fee_result,
}


def tomda_push_process(message: InboundMessage) -> dict | None:
    """The inbox processor for Tomda: re-read the stored body and run the type's processor."""
    envelope = envelope_parse(body=message.body.encode("utf-8"), content_type=message.content_type)
    processor = PROCESSORS.get(envelope.type)
    if processor is None:
        raise InboundRejected(
            _("Push type %(type)s is unknown; we accept %(types)s.")
            % {"type": envelope.type, "types": ", ".join(PROCESSORS)},
            reason=RejectReason.UNKNOWN_KIND,
            code=BAD_REQUEST,
        )
    return processor(envelope)
