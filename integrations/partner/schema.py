"""The partner interface (the 2017 pile-operator interface we serve) as the OpenAPI schema documents it.

Nothing here answers a request: the serializers are the shapes of the answers, for drf-spectacular only,
named as the contract names them (`Id`, `OrderId`, `StubInfo`, `startTim`, `endTim`, `totoalOrderFee` are
the protocol's spellings, typos included). Each view decorates its handler with `partner_schema(name)`:

    class SyncStubInfoView(APIView):
        @partner_schema("syncStubInfo")
        def get(self, request): ...

Units: energy is kWh with three decimals and money yuan with two, converted exactly from our integer Wh
and fen (DESIGN.md §4); times are "yyyy-MM-dd HH:mm:ss" in Beijing time.
"""

from __future__ import annotations

import re

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from .protocol import MESSAGES, Code, Refusal

INTERFACES = (
    "getToken",
    "syncStubGroupInfo",
    "syncStubInfo",
    "getOrderInfo",
    "checkChargeOrders",
    "chargeStart",
    "chargeStop",
)
TAG = "partner"

# What each code means, for the table of the envelope's description; the msg texts are the protocol's own.
MEANINGS = {
    Code.OK: "Success.",
    Code.MISSING: "A required parameter is missing; msg names it by its spec name.",
    Code.INVALID: "A parameter (or the body) cannot be read or is out of range; msg names it and says why.",
    Code.TIME_WINDOW: "chargeStart's `time` is further than PARTNER_START_TIME_WINDOW_SECONDS (300 by default) from "
                      "our clock (a repeat of a start we took is answered whenever it comes).",
    Code.METHOD: "Wrong HTTP method: getToken is POST, every other interface GET. HTTP 405, with Allow.",
    Code.NO_INTERFACE: "Unknown interface name.",
    Code.NO_TOKEN: "No `token` parameter.",
    Code.BAD_TOKEN: "The token is not one of ours.",
    Code.EXPIRED_TOKEN: "The token has expired: ask getToken for a new one.",
    Code.BAD_CREDENTIALS: "getToken: wrong org or secret.",
    Code.DISABLED: "The partner is disabled.",
    Code.ORG_MISMATCH: "chargeStart: `org` is not the token's partner.",
    Code.NO_STATION: "Unknown station, or one not visible to this partner.",
    Code.NO_STUB: "Unknown stubId, or one not visible to this partner.",
    Code.NO_GUN: "Unknown gunId on that stub.",
    Code.NO_ORDER: "Unknown orderId, or another partner's order.",
    Code.OUT_ORDER_CONFLICT: "The outOrderId was used for another start (other stub, gun or driver).",
    Code.OFFLINE: "The stub is offline.",
    Code.FAULT: "The stub is faulty or under maintenance.",
    Code.BUSY: "The gun is in use.",
    Code.START_REFUSED: "The charger refused to start: `data` is the order detail, status 0.",
    Code.STOP_REFUSED: "The charger refused to stop: `data` is the order detail.",
    Code.CANNOT_START: "Any other refusal before the start was sent (e.g. the stub has no tariff).",
    Code.THROTTLED: "Too many calls of this interface (per partner; getToken per address, PARTNER_RATES): HTTP 429 "
                    "with Retry-After.",
    Code.SERVER_ERROR: "Server error: HTTP 500.",
    Code.UNAVAILABLE: "Temporarily unable (the database did not answer): HTTP 503; ask again later.",
}


def _msg_template(code: Code) -> str:
    """The protocol's msg of `code`, its placeholders shown as <name>."""
    return re.sub(r"\{(\w+)\}", r"<\1>", MESSAGES[code])


CODE_TABLE = "\n".join(
    ["| code | msg | meaning |", "|---|---|---|",
     *(f"| {int(code)} | {_msg_template(code)} | {MEANINGS.get(code, '')} |" for code in Code)]
)

