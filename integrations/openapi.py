"""The vendor push endpoints in the OpenAPI schema: a drf-spectacular postprocessing hook.

Tomda's push (`/integrations/tomda/push`), Wanzhuang's callbacks (`/integrations/wanzhuang/callback/<name>`) and
4pyun's pushes (`/integrations/4pyun/push/<name>`) are plain Django views, not DRF's (the body is the inbox's to
store and verify as it came), so drf-spectacular does not see them. `vendor_push_paths` adds them, with their
request bodies as the vendors' documents and our parsers read them (`integrations/tomda/protocol.py`,
`integrations/wanzhuang/protocol.py`, `integrations/fourpyun/protocol.py`) and their replies in each vendor's
envelope. A counterparty that pushes each kind to a URL of its own has one path per kind, each with that kind's
body: one path with a `{name}` parameter could not say which body goes with which name. The reply examples are made
by the protocols themselves, in Chinese as the receivers answer, so they cannot drift from what is sent. A
counterparty that is not enabled has no path.

Enabled by SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"], after drf-spectacular's enum hook.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import translation

from integrations import values

logger = logging.getLogger(__name__)

TAG = "vendor push"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
WALL_TIME = '"yyyy-MM-dd HH:mm:ss", Beijing time'
WALL_TIME_PATTERN = f"^{values.WALL_TIME_PATTERN}$"
# A path placeholder no URL of ours holds, to read the callback URL's pattern back from `reverse`.
_PLACEHOLDER = "openapi-path-parameter"


def vendor_push_paths(result, generator, request, public):
    """Add the vendor push paths, their components and their tag to the generated schema `result`."""
    urlconf = getattr(generator, "urlconf", None)
    paths = result.setdefault("paths", {})
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for build in (_tomda, _wanzhuang, _fourpyun):
        found = build(urlconf)
        if found is None:
            continue
        items, components = found
        paths.update(items)
        schemas.update(components)
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


def _path(urlconf, url_name: str, *parameters: str, **values: str) -> str | None:
    """The schema path of URL `url_name`, its `parameters` as {name} and its `values` filled in; None when it is
    not served."""
    try:
        url = reverse(url_name, urlconf=urlconf,
                      kwargs={**{key: f"{_PLACEHOLDER}-{key}" for key in parameters}, **values})
    except NoReverseMatch:
        return None
    prefix = get_script_prefix()
    path = "/" + url[len(prefix):] if url.startswith(prefix) else url
    for key in parameters:
        path = path.replace(f"{_PLACEHOLDER}-{key}", "{" + key + "}")
    return path


# --- small schema builders -----------------------------------------------------------------------------


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(description: str, **more) -> dict:
    return {"type": "string", "description": description, **more}


def _integer(description: str, **more) -> dict:
    return {"type": "integer", "description": description, **more}


def _object(description: str, properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _examples(*named: tuple[str, str, dict | None]) -> dict:
    """OpenAPI examples from (key, summary, value); a value the protocol could not make is left out."""
    return {key.replace(" ", "_"): {"summary": summary, "value": value}
            for key, summary, value in named if value is not None}


def _json_response(description: str, schema: str, examples: dict) -> dict:
    content = {"schema": _ref(schema)}
    if examples:
        content["examples"] = examples
    return {"description": description, "content": {JSON: content}}


def _refusal_reply(inbox, read) -> dict | None:
    """The reply `inbox` gives a push that `read()` refuses; None should the protocol come to accept it."""
    from integrations.inbox import InboundRejected

    try:
        read()
    except InboundRejected as refusal:
        return inbox.reply_refused(refusal)[0]
    logger.warning("an OpenAPI refusal example of %s was accepted by its protocol", inbox.vendor)
    return None


def _translated(msgid: str, **params) -> str:
    """The receiver's text `msgid` in the active language (the caller overrides it to Chinese)."""
    return translation.gettext(msgid) % params


# The receiver's texts for the refusals it makes before the protocol reads the push (receiver.py).
SENDER_REFUSED = "Pushes from %(address)s are not accepted; the allowed senders are set in %(setting)s."
TOO_LARGE = "The body of %(size)s bytes is larger than we accept; nothing of it was kept."
VERIFICATION_FAILED = "The push failed verification."


# --- Tomda ---------------------------------------------------------------------------------------------


TOMDA_CODES = (
    ("200", "Success: the push is stored (or was already), or the question is answered in `data`."),
    ("1401", "The push cannot be read (not JSON or a form, an unknown type, a field missing or out of range); "
             "errorDesc names the field."),
    ("1400", "QUERY_CHARGER_ELEC_FEE: the charger's station has no tariff we can send."),
    ("2001", "The sender's address is not in TOMDA_PUSH_ALLOWED_IPS (HTTP 403)."),
    ("2002", "Verification failed, a value we refuse, or a push we could not store (HTTP 503) or question we "
             "could not answer now: send it again."),
    ("2003", "Unknown charger (serialNum)."),
    ("2010", "Unknown connector (connectorId) on that charger."),
    ("2013", "Unknown order (clientOrderId)."),
)

TOMDA_DESCRIPTION = """\
Every Tomda push type comes to this one URL (spec §5): a JSON body `{type, time, content}` (§5.2.2), or the
same three as form fields with `content` as JSON text (as deployed clouds send them).

Each push is stored before it is answered and applied later by the inbox worker; the same push again (same
type and content) is answered success and changes nothing. The two questions, QUERY_ORDER_BALANCE_INFO and
QUERY_CHARGER_ELEC_FEE, are answered at once in `data`. A WORK_DATA push of several readings may be taken in
part: the answer is then success with the refused readings in `data.refused`, each with its own code.

When TOMDA_PUSH_VERIFIER is `token`, the push carries our verification token in the `X-Tomda-Token` header.
TOMDA_PUSH_ALLOWED_IPS limits who may push. Any method but POST is answered 405 in the same envelope.

Units are Tomda's: energy 0.001 kWh (Wh), money fen, voltage 0.1 V, current 0.1 A, power W.
"""


