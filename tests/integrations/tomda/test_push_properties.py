"""Properties of Tomda's push receiver and the inbox worker, over hostile pushes of every type (hypothesis).

Each example sends one to three pushes through the real receiver (the test client's POST to
`tomda_push`) and the real worker (`inbox_drain`). A push is a valid one of its type in which a few
fields, chosen by hypothesis, take a value from across and beyond the field's range: missing,
empty, of the wrong type, negative, 0, huge, too long, NUL or lone-surrogate text, a time of the right
form but far from now, a time of the wrong form, a charger, connector or order we have not got. For
every push:

- no HTTP 5xx (nor an exception out of the view or the worker);
- it is stored: one InboundMessage row more for each POST;
- refused (`errorCode` is not "200"): `errorDesc` names, as Tomda writes it, a field the push got wrong,
  and nothing in the domain changed (orders, samples, settlements, chargers, connectors, events, tariff
  pushes);
- acknowledged (`errorCode` "200"): the worker processed it (PROCESSED, or the duplicate of a push that
  was), for a push we acknowledge must never fail or be refused later for a reason a retry cannot fix.

The worker runs after each push, or once after all of them (then the receiver takes news of a charger
whose first report still waits, and the worker applies the readings as a batch); a refusal must then
have changed nothing by the time it is answered, and every acknowledged push is processed once the
worker ran.

Every example starts from the same fixtures: it runs in a savepoint rolled back at its end, with the
receiver's memos cleared, so examples never see each other's rows. Each kind of violation (the
symptom and the error or reply code) raises its own exception class, so hypothesis reports and
shrinks each distinct failure separately in one run. `PUSH_PROPERTY_EXAMPLES` (300 by default,
some 10 s) raises the number of examples for a long hostile run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from chargers.models import Charger, ChargerEvent, ChargerTariffPush, Connector
from integrations.inbox import inbox_drain, known_clear_all
from integrations.models import InboundMessage, InboundStatus
from orders.models import Order, OrderConflict, OrderSample, OrderSettlement, OrderStatus
from tests.integrations.tomda.conftest import SESSION_START, local
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("PUSH_PROPERTY_EXAMPLES", "300"))

KINDS = (
    "WORK_DATA",
    "EVENT_DATA",
    "EVENT_INFO",
    "ORDER_DATA",
    "DEVICE_INFO",
    "QUERY_ORDER_BALANCE_INFO",
    "QUERY_CHARGER_ELEC_FEE",
    "PUSH_ELEC_FEE_RESULT",
)
ENVELOPE_FIELDS = ("type", "time", "content")
# Field names a refusal may name for a field at fault: the same field by another spelling, or the other
# side of a rule between two fields (a session's start and end; an order, a tariff template or a gun that
# is ours, but not on the charger named: another charger's serial with a gun only the first one has).
RELATED = {
    "eventInfo": {"eventInfo", "eventinfo"},
    "chargeStartTime": {"chargeStartTime", "chargeEndTime"},
    "chargeEndTime": {"chargeStartTime", "chargeEndTime"},
    "serialNum": {"serialNum", "clientOrderId", "clientElecFeeModelId", "connectorId"},
}
DOMAIN = (Order, OrderSample, OrderSettlement, OrderConflict, Charger, Connector, ChargerEvent, ChargerTariffPush)

EV_SERIAL, EBIKE_SERIAL = "1012300001", "1012300002"
UNKNOWN_SERIALS = ("1012300003", "1012300009", "9999999999", "0")  # 1012300009: a DEVICE_INFO may create it
UNKNOWN_ORDER = "20261121000000999999"


# --- values --------------------------------------------------------------------------------------------


class _Missing:
    def __repr__(self):
        return "MISSING"


MISSING = _Missing()  # the key is left out


@dataclass(frozen=True)
class Raw:
    """A JSON number written as it is, longer than Python reads (json.dumps cannot write it)."""

    text: str

    def __repr__(self):
        return f"Raw({self.text[:8]}... {len(self.text)} digits)"


def long_texts(*lengths, char="x"):
    return [char * n for n in lengths]


NESTED = [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]  # 20 levels: deeper than any push nests
# Not objects: an object where one is due is no wrong type, its fields are (they are perturbed by name).
WRONG_SCALARS = st.sampled_from([[], [1], ["1"], NESTED, True, False, 1.5, -0.0, 1e300, float("nan"), float("inf"),
                                 None])
WRONG_TYPES = WRONG_SCALARS | st.sampled_from([{}, {"a": 1}])
INTEGERS = st.one_of(
    st.sampled_from([-1, 0, 1, 100, 101, 255, 256, 32_767, 32_768, 65_536]),
    st.sampled_from([2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**31) - 1,
                     -(2**63) - 1]),
    st.sampled_from(["-1", "0", " 7 ", "+5", "2147483648", "9223372036854775808", "1" + "0" * 30, "9" * 5000]),
    st.sampled_from([Raw("9" * 5000), Raw("1" + "0" * 4300), Raw("1e400"), Raw("-0")]),
    st.sampled_from(["1e3", "0x10", "12.0", "١٢", "abc", "", " "]),
    st.integers(),
    st.integers().map(str),
    WRONG_TYPES,
    st.just(MISSING),
)
TEXTS = st.one_of(
    st.sampled_from(["", " ", "\t", "x\r\ny", "🔌" * 40, "\\u0000", "%00"]),
    st.sampled_from([*long_texts(16, 17, 32, 33, 64, 65, 100, 101, 255, 256, 10_000), *long_texts(65, 101, char="中")]),
    st.sampled_from(["a\x00b", "\x00", "\ud800", "ab\udfffcd"]),
    st.sampled_from([0, -1, 12345, 2**63, 1.5]),
    st.text(max_size=80),
    WRONG_TYPES,
    st.just(MISSING),
)
FAR_TIMES = ["0001-01-01 00:00:00", "0999-12-31 23:59:59", "1970-01-01 08:00:00", "1999-12-31 23:59:59",
             "2000-01-01 00:00:00", "2099-12-31 23:59:59", "2100-01-01 00:00:00", "9999-12-31 23:59:59"]
WRONG_TIMES = ["2026-11-21T10:00:00", "2026-11-21T10:00:00Z", "2026-11-21 10:00:00+08:00", "2026/11/21 10:00:00",
               "2026-11-21", "10:00:00", "2026-11-21 10:00", "2026-11-21 10:00:00.123", "2026-02-30 10:00:00",
               "2026-11-21 24:00:00", "2026-13-01 10:00:00", "21-11-2026 10:00:00", "20261121100000",
               "1763690400", "1763690400000", "2026-11-21 10:00:00 extra", "now"]
# From our clock: beyond the window ahead (24 h) and well inside and beyond the one behind.
RELATIVE = [dt.timedelta(days=3), dt.timedelta(hours=25), dt.timedelta(hours=23), dt.timedelta(days=-183),
            dt.timedelta(days=-3661), dt.timedelta(days=-36_600)]
TIMES = st.one_of(
    st.sampled_from(FAR_TIMES),
    st.sampled_from(RELATIVE).map(lambda delta: local(timezone.now() + delta)),
    st.sampled_from(WRONG_TIMES),
    st.sampled_from([1763690400, 0, -1, 2**63]),
    TEXTS,
)
LISTS = st.one_of(st.sampled_from([[], [1], ["x"], [[]], [None], {}, {"a": 1}, "x", "[]", 0]), WRONG_TYPES,
                  st.just(MISSING))
OBJECTS = st.one_of(st.sampled_from([[], [{}], "x", "{}", 0]), WRONG_SCALARS, st.just(MISSING))


def nominal_integers(high):
    """A valid integer field: a number, sometimes written as digits."""
    return st.integers(0, high) | st.integers(0, high).map(str)


def enum_hostile(words):
    """A word that is not one of `words`: another spelling of one, or any text."""
    return st.sampled_from(sorted(words)).map(str.lower) | st.just("UNKNOWN_WORD") | TEXTS


def nominal_time(start=SESSION_START, minutes=720):
    """A time in the window: of the fixtures' session, or of the last hour."""
    return st.one_of(
        st.integers(0, minutes).map(lambda m: local(start + dt.timedelta(minutes=m))),
        st.integers(0, 60).map(lambda m: local(timezone.now() - dt.timedelta(minutes=m))),
    )