ENVELOPE_DESCRIPTION = (
    "Every answer of the partner interface, success or refusal: `{code, msg, data}`. A partner checks `code`: "
    "0 is success; any other code is a refusal, answered with HTTP 200 (except 4290: 429, 5000: 500, "
    "5003: 503), `msg` in Chinese naming the parameter by its spec name, and `data` null unless the table "
    "says otherwise.\n\n" + CODE_TABLE
)

DATETIME_HELP = '"yyyy-MM-dd HH:mm:ss", Beijing time (Asia/Shanghai)'
YUAN_HELP = "Yuan with two decimals, converted exactly from our integer fen (1234 fen is 12.34)."
KWH_HELP = "kWh with three decimals, converted exactly from our integer Wh (12345 Wh is 12.345)."

# Choice sets, also named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (the stub's and the gun's status
# share one set, which drf-spectacular would otherwise name twice).
STUB_STATUS_CHOICES = [
    ("0", "idle"),
    ("1", "charging"),
    ("2", "fault"),
    ("3", "parking space occupied"),
    ("4", "maintenance"),
    ("5", "offline"),
    ("6", "under construction"),
    ("7", "upgrading"),
    ("9", "storing energy"),
    ("99", "deleted"),
]
ORDER_STATUS_CHOICES = [(0, "start failed"), (1, "charging"), (2, "ended normally"), (9, "ended abnormally")]
STUB_GROUP_TYPE_CHOICES = [(0, "public"), (1, "private"), (2, "dedicated")]
STUB_TYPE_CHOICES = [(0, "AC"), (1, "DC"), (2, "AC/DC")]
CHARGE_TYPE_CHOICES = [(0, "AC"), (1, "DC")]
PARKING_STATUS_CHOICES = [(0, "no data"), (1, "free"), (2, "used")]
EXISTS_GUN_CHOICES = [(0, "a socket, no gun (e-bike)"), (1, "a gun with a fixed cable (car)")]


def _yuan(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False, min_value=0,
                                    help_text=f"{help_text} {YUAN_HELP}")


def _kwh(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=3, coerce_to_string=False, min_value=0,
                                    help_text=f"{help_text} {KWH_HELP}")


# --- data of each interface ----------------------------------------------------------------------------


class PartnerTokenRequestSerializer(serializers.Serializer):
    """getToken's parameters, as a form or a JSON body."""

    org = serializers.CharField(help_text="The partner's organisation code, as we issued it.")
    secret = serializers.CharField(help_text="The partner's secret, as we issued it.")


class PartnerTokenSerializer(serializers.Serializer):
    """data of getToken. Asking again gives a new token; older tokens stay valid until they expire."""

    token = serializers.CharField(help_text="Opaque; send it as the `token` parameter of every other interface.")
    expiresIn = serializers.IntegerField(help_text="Seconds the token is valid for (7200).")
    expireTime = serializers.CharField(help_text=f"When the token expires, {DATETIME_HELP}.")


class PartnerStubGroupSerializer(serializers.Serializer):
    """One station (桩群) of syncStubGroupInfo."""

    Id = serializers.CharField(help_text="The station code; stubGroupId of syncStubInfo.")
    stubGroupName = serializers.CharField(help_text="The station's name.")
    cityCode = serializers.CharField(help_text="6-digit administrative division code of the station's city.")
    imgUrl = serializers.CharField(help_text="URL of the station's picture, or empty.")
    stubAcCnt = serializers.IntegerField(help_text="Number of AC stubs (chargers) at the station.")
    stubDcCnt = serializers.IntegerField(help_text="Number of DC stubs (chargers) at the station.")
    serviceTime = serializers.CharField(help_text="Opening hours, as text.")
    address = serializers.CharField(help_text="The station's address.")
    lng = serializers.CharField(help_text='Longitude, GCJ-02, a decimal string ("113.934200"), or "" when unknown.')
    lat = serializers.CharField(help_text='Latitude, GCJ-02, a decimal string ("22.540500"), or "" when unknown.')
    stubGroupType = serializers.ChoiceField(choices=STUB_GROUP_TYPE_CHOICES,
                                            help_text="0 public, 1 private, 2 dedicated.")
    stubGroupInfo = serializers.CharField(help_text="Guide text for drivers (how to get there, where to park).")