# A number as its digits, as Tomda's cloud may send one; blank is a field left out.
DIGITS = r"^\s*[+-]?\d+\s*$"
DIGITS_OR_BLANK = r"^\s*([+-]?\d+)?\s*$"


def _as_tomda_reads(node: dict, required: bool = True) -> dict:
    """A Tomda content schema as the receiver reads it (integrations/values.py): a text field may come as a number
    and a number as its digits, and a field left out may come as null or, unless it is a list or an object, empty.
    Times (which have a pattern) and choices (an enum) are text only."""
    kind = node.get("type")
    absent = {} if required else {"nullable": True}
    if kind == "object":
        needed = set(node.get("required", ()))
        properties = {name: _as_tomda_reads(value, name in needed) for name, value in node["properties"].items()}
        return {**node, "properties": properties, **absent}
    if kind == "array":
        return {**node, "items": _as_tomda_reads(node["items"]), **absent}
    if "enum" in node:
        return node if required else {**node, "enum": [*node["enum"], "", None], **absent}
    if kind == "string" and "pattern" in node:
        return {**node, **absent}
    description = {"description": node["description"]} if "description" in node else {}
    shape = {key: value for key, value in node.items() if key != "description"}
    if kind == "string":
        return {**description, "anyOf": [{**shape, **absent}, {"type": "integer"}]}
    if kind == "integer":
        digits = {"type": "string", "pattern": DIGITS if required else DIGITS_OR_BLANK, **absent}
        return {**description, "anyOf": [shape, digits]}
    return node