RUN_STATUSES = ["BOOKED", "CHARGE", "PARK", "FINISH", "CLOSED", "WAIT_PAY"]
DEVICE_STATUSES = ["FREE", "BOOKED", "CHARGING", "PARKING", "MAINTAIN", "FAULT"]
EVENT_SOURCES = ["CHARGER", "CHARGER_PLUG", "SERVER"]
EVENT_STATES = ["HAPPENING", "IGNORED", "HANDLED", "RECOVERED"]
EVENT_CODES = ["TOMDA_EBIKE_FAULT_ES", "TOMDA_EBIKE_FAULT_TILT", "TOMDA_EBIKE_FAULT_VOLTAGE_UPLIMIT",
               "TOMDA_EBIKE_DOOR_OPEN", "SOMETHING_NEW"]
CLOSE_TYPES = ["EBIKE_SOCLIMITREACHED", "EBIKE_REMOTE", "EBIKE_EVDISCONNECTED", "EBIKE_DEAUTHORIZED",
               "EBIKE_POWERLOSS", "SOMETHING_NEW"]
DEVICE_TYPES = ["TOMDA_EB10_T1", "TOMDA_EV7K_T3", "TOMDA_EV14K_T6", "TOMDA_NEW_T9"]
COMMU_TYPES = ["ETHERNET", "WIFI", "GPRS", "SUB1G", "ZIGBEE", "BLUETOOTH", "CAN", "RS485"]