class PartnerGunSerializer(serializers.Serializer):
    """One gun of a stub: our addition, so that a partner knows the gunIds chargeStart takes."""

    gunId = serializers.CharField(help_text='The gun\'s number on its stub ("1", "2", ...).')
    status = serializers.ChoiceField(choices=STUB_STATUS_CHOICES, help_text="The gun's status, as the stub's.")


class PartnerStubSerializer(serializers.Serializer):
    """One stub (charger) of syncStubInfo's StubInfo."""

    Id = serializers.CharField(help_text="The charger's serial number; stubId of chargeStart.")
    stubName = serializers.CharField(help_text="The charger's name.")
    serviceFee = serializers.CharField(help_text='Service fee, as text for people ("0.8000元/度"), not an amount.')
    electricFee = serializers.CharField(help_text="Electricity fee, as text for people, time-of-use periods "
                                                  "included; not an amount.")
    totalFeeInfo = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False, min_value=0,
                                            allow_null=True,
                                            help_text="Price per kWh of the period in force now, electricity plus "
                                                      "service, yuan with four decimals; null for a tariff by power "
                                                      "tier or a stub without a tariff.")
    parkingFeeInfo = serializers.CharField(help_text="Parking fee, as text for people, or empty.")
    status = serializers.ChoiceField(choices=STUB_STATUS_CHOICES, help_text="The stub's status, a string.")
    existsGun = serializers.ChoiceField(choices=EXISTS_GUN_CHOICES,
                                        help_text="1 a car charger (its gun's cable is fixed), 0 an e-bike socket.")
    type = serializers.ChoiceField(choices=STUB_TYPE_CHOICES, help_text="0 AC, 1 DC, 2 AC/DC.")
    kw = serializers.DecimalField(max_digits=9, decimal_places=3, coerce_to_string=False, min_value=0,
                                  help_text="Rated power in kW, three decimals (converted exactly from our W).")
    parkingStatus = serializers.ChoiceField(choices=PARKING_STATUS_CHOICES, help_text="0 no data, 1 free, 2 used.")
    guns = PartnerGunSerializer(many=True, help_text="The stub's guns with their status.")


class PartnerStubGroupStatusSerializer(serializers.Serializer):
    """data of syncStubInfo: a station's stubs and their status."""

    stubGroupId = serializers.CharField(help_text="The station code asked for.")
    stubAcIdleCnt = serializers.IntegerField(help_text="Number of idle AC stubs.")
    stubDcIdleCnt = serializers.IntegerField(help_text="Number of idle DC stubs.")
    StubInfo = PartnerStubSerializer(many=True, help_text="The station's stubs visible to the partner.")


class PartnerOrderSerializer(serializers.Serializer):
    """The order detail: data of getOrderInfo, chargeStart and chargeStop, and of every order callback.

    feeTotal = feeService + feeElectric exactly.
    """

    OrderId = serializers.CharField(help_text="Our order number (20 digits); orderId of getOrderInfo and "
                                              "chargeStop.")
    stubId = serializers.CharField(help_text="The charger's serial number.")
    outOrderId = serializers.CharField(help_text="The partner's order id given to chargeStart.")
    driverId = serializers.CharField(help_text="The driver id given to chargeStart.")
    timeStart = serializers.CharField(help_text=f"When charging began, {DATETIME_HELP}; \"\" before it began.")
    timeEnd = serializers.CharField(help_text=f"When charging ended, {DATETIME_HELP}; \"\" while not ended.")
    timeCharge = serializers.IntegerField(help_text="Charging time in seconds.")
    feeTotal = _yuan("Total fee, feeService + feeElectric.")
    chargeType = serializers.ChoiceField(choices=CHARGE_TYPE_CHOICES, help_text="0 AC, 1 DC.")
    power = _kwh("Energy charged.")
    soc = serializers.IntegerField(min_value=0, max_value=100, allow_null=True,
                                   help_text="State of charge in percent, 0-100; null when unknown (DC only).")
    status = serializers.ChoiceField(choices=ORDER_STATUS_CHOICES,
                                     help_text="0 start failed, 1 charging, 2 ended normally, 9 ended abnormally.")
    endInfo = serializers.CharField(help_text="Why it ended, as text (Chinese); empty while charging.")
    feeService = _yuan("Service fee.")
    feeElectric = _yuan("Electricity fee.")
    cityCode = serializers.CharField(help_text="6-digit administrative division code of the station's city.")


