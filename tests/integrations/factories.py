import json

import factory
from django.utils import timezone

from integrations.models import (
    ApiCallLog,
    CallOutcome,
    Counterparty,
    DeliveryStatus,
    InboundMessage,
    InboundStatus,
    OutboundDelivery,
    Verification,
)


class ApiCallLogFactory(factory.django.DjangoModelFactory):
    """A successful Tomda status query."""

    class Meta:
        model = ApiCallLog

    vendor = Counterparty.TOMDA
    operation = "query_pile_status"
    method = "POST"
    url = "https://tomda.example.com/api/pile/status"
    request_body = factory.LazyAttribute(lambda c: json.dumps({"json": {"pileNo": c.charger_serial}}))
    status_code = 200
    outcome = CallOutcome.OK
    vendor_code = "0"
    response_body = '{"code": 0, "msg": "成功"}'
    duration_ms = 87
    charger_serial = factory.Sequence(lambda n: f"10123{n:05d}")
    created_at = factory.LazyFunction(timezone.now)


class InboundMessageFactory(factory.django.DjangoModelFactory):
    """A verified Tomda status push, processed."""

    class Meta:
        model = InboundMessage

    vendor = Counterparty.TOMDA
    kind = "pileStatus"
    content_type = "application/json"
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    charger_serial = factory.Sequence(lambda n: f"10123{n:05d}")
    body = factory.LazyAttribute(lambda m: json.dumps({"pileNo": m.charger_serial, "status": "FREE"}))
    remote_addr = "203.0.113.7"
    dedupe_key = factory.Sequence(lambda n: f"status-{n:08d}")
    verification = Verification.PASSED
    status = InboundStatus.PROCESSED
    reply = factory.LazyFunction(lambda: {"code": 0, "msg": "成功"})
    attempts = 1
    received_at = factory.LazyFunction(timezone.now)
    processed_at = factory.LazyAttribute(lambda m: m.received_at)


class OutboundDeliveryFactory(factory.django.DjangoModelFactory):
    """A partner notification waiting for its first attempt."""

    class Meta:
        model = OutboundDelivery

    vendor = Counterparty.PARTNER
    kind = "partner.order_settled"
    key = factory.Sequence(lambda n: f"order-settled-{n:08d}")
    payload = factory.LazyFunction(lambda: {"orderNo": "20261121100000000001", "stationName": "南山充电站"})
    status = DeliveryStatus.PENDING
    charger_serial = factory.Sequence(lambda n: f"10123{n:05d}")
    created_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyAttribute(lambda d: d.created_at)
