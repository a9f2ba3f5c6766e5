"""Charging records for 4pyun: which news of an order at a mapped station becomes a record, and its sender.

The domain's order signals arrive inside the service's transaction; a receiver here writes the record as an outbox
row in that same transaction, so a committed change always has its record and a rolled-back one has none. The
outbox sends an order's records in the order they were written (`in_order_kinds`), retries what 4pyun could not
take (1500, 5xx, no answer) and gives up at once on what it refused for good (400, 401), keeping its `hint`.

Which records, and their stable ids (the outbox keeps one row per id):

- `start` on the first news that the session charges (`4pyun:<order>:start`, state 2);
- `progress` while it charges, at most every FOURPYUN_RECORD_PROGRESS_SECONDS (`4pyun:<order>:progress:<n>`);
- `final` when the order is settled (state 3) or its start failed (state -1) (`4pyun:<order>:final:<n>`): a second
  one only when what it says changed (a settlement replacing the one before, a correction, a plate an operator
  added), so 4pyun ends up holding our final figures; the newest is what the daily close compares.

A delivery's payload is `{"event", "state", "fields", "reduction_problem"}`: `fields` the record as
`payloads.record_fields` wrote it (the client adds the public parameters and signs at each attempt, so that a retry
is never refused for an old timestamp), `reduction_problem` why the record grants no parking-fee reduction (no
plate, a malformed one), empty when it can.

Nothing is written while 4pyun is not configured (FOURPYUN_BASE_URL empty), nor for a station without a 4pyun
station UUID.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from integrations.models import Counterparty, DeliveryStatus, OutboundDelivery
from integrations.outbox import (
    DeliveryRefused,
    deliveries_newest,
    delivery_attempt,
    delivery_enqueue,
    delivery_retry,
)
from orders.models import TERMINAL_STATUSES, Order, OrderStatus
from orders.signals import (
    order_progressed,
    order_settled,
    order_start_failed,
    order_vehicle_changed,
)
from stations.models import Station

from . import mappers
from .client import RECORD_PATH, FourpyunClient, FourpyunRefused
from .payloads import record_fields, record_state, reduction_problem

RECORD_KIND = "fourpyun_record"
START, PROGRESS, FINAL = "start", "progress", "final"

MAPPED_STATIONS_KEY = "fourpyun:mapped-stations"
MAPPED_STATIONS_SECONDS = 60


def enabled() -> bool:
    return bool(settings.FOURPYUN_BASE_URL)


def mapped_stations() -> frozenset[int]:
    """The stations 4pyun knows, from the cache: progress news comes by the thousand a minute, most of it about
    stations 4pyun does not know. A change of any station clears it; a process with a cache of its own (no
    REDIS_URL) sees another's change within MAPPED_STATIONS_SECONDS."""
    stations = cache.get(MAPPED_STATIONS_KEY)
    if stations is None:
        stations = frozenset(Station.objects.exclude(fourpyun_station_uuid="").values_list("pk", flat=True))
        cache.set(MAPPED_STATIONS_KEY, stations, MAPPED_STATIONS_SECONDS)
    return stations


def _station_changed(sender, **kwargs):
    cache.delete(MAPPED_STATIONS_KEY)
    transaction.on_commit(lambda: cache.delete(MAPPED_STATIONS_KEY))


def _loaded(order: Order) -> Order | None:
    """The order with what its record states, read once; None when its station is not 4pyun's."""
    if not enabled() or order.station_id not in mapped_stations():
        return None
    order = (Order.objects.select_related("station", "charger", "connector", "card").get(pk=order.pk))
    return order if order.station.fourpyun_station_uuid else None


def records_of(order_no: str, event: str | None = None) -> QuerySet[OutboundDelivery]:
    """An order's records (of `event`), newest first."""
    records = OutboundDelivery.objects.filter(kind=RECORD_KIND, order_no=order_no)
    if event:
        records = records.filter(payload__event=event)
    return records.order_by("-created_at", "-id")


def _enqueue(order: Order, *, event: str, key: str, fields: dict) -> OutboundDelivery:
    payload = {"event": event, "state": fields["state"], "fields": fields,
               "reduction_problem": reduction_problem(order) if event == FINAL else ""}
    return delivery_enqueue(vendor=Counterparty.FOURPYUN, kind=RECORD_KIND, key=key, payload=payload,
                            charger_serial=order.charger.serial, order_no=order.order_no)


def order_record_final(*, order: Order, now: datetime | None = None) -> OutboundDelivery | None:
    """The final record of an ended order, unless the newest one written says the same already; `order` as the
    caller read it (a bare row is read again)."""
    order = _loaded(order)
    if order is None or order.status not in TERMINAL_STATUSES:
        return None
    fields = record_fields(order, state=record_state(order), now=now or timezone.now())
    finals = list(records_of(order.order_no, FINAL).values_list("payload", flat=True))
    if finals and finals[0]["fields"] == fields:
        return None
    return _enqueue(order, event=FINAL, key=f"4pyun:{order.order_no}:final:{len(finals) + 1}", fields=fields)