class PartnerOrderCheckSerializer(serializers.Serializer):
    """data of checkChargeOrders: the partner's orders created in [startTim, endTim)."""

    checkOrderNo = serializers.CharField(help_text="Our number of this check.")
    orderCount = serializers.IntegerField(help_text="Number of orders in orderList.")
    totalOrderPower = _kwh("Energy of the listed orders together.")
    totoalOrderFee = _yuan("Total fee of the listed orders together (the field's name is the spec's spelling).")
    orderList = serializers.ListField(child=serializers.CharField(), help_text="The orders' OrderIds.")


# --- the envelope --------------------------------------------------------------------------------------


def _envelope(name: str, data: serializers.Field | None, what: str) -> type[serializers.Serializer]:
    """The envelope serializer `Partner<name>Envelope` whose `data` is `data` (null on a refusal)."""
    fields = {
        "code": serializers.IntegerField(help_text="0 success; any other value a refusal (see the table)."),
        "msg": serializers.CharField(help_text="成功, or what was refused, in Chinese."),
        "data": data if data is not None else serializers.JSONField(
            allow_null=True, help_text="null (the order detail for 4004 and 4005)."),
        "__doc__": f"{what}\n\n{ENVELOPE_DESCRIPTION}",
        "__module__": __name__,
    }
    return type(f"Partner{name}EnvelopeSerializer", (serializers.Serializer,), fields)


PartnerErrorEnvelopeSerializer = _envelope("Error", None, "A refusal: `data` is null.")
ENVELOPES = {
    "getToken": _envelope("Token", PartnerTokenSerializer(allow_null=True, help_text="The token; null on a refusal."),
                          "getToken's answer."),
    "syncStubGroupInfo": _envelope(
        "StubGroupList",
        PartnerStubGroupSerializer(many=True, allow_null=True,
                                   help_text="The stations visible to the partner (its stations and every station "
                                             "of its cities) in the city; null on a refusal."),
        "syncStubGroupInfo's answer."),
    "syncStubInfo": _envelope(
        "StubGroupStatus",
        PartnerStubGroupStatusSerializer(allow_null=True, help_text="The station's stubs; null on a refusal."),
        "syncStubInfo's answer."),
    "getOrderInfo": _envelope(
        "Order", PartnerOrderSerializer(allow_null=True, help_text="The order detail; null on a refusal, except 4004 "
                                                                   "and 4005, which carry the order detail."),
        "The answer of getOrderInfo, chargeStart and chargeStop: the order detail."),
    "checkChargeOrders": _envelope(
        "OrderCheck", PartnerOrderCheckSerializer(allow_null=True, help_text="The check; null on a refusal."),
        "checkChargeOrders' answer."),
}
ENVELOPES["chargeStart"] = ENVELOPES["chargeStop"] = ENVELOPES["getOrderInfo"]


# --- parameters ----------------------------------------------------------------------------------------


def _query(name: str, description: str, *, required: bool = True, kind=str, **more) -> OpenApiParameter:
    return OpenApiParameter(name, type=kind, location=OpenApiParameter.QUERY, required=required,
                            description=description, **more)