# --- pushes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    ev_order: str
    ebike_order: str
    template: str

    def targets(self):
        """(serial, order number, connectorId values of the order's connector) of the fixtures' sessions."""
        return [(EV_SERIAL, self.ev_order, [0, 1, "1", MISSING]), (EBIKE_SERIAL, self.ebike_order, [2, "2"])]


@dataclass
class Push:
    kind: str  # the type the push was built as
    envelope: dict  # type, time, content; content may be a JSON object or anything else
    perturbed: frozenset  # the fields given a value out of their range, in Tomda's spelling
    encoding: str  # "json" or "form"
    content_as_text: bool  # JSON only: content sent as a JSON string, as in a form
    ascii_only: bool
    content_type: str


class Draft:
    """The fields of one push, each hostile now and then: one or two of a push's fields on average.

    Each field decides for itself (an integer that shrinks to 0, "valid"), so that hypothesis shrinks a
    failing push to the fewest hostile fields field by field.
    """

    def __init__(self, draw, names):
        self.draw = draw
        self.odds = max(3, round(len(names) / 1.5))  # one in `odds`
        self.perturbed: set[str] = set()

    def __call__(self, name, nominal, hostile):
        if self.draw(st.integers(0, self.odds - 1)) == self.odds - 1:
            self.perturbed.add(name)
            return self.draw(hostile)
        return self.draw(nominal)


def pack(*pairs) -> dict:
    return {key: value for key, value in pairs if value is not MISSING}


def serials(nominal):
    """A serial: the push's own (as text or as a number), or another charger's, an unknown one, any text."""
    others = sorted({EV_SERIAL, EBIKE_SERIAL, *UNKNOWN_SERIALS} - {nominal})
    good = st.sampled_from([nominal, int(nominal), f" {nominal} "])
    return good, st.sampled_from(others) | TEXTS


def order_nos(world, nominal):
    others = sorted({world.ev_order, world.ebike_order, UNKNOWN_ORDER} - {nominal})
    return st.just(nominal), st.sampled_from(others) | TEXTS


def connector_ids(nominal):
    good = st.sampled_from(nominal)
    return good, st.sampled_from([3, 4, 255, 256, 65_535, 65_536]) | INTEGERS


EXTRAS = {"chargerDeviceType": st.sampled_from(DEVICE_TYPES), "chargeMode": st.sampled_from([0, 1, "1"]),
          "startMode": st.sampled_from([0, 1, "APP"])}


def extras(d, names):
    """Fields Tomda sends that we do not read: ignored, whatever they hold."""
    return [(name, d(name, EXTRAS[name] | st.just(MISSING), TEXTS | INTEGERS)) for name in names]


WORK_DATA_FIELDS = ("serialNum", "workDataInfo", "connectorId", "clientOrderId", "deviceTime", "chargerRunStatus",
                    "chargeTime", "chargeVoltage", "chargeCurrent", "chargePower", "chargeEnergy", "chargeCost",
                    "soc", "chargeMode", "startMode", "chargerDeviceType")