def _tomda_components() -> dict:
    from integrations.tomda import mappers
    from integrations.tomda.protocol import READERS

    def push(types: list[str], content: str, description: str) -> dict:
        return _object(description, {
            "type": _string("The push type.", enum=types),
            # Text or a number, as the receiver reads it: the push's own time orders news about a device when
            # nothing finer is sent, and a value that is not a time is none (the push is still news), null included.
            "time": {"description": f"When Tomda sent it, {WALL_TIME}. A value that is not such a time is "
                                    "ignored; a time outside the window around our clock refuses the push.",
                     "anyOf": [{"type": "string", "nullable": True}, {"type": "integer"}]},
            "content": _ref(content),
        }, ("type", "content"))

    reading = _object("One connector's reading.", {
        "connectorId": _integer("Connector number; 0 or left out on a single-connector charger."),
        "clientOrderId": _string("Our order number."),
        "deviceTime": _string(f"When the charger measured it, {WALL_TIME}; the content's when left out.",
                              pattern=WALL_TIME_PATTERN),
        "chargerRunStatus": _string("Order status, appendix 3.", enum=list(mappers.ORDER_STATUS)),
        "chargeTime": _integer("Charging time so far, minutes."),
        "chargeVoltage": _integer("Voltage, 0.1 V."),
        "chargeCurrent": _integer("Current, 0.1 A."),
        "chargePower": _integer("Power, W."),
        "chargeEnergy": _integer("Energy so far, 0.001 kWh (Wh)."),
        "chargeCost": _integer("Cost so far, fen; 0 when the charger does not bill."),
        "soc": _integer("State of charge, %; -1 or left out when unknown."),
    }, ("clientOrderId", "chargerRunStatus", "chargeEnergy"))
    event = _object("One event.", {
        "eventCode": _string("Event code, appendix 5 (a code containing _FAULT_ is a fault)."),
        # Any value: a description, cut to 100 characters, never a reason to refuse.
        "eventName": {"description": "Event name (any value; kept as text, cut to 100 characters)."},
        "deviceTime": _string(f"When it happened, {WALL_TIME}.", pattern=WALL_TIME_PATTERN),
        "eventStatus": _string("Event state; HAPPENING when left out.", enum=list(mappers.EVENT_STATE)),
    }, ("eventCode", "deviceTime"))
    charger = _object("The charger, as §4.3.1 describes it.", {
        "serialNum": _string("Charger serial number."),
        "chargerStatus": _string(f"Charger status, appendix 2 ({', '.join(mappers.DEVICE_STATUS)}); another value "
                                 "is kept as an unknown status.", maxLength=32),
        "lost": _integer("0 online, anything else offline."),
        "chargerDeviceType": _string("Tomda's device type (TOMDA_EV7K_T3, ...)."),
        "chargerDeviceName": _string("Device type name."),
        "deviceModel": _string("Model."),
        "hardwareVersion": _string("Hardware version."),
        "firmwareVersion": _string("Firmware version."),
        "commuType": _string("Communication type."),
        "connectorCount": _integer("Number of connectors, used when connectorInfo is left out."),
        "connectorInfo": {"type": "array", "description": "Each connector with its status.", "items": _object(
            "One connector.", {
                "connectorId": _integer("Connector number; 0 or left out on a single-connector charger."),
                "connectorStatus": _string("Connector status, appendix 2, as chargerStatus; the charger's when left "
                                           "out.", maxLength=32),
            })},
    }, ("serialNum",))
    components = {
        "TomdaWorkDataContent": _object("WORK_DATA (§5.5.1): a charger's readings during a session, every minute.", {
            "serialNum": _string("Charger serial number."),
            "deviceTime": _string(f"When the charger reported, {WALL_TIME}; a reading's own deviceTime wins.",
                                  pattern=WALL_TIME_PATTERN),
            "workDataInfo": {"type": "array", "minItems": 1, "items": reading, "description": "One per connector."},
        }, ("serialNum", "workDataInfo")),
        "TomdaEventContent": _object("EVENT_DATA or EVENT_INFO (§5.5.2): alarms and faults.", {
            "serialNum": _string("Serial number of the device the events are about."),
            "eventSource": _string("Where: CHARGER (default), CHARGER_PLUG or SERVER.",
                                   enum=list(mappers.EVENT_SOURCE)),
            "connectorId": _integer("Connector number, for CHARGER_PLUG events."),
            "eventCount": _integer("Number of events (not used)."),
            "eventInfo": {"type": "array", "minItems": 1, "items": event,
                          "description": "The events (`eventinfo` is read too)."},
        }, ("serialNum", "eventInfo")),
        "TomdaOrderDataContent": _object("ORDER_DATA (§5.5.3): a session ended and may be settled.", {
            "serialNum": _string("Charger serial number."),
            "connectorId": _integer("Connector number; 0 or left out on a single-connector charger."),
            "clientOrderId": _string("Our order number."),
            "chargeStartTime": _string(f"Start, {WALL_TIME}.", pattern=WALL_TIME_PATTERN),
            "chargeEndTime": _string(f"End, {WALL_TIME}.", pattern=WALL_TIME_PATTERN),
            "chargeEnergy": _integer("Energy, 0.001 kWh (Wh)."),
            "chargeTime": _integer("Charging time, seconds."),
            "chargeCost": _integer("The charger's bill, fen; 0 when it does not bill."),
            "orderStatus": _string("Order status, appendix 3."),
            "closeType": _string("Why it closed, appendix 7 (" + ", ".join(mappers.CLOSE_TYPES)
                                 + "); another value is kept as an unknown reason."),
        }, ("serialNum", "clientOrderId", "chargeStartTime", "chargeEndTime", "chargeEnergy")),
        "TomdaDeviceInfoContent": _object("DEVICE_INFO (§5.5.4): a charger's latest description and status.", {
            "deviceType": _string("Device kind; only CHARGER is taken.", enum=["CHARGER"]),
            "deviceInfo": charger,
        }, ("deviceInfo",)),
        "TomdaBalanceQueryContent": _object(
            "QUERY_ORDER_BALANCE_INFO (§5.5.5), a question: the balance of the order's driver, answered in "
            "`data.balance` (fen).", {"clientOrderId": _string("Our order number.")}, ("clientOrderId",)),
        "TomdaFeeQueryContent": _object(
            "QUERY_CHARGER_ELEC_FEE (§5.5.6), a question: the charger's tariff, answered in "
            "`data.elecFeeModelInfo` (§4.3.2).", {"serialNum": _string("Charger serial number.")}, ("serialNum",)),
        "TomdaFeeResultContent": _object("PUSH_ELEC_FEE_RESULT (§5.5.7): whether a tariff we sent was set.", {
            "serialNum": _string("Charger serial number."),
            "clientElecFeeModelId": _string("Our fee template id."),
            "pushResult": _integer("1 set; 0 (or any other number) failed."),
        }, ("serialNum", "clientElecFeeModelId", "pushResult")),
    }
    kinds = {
        "TomdaWorkDataPush": (["WORK_DATA"], "TomdaWorkDataContent"),
        "TomdaEventPush": (["EVENT_DATA", "EVENT_INFO"], "TomdaEventContent"),
        "TomdaOrderDataPush": (["ORDER_DATA"], "TomdaOrderDataContent"),
        "TomdaDeviceInfoPush": (["DEVICE_INFO"], "TomdaDeviceInfoContent"),
        "TomdaBalanceQuery": (["QUERY_ORDER_BALANCE_INFO"], "TomdaBalanceQueryContent"),
        "TomdaFeeQuery": (["QUERY_CHARGER_ELEC_FEE"], "TomdaFeeQueryContent"),
        "TomdaFeeResultPush": (["PUSH_ELEC_FEE_RESULT"], "TomdaFeeResultContent"),
    }
    for name in list(components):
        components[name] = _as_tomda_reads(components[name])
    mapping = {}
    for name, (types, content) in kinds.items():
        components[name] = push(types, content, components[content]["description"])
        mapping.update({kind: f"#/components/schemas/{name}" for kind in types})
    missing = set(READERS) - set(mapping)
    if missing:  # a push type the protocol reads and this module does not describe yet
        logger.warning("the OpenAPI schema does not describe the Tomda push types %s", sorted(missing))
    components["TomdaPush"] = {
        "description": "A Tomda push: `content` is the type's.",
        "oneOf": [_ref(name) for name in kinds],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    components["TomdaPushForm"] = _object("The same push as form fields.", {
        "type": _string("The push type.", enum=list(READERS)),
        "time": _string(f"When Tomda sent it, {WALL_TIME}."),
        "content": _string("The push's content object as JSON text."),
    }, ("type", "content"))
    components["TomdaReply"] = _object(
        "Our answer, in Tomda's envelope (§5.2.3). HTTP 200 for every answer but those noted.\n\n"
        + "| errorCode | meaning |\n|---|---|\n" + "\n".join(f"| {code} | {text} |" for code, text in TOMDA_CODES),
        {
            "errorCode": _string("200 success; any other, a refusal.", enum=[code for code, _text in TOMDA_CODES]),
            "errorDesc": _string("What was refused, in Chinese, naming the field; or a note on a success."),
            "data": {"type": "object", "nullable": True, "additionalProperties": True,
                     "description": "null, or a question's answer: `{balance}` (fen) for QUERY_ORDER_BALANCE_INFO, "
                                    "`{elecFeeModelInfo}` for QUERY_CHARGER_ELEC_FEE; `{refused: [...]}` when some "
                                    "readings of a WORK_DATA were refused."},
        },
        ("errorCode",),
    )
    return components


ORDER_NO = "20261103093015000042"
TOMDA_REQUESTS = {
    "WORK_DATA": {"type": "WORK_DATA", "time": "2026-11-03 09:31:00", "content": {
        "serialNum": "1012300001", "deviceTime": "2026-11-03 09:31:00",
        "workDataInfo": [{
            "connectorId": 1, "clientOrderId": ORDER_NO, "deviceTime": "2026-11-03 09:31:00",
            "chargerRunStatus": "CHARGE", "chargeTime": 1, "chargeVoltage": 3804, "chargeCurrent": 1523,
            "chargePower": 57935, "chargeEnergy": 966, "chargeCost": 0, "soc": 41,
        }],
    }},
    "EVENT_DATA": {"type": "EVENT_DATA", "time": "2026-11-03 09:40:12", "content": {
        "serialNum": "1012300002", "eventSource": "CHARGER_PLUG", "connectorId": 2, "eventCount": 1,
        "eventInfo": [{"eventCode": "TOMDA_EBIKE_FAULT_ES", "eventName": "急停", "deviceTime": "2026-11-03 09:40:10",
                       "eventStatus": "HAPPENING"}],
    }},
    "ORDER_DATA": {"type": "ORDER_DATA", "time": "2026-11-03 10:12:08", "content": {
        "serialNum": "1012300001", "connectorId": 1, "clientOrderId": ORDER_NO,
        "chargeStartTime": "2026-11-03 09:30:20", "chargeEndTime": "2026-11-03 10:12:05", "chargeEnergy": 22317,
        "chargeTime": 2505, "chargeCost": 0, "orderStatus": "FINISH", "closeType": "EBIKE_REMOTE",
    }},
    "DEVICE_INFO": {"type": "DEVICE_INFO", "time": "2026-11-03 08:00:00", "content": {
        "deviceType": "CHARGER", "deviceInfo": {
            "serialNum": "1012300001", "chargerStatus": "FREE", "lost": 0, "chargerDeviceType": "TOMDA_EV7K_T3",
            "firmwareVersion": "V2.1.7", "connectorInfo": [{"connectorId": 1, "connectorStatus": "FREE"}],
        },
    }},
    "QUERY_ORDER_BALANCE_INFO": {"type": "QUERY_ORDER_BALANCE_INFO", "time": "2026-11-03 09:31:02",
                                 "content": {"clientOrderId": ORDER_NO}},
    "QUERY_CHARGER_ELEC_FEE": {"type": "QUERY_CHARGER_ELEC_FEE", "time": "2026-11-03 08:00:05",
                               "content": {"serialNum": "1012300001"}},
    "PUSH_ELEC_FEE_RESULT": {"type": "PUSH_ELEC_FEE_RESULT", "time": "2026-11-03 08:02:00", "content": {
        "serialNum": "1012300001", "clientElecFeeModelId": "TPL-0007", "pushResult": 1}},
}
TOMDA_FORM_REQUEST = {
    "type": "ORDER_DATA", "time": "2026-11-03 10:12:08",
    "content": ('{"serialNum":"1012300001","connectorId":1,"clientOrderId":"20261103093015000042",'
                '"chargeStartTime":"2026-11-03 09:30:20","chargeEndTime":"2026-11-03 10:12:05",'
                '"chargeEnergy":22317,"chargeTime":2505,"chargeCost":0,"closeType":"EBIKE_REMOTE"}'),
}


def _tomda(urlconf):
    path = _path(urlconf, "tomda_push")
    if path is None:
        return None
    # A counterparty's modules are imported only when it is served.
    from integrations.inbox import InboundRejected
    from integrations.models import RejectReason
    from integrations.tomda.inbox import TomdaInbox
    from integrations.tomda.protocol import push_parse

    inbox = TomdaInbox()
    with translation.override("zh-hans"):
        def refused(reason, message):
            return inbox.reply_refused(InboundRejected(message, reason=reason))[0]

        unknown_type = json.dumps({"type": "HEARTBEAT", "time": "2026-11-03 09:31:00", "content": {}}).encode()
        no_serial = json.dumps({**TOMDA_REQUESTS["WORK_DATA"], "content": {"workDataInfo": []}}).encode()
        ok_examples = _examples(
            ("stored", "News stored", inbox.reply_ok()),
            ("balance", "QUERY_ORDER_BALANCE_INFO answered (fen)", inbox.reply_ok({"balance": 5000})),
            ("duplicate", "The same push again", inbox.reply_duplicate(original_id=81234)),
            ("unknown type", "A push type we do not know", _refusal_reply(
                inbox, lambda: push_parse(body=unknown_type, content_type=JSON))),
            ("field missing", "A field missing", _refusal_reply(
                inbox, lambda: push_parse(body=no_serial, content_type=JSON))),
            ("verification failed", "X-Tomda-Token wrong or missing",
             refused(RejectReason.VERIFICATION, _translated(VERIFICATION_FAILED))),
        )
        sender = refused(RejectReason.SENDER, _translated(SENDER_REFUSED, address="198.51.100.23",
                                                          setting=TomdaInbox.allowed_ips_setting))
        too_large = refused(RejectReason.MALFORMED, _translated(TOO_LARGE, size="12582912"))
        unstored = inbox.reply_unstored()[0]
    operation = {
        "operationId": "tomda_push",
        "summary": "Receive a Tomda push (every push type)",
        "description": TOMDA_DESCRIPTION,
        "tags": [TAG],
        "parameters": [{
            "name": "X-Tomda-Token", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "Our verification token, checked when TOMDA_PUSH_VERIFIER is `token` (never taken "
                           "from the query string).",
        }],
        "requestBody": {"required": True, "content": {
            JSON: {"schema": _ref("TomdaPush"), "examples": _examples(
                *((kind, kind, body) for kind, body in TOMDA_REQUESTS.items()))},
            FORM: {"schema": _ref("TomdaPushForm"), "examples": _examples(
                ("ORDER_DATA", "ORDER_DATA as form fields", TOMDA_FORM_REQUEST))},
        }},
        "responses": {
            "200": _json_response("Stored, answered or refused: errorCode says which.", "TomdaReply", ok_examples),
            "403": _json_response("The sender is not in TOMDA_PUSH_ALLOWED_IPS (errorCode 2001).", "TomdaReply",
                                  _examples(("sender", "Sender not allowed", sender))),
            "413": _json_response("The body is larger than we accept (errorCode 1401); nothing was kept.",
                                  "TomdaReply", _examples(("too large", "Body too large", too_large))),
            "503": _json_response("We could not store the push (errorCode 2002): send it again.", "TomdaReply",
                                  _examples(("unstored", "Not stored", unstored))),
        },
    }
    return {path: {"post": operation}}, _tomda_components()


# --- Wanzhuang -----------------------------------------------------------------------------------------


WANZHUANG_CODES = (
    (1, "Success: the callback is stored (or was already)."),
    (0, "Refused as it stands (a card that cannot pay, a port in use), or not stored (HTTP 503): message says "
        "why; the device shows it."),
    (1001, "The signature is missing or wrong, or the sender is not in WANZHUANG_CALLBACK_ALLOWED_IPS (HTTP 403)."),
    (1002, "A field cannot be read (missing, not a number, out of range) or the callback name is unknown; message "
           "names the field."),
    (1003, "Unknown device (device_num)."),
    (1006, "The charge_id is not one of our orders."),
)

WANZHUANG_DESCRIPTION = """\
Wanzhuang calls each callback back at a URL of its own, `/integrations/wanzhuang/callback/<name>`: `start_power`
(the port began charging, or did not: `state`), `finish_order` (the session's final figures), `icc_pay_req` (an
online card swiped on a port) or `offline_profit` (the device's running totals of coin and offline-card revenue).
A name we do not know is stored and refused (code 1002). The body is a form: urlencoded for the first three,
multipart for offline_profit (either is read for any of them); every field is text.

Every callback carries `app_id`, `timestamp` (Unix seconds) and `sign`, checked as our calls to Wanzhuang are
signed; an unsigned callback is refused unless WANZHUANG_CALLBACK_SIGNATURE_REQUIRED is off.
WANZHUANG_CALLBACK_ALLOWED_IPS limits who may call back. Each callback is stored before it is answered and
applied later; the same callback again is answered success and changes nothing. Amounts are fen, `eq_used`
is Wh (WANZHUANG_ENERGY_UNIT_WH), and `charge_id` is our order number without its century (18 digits).
Any method but POST is answered 405 in the same envelope.
"""

SIGNED = {
    "app_id": _string("Our merchant app id (WANZHUANG_APP_ID)."),
    "timestamp": _integer("When Wanzhuang signed it, Unix seconds.", minimum=0, maximum=values.UNIX_SECONDS_MAX),
    "sign": _string("The signature over the other non-empty fields, 64 hex digits."),
}
DEVICE = {
    "device_num": _string("Device number."),
    "device_port": _integer("Port number, from 1.", minimum=1, maximum=255),
}
CHARGE_ID = _string("Our order number without its century: 1 to 18 digits.", pattern=r"^\d{1,18}$")


# Each callback's body component.
WANZHUANG_BODIES = {"start_power": "WanzhuangStartPower", "finish_order": "WanzhuangFinishOrder",
                    "icc_pay_req": "WanzhuangCardSwipe", "offline_profit": "WanzhuangOfflineProfit"}


def _wanzhuang_components(kinds: list[str]) -> dict:
    def form(description: str, properties: dict, required: tuple[str, ...]) -> dict:
        return _object(description, {**properties, **SIGNED}, required)

    money = "fen"
    components = {
        "WanzhuangStartPower": form("start_power: the port began charging, or did not.", {
            **DEVICE, "charge_id": CHARGE_ID,
            "state": _integer("1 started (WANZHUANG_START_OK_STATES); any other value is the code of a failed start."),
        }, ("device_num", "device_port", "charge_id", "state")),
        "WanzhuangFinishOrder": form("finish_order: the session's final figures; settles the order.", {
            **DEVICE, "charge_id": CHARGE_ID,
            "stop_reason": _integer("Why it stopped, 0-50 (2 charging complete, 4 unplugged, 12 stopped by the "
                                    "server, ...).", minimum=0, maximum=999),
            "start_time": _integer("Start, Unix seconds."),
            "end_time": _integer("End, Unix seconds."),
            "time_used": _integer("Charging time, seconds."),
            "eq_used": _integer("Energy, Wh (times WANZHUANG_ENERGY_UNIT_WH)."),
            "pay_amount": _integer(f"Prepaid amount (total_fee), {money}."),
            "pay_used": _integer(f"What the session cost, {money}."),
            "refund_amount": _integer(f"Refunded, {money}."),
        }, ("device_num", "device_port", "charge_id", "stop_reason", "start_time", "end_time", "pay_used")),
        "WanzhuangCardSwipe": form("icc_pay_req: an online card swiped on a port asks to start a session.", {
            **DEVICE,
            "icc_id": _string("Card number (one of our charging cards)."),
            "pay_amount": _integer(f"Amount asked, {money}; 0 for what the card's balance allows."),
        }, ("device_num", "device_port", "icc_id")),
        "WanzhuangOfflineProfit": form("offline_profit: the device's running totals (they may fall after a reset).", {
            "device_num": _string("Device number."),
            "coin": _integer(f"Total coin revenue, {money}."),
            "card": _integer(f"Total offline-card revenue, {money}."),
            "time": _integer("The device's time of the totals, Unix seconds."),
        }, ("device_num", "coin", "card", "time")),
    }
    missing = set(kinds) - set(WANZHUANG_BODIES)
    if missing:
        logger.warning("the OpenAPI schema does not describe the Wanzhuang callbacks %s", sorted(missing))
    components["WanzhuangReply"] = _object(
        "Our answer, in Wanzhuang's envelope `{code, message, data}`. HTTP 200 for every answer but those noted.\n\n"
        + "| code | meaning |\n|---|---|\n" + "\n".join(f"| {code} | {text} |" for code, text in WANZHUANG_CODES),
        {
            "code": _integer("1 success; any other, a refusal.", enum=[code for code, _text in WANZHUANG_CODES]),
            "message": _string('"success", or what was refused, in Chinese, naming the field.'),
            "data": {"type": "object", "additionalProperties": True, "description": "Always an object, empty."},
        },
        ("code", "message", "data"),
    )
    return components


SIGNATURE = {"app_id": "3a7030ea45a08d", "sign": "9f2c6b0e4d1a7c3e5b8f0a2d4c6e8b1a3f5d7c9e0b2a4c6d8e1f3a5c7b9d0e2f"}
# Form fields travel as text; the examples hold them as the schemas type them.
WANZHUANG_REQUESTS = {
    "start_power": {"device_num": "19285526", "device_port": 2, "charge_id": "261103093015000042", "state": 1,
                    "timestamp": 1793669421, **SIGNATURE},
    "finish_order": {"device_num": "19285526", "device_port": 2, "charge_id": "261103093015000042",
                     "stop_reason": 2, "start_time": 1793669420, "end_time": 1793681725, "time_used": 12305,
                     "eq_used": 1320, "pay_amount": 300, "pay_used": 96, "refund_amount": 204,
                     "timestamp": 1793681727, **SIGNATURE},
    "icc_pay_req": {"device_num": "19285526", "device_port": 3, "icc_id": "8800123456", "pay_amount": 500,
                    "timestamp": 1793670000, **SIGNATURE},
    "offline_profit": {"device_num": "19285526", "coin": 12000, "card": 8300, "time": 1793690000,
                       "timestamp": 1793690002, **SIGNATURE},
}


def _wanzhuang(urlconf):
    if _path(urlconf, "wanzhuang_callback", "name") is None:
        return None
    from integrations.inbox import InboundRejected
    from integrations.inbox.references import named
    from integrations.models import RejectReason
    from integrations.wanzhuang.inbox import WanzhuangInbox
    from integrations.wanzhuang.protocol import READERS, callback_parse
    from orders.services.cards import card_refusal

    kinds = list(READERS)
    inbox = WanzhuangInbox()
    with translation.override("zh-hans"):
        def refused(reason, message):
            return inbox.reply_refused(InboundRejected(message, reason=reason))[0]

        bad_port = urlencode({**WANZHUANG_REQUESTS["finish_order"], "device_port": "A"}).encode()
        ok_examples = _examples(
            ("stored", "Stored", inbox.reply_ok()),
            ("duplicate", "The same callback again", inbox.reply_duplicate(original_id=91234)),
            ("field unreadable", "A field that cannot be read", _refusal_reply(
                inbox, lambda: callback_parse(kind="finish_order", body=bad_port, content_type=FORM))),
            ("card cannot pay", "icc_pay_req of a card that is not ours", refused(
                RejectReason.INVALID, named("icc_id", card_refusal(card=None, number="8800123456", amount_fen=500)))),
            ("signature", "Signature missing or wrong", refused(RejectReason.VERIFICATION,
                                                                _translated(VERIFICATION_FAILED))),
        )
        sender = refused(RejectReason.SENDER, _translated(SENDER_REFUSED, address="198.51.100.23",
                                                          setting=WanzhuangInbox.allowed_ips_setting))
        too_large = refused(RejectReason.MALFORMED, _translated(TOO_LARGE, size="12582912"))
        unstored = inbox.reply_unstored()[0]
    responses = {
        "200": _json_response("Stored or refused: code says which.", "WanzhuangReply", ok_examples),
        "403": _json_response("The sender is not in WANZHUANG_CALLBACK_ALLOWED_IPS (code 1001).", "WanzhuangReply",
                              _examples(("sender", "Sender not allowed", sender))),
        "413": _json_response("The body is larger than we accept (code 1002); nothing was kept.",
                              "WanzhuangReply", _examples(("too large", "Body too large", too_large))),
        "503": _json_response("We could not store the callback (code 0): send it again.", "WanzhuangReply",
                              _examples(("unstored", "Not stored", unstored))),
    }
    items = {}
    for kind in kinds:
        body = _ref(WANZHUANG_BODIES[kind]) if kind in WANZHUANG_BODIES else {"type": "object"}
        examples = _examples((kind, kind, WANZHUANG_REQUESTS.get(kind)))
        # The form Wanzhuang sends this callback as first: either is read.
        media = (MULTIPART, FORM) if kind == "offline_profit" else (FORM, MULTIPART)
        items[_path(urlconf, "wanzhuang_callback", name=kind)] = {"post": {
            "operationId": f"wanzhuang_callback_{kind}",
            "summary": f"Receive Wanzhuang's {kind} callback",
            "description": WANZHUANG_DESCRIPTION,
            "tags": [TAG],
            "requestBody": {"required": True, "content": {
                type_: {"schema": body, **({"examples": examples} if examples else {})} for type_ in media}},
            "responses": responses,
        }}
    return items, _wanzhuang_components(kinds)


# --- 4pyun -------------------------------------------------------------------------------------------------


FOURPYUN_CODES = (
    ("1001", "Success: the push is stored (or was already). HTTP 200."),
    ("400", "A field cannot be read (missing, not a number, out of range, total_value not energy_value + "
            "fee_value), the body is not an urlencoded form, or the push name is unknown; hint names the field. "
            "HTTP 400 (413 for a body larger than we accept)."),
    ("401", "The signature is wrong, or missing while FOURPYUN_PUSH_SIGNATURE is `required`; for a wrong one, hint "
            "shows the string we signed, app_secret masked. HTTP 401."),
    ("403", "The sender is not in FOURPYUN_PUSH_ALLOWED_IPS. HTTP 403."),
    ("1002", "The order is not ours, or not at the station station_uuid names; hint names both. HTTP 404."),
    ("503", "We could not store the push: send it again. HTTP 503."),
)

FOURPYUN_DESCRIPTION = """\
4pyun (P云) pushes what it knows of our charging orders, each kind to a URL of its own,
`/integrations/4pyun/push/<name>`: `start-result` (推送启动充电结果), `stop-result` (推送停止充电结果),
`charging-status` (推送充电状态) or `order-info` (推送充电订单信息); a name we do not know is stored and refused
(code 400). The body is an urlencoded UTF-8 form; every field is text, and fields we do not know are
tolerated.

A push that carries `sign` is checked as 4pyun signs a form (MD5 of the non-empty fields but `sign`, sorted, then
`&app_secret=<our secret>`), with `app_id`, when sent, ours; FOURPYUN_PUSH_SIGNATURE says whether an unsigned push
is taken (`if-present`, the default), refused (`required`) or nothing is checked (`off`).
FOURPYUN_PUSH_ALLOWED_IPS limits who may push. Each push is stored before it is answered and kept by the inbox
worker as 4pyun's report of the order, for finance to compare: it changes nothing of our order. The same news
again (with a new timestamp or signature) is answered success and kept once. Times are Beijing time, `quantity`
0.001 kWh (Wh), money fen. Any method but POST is answered 405 (code 400) in the same envelope.
"""

FOURPYUN_SIGNED = {
    "app_id": _string("Our app id at 4pyun (FOURPYUN_APP_ID)."),
    "timestamp": _integer("When 4pyun signed it, milliseconds since 1970 (not held to a window: a copy is "
                          "deduplicated instead).", minimum=0, maximum=values.UNIX_SECONDS_MAX * 1000),
    "sign_type": _string("The signature's method: MD5. Signed like any other field."),
    "sign": _string("MD5 of the other non-empty fields, sorted by name, then &app_secret=<secret>: 32 hex digits "
                    "in either case."),
}
BLANK = r"^\s*$"
BLANK_OR_WALL_TIME = rf"^(\s*|{values.WALL_TIME_PATTERN})$"
# A text field as the receiver reads it: not blank, and without a NUL, which no text column keeps.
FILLED_TEXT = r"^[^\x00]*\S[^\x00]*$"
ANY_TEXT = r"^[^\x00]*$"


# Each push's body component.
FOURPYUN_BODIES = {"start-result": "FourpyunResult", "stop-result": "FourpyunResult",
                   "charging-status": "FourpyunCharging", "order-info": "FourpyunCharging"}


def _fourpyun_components(kinds: list[str]) -> dict:
    from integrations.fourpyun.mappers import FINISHED
    from integrations.fourpyun.protocol import DEVICE_TYPES, ENERGY_CODES, REPLENISH_STATES

    def text(description: str, length: int) -> dict:
        return _string(description, pattern=FILLED_TEXT, maxLength=length)

    def amount(description: str) -> dict:
        return _integer(description, minimum=0, maximum=values.AMOUNT_FEN_MAX)

    def states(allowed) -> dict:
        return _integer("replenish_state: 0 未充电, -1 启动失败/充电异常, 2 充电中, 3 充电完成.", enum=list(allowed))

    # The lengths are those of the columns that keep them (integrations/fourpyun/protocol.py).
    result = {
        "station_uuid": text("4pyun's station UUID of the order's station.", 64),
        "order": text("Our order number (20 digits).", 20),
        "device_no": text("Device number.", 64),
        "port_no": text("Port number.", 16),
        "state": states(REPLENISH_STATES),
        "state_desc": _string("4pyun's words for the state.", pattern=ANY_TEXT, maxLength=255),
    }
    required = ("station_uuid", "order", "device_no", "port_no", "state")

    def charging(description: str, allowed, times: str, pattern: str, more_required: tuple[str, ...]) -> dict:
        return _object(description, {
            **result,
            "state": states(allowed),
            "device_type": _integer("0 汽车充电桩, 1 两轮电瓶车充电设备.", enum=list(DEVICE_TYPES)),
            "energy_code": _string("CN_AC 交流慢充, CN_DC 直流快充.", enum=list(ENERGY_CODES)),
            "start_time": _string(f"Start, {WALL_TIME}; {times}", pattern=pattern),
            "end_time": _string(f"End, {WALL_TIME}, not before start_time and at most "
                                f"{values.SESSION_SECONDS_MAX // 86_400} days after it; {times}", pattern=pattern),
            "replenish_time": _integer("Charging time, seconds.", minimum=0, maximum=values.SESSION_SECONDS_MAX),
            "plate": _string("Licence plate; blank for none.", pattern=ANY_TEXT, maxLength=16),
            "quantity": _integer("Energy, 0.001 kWh (Wh).", minimum=0, maximum=values.ENERGY_WH_MAX),
            "total_value": amount("Total, fen: energy_value + fee_value (a push whose total is not their sum is "
                                  "refused)."),
            "energy_value": amount("Electricity fee, fen."),
            "fee_value": amount("Service fee, fen."),
            **FOURPYUN_SIGNED,
        }, (*required, "device_type", "energy_code", "replenish_time", "quantity", "total_value", "energy_value",
            "fee_value", *more_required))

    ongoing = [state for state in REPLENISH_STATES if state != FINISHED]
    components = {
        "FourpyunResult": _object("start-result or stop-result: whether the port started or stopped.",
                                  {**result, **FOURPYUN_SIGNED}, required),
        "FourpyunChargingOngoing": {
            "allOf": [charging("charging-status or order-info of a session not finished (state 0, -1 or 2).",
                               ongoing, "blank before the session started or ended.", BLANK_OR_WALL_TIME, ())],
            # An end without its start cannot be read.
            "anyOf": [
                {"properties": {"end_time": {"type": "string", "pattern": BLANK}}},
                {"properties": {"start_time": {"type": "string", "pattern": WALL_TIME_PATTERN}},
                 "required": ["start_time"]},
            ],
        },
        "FourpyunChargingFinished": charging(
            "charging-status or order-info of a finished session (state 3): its times are required.", [FINISHED],
            "required at state 3.", WALL_TIME_PATTERN, ("start_time", "end_time")),
        "FourpyunCharging": {
            "description": "charging-status or order-info: the session as 4pyun knows it. Its times fall in the window "
                           "around our clock.",
            "oneOf": [_ref("FourpyunChargingOngoing"), _ref("FourpyunChargingFinished")],
        },
    }
    missing = set(kinds) - set(FOURPYUN_BODIES)
    if missing:
        logger.warning("the OpenAPI schema does not describe the 4pyun pushes %s", sorted(missing))
    components["FourpyunReply"] = _object(
        "Our answer, in 4pyun's envelope `{code, message, hint}` (`code` a string).\n\n"
        + "| code | meaning |\n|---|---|\n" + "\n".join(f"| {code} | {text} |" for code, text in FOURPYUN_CODES),
        {
            "code": _string("1001 success; any other, a refusal.", enum=[code for code, _text in FOURPYUN_CODES]),
            "message": _string("成功, or 4pyun's words for the refusal."),
            "hint": _string("What was refused and why, naming the field; or a note on a success (a duplicate)."),
        },
        ("code", "message"),
    )
    return components


FOURPYUN_SIGNATURE = {"app_id": "op88641899bd20661", "sign_type": "MD5", "sign": "c983693c5f603aef30514920fa3158ff"}
FOURPYUN_RESULT = {"station_uuid": "40e06b24-7a51-4c1e-9b3f-0a6f1d2c3b4e", "order": ORDER_NO, "device_no": "1012300001",
                   "port_no": "1"}
FOURPYUN_CHARGING = {
    **FOURPYUN_RESULT, "device_type": 0, "energy_code": "CN_AC", "start_time": "2026-11-03 09:30:20",
    "plate": "粤B12345",
}
# Form fields travel as text; the examples hold them as the schemas type them.
FOURPYUN_REQUESTS = {
    "start-result": {**FOURPYUN_RESULT, "state": 2, "state_desc": "启动成功", "timestamp": 1793669425000,
                     **FOURPYUN_SIGNATURE},
    "charging-status": {**FOURPYUN_CHARGING, "end_time": "", "replenish_time": 1180, "quantity": 9650,
                        "total_value": 1013, "energy_value": 627, "fee_value": 386, "state": 2,
                        "state_desc": "充电中", "timestamp": 1793670600000, **FOURPYUN_SIGNATURE},
    "stop-result": {**FOURPYUN_RESULT, "state": 3, "state_desc": "停止成功", "timestamp": 1793671928000,
                    **FOURPYUN_SIGNATURE},
    "order-info": {**FOURPYUN_CHARGING, "end_time": "2026-11-03 10:12:05", "replenish_time": 2505,
                   "quantity": 22317, "total_value": 2344, "energy_value": 1451, "fee_value": 893, "state": 3,
                   "state_desc": "结束充电，SOC 达到 100%", "timestamp": 1793671950000, **FOURPYUN_SIGNATURE},
}


def _fourpyun(urlconf):
    if _path(urlconf, "fourpyun_push", "name") is None:
        return None
    from datetime import UTC, datetime

    from integrations.fourpyun.inbox import FourpyunInbox, mismatch_hint, verification_hint
    from integrations.fourpyun.processor import other_station, unknown_order
    from integrations.fourpyun.protocol import READERS, UNAUTHORISED, envelope, push_parse, report_read
    from integrations.inbox import InboundRejected
    from integrations.models import RejectReason

    kinds = list(READERS)
    inbox = FourpyunInbox()
    with translation.override("zh-hans"):
        def refused(reason, message):
            return inbox.reply_refused(InboundRejected(message, reason=reason))[0]

        order_info = FOURPYUN_REQUESTS["order-info"]
        received = datetime.fromtimestamp(order_info["timestamp"] / 1000, UTC)
        report = report_read("order-info", {key: str(value) for key, value in order_info.items()},
                             received_at=received)
        bad_quantity = urlencode({**order_info, "quantity": "22.317"}).encode()
        bad_total = urlencode({**order_info, "total_value": 2345}).encode()
        unknown_kind = urlencode(FOURPYUN_REQUESTS["start-result"]).encode()
        signed = {key: str(value) for key, value in order_info.items()}
        wrong_sign = envelope(UNAUTHORISED, verification_hint(_translated(VERIFICATION_FAILED),
                                                              mismatch_hint(signed, "example-secret")))
        ok_examples = _examples(
            ("stored", "Stored", inbox.reply_ok()),
            ("duplicate", "The same news again", inbox.reply_duplicate(original_id=71234)),
        )
        bad_examples = _examples(
            ("field unreadable", "A field that cannot be read", _refusal_reply(
                inbox, lambda: push_parse(kind="order-info", body=bad_quantity, content_type=FORM,
                                          received_at=received))),
            ("total", "total_value is not energy_value + fee_value", _refusal_reply(
                inbox, lambda: push_parse(kind="order-info", body=bad_total, content_type=FORM,
                                          received_at=received))),
            ("unknown push", "A push name we do not know", _refusal_reply(
                inbox, lambda: push_parse(kind="replenish-refund", body=unknown_kind, content_type=FORM,
                                          received_at=received))),
        )
        signature_examples = _examples(
            ("wrong sign", "sign wrong: the string we signed, app_secret masked", wrong_sign),
            ("sign missing", "Unsigned while a signature is required", refused(
                RejectReason.VERIFICATION, _translated(VERIFICATION_FAILED))),
        )
        order_examples = _examples(
            ("unknown order", "Not one of our orders", inbox.reply_refused(unknown_order(report))[0]),
            ("other station", "Our order, at another station", inbox.reply_refused(
                other_station(report, "9d1f6a2e-0b3c-4d5e-8f7a-1b2c3d4e5f60"))[0]),
        )
        sender = refused(RejectReason.SENDER, _translated(SENDER_REFUSED, address="198.51.100.23",
                                                          setting=FourpyunInbox.allowed_ips_setting))
        too_large = refused(RejectReason.MALFORMED, _translated(TOO_LARGE, size="12582912"))
        unstored = inbox.reply_unstored()[0]
    responses = {
        "200": _json_response("Stored (code 1001).", "FourpyunReply", ok_examples),
        "400": _json_response("The push cannot be read (code 400); hint names the field.", "FourpyunReply",
                              bad_examples),
        "401": _json_response("The signature is wrong or missing (code 401).", "FourpyunReply", signature_examples),
        "403": _json_response("The sender is not in FOURPYUN_PUSH_ALLOWED_IPS (code 403).", "FourpyunReply",
                              _examples(("sender", "Sender not allowed", sender))),
        "404": _json_response("The order is not ours or not at that station (code 1002).", "FourpyunReply",
                              order_examples),
        "413": _json_response("The body is larger than we accept (code 400); nothing of it was kept.",
                              "FourpyunReply", _examples(("too large", "Body too large", too_large))),
        "503": _json_response("We could not store the push (code 503): send it again.", "FourpyunReply",
                              _examples(("unstored", "Not stored", unstored))),
    }
    items = {}
    for kind in kinds:
        body = _ref(FOURPYUN_BODIES[kind]) if kind in FOURPYUN_BODIES else {"type": "object"}
        examples = _examples((kind, kind, FOURPYUN_REQUESTS.get(kind)))
        items[_path(urlconf, "fourpyun_push", name=kind)] = {"post": {
            "operationId": f"fourpyun_push_{kind.replace('-', '_')}",
            "summary": f"Receive 4pyun's {kind} push",
            "description": FOURPYUN_DESCRIPTION,
            "tags": [TAG],
            "requestBody": {"required": True, "content": {
                FORM: {"schema": body, **({"examples": examples} if examples else {})}}},
            "responses": responses,
        }}
    return items, _fourpyun_components(kinds)