TOKEN = _query("token", "The token getToken gave; an older token stays valid until its expireTime.")
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
PARAMETERS: dict[str, list[OpenApiParameter]] = {
    "getToken": [],
    "syncStubGroupInfo": [
        _query("cityCode", "6-digit administrative division code of the city.", pattern=r"^\d{6}$"),
        _query("stubGroupType", 'Only stations of this type: "0" public, "1" private, "2" dedicated; all when '
                                "left out or empty.", required=False, enum=["", "0", "1", "2"]),
    ],
    "syncStubInfo": [_query("stubGroupId", "The station code (Id of syncStubGroupInfo).")],
    "getOrderInfo": [_query("orderId", "Our order number (OrderId).")],
    "checkChargeOrders": [
        _query("startTim", f"Start of the period, included, {DATETIME_HELP}.", pattern=DATETIME_PATTERN),
        _query("endTim", f"End of the period, excluded, {DATETIME_HELP}; after startTim, at most "
                         "PARTNER_CHECK_MAX_DAYS (31 by default) days later.",
               pattern=DATETIME_PATTERN),
    ],
    "chargeStart": [
        _query("outOrderId", "The partner's order id, 1-64 characters. A repeat of the same outOrderId answers "
                             "the same order (idempotent per partner); with another stub, gun or driver it is "
                             "refused (3005).", kind={"type": "string", "minLength": 1, "maxLength": 64}),
        _query("driverId", "The partner's driver id, 1-64 characters.",
               kind={"type": "string", "minLength": 1, "maxLength": 64}),
        _query("stubId", "The charger's serial number (Id of StubInfo)."),
        _query("gunId", 'The gun\'s number on the stub ("1", ...; gunId of StubInfo\'s guns).'),
        _query("org", "The partner's organisation code: the token's partner (else 2006)."),
        _query("time", "The request's time, a Unix timestamp in seconds; refused (1003) when further than "
                       "PARTNER_START_TIME_WINDOW_SECONDS (300 by default) from our clock; a repeat of a start we "
                       "took is answered whenever it comes.", kind=int),
    ],
    "chargeStop": [_query("orderId", "Our order number (OrderId). An order already stopping or ended answers "
                                     "code 0 with its detail.")],
}
for _name in INTERFACES[1:]:
    PARAMETERS[_name].insert(0, TOKEN)

RETRY_AFTER = OpenApiParameter("Retry-After", type=int, location=OpenApiParameter.HEADER, response=[429],
                               description="Seconds to wait before asking this interface again.")

# --- examples ------------------------------------------------------------------------------------------


def _answer(code: Code, msg: str, data=None) -> dict:
    return {"code": int(code), "msg": msg, "data": data}


def _ok(summary: str, data) -> OpenApiExample:
    return OpenApiExample("success", summary=summary, value=_answer(Code.OK, MESSAGES[Code.OK], data),
                          response_only=True, status_codes=["200"])


def _refused(key: str, summary: str, code: Code, data=None, /, **values) -> OpenApiExample:
    """A refusal as the protocol words it (`Refusal(code, **values).msg`), answered with HTTP 200."""
    return OpenApiExample(key, summary=summary, value=_answer(code, Refusal(code, **values).msg, data),
                          response_only=True, status_codes=["200"])


ORDER_CHARGING = {
    "OrderId": "20261103093015000042", "stubId": "1012300001", "outOrderId": "P20261103-0001",
    "driverId": "d-8812", "timeStart": "2026-11-03 09:30:20", "timeEnd": "", "timeCharge": 1500,
    "feeTotal": 9.69, "chargeType": 1, "power": 8.765, "soc": 56, "status": 1, "endInfo": "",
    "feeService": 3.51, "feeElectric": 6.18, "cityCode": "440305",
}
ORDER_ENDED = {
    **ORDER_CHARGING, "timeEnd": "2026-11-03 10:12:05", "timeCharge": 2505, "feeTotal": 24.69, "power": 22.317,
    "soc": 92, "status": 2, "endInfo": "远程停止", "feeService": 8.93, "feeElectric": 15.76,
}
ORDER_START_FAILED = {
    **ORDER_CHARGING, "timeStart": "", "timeCharge": 0, "feeTotal": 0.0, "power": 0.0, "soc": None, "status": 0,
    "endInfo": "充电枪未连接", "feeService": 0.0, "feeElectric": 0.0,
}
TOKEN_EXPIRED = _refused("token expired", "The token has expired", Code.EXPIRED_TOKEN)