def work_data(draw, world):
    d = Draft(draw, WORK_DATA_FIELDS + ENVELOPE_FIELDS)
    serial, order_no, connectors = draw(st.sampled_from(world.targets()))
    good_connector, bad_connector = connector_ids(connectors)
    good_order, bad_order = order_nos(world, order_no)

    def reading():
        return pack(
            ("connectorId", d("connectorId", good_connector, bad_connector)),
            ("clientOrderId", d("clientOrderId", good_order, bad_order)),
            ("deviceTime", d("deviceTime", nominal_time(), TIMES)),
            ("chargerRunStatus", d("chargerRunStatus", st.sampled_from(RUN_STATUSES), enum_hostile(RUN_STATUSES))),
            ("chargeTime", d("chargeTime", nominal_integers(720), INTEGERS)),  # minutes
            ("chargeVoltage", d("chargeVoltage", nominal_integers(7_500), INTEGERS)),  # 0.1 V
            ("chargeCurrent", d("chargeCurrent", nominal_integers(2_500), INTEGERS)),  # 0.1 A
            ("chargePower", d("chargePower", nominal_integers(350_000), INTEGERS)),  # W
            ("chargeEnergy", d("chargeEnergy", nominal_integers(200_000), INTEGERS)),  # Wh
            ("chargeCost", d("chargeCost", nominal_integers(100_000) | st.just(MISSING), INTEGERS)),  # fen
            ("soc", d("soc", st.integers(-1, 100) | st.just(MISSING), INTEGERS)),
            *extras(d, ("chargerDeviceType", "chargeMode", "startMode")),
        )

    good_serial, bad_serial = serials(serial)
    items = [reading() for _ in range(draw(st.integers(1, 2)))]
    content = pack(
        ("serialNum", d("serialNum", good_serial, bad_serial)),
        # The spec's format also puts a device time on the push itself; a reading's own comes first.
        ("deviceTime", d("deviceTime", st.just(MISSING) | nominal_time(), TIMES)),
        ("workDataInfo", d("workDataInfo", st.just(items), LISTS)),
    )
    return d, content


EVENT_FIELDS = ("serialNum", "eventSource", "connectorId", "eventCount", "eventInfo", "eventCode", "eventName",
                "deviceTime", "eventStatus")


def events(draw, world):
    d = Draft(draw, EVENT_FIELDS + ENVELOPE_FIELDS)
    serial, connectors = draw(st.sampled_from([(EBIKE_SERIAL, [1, 2, "2"]), (EV_SERIAL, [0, 1])]))
    good_connector, bad_connector = connector_ids([*connectors, MISSING])
    good_serial, bad_serial = serials(serial)
    items = [
        pack(
            ("eventCode", d("eventCode", st.sampled_from(EVENT_CODES), TEXTS)),
            ("eventName", d("eventName", st.sampled_from(["急停", "倾斜", "", MISSING]), TEXTS)),
            ("deviceTime", d("deviceTime", nominal_time(), TIMES)),
            ("eventStatus", d("eventStatus", st.sampled_from([*EVENT_STATES, MISSING]), enum_hostile(EVENT_STATES))),
        )
        for _ in range(draw(st.integers(1, 2)))
    ]
    key = draw(st.sampled_from(["eventInfo", "eventinfo"]))  # the spec writes both
    content = pack(
        ("serialNum", d("serialNum", good_serial, bad_serial)),
        ("eventSource", d("eventSource", st.sampled_from([*EVENT_SOURCES, MISSING]), enum_hostile(EVENT_SOURCES))),
        ("connectorId", d("connectorId", good_connector, bad_connector)),
        ("eventCount", d("eventCount", st.just(len(items)) | st.just(MISSING), INTEGERS)),
        (key, d("eventInfo", st.just(items), LISTS)),
    )
    return d, content


ORDER_DATA_FIELDS = ("serialNum", "connectorId", "clientOrderId", "chargeStartTime", "chargeEndTime",
                     "chargeEnergy", "chargeTime", "chargeCost", "orderStatus", "closeType")


