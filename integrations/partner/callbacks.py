"""Order callbacks of the 2017 interface (§3.3 订单回调): their body, and the sender the outbox calls.

The spec says only that the operator pushes the order detail when the driver starts, while charging and when
charging ends. Ours, POSTed as JSON (UTF-8) to the partner's callback URL:

    {"notifyId": "<stable id>", "notifyType": "start" | "progress" | "end",
     "notifyTime": "yyyy-MM-dd HH:mm:ss", "org": "<partner org>", "data": <order detail, as getOrderInfo>}

with the header `X-Notify-Id` repeating the id. The id is the same on every retry of one callback, so the partner
drops one it has seen. The partner acknowledges with HTTP 2xx and a JSON body whose `code` is 0; anything else is
a failed attempt, retried by the outbox until its horizon, then kept as a dead letter in the admin.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings

from chargers.vendor import VendorError, VendorUnavailable
from integrations.http import BadResponse, HttpClient
from integrations.models import Counterparty, OutboundDelivery, PartnerAccess
from orders.models import Order

from .payloads import order_detail
from .protocol import dumps, format_time, loads

KIND = "partner_callback"


def callback_body(order: Order, *, event: str, notify_id: str, now: datetime) -> str:
    """The callback's JSON text, money and energy written digit for digit."""
    return dumps({"notifyId": notify_id, "notifyType": event, "notifyTime": format_time(now),
                  "org": order.partner.org_code, "data": order_detail(order, now=now)})


# What an order's final callback must say again when it changes: its figures, state and times, not the words or
# the station's data around them (a renamed station, a new translation send nothing).
FINAL_FIGURES = ("status", "timeStart", "timeEnd", "timeCharge", "power", "feeTotal", "feeService", "feeElectric",
                 "soc")


def callback_figures(body: str) -> dict:
    """What a final callback says about its order's outcome."""
    data = loads(body).get("data") or {}
    return {name: data.get(name) for name in FINAL_FIGURES}


def _acknowledged(code) -> bool:
    # 0 the number or "0" the text; not False, not 0.0 (a partner's answer is read as it is written).
    return (type(code) is int and code == 0) or code == "0"


class CallbackClient(HttpClient):
    """A partner's callback URL as an HTTP endpoint: its answer must be 2xx with `{"code": 0}`."""

    vendor = Counterparty.PARTNER

    def parse(self, response, *, operation: str):
        if response.status_code >= 500:
            raise VendorUnavailable(f"partner callback: HTTP {response.status_code}", vendor=self.vendor)
        if not 200 <= response.status_code < 300:
            raise VendorError(f"partner callback refused: HTTP {response.status_code}", vendor=self.vendor,
                              code=str(response.status_code))
        try:
            answer = json.loads(response.text)
        except ValueError as exc:
            raise BadResponse("partner callback: the answer is not JSON", vendor=self.vendor) from exc
        code = answer.get("code") if isinstance(answer, dict) else None
        if not _acknowledged(code):
            message = answer.get("msg", "") if isinstance(answer, dict) else ""
            raise VendorError(f"partner callback not acknowledged: code {code!r} {message}".strip(),
                              vendor=self.vendor, code=str(code)[:32])
        return response  # the outbox keeps its status and first characters with the attempt


def callback_send(delivery: OutboundDelivery):
    """The outbox's handler: POST the callback to its partner's callback URL as it is now. (The outbox sends an
    order's callbacks in the order written: `CounterpartyConfig.in_order_kinds`.)"""
    access = PartnerAccess.objects.select_related("partner").filter(
        partner_id=delivery.payload.get("partner_id")).first()
    if access is None or not access.callback_url:
        raise VendorError(f"partner {delivery.payload.get('org', '?')}: no callback URL is set; set it and retry "
                          "the delivery.", vendor=Counterparty.PARTNER)
    # The URL as the partner gave it, trailing slash and query included: the request's path is empty.
    client = CallbackClient(base_url=access.callback_url, connect_timeout=settings.PARTNER_CALLBACK_CONNECT_TIMEOUT,
                            read_timeout=settings.PARTNER_CALLBACK_READ_TIMEOUT)
    return client.request("POST", "", operation=f"callback {delivery.payload.get('event', '')}",
                          body=delivery.payload["body"],
                          headers={"Content-Type": "application/json; charset=utf-8", "X-Notify-Id": delivery.key},
                          order_no=delivery.order_no, charger_serial=delivery.charger_serial)