EXAMPLES: dict[str, list[OpenApiExample]] = {
    "getToken": [
        OpenApiExample("credentials", summary="org and secret", value={"org": "MA5G2K3X1", "secret": "s3cr3t-partner"},
                       request_only=True),
        _ok("A new token", {"token": "9b2f4c1e8d7a4f60b3c5e2a1d0f98765", "expiresIn": 7200,
                            "expireTime": "2026-11-03 11:30:00"}),
        _refused("wrong secret", "Wrong org or secret", Code.BAD_CREDENTIALS),
        _refused("missing secret", "secret left out", Code.MISSING, name="secret"),
    ],
    "syncStubGroupInfo": [
        _ok("The stations of Shenzhen Nanshan", [{
            "Id": "SZ-NS-001", "stubGroupName": "南山科技园充电站", "cityCode": "440305",
            "imgUrl": "https://cdn.example.com/stations/sz-ns-001.jpg", "stubAcCnt": 6, "stubDcCnt": 4,
            "serviceTime": "00:00-24:00", "address": "深圳市南山区科技园南区高新南一道 8 号",
            "lng": "113.934200", "lat": "22.540500", "stubGroupType": 0,
            "stubGroupInfo": "从高新南一道入口进入地下停车场 B2 层，按充电指示牌行驶。",
        }]),
        _refused("bad cityCode", "cityCode is not 6 digits", Code.INVALID, name="cityCode",
                 why="应为 6 位城市编码，如 440300"),
        TOKEN_EXPIRED,
    ],
    "syncStubInfo": [
        _ok("A station with one DC stub", {
            "stubGroupId": "SZ-NS-001", "stubAcIdleCnt": 0, "stubDcIdleCnt": 1, "StubInfo": [{
                "Id": "1012300001", "stubName": "1 号直流桩", "serviceFee": "0.4000元/度",
                "electricFee": "00:00-08:00 谷 0.3500元/度；08:00-24:00 峰 0.9500元/度", "totalFeeInfo": 1.35,
                "parkingFeeInfo": "充电期间免停车费 2 小时", "status": "0", "existsGun": 1, "type": 1, "kw": 60.0,
                "parkingStatus": 1, "guns": [{"gunId": "1", "status": "0"}],
            }],
        }),
        _refused("unknown station", "No such station visible to the partner", Code.NO_STATION, id="SZ-NS-404"),
        _refused("missing stubGroupId", "stubGroupId left out", Code.MISSING, name="stubGroupId"),
    ],
    "getOrderInfo": [
        _ok("An order that has ended", ORDER_ENDED),
        _refused("unknown order", "No such order of this partner", Code.NO_ORDER, id="20261103093015000099"),
        TOKEN_EXPIRED,
    ],
    "checkChargeOrders": [
        _ok("One day's orders", {"checkOrderNo": "CK20261103000007", "orderCount": 2, "totalOrderPower": 31.082,
                                 "totoalOrderFee": 34.38,
                                 "orderList": ["20261103093015000042", "20261103141102000057"]}),
        _refused("end before start", "endTim not after startTim", Code.INVALID, name="endTim", why="应晚于 startTim"),
        _refused("missing endTim", "endTim left out", Code.MISSING, name="endTim"),
    ],
    "chargeStart": [
        _ok("Charging began", ORDER_CHARGING),
        _refused("gun in use", "The gun is occupied", Code.BUSY, stub="1012300001", gun="1"),
        _refused("charger refused", "The charger refused to start: data is the order, status 0", Code.START_REFUSED,
                 ORDER_START_FAILED, reason="充电枪未连接"),
    ],
    "chargeStop": [
        _ok("The stop was sent (or the order had already ended)", ORDER_ENDED),
        _refused("charger refused", "The charger refused to stop: data is the order detail", Code.STOP_REFUSED,
                 ORDER_CHARGING, reason="桩无响应"),
        _refused("unknown order", "No such order of this partner", Code.NO_ORDER, id="20261103093015000099"),
    ],
}

