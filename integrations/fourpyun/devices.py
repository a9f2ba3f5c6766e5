"""Device sync for 4pyun: each charger at a mapped station, with its ports, sent whenever its state changes.

The vendors' pushes change a charger's state along many paths (device reports, readings, events, our own
questions), so the sync does not hook each: every minute `devices_sync` builds each mapped charger's device as 4pyun
sees it (`payloads.device_fields`) and writes a delivery for those whose fingerprint differs from the one written
last (`DeviceSync`). A change reaches 4pyun within a minute; a charger that flaps within the minute is sent once, in
its newest state.

The sender builds the device again from our records at each attempt, so a delivery retried after a newer one was
delivered still tells 4pyun the charger as it is now, never an older state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from chargers.models import Charger, Connector
from integrations.models import Counterparty, OutboundDelivery
from integrations.outbox import DeliveryRefused, delivery_enqueue

from .client import DEVICE_PATH, FourpyunClient, FourpyunRefused
from .models import DeviceSync
from .payloads import device_fields
from .records import enabled

DEVICE_KIND = "fourpyun_device"
BATCH = 500


def _mapped_chargers() -> QuerySet[Charger]:
    return (Charger.objects.exclude(station__isnull=True).exclude(station__fourpyun_station_uuid="")
            .select_related("station")
            .prefetch_related(Prefetch("connectors", queryset=Connector.objects.order_by("number"))))


def _fields(charger: Charger) -> dict:
    return device_fields(charger, list(charger.connectors.all()), station_uuid=charger.station.fourpyun_station_uuid)


def _fingerprint(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def devices_sync(*, chargers: Iterable[int] | None = None, force: bool = False, now: datetime | None = None) -> int:
    """Write a device sync for each mapped charger (of `chargers`, ids, when given) whose state changed since the
    last one written, or for each with `force`; returns how many were written."""
    if not enabled():
        return 0
    now = now or timezone.now()
    mapped = _mapped_chargers()
    if chargers is not None:
        mapped = mapped.filter(pk__in=list(chargers))
    written = {sync.charger_id: sync.fingerprint for sync in DeviceSync.objects.all().only("charger_id", "fingerprint")}
    count = 0
    for charger in mapped.order_by("pk").iterator(chunk_size=BATCH):
        fields = _fields(charger)
        fingerprint = _fingerprint(fields)
        if not force and written.get(charger.pk) == fingerprint:
            continue
        with transaction.atomic():
            DeviceSync.objects.update_or_create(charger=charger, defaults={
                "station_uuid": fields["station_uuid"], "fingerprint": fingerprint, "changed_at": now})
            delivery_enqueue(vendor=Counterparty.FOURPYUN, kind=DEVICE_KIND,
                             key=f"4pyun:device:{charger.serial}:{now:%Y%m%d%H%M%S%f}:{fingerprint[:8]}",
                             payload={"charger_id": charger.pk, "station_uuid": fields["station_uuid"],
                                      "fields": fields},
                             charger_serial=charger.serial)
        count += 1
    return count


def device_send(delivery: OutboundDelivery):
    """The outbox's handler: POST the charger as it is now (the payload keeps what it was when the change was
    seen)."""
    charger = _mapped_chargers().filter(pk=delivery.payload.get("charger_id")).first()
    if charger is None:
        raise DeliveryRefused(f"Charger {delivery.charger_serial} is no longer at a station mapped to 4pyun: there "
                              "is nothing to sync.")
    client = FourpyunClient.from_settings()
    try:
        return client.sync(DEVICE_PATH, _fields(charger), operation="device sync", charger_serial=charger.serial)
    except FourpyunRefused as exc:
        raise DeliveryRefused(str(exc), response=exc.response) from exc