def order_data(draw, world):
    d = Draft(draw, ORDER_DATA_FIELDS + ENVELOPE_FIELDS)
    serial, order_no, connectors = draw(st.sampled_from(world.targets()))
    good_connector, bad_connector = connector_ids(connectors)
    good_serial, bad_serial = serials(serial)
    good_order, bad_order = order_nos(world, order_no)
    start = SESSION_START + dt.timedelta(minutes=draw(st.integers(0, 60)))
    seconds = draw(st.integers(0, 12 * 3600))
    content = pack(
        ("serialNum", d("serialNum", good_serial, bad_serial)),
        ("connectorId", d("connectorId", good_connector, bad_connector)),
        ("clientOrderId", d("clientOrderId", good_order, bad_order)),
        ("chargeStartTime", d("chargeStartTime", st.just(local(start)), TIMES)),
        ("chargeEndTime", d("chargeEndTime", st.just(local(start + dt.timedelta(seconds=seconds))), TIMES)),
        ("chargeEnergy", d("chargeEnergy", nominal_integers(200_000), INTEGERS)),  # Wh
        ("chargeTime", d("chargeTime", st.just(seconds) | st.just(str(seconds)), INTEGERS)),  # seconds
        ("chargeCost", d("chargeCost", nominal_integers(100_000) | st.just(MISSING), INTEGERS)),
        ("orderStatus", d("orderStatus", st.sampled_from(["CLOSED", "FINISH", "WAIT_PAY", MISSING]),
                          TEXTS | INTEGERS)),
        ("closeType", d("closeType", st.sampled_from(CLOSE_TYPES), TEXTS)),
    )
    return d, content


DEVICE_INFO_FIELDS = ("deviceType", "deviceInfo", "serialNum", "lost", "connectorCount", "chargerStatus",
                      "chargerDeviceType", "chargerDeviceName", "commuType", "deviceModel", "hardwareVersion",
                      "firmwareVersion", "connectorInfo", "connectorId", "connectorStatus")


def device_info(draw, world):
    d = Draft(draw, DEVICE_INFO_FIELDS + ENVELOPE_FIELDS)
    # A charger we lack is news too: it is created, awaiting a station.
    serial = draw(st.sampled_from([EV_SERIAL, EBIKE_SERIAL, "1012300009"]))
    good_serial = st.sampled_from([serial, int(serial)])
    # A description names each gun once: the same number twice is a hostile connectorId.
    connectors = [
        pack(
            ("connectorId", d("connectorId", st.sampled_from([number, str(number)]), INTEGERS)),
            ("connectorStatus", d("connectorStatus", st.sampled_from([*DEVICE_STATUSES, MISSING]), TEXTS)),
        )
        for number in draw(st.lists(st.sampled_from([1, 2, 3]), unique=True, max_size=3))
    ]
    info = pack(
        ("serialNum", d("serialNum", good_serial, TEXTS)),
        ("lost", d("lost", st.sampled_from([0, 1, "0", MISSING]), INTEGERS)),
        ("connectorCount", d("connectorCount", st.integers(1, 4) | st.just(MISSING), INTEGERS)),
        ("chargerStatus", d("chargerStatus", st.sampled_from([*DEVICE_STATUSES, MISSING]), TEXTS)),
        ("chargerDeviceType", d("chargerDeviceType", st.sampled_from([*DEVICE_TYPES, MISSING]), TEXTS)),
        ("chargerDeviceName", d("chargerDeviceName", st.sampled_from(["10 路电动单车", "7KW 电动汽车", MISSING]),
                                TEXTS)),
        ("commuType", d("commuType", st.sampled_from([*COMMU_TYPES, MISSING]), TEXTS)),
        ("deviceModel", d("deviceModel", st.sampled_from(["EB10", "EV7K", MISSING]), TEXTS)),
        ("hardwareVersion", d("hardwareVersion", st.sampled_from(["H2.1", MISSING]), TEXTS)),
        ("firmwareVersion", d("firmwareVersion", st.sampled_from(["F3.4.1", MISSING]), TEXTS)),
        ("connectorInfo", d("connectorInfo", st.just(connectors), LISTS)),
    )
    content = pack(
        ("deviceType", d("deviceType", st.sampled_from(["CHARGER", MISSING]), enum_hostile(["CHARGER"]))),
        ("deviceInfo", d("deviceInfo", st.just(info), OBJECTS)),
    )
    return d, content


