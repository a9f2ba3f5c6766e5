"""The 2017 pile-operator interface at /api/partner/v1/<name>: one view per interface, one envelope for all.

Each view reads its parameters (a refusal names the parameter at fault), calls one service and presents the result
as the spec names it (`payloads.py`). Authentication (the `token` parameter) and the per-partner throttle run before
the handler; every refusal, and every error we did not foresee, is answered in the envelope (`protocol.py`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import OperationalError
from django.utils import timezone, translation
from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.inbox.senders import sender_address
from integrations.partnerkit.access import (
    Caller,
    PartnerDenied,
    partner_auth_failure_record,
    partner_authenticate,
    partner_station,
    partner_stations_counted,
    partner_token_issue,
)
from integrations.partnerkit.models import CITY_CODE, AuthFailureReason
from integrations.partnerkit.sessions import (
    SessionRefused,
    partner_charger,
    partner_order,
    partner_order_started,
    partner_orders_check,
    partner_session_start,
    partner_session_stop,
)
from orders.models import Order
from stations.models import StationAccess

from . import payloads
from .protocol import (
    HTTP_STATUS,
    Code,
    Refusal,
    dumps,
    envelope,
    kwh,
    local_time,
    optional_choice,
    required,
    unix_seconds,
    yuan,
)
from .schema import partner_schema
from .throttling import AuthFailureBudget, PartnerThrottle, throttled_refusal

logger = logging.getLogger(__name__)

DENIED = {
    AuthFailureReason.NO_TOKEN: Code.NO_TOKEN,
    AuthFailureReason.UNKNOWN_TOKEN: Code.BAD_TOKEN,
    AuthFailureReason.EXPIRED_TOKEN: Code.EXPIRED_TOKEN,
    AuthFailureReason.UNKNOWN_ORG: Code.BAD_CREDENTIALS,
    AuthFailureReason.WRONG_SECRET: Code.BAD_CREDENTIALS,
    # A secret a rotation replaced, once its overlap ended, is a wrong secret to the partner; the log says which.
    AuthFailureReason.PREVIOUS_SECRET_EXPIRED: Code.BAD_CREDENTIALS,
    AuthFailureReason.NO_SECRET: Code.BAD_CREDENTIALS,
    AuthFailureReason.DISABLED: Code.DISABLED,
}


class ExactJSONRenderer(BaseRenderer):
    """JSON with money and energy written digit for digit (`protocol.dumps`), UTF-8."""

    media_type = "application/json"
    format = "json"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else dumps(data).encode("utf-8")


def answer(code: Code, data=None, msg: str | None = None, *, headers=None) -> Response:
    return Response(envelope(code, data, msg), status=HTTP_STATUS.get(code, 200), headers=headers)


def caller_of(request, interface: str, *, record_failure: bool = True) -> Caller:
    return Caller(interface=interface, remote_addr=sender_address(request),
                  user_agent=request.META.get("HTTP_USER_AGENT", ""), record_failure=record_failure)


class PartnerView(APIView):
    """One interface: `interface` is its spec name; `authenticated` views take the `token` parameter."""

    interface = ""
    authenticated = True
    http_method_names = ["get"]
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = (PartnerThrottle,)
    renderer_classes = (ExactJSONRenderer,)
    parser_classes = (JSONParser, FormParser, MultiPartParser)

    def dispatch(self, request, *args, **kwargs):
        # The protocol speaks Chinese whatever the caller's language: our refusals' words (a connector's state,
        # a rule of the order service) are read in it too.
        with translation.override("zh-hans"):
            return super().dispatch(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        # Whatever the client accepts, the protocol answers in its JSON envelope.
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type

    def initial(self, request, *args, **kwargs):
        # A wrong method is answered as such before the token is looked at.
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def check_throttles(self, request):
        # DRF checks the throttles after authentication and permissions, which we leave empty: the partner is
        # known from its token here, so that the throttle counts per partner. An address that keeps failing to
        # authenticate is turned away first, without another row in the failure log.
        if self.authenticated:
            self.partner = self.authenticate(request, lambda caller: partner_authenticate(
                token=request.query_params.get("token", ""), caller=caller))
        super().check_throttles(request)

    def authenticate(self, request, attempt):
        """`attempt(caller)` (a token checked, a secret proved), with the address's budget of refusals: valid
        credentials always pass; past the budget a refusal is answered as throttled and not written down. A token
        that expired is no attempt to break in, and costs nothing."""
        budget = AuthFailureBudget(request)
        wait = budget.exhausted()
        caller = caller_of(request, self.interface, record_failure=wait is None)
        try:
            return attempt(caller)
        except PartnerDenied as exc:
            if exc.reason != AuthFailureReason.EXPIRED_TOKEN:
                budget.spend()
                if wait is not None:
                    raise budget.refusal(wait) from exc
            raise Refusal(DENIED[exc.reason]) from exc

    def throttled(self, request, wait):
        raise throttled_refusal(self, wait)

    def handle_exception(self, exc):
        if isinstance(exc, Refusal):
            headers = {"Retry-After": str(exc.values["wait"])} if exc.code == Code.THROTTLED else None
            return answer(exc.code, exc.data, exc.msg, headers=headers)
        if isinstance(exc, exceptions.MethodNotAllowed):
            allowed = "、".join(method.upper() for method in self.http_method_names)
            refusal = Refusal(Code.METHOD, method=self.request.method, name=self.interface, allowed=allowed)
            return answer(refusal.code, None, refusal.msg)
        if isinstance(exc, SuspiciousOperation | RecursionError):  # too many parameters, too large, too deep
            return answer(Code.INVALID, None, Refusal(Code.INVALID, name="request", why=str(exc)[:200]).msg)
        if isinstance(exc, exceptions.APIException):  # a body that cannot be read, in a type we do not read
            return answer(Code.INVALID, None, Refusal(Code.INVALID, name="body", why=str(exc.detail)[:200]).msg)
        if isinstance(exc, OperationalError):
            logger.warning("partner %s: database unavailable: %s", self.interface, exc)
            return answer(Code.UNAVAILABLE, None, Refusal(Code.UNAVAILABLE).msg)
        logger.exception("partner %s failed", self.interface)
        return answer(Code.SERVER_ERROR, None, Refusal(Code.SERVER_ERROR).msg)


class GetToken(PartnerView):
    interface = "getToken"
    authenticated = False
    http_method_names = ["post"]

    @partner_schema("getToken")
    def post(self, request):
        body = request.data
        if not hasattr(body, "get"):
            raise Refusal(Code.INVALID, name="body", why="应为表单或 JSON 对象，含 org 和 secret")
        org = required(body, "org")
        secret = required(body, "secret", max_length=128)
        issued = self.authenticate(request, lambda caller: partner_token_issue(org=org, secret=secret, caller=caller))
        return answer(Code.OK, {"token": issued.token, "expiresIn": issued.seconds,
                                "expireTime": payloads.format_time(issued.expires_at)},
                      headers={"Cache-Control": "no-store"})


STUB_GROUP_TYPES = {str(number): access for access, number in payloads.STUB_GROUP_TYPES.items()}


class SyncStubGroupInfo(PartnerView):
    interface = "syncStubGroupInfo"

    @partner_schema("syncStubGroupInfo")
    def get(self, request):
        city = required(request.query_params, "cityCode", max_length=6, pattern=CITY_CODE,
                        why="应为 6 位城市编码，如 440300")
        access: StationAccess | None = optional_choice(request.query_params, "stubGroupType", STUB_GROUP_TYPES)
        stations = partner_stations_counted(partner=self.partner, city_code=city, access=access)
        return answer(Code.OK, [payloads.stub_group(station, ac=station.ac, dc=station.dc) for station in stations])


class SyncStubInfo(PartnerView):
    interface = "syncStubInfo"

    @partner_schema("syncStubInfo")
    def get(self, request):
        code = required(request.query_params, "stubGroupId")
        now = timezone.now()
        seen = partner_station(partner=self.partner, code=code, now=now)
        if seen is None:
            raise Refusal(Code.NO_STATION, id=code)
        fees = payloads.station_fees(seen.tariff, now=now)
        stubs, ac_idle, dc_idle = [], 0, 0
        for charger, connectors in seen.chargers:
            stub = payloads.stub(charger, connectors, seen.station, fees)
            stubs.append(stub)
            if stub["status"] == str(payloads.IDLE):
                ac_idle += payloads.is_ac(charger)
                dc_idle += payloads.is_dc(charger)
        return answer(Code.OK, {"stubGroupId": seen.station.code, "stubAcIdleCnt": ac_idle, "stubDcIdleCnt": dc_idle,
                                "StubInfo": stubs})


class OrderView(PartnerView):
    def order(self, request) -> Order:
        number = required(request.query_params, "orderId")
        order = partner_order(partner=self.partner, order_no=number)
        if order is None:
            raise Refusal(Code.NO_ORDER, id=number)
        return order


class GetOrderInfo(OrderView):
    interface = "getOrderInfo"

    @partner_schema("getOrderInfo")
    def get(self, request):
        return answer(Code.OK, payloads.order_detail(self.order(request), now=timezone.now()))


class ChargeStart(PartnerView):
    interface = "chargeStart"

    @partner_schema("chargeStart")
    def get(self, request):
        params = request.query_params
        out_order_no = required(params, "outOrderId")
        driver_id = required(params, "driverId")
        stub_id = required(params, "stubId")
        gun_id = required(params, "gunId", max_length=3)
        org = required(params, "org")
        at = unix_seconds(params, "time")
        if org != self.partner.org_code:
            partner_auth_failure_record(reason=AuthFailureReason.ORG_MISMATCH, org=org, partner=self.partner,
                                        caller=caller_of(request, self.interface))
            raise Refusal(Code.ORG_MISMATCH, org=org)
        now = timezone.now()
        window = settings.PARTNER_START_TIME_WINDOW_SECONDS
        off = int(abs((now - at).total_seconds()))
        # A repeat of a start we took is answered whenever it comes; only a new start must be timely.
        if off > window and partner_order_started(partner=self.partner, out_order_no=out_order_no) is None:
            raise Refusal(Code.TIME_WINDOW, seconds=off, window=window)
        charger = partner_charger(partner=self.partner, serial=stub_id)
        if charger is None:
            raise Refusal(Code.NO_STUB, id=stub_id)
        connector = next((c for c in charger.connectors.all() if str(c.number) == gun_id), None)
        if connector is None:
            raise Refusal(Code.NO_GUN, stub=stub_id, gun=gun_id)
        connector.charger = charger
        try:
            order = partner_session_start(partner=self.partner, out_order_no=out_order_no, driver_id=driver_id,
                                          connector=connector, now=now)
        except SessionRefused as exc:
            raise self.refusal(exc, stub=stub_id, gun=gun_id, out_order_no=out_order_no) from exc
        detail = payloads.order_detail(order, now=now)
        if detail["status"] == payloads.START_FAILED:
            # A repeat of a start the charger refused answers as the first did.
            raise Refusal(Code.START_REFUSED, detail, reason=detail["endInfo"])
        return answer(Code.OK, detail)

    def refusal(self, exc: SessionRefused, *, stub: str, gun: str, out_order_no: str) -> Refusal:
        now = timezone.now()
        if exc.reason == SessionRefused.OFFLINE:
            return Refusal(Code.OFFLINE, stub=stub)
        if exc.reason == SessionRefused.FAULT:
            return Refusal(Code.FAULT, stub=stub, gun=gun, state=exc.message)
        if exc.reason == SessionRefused.BUSY:
            return Refusal(Code.BUSY, stub=stub, gun=gun)
        if exc.reason == SessionRefused.CONFLICT:
            return Refusal(Code.OUT_ORDER_CONFLICT, id=out_order_no, stub=exc.order.charger.serial,
                           gun=exc.order.connector.number)
        if exc.reason == SessionRefused.VENDOR:
            data = payloads.order_detail(exc.order, now=now) if exc.order is not None else None
            return Refusal(Code.START_REFUSED, data, reason=exc.message)
        return Refusal(Code.CANNOT_START, reason=exc.message)


class ChargeStop(OrderView):
    interface = "chargeStop"

    @partner_schema("chargeStop")
    def get(self, request):
        order = self.order(request)
        try:
            order = partner_session_stop(order=order)
        except SessionRefused as exc:
            raise Refusal(Code.STOP_REFUSED, payloads.order_detail(order, now=timezone.now()),
                          reason=exc.message) from exc
        return answer(Code.OK, payloads.order_detail(order, now=timezone.now()))


class CheckChargeOrders(PartnerView):
    interface = "checkChargeOrders"

    @partner_schema("checkChargeOrders")
    def get(self, request):
        start = local_time(request.query_params, "startTim")
        end = local_time(request.query_params, "endTim")
        if end <= start:
            raise Refusal(Code.INVALID, name="endTim", why="应晚于 startTim")
        days = settings.PARTNER_CHECK_MAX_DAYS
        if (end - start).total_seconds() > days * 86400:
            raise Refusal(Code.INVALID, name="endTim", why=f"对账区间最长 {days} 天")
        check = partner_orders_check(partner=self.partner, start=start, end=end)
        return answer(Code.OK, {"checkOrderNo": check.check_no, "orderCount": check.order_count,
                                "totalOrderPower": kwh(check.energy_wh), "totoalOrderFee": yuan(check.amount_fen),
                                "orderList": check.order_nos})


class UnknownInterface(PartnerView):
    schema = None  # not an interface: the answer to a name that is none
    authenticated = False
    http_method_names = ["get", "post"]
    throttle_classes = ()

    def dispatch(self, request, *args, **kwargs):
        self.interface = kwargs.get("name", "")[:64]
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, name):
        raise Refusal(Code.NO_INTERFACE, name=self.interface)

    post = get
