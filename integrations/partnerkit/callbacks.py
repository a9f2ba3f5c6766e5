"""Order callbacks to partners, for every partner interface: which news becomes a callback, and its stable id.

The domain's order signals arrive inside the service's transaction; a receiver here writes the partner's callback
as an outbox row in that same transaction, so a committed change always has its callback and a rolled-back one
has none. Each partner interface registers how its callbacks look (`CallbackFormat`, by `PartnerProtocol`); the
outbox delivers them with retries and dead letters.

A delivery's payload is ours, the same for every interface: `{"event", "partner_id", "org", "body"}`, where `body`
is the exact text the interface sends (so money written as "12.30" stays "12.30", and the daily close reads back
what the partner was told).

Which callbacks, and their ids (the partner drops an id it has seen; a retry keeps it):

- `start` when the order is created (`<prefix>:start`);
- `progress` on the first news that the session charges, at once, then at most every
  PARTNER_CALLBACK_PROGRESS_SECONDS (`<prefix>:progress:<n>`); none once the session ended;
- `end` when the order is settled or its start failed (`<prefix>:end:<n>`): a second one only when the figures
  changed (a settlement that replaced the one before, a start believed failed that turns out to charge), so the
  partner always ends up holding our final figures, and the newest is what the daily close compares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from integrations.models import DeliveryStatus, OutboundDelivery, PartnerAccess
from integrations.outbox import deliveries_newest, delivery_enqueue, delivery_retry
from orders.models import Order, OrderStatus
from orders.signals import order_progressed, order_settled, order_start_failed, order_started

START, PROGRESS, END = "start", "progress", "end"


@dataclass(frozen=True)
class CallbackFormat:
    """How one partner interface sends an order's news: the outbox kind and counterparty of its deliveries,
    `body(order, event=, notify_id=, now=)` (the text sent) and `figures(body)` (what of it must not change for
    the callback to say the same: the order's detail without the time it was sent)."""

    vendor: str
    kind: str
    body: Callable[..., str]
    figures: Callable[[str], object]


_formats: dict[str, CallbackFormat] = {}


def callback_format_register(protocol: str, callback_format: CallbackFormat) -> None:
    _formats[protocol] = callback_format


def notify_prefix(order: Order) -> str:
    return f"partner:{order.partner.org_code}:{order.order_no}"


def _format(order: Order) -> CallbackFormat | None:
    access = getattr(order.partner, "access", None)
    if access is None or not access.callback_url:
        return None
    return _formats.get(access.protocol)


def _enqueue(order: Order, callback_format: CallbackFormat, event: str, key: str, now: datetime,
             body: str | None = None) -> OutboundDelivery:
    body = body if body is not None else callback_format.body(order, event=event, notify_id=key, now=now)
    payload = {"event": event, "partner_id": order.partner_id, "org": order.partner.org_code, "body": body}
    return delivery_enqueue(vendor=callback_format.vendor, kind=callback_format.kind, key=key, payload=payload,
                            charger_serial=order.charger.serial, order_no=order.order_no)


def _partner_order(order: Order) -> Order | None:
    if order.partner_id is None:
        return None
    # The signal's order may be a bare row of a batch: read what the callback states, once.
    return (Order.objects.select_related("partner__access", "station", "charger", "connector", "tariff_version")
            .get(pk=order.pk))


def _sent(order: Order, kind: str, event: str):
    """This order's callbacks of `event`, newest first."""
    return (OutboundDelivery.objects.filter(order_no=order.order_no, kind=kind, payload__event=event)
            .order_by("-created_at", "-id"))


def newest_finals(*, kind: str, order_nos) -> Iterator[OutboundDelivery]:
    """The newest final callback of each of `order_nos` (a queryset of order numbers) that has one, in order-number
    order."""
    return deliveries_newest(kind=kind, event=END, order_nos=order_nos)


def final_callbacks_redrive(*, kind: str, days: int, now: datetime | None = None) -> int:
    """Send again each final callback given up on (the newest of its order) for orders of the last `days` days: a
    partner that was away longer than the outbox's horizon still gets the final figures, once a day until it takes
    them. Returns how many."""
    now = now or timezone.now()
    recent = Order.objects.filter(created_at__gte=now - timedelta(days=days), partner__isnull=False)
    redriven = 0
    for delivery in newest_finals(kind=kind, order_nos=recent.values("order_no")):
        if delivery.status == DeliveryStatus.DEAD:
            delivery_retry(delivery=delivery, by_name="final callback redrive")
            redriven += 1
    return redriven


def order_callback_start(*, order: Order, now: datetime | None = None) -> OutboundDelivery | None:
    order = _partner_order(order)
    callback_format = _format(order) if order is not None else None
    if callback_format is None:
        return None
    return _enqueue(order, callback_format, START, f"{notify_prefix(order)}:start", now or timezone.now())


def order_callback_end(*, order: Order, now: datetime | None = None) -> OutboundDelivery | None:
    """The final callback of an ended order, unless the newest one written says the same already."""
    order = _partner_order(order)
    callback_format = _format(order) if order is not None else None
    if callback_format is None or order.status not in (
            OrderStatus.SETTLED, OrderStatus.START_FAILED, OrderStatus.CANCELLED):
        return None
    now = now or timezone.now()
    finals = list(_sent(order, callback_format.kind, END).values_list("payload", flat=True))
    key = f"{notify_prefix(order)}:end:{len(finals) + 1}"
    body = callback_format.body(order, event=END, notify_id=key, now=now)
    if finals and callback_format.figures(finals[0]["body"]) == callback_format.figures(body):
        return None
    return _enqueue(order, callback_format, END, key, now, body=body)


CALLBACK_PARTNERS_KEY = "partner-callbacks:partners"
CALLBACK_PARTNERS_SECONDS = 60


def callback_partners() -> frozenset[int]:
    """The partners that take callbacks, from the cache: progress news comes by the thousand a minute, and most of it
    is about orders no such partner brought. A change of any partner's access clears it; a process with a cache of
    its own (no REDIS_URL) sees another's change within CALLBACK_PARTNERS_SECONDS."""
    partners = cache.get(CALLBACK_PARTNERS_KEY)
    if partners is None:
        partners = frozenset(PartnerAccess.objects.exclude(callback_url="").values_list("partner_id", flat=True))
        cache.set(CALLBACK_PARTNERS_KEY, partners, CALLBACK_PARTNERS_SECONDS)
    return partners


def _access_changed(sender, **kwargs):
    cache.delete(CALLBACK_PARTNERS_KEY)
    # Again once committed: another process may have read the old access in between.
    transaction.on_commit(lambda: cache.delete(CALLBACK_PARTNERS_KEY))


def order_callback_progress(*, order: Order, now: datetime | None = None) -> OutboundDelivery | None:
    """A progress callback of a charging session, unless one was written less than
    PARTNER_CALLBACK_PROGRESS_SECONDS ago; the end callback of a session the news ended as start failed.

    `order` is the order as the news left it (its status is current). The database is asked only about orders of
    partners that take callbacks, and about each at most once per PARTNER_CALLBACK_PROGRESS_SECONDS (a gate in the
    cache; the deliveries written decide, should the gate be lost)."""
    if order.partner_id is None or order.partner_id not in callback_partners():
        return None
    if order.status in (OrderStatus.START_FAILED, OrderStatus.CANCELLED):
        # News that ended the start (not the order_start_failed signal): its end, once; a reading that comes after
        # it changes nothing the partner is told.
        if OutboundDelivery.objects.filter(order_no=order.order_no, payload__event=END).exists():
            return None
        return order_callback_end(order=order, now=now)
    if order.status not in (OrderStatus.CHARGING, OrderStatus.STOPPING):
        return None
    interval = settings.PARTNER_CALLBACK_PROGRESS_SECONDS
    gate = f"partner-callbacks:progress:{order.order_no}"
    if interval and cache.get(gate):
        return None
    order = _partner_order(order)
    callback_format = _format(order)
    if callback_format is None:
        return None
    now = now or timezone.now()
    sent = list(_sent(order, callback_format.kind, PROGRESS).values_list("created_at", flat=True))
    if sent and (waited := (now - sent[0]).total_seconds()) < interval:
        # On commit: the row seen may be this transaction's own, and rolled back with it.
        transaction.on_commit(lambda: cache.set(gate, 1, timeout=max(int(interval - waited), 1)))
        return None
    # Numbered in order: two workers reporting the same moment write the same id, and the outbox keeps one.
    delivery = _enqueue(order, callback_format, PROGRESS, f"{notify_prefix(order)}:progress:{len(sent) + 1}", now)
    if interval:
        # Closed once the callback is committed: news rolled back leaves the next news first.
        transaction.on_commit(lambda: cache.set(gate, 1, timeout=interval))
    return delivery


def _on_started(sender, order, **kwargs):
    order_callback_start(order=order)


def _on_progressed(sender, order, **kwargs):
    order_callback_progress(order=order)


def _on_ended(sender, order, **kwargs):
    order_callback_end(order=order)


def callbacks_connect() -> None:
    """Connect the order signals to the callbacks (a partner interface's `ready()` calls it; calling again is
    harmless)."""
    order_started.connect(_on_started, sender=Order, dispatch_uid="partner_callback_start")
    order_progressed.connect(_on_progressed, sender=Order, dispatch_uid="partner_callback_progress")
    order_settled.connect(_on_ended, sender=Order, dispatch_uid="partner_callback_settled")
    order_start_failed.connect(_on_ended, sender=Order, dispatch_uid="partner_callback_start_failed")
    post_save.connect(_access_changed, sender=PartnerAccess, dispatch_uid="partner_callback_partners_saved")
    post_delete.connect(_access_changed, sender=PartnerAccess, dispatch_uid="partner_callback_partners_deleted")