def balance_question(draw, world):
    d = Draft(draw, ("clientOrderId", *ENVELOPE_FIELDS))
    good, bad = order_nos(world, draw(st.sampled_from([world.ev_order, world.ebike_order])))
    return d, pack(("clientOrderId", d("clientOrderId", good, bad)))


def fee_question(draw, world):
    d = Draft(draw, ("serialNum", *ENVELOPE_FIELDS))
    good, bad = serials(EV_SERIAL)  # the charger whose station has a tariff
    return d, pack(("serialNum", d("serialNum", good, bad)))


def fee_result(draw, world):
    d = Draft(draw, ("serialNum", "clientElecFeeModelId", "pushResult", *ENVELOPE_FIELDS))
    good, bad = serials(EV_SERIAL)  # the charger the fixtures sent the tariff to
    return d, pack(
        ("serialNum", d("serialNum", good, bad)),
        ("clientElecFeeModelId", d("clientElecFeeModelId", st.just(world.template),
                                   st.sampled_from(["TPL-UNKNOWN", "0"]) | TEXTS)),
        ("pushResult", d("pushResult", st.sampled_from([0, 1, "1"]), INTEGERS)),
    )


BUILDERS = {
    "WORK_DATA": work_data,
    "EVENT_DATA": events,
    "EVENT_INFO": events,
    "ORDER_DATA": order_data,
    "DEVICE_INFO": device_info,
    "QUERY_ORDER_BALANCE_INFO": balance_question,
    "QUERY_CHARGER_ELEC_FEE": fee_question,
    "PUSH_ELEC_FEE_RESULT": fee_result,
}


@st.composite
def pushes(draw, world: World):
    kind = draw(st.sampled_from(KINDS))
    d, content = BUILDERS[kind](draw, world)
    envelope = pack(
        ("type", d("type", st.just(kind), st.sampled_from([kind.lower(), f"{kind}_V2", f" {kind}", "UNKNOWN"])
                   | TEXTS)),
        ("time", d("time", nominal_time(), TIMES)),
        ("content", d("content", st.just(content),
                      st.sampled_from(["", "x", "[1, 2", "[]", "null", "1", '"{}"', "{"]) | WRONG_SCALARS
                      | st.just(MISSING))),
    )
    encoding = draw(st.sampled_from(["json", "form"]))
    content_type = draw(st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain"] if encoding == "json"
        else ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8"]
    ))
    return Push(kind=kind, envelope=envelope, perturbed=frozenset(d.perturbed), encoding=encoding,
                content_as_text=encoding == "json" and draw(st.booleans()), ascii_only=draw(st.booleans()),
                content_type=content_type)


def _dumps(value, *, ascii_only: bool) -> str:
    raws: dict[str, str] = {}

    def default(item):
        if isinstance(item, Raw):
            token = f"@@raw-number-{len(raws)}@@"
            raws[token] = item.text
            return token
        raise TypeError(f"{item!r} is not JSON")

    text = json.dumps(value, ensure_ascii=ascii_only, default=default)
    for token, raw in raws.items():
        text = text.replace(json.dumps(token), raw)
    return text


def encode(push: Push) -> bytes:
    """The push's body as Tomda would send it. Text no UTF-8 encodes (a lone surrogate) goes \\u-escaped
    in JSON; a form field of such text (type, time) goes as the bytes Python would write for it."""
    for ascii_only, errors in ((push.ascii_only, "strict"), (True, "strict"), (True, "surrogatepass")):
        try:
            if push.encoding == "json":
                envelope = dict(push.envelope)
                if push.content_as_text and isinstance(envelope.get("content"), dict):
                    envelope["content"] = _dumps(envelope["content"], ascii_only=ascii_only)
                return _dumps(envelope, ascii_only=ascii_only).encode("utf-8", errors)
            fields = {key: value if isinstance(value, str) else _dumps(value, ascii_only=ascii_only)
                      for key, value in push.envelope.items()}
            return urlencode(fields, errors=errors).encode("ascii")
        except UnicodeEncodeError:
            continue
    raise AssertionError(f"{push.envelope!r} has no encoding")


# --- the invariants ------------------------------------------------------------------------------------