SUMMARIES = {
    "getToken": "Get a token",
    "syncStubGroupInfo": "List the stations of a city",
    "syncStubInfo": "A station's stubs and their status",
    "getOrderInfo": "An order's detail",
    "checkChargeOrders": "The partner's orders of a period, for reconciliation",
    "chargeStart": "Start charging",
    "chargeStop": "Stop charging",
}
DESCRIPTIONS = {
    "getToken": "POST with `org` and `secret` as a form or a JSON body. The token is valid `expiresIn` seconds; "
                "asking again gives a new token, and older tokens stay valid until they expire. When the operator "
                "rotates the secret, the previous one still works until the time it gives with the new one, and "
                "tokens already issued stay valid until they expire.",
    "syncStubGroupInfo": "The stations visible to the partner in the city: its own stations plus every station "
                         "of its cities.",
    "syncStubInfo": "The stubs of one station with their fees (texts for people), status and guns.",
    "getOrderInfo": "The detail of one of the partner's orders.",
    "checkChargeOrders": "The partner's orders created in [startTim, endTim), Beijing time, at most "
                         "PARTNER_CHECK_MAX_DAYS (31 by default) days, with their energy and fee together.",
    "chargeStart": "Start a session on a stub's gun for a driver. Idempotent by (partner, outOrderId): a repeat "
                   "answers the same order. A charger's refusal is 4004 with the order (status 0); the order's "
                   "start, progress and end are then called back to the partner's callback URL.",
    "chargeStop": "Stop a session. An order already stopping or ended answers code 0 with its detail; a "
                  "charger's refusal is 4005 with the order detail.",
}


# The throttle's words for a rate's period (throttling.py), for the 429 examples.
PERIOD_WORDS = {"s": "秒", "m": "分钟", "h": "小时", "d": "天"}


def _responses(name: str) -> dict:
    envelope = ENVELOPES.get(name)
    # The rate in force when the views were loaded (PARTNER_RATES), as the throttle words it.
    rate = settings.PARTNER_RATES.get(name) or "600/m"
    count, _, period = rate.partition("/")
    who = "per address" if name == "getToken" else "per partner"
    return {
        200: OpenApiResponse(envelope, description="The envelope: code 0 with data, or a refusal (code ≠ 0, data "
                                                   "null unless said) with HTTP 200 all the same."),
        429: OpenApiResponse(PartnerErrorEnvelopeSerializer,
                             description=f"Throttled (code 4290): more than {rate} {who} (PARTNER_RATES). "
                                         "Retry-After says when to ask again.",
                             examples=[_status_example(Code.THROTTLED, "429", name=name, count=count, wait=12,
                                                       period=PERIOD_WORDS.get(period[:1], period))]),
        500: OpenApiResponse(PartnerErrorEnvelopeSerializer, description="Server error (code 5000).",
                             examples=[_status_example(Code.SERVER_ERROR, "500")]),
        503: OpenApiResponse(PartnerErrorEnvelopeSerializer, description="Temporarily unable (code 5003): ask again "
                                                                         "later.",
                             examples=[_status_example(Code.UNAVAILABLE, "503")]),
    }


def _status_example(code: Code, status: str, /, **values) -> OpenApiExample:
    return OpenApiExample(f"code {int(code)}", value=_answer(code, Refusal(code, **values).msg), response_only=True,
                          status_codes=[status])


def partner_schema(name: str):
    """The `extend_schema` decorator documenting the partner interface `name` (one of INTERFACES)."""
    if name not in INTERFACES:
        raise ValueError(f"{name!r} is not a partner interface; they are {', '.join(INTERFACES)}.")
    request = None
    if name == "getToken":
        request = {
            "application/x-www-form-urlencoded": PartnerTokenRequestSerializer,
            "application/json": PartnerTokenRequestSerializer,
            "multipart/form-data": PartnerTokenRequestSerializer,
        }
    return extend_schema(
        operation_id=f"partner_{name}",
        summary=SUMMARIES[name],
        description=DESCRIPTIONS[name],
        tags=[TAG],
        parameters=[*PARAMETERS[name], RETRY_AFTER],
        request=request,
        responses=_responses(name),
        examples=EXAMPLES[name],
        auth=[],
    )