def order_record_progress(*, order: Order, now: datetime | None = None) -> OutboundDelivery | None:
    """The start record on the first news that the session charges, then a progress record at most every
    FOURPYUN_RECORD_PROGRESS_SECONDS; the final record of a start the news ended as failed.

    The database is asked only about orders at mapped stations, and about each at most once per interval (a gate in
    the cache; the records written decide, should the gate be lost)."""
    if not enabled() or order.station_id not in mapped_stations():
        return None
    if order.status in (OrderStatus.START_FAILED, OrderStatus.CANCELLED):
        if records_of(order.order_no, FINAL).exists():
            return None
        return order_record_final(order=order, now=now)
    if record_state(order) != mappers.CHARGING:
        return None
    interval = settings.FOURPYUN_RECORD_PROGRESS_SECONDS
    gate = f"fourpyun:progress:{order.order_no}"
    if interval and cache.get(gate):
        return None
    order = _loaded(order)
    if order is None:
        return None
    now = now or timezone.now()
    sent = list(records_of(order.order_no).filter(payload__event__in=[START, PROGRESS])
                .values_list("created_at", flat=True))
    if sent and (waited := (now - sent[0]).total_seconds()) < interval:
        # On commit: the row seen may be this transaction's own, and rolled back with it.
        transaction.on_commit(lambda: cache.set(gate, 1, timeout=max(int(interval - waited), 1)))
        return None
    fields = record_fields(order, state=mappers.CHARGING, now=now)
    # Numbered in order: two workers reporting the same moment write the same id, and the outbox keeps one.
    event, key = (PROGRESS, f"4pyun:{order.order_no}:progress:{len(sent)}") if sent else (
        START, f"4pyun:{order.order_no}:start")
    delivery = _enqueue(order, event=event, key=key, fields=fields)
    if interval:
        transaction.on_commit(lambda: cache.set(gate, 1, timeout=interval))
    return delivery


def newest_finals(order_nos) -> Iterator[OutboundDelivery]:
    """The newest final record of each of `order_nos` that has one, in order-number order."""
    return deliveries_newest(kind=RECORD_KIND, event=FINAL, order_nos=order_nos)


def order_records_resend(*, order: Order, by_name: str, now: datetime | None = None) -> OutboundDelivery | None:
    """Make sure 4pyun gets the order's final record as it stands, and try it now: a new one when there is none or
    the order changed since (written and sent), else the newest one again unless 4pyun confirmed it. Returns the
    record tried; None when 4pyun holds the newest already (or the order is not 4pyun's, or not ended)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        delivery = order_record_final(order=order, now=now)
    if delivery is None:
        delivery = records_of(order.order_no, FINAL).first()
        if delivery is None or delivery.status == DeliveryStatus.DELIVERED:
            return None
        delivery = delivery_retry(delivery=delivery, by_name=by_name)
    # Now, not when a worker gets to it: the person (or the daily close) is waiting for 4pyun's answer.
    return delivery_attempt(delivery_id=delivery.pk) or delivery


def record_send(delivery: OutboundDelivery):
    """The outbox's handler: POST the record, signed with a fresh timestamp. A refusal for good (400, 401) gives it
    up at once, with 4pyun's hint."""
    client = FourpyunClient.from_settings()
    try:
        return client.sync(RECORD_PATH, delivery.payload["fields"], operation=f"record {delivery.payload['event']}",
                           order_no=delivery.order_no, charger_serial=delivery.charger_serial)
    except FourpyunRefused as exc:
        raise DeliveryRefused(str(exc), response=exc.response) from exc


def _on_progressed(sender, order, **kwargs):
    order_record_progress(order=order)


def _on_ended(sender, order, **kwargs):
    order_record_final(order=order)


def records_connect() -> None:
    """Connect the order signals to the records (the app's `ready()` calls it; calling again is harmless)."""
    order_progressed.connect(_on_progressed, sender=Order, dispatch_uid="fourpyun_record_progress")
    order_settled.connect(_on_ended, sender=Order, dispatch_uid="fourpyun_record_settled")
    order_start_failed.connect(_on_ended, sender=Order, dispatch_uid="fourpyun_record_start_failed")
    order_vehicle_changed.connect(_on_ended, sender=Order, dispatch_uid="fourpyun_record_vehicle")
    post_save.connect(_station_changed, sender=Station, dispatch_uid="fourpyun_mapped_stations_saved")
    post_delete.connect(_station_changed, sender=Station, dispatch_uid="fourpyun_mapped_stations_deleted")