class PushPropertyViolation(AssertionError):
    """A push broke one of the properties; a subclass per symptom and error keeps each failure apart."""


_violations: dict[tuple, type] = {}


def violation(symptom: str, kind: str, detail: str, message: str) -> PushPropertyViolation:
    """An exception whose class is its (symptom, detail): hypothesis tells bugs apart by their class, and
    shrinks each to its simplest push, whatever its type (one fix in the shared code serves every type)."""
    key = (symptom, detail)
    if key not in _violations:
        name = re.sub(r"\W+", "_", f"{symptom}__{detail}")[:200]
        _violations[key] = type(name, (PushPropertyViolation,), {})
    return _violations[key](f"[{symptom}] {kind}: {detail}\n{message}")


def snapshot() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in DOMAIN}


def changed_models(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def names(perturbed) -> set[str]:
    found = set()
    for name in perturbed:
        found |= RELATED.get(name, {name})
    return found


def names_a_field(description: str, perturbed) -> bool:
    """Whether `description` names one of the fields at fault, as a word of its own (Tomda's spelling)."""
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", description)
               for name in names(perturbed))


class ErrorsLogged(logging.Handler):
    """The exceptions the receiver and the worker log (they keep the push and say why in the log)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.found: list[str] = []

    def emit(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.found.append(f"{type(exc).__name__}: {str(exc)[:300]}")

    def __enter__(self):
        logging.getLogger("integrations").addHandler(self)
        return self

    def __exit__(self, *exc_info):
        logging.getLogger("integrations").removeHandler(self)


def _error_class(text: str) -> str:
    return text.split(":", 1)[0].strip() or "?"


@dataclass
class Sent:
    push: Push
    kind: str  # the type as sent, or "(unknown type)"
    about: str  # what was sent, for the report
    reply: dict
    row_id: int


def drain(sent: list[Sent]) -> None:
    """Run the worker until nothing waits, as it would within moments of a push."""
    try:
        outcomes = inbox_drain()
    except Exception as exc:
        last = sent[-1]
        raise violation("worker raised", last.kind, type(exc).__name__,
                        f"pushes waiting: {[s.about for s in sent]}\n{exc!r}") from exc
    note(f"worker: {dict(outcomes)}")


def post(client, push: Push, errors: ErrorsLogged, *, drain_now: bool) -> Sent:
    """POST one push and check what the receiver must: an answer, the row, and a refusal by name that
    changes nothing (also once the worker ran, when `drain_now`)."""
    body = encode(push)
    sent_as = str(push.envelope.get("type", "")).strip()
    kind = sent_as if sent_as in KINDS else "(unknown type)"
    about = (f"built as {push.kind}, sent as {push.encoding} ({push.content_type}), perturbed "
             f"{sorted(push.perturbed)}\nbody ({len(body)} bytes): {body.decode('utf-8', 'replace')[:3000]}")
    note(about)
    before = snapshot()
    stored_before = InboundMessage.objects.count()
    last_id = InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    errors.found.clear()
    try:
        response = client.post(reverse("tomda_push"), body, content_type=push.content_type)
    except Exception as exc:
        raise violation("5xx", kind, f"unhandled {type(exc).__name__}",
                        f"{about}\nthe view raised {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500:
        # On PostgreSQL the test's transaction may be aborted now; nothing more can be read from it.
        logged = list(errors.found)
        raise violation("5xx", kind, _error_class(logged[0]) if logged else f"HTTP {response.status_code}",
                        f"{about}\nHTTP {response.status_code}: {response.content[:1000]!r}\nlogged: {logged}")
    try:
        reply = response.json()
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or not isinstance(reply.get("errorCode"), str):
        raise violation("reply", kind, "not Tomda's envelope", f"{about}\nreply: {response.content[:1000]!r}")
    note(f"reply (HTTP {response.status_code}): {json.dumps(reply, ensure_ascii=False)[:2000]}")
    event(f"{push.kind}: {'acknowledged' if reply['errorCode'] == '200' else 'refused'}")
    sent = Sent(push=push, kind=kind, about=about, reply=reply, row_id=0)
    if drain_now:
        drain([sent])
    try:
        rows = list(InboundMessage.objects.filter(pk__gt=last_id).order_by("pk"))
        stored = InboundMessage.objects.count() - stored_before
    except DatabaseError as exc:  # PostgreSQL: something above broke the transaction without saying so
        raise violation("transaction broken", kind, type(exc).__name__, f"{about}\nreply: {reply}\n{exc}") from exc
    if stored != 1 or len(rows) != 1:
        raise violation("not stored once", kind, f"{stored} rows",
                        f"{about}\nreply: {reply}\nrows: {[(r.pk, r.status) for r in rows]}")
    row = rows[0]
    sent.row_id = row.pk
    note(f"stored as {row.status} {row.reject_reason} {row.error[:500]!r}")
    if reply["errorCode"] != "200":
        description = reply.get("errorDesc")
        if not isinstance(description, str) or not description.strip():
            raise violation("refusal without errorDesc", kind, reply["errorCode"], f"{about}\nreply: {reply}")
        if not names_a_field(description, push.perturbed):
            raise violation(
                "refusal not naming the field", kind, f"{reply['errorCode']} {row.reject_reason or row.status}",
                f"{about}\nreply: {json.dumps(reply, ensure_ascii=False)}\nfields at fault: {sorted(push.perturbed)}",
            )
        after = snapshot()
        if after != before:
            changed = changed_models(before, after)
            raise violation("refusal changed the domain", kind, "+".join(changed),
                            f"{about}\nreply: {reply}\nchanged: {changed}")
    return sent


def check_processed(sent: Sent, errors: ErrorsLogged) -> None:
    """An acknowledged push, once the worker ran: processed (or the duplicate of one that was)."""
    if sent.reply["errorCode"] != "200":
        return
    row = InboundMessage.objects.get(pk=sent.row_id)
    if row.status == InboundStatus.DUPLICATE and row.duplicate_of_id:
        row = InboundMessage.objects.get(pk=row.duplicate_of_id)
    if row.status != InboundStatus.PROCESSED:
        detail = f"{row.status} {row.reject_reason or _error_class(row.error)}"
        raise violation("acknowledged but not processed", sent.kind, detail,
                        f"{sent.about}\nreply: {sent.reply}\nrow {row.pk}: {row.status} {row.reject_reason} "
                        f"{row.error[:1000]!r}\nlogged: {errors.found}")


# --- the test ------------------------------------------------------------------------------------------


@pytest.fixture
def world(ev_charger, ebike_charger, charging_order):
    """The conftest's station, with a second session (on the e-bike charger's gun 2, not yet started, no
    tariff) and a tariff push to the EV charger awaiting its answer."""
    ebike_order = OrderFactory(
        connector=ebike_charger.connectors.get(number=2), partner=None, partner_order_no="",
        status=OrderStatus.STARTING, started_at=None, ended_at=None, charge_seconds=0, park_seconds=0,
        energy_wh=0, electricity_fee_fen=0, service_fee_fen=0, total_fee_fen=0, soc=None, close_reason="",
    )
    version = ev_charger.station.tariff_template.versions.get()
    ChargerTariffPush.objects.create(charger=ev_charger, tariff_version=version, requested_at=SESSION_START)
    return World(ev_order=charging_order.order_no, ebike_order=ebike_order.order_no,
                 template=version.template.external_id)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the work tree; a failure prints its reproduction blob instead
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_push_is_stored_and_refused_by_name_with_nothing_changed_or_acknowledged_and_processed(
    client, world, data
):
    sequence = data.draw(st.lists(pushes(world), min_size=1, max_size=3), label="pushes")
    # The worker after each push, or once after all of them (a batch, with the receiver meanwhile taking
    # news of a charger whose first report waits).
    drain_each = data.draw(st.booleans(), label="worker after each push")
    # The examples share the test's transaction: each runs in a savepoint rolled back at its end, so each
    # starts from the fixtures, and the receiver's memos forget what the previous one taught them.
    with ErrorsLogged() as errors, transaction.atomic():
        known_clear_all()
        try:
            sent = []
            for push in sequence:
                sent.append(post(client, push, errors, drain_now=drain_each))
                if drain_each:
                    check_processed(sent[-1], errors)
            if not drain_each:
                errors.found.clear()
                drain(sent)
                for each in sent:
                    check_processed(each, errors)
        finally:
            transaction.set_rollback(True)
            known_clear_all()
