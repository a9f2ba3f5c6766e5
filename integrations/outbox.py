"""The outbox: notifications we owe vendors and partners, delivered at least once.

A business service writes an `OutboundDelivery` row with `delivery_enqueue` inside its own
transaction, so the row exists exactly when the change it reports was committed. After the commit a
task (`integrations.tasks.delivery_send`) hands the row to the handler registered for its kind.
A failure is retried with exponential backoff and jitter until the horizon, then the row is
dead-lettered and waits for a person's retry in the admin. The broker is only a shortcut: the
sweeper re-enqueues every due row each minute, so a lost task costs a minute, never a delivery.

Delivery is at least once: a worker that dies after sending but before recording it, or a person
retrying a row that is in flight, sends it again. Receivers dedupe on `key`, which we tell them.

Every attempt leaves a `DeliveryAttempt` row, written with the delivery's new state: when it started,
how long it took, the HTTP status and first characters of the answer, and the error. A handler is
`handler(delivery)`; how it ends is what the row records:

- it returns: the attempt succeeded. If it returns the answer (anything with an int `status_code` and
  a `text`, such as a `requests.Response`), the row keeps its status and first characters. Returning
  means delivered whatever that status says, so a handler checks the answer and raises on a refusal.
- it raises: the attempt failed and the exception's text is the error. If the exception carries the
  answer as `response` (requests' `HTTPError` from `raise_for_status()` does, and so does every error
  `integrations.http.HttpClient` raises after an answer came), the row keeps its status and first
  characters too; a timeout or a connection failure has none.
- it raises `DeliveryRefused`: the receiver refused the delivery for good (a malformed or unsigned request, by
  its own codes), so no retry can change the answer: the row is given up at once, for a person to look at.

The fields its registration names `redacted` (a token, a key the other side echoes) are masked in the
answer the row keeps, as the HTTP client masks them in the call log.

Tunables: the module constants below are the defaults. A Django setting of the same name (a
timedelta) overrides OUTBOX_HORIZON, OUTBOX_BACKOFF_BASE, OUTBOX_BACKOFF_CAP or OUTBOX_LEASE, read at
call time.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

from integrations.http import redact_json_text
from integrations.models import Counterparty, DeliveryAttempt, DeliveryStatus, OutboundDelivery

logger = logging.getLogger(__name__)

# How long after its creation a delivery is retried before it is given up.
OUTBOX_HORIZON = timedelta(days=3)
# The first retry waits about this long; each further one about twice as long as the one before.
OUTBOX_BACKOFF_BASE = timedelta(seconds=30)
# No wait between two attempts is longer than this.
OUTBOX_BACKOFF_CAP = timedelta(hours=6)
# A claimed row is not due again for this long, so no other worker sends it meanwhile. It must
# exceed the longest a handler can take (the HTTP client's timeouts, the cluster's task timeout);
# a worker that dies mid-attempt leaves the row to the sweeper once the lease runs out.
OUTBOX_LEASE = timedelta(minutes=5)
# How many due rows one sweep re-enqueues; the rest wait for the next sweep a minute later.
OUTBOX_SWEEP_LIMIT = 500

SEND_TASK = "integrations.tasks.delivery_send"
ERROR_CHARS = 2000  # an HTML error page as the error text would drown the admin
RESPONSE_HEAD_CHARS = DeliveryAttempt._meta.get_field("response_head").max_length

class DeliveryRefused(Exception):
    """Raised by a handler when the receiver refused the delivery in a way no retry changes; `response` is its
    answer. The outbox gives the row up at once instead of retrying it until the horizon."""

    def __init__(self, message: str, *, response=None):
        super().__init__(message)
        self.response = response


# Returns nothing, or the answer it got (see the module's docstring).
DeliveryHandler = Callable[[OutboundDelivery], object]
_handlers: dict[str, DeliveryHandler] = {}
# Per kind, the JSON field names whose values an answer kept with an attempt has masked (a token, a key).
_redacted: dict[str, frozenset[str]] = {}
# Kinds whose deliveries about one order reach the receiver in the order they were written.
_in_order: set[str] = set()


def _setting(name: str):
    return getattr(settings, name, globals()[name])


# --- the handler registry -----------------------------------------------------------------------------


def delivery_handler_register(kind: str, handler: DeliveryHandler, *, redacted: frozenset[str] = frozenset(),
                              in_order: bool = False) -> None:
    """Make `handler(delivery)` the sender of deliveries of `kind` (`CounterpartyConfig.ready` calls it).

    The handler sends the delivery and returns, the answer it got if it likes; any exception it
    raises is a failed attempt whose text becomes `last_error` (the module's docstring says what the
    attempt's row keeps). `redacted` names the JSON fields of an answer whose values are masked in the
    attempt's row, as the client's call log masks them. With `in_order`, the deliveries of one order
    (`order_no`) are sent in the order they were written: one waits, untried, while an older one of its
    order waits (not behind one given up on), and is due the moment that one is delivered or given up.
    Registering a kind again replaces its handler.
    """
    if not kind:
        raise ValueError("A delivery handler needs a kind.")
    _handlers[kind] = handler
    _redacted[kind] = frozenset(redacted)
    if in_order:
        _in_order.add(kind)
    else:
        _in_order.discard(kind)


def delivery_handler_unregister(kind: str) -> None:
    """Forget the handler of `kind` (for tests and for a package that is switched off)."""
    _handlers.pop(kind, None)
    _redacted.pop(kind, None)
    _in_order.discard(kind)


def delivery_handler_get(kind: str) -> DeliveryHandler | None:
    return _handlers.get(kind)


# --- writing and scheduling -----------------------------------------------------------------------------


def _in_business_transaction() -> bool:
    connection = transaction.get_connection()
    # The atomic blocks a test case wraps each test in are not a business transaction: they never
    # commit. Django's durable check ignores them the same way, so a test sees what production sees.
    return connection.in_atomic_block and any(not block._from_testcase for block in connection.atomic_blocks)


def _send_later(delivery_id: int) -> None:
    # robust: the business change has committed by then, so a broker that is down must not turn it
    # into an error for the caller; the sweeper enqueues the row within a minute instead.
    transaction.on_commit(lambda: async_task(SEND_TASK, delivery_id), robust=True)


def delivery_enqueue(
    *,
    vendor: str,
    kind: str,
    key: str,
    payload: dict,
    charger_serial: str = "",
    order_no: str = "",
) -> OutboundDelivery:
    """Write a delivery in the caller's transaction and send it once that transaction commits.

    `key` is the stable id the receiver dedupes on; a delivery with that key that already exists is
    returned unchanged and nothing more is sent. A rolled-back transaction leaves neither a row nor
    a task.
    """
    if not _in_business_transaction():
        raise RuntimeError(
            "delivery_enqueue must be called inside the transaction of the change it reports "
            "(transaction.atomic()); outside one a delivery could outlive a rolled-back change "
            "or be lost when the process dies after the change committed."
        )
    if vendor not in Counterparty.values:
        raise ValueError(f"Unknown counterparty {vendor!r}; expected one of {Counterparty.values}.")
    if not kind or not key:
        raise ValueError("A delivery needs a kind and a key.")
    delivery, created = OutboundDelivery.objects.get_or_create(
        key=key,
        defaults={
            "vendor": vendor,
            "kind": kind,
            "payload": payload,
            "charger_serial": charger_serial,
            "order_no": order_no,
        },
    )
    if created:
        _send_later(delivery.pk)
    return delivery


def delivery_backoff(
    *,
    attempts: int,
    rng=random,
    base: timedelta | None = None,
    cap: timedelta | None = None,
) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base × 2^(attempts-1), capped, with equal jitter.

    Half of the wait is fixed and half is random, so retries of many deliveries that failed together
    (a partner's outage) spread out instead of arriving at once, yet none comes back sooner than half
    the nominal wait.
    """
    base = base if base is not None else _setting("OUTBOX_BACKOFF_BASE")
    cap = cap if cap is not None else _setting("OUTBOX_BACKOFF_CAP")
    exponent = max(attempts, 1) - 1
    # Beyond 2^30 the cap has long been reached; the bound keeps the float finite.
    nominal = min(cap.total_seconds(), base.total_seconds() * 2 ** min(exponent, 30))
    half = nominal / 2
    return timedelta(seconds=half + rng.uniform(0, half))


def _error_text(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text[:ERROR_CHARS]


def _answer_of(answer, *, redacted: frozenset[str]) -> tuple[int | None, str]:
    """The HTTP status and first characters of a response-like answer, the `redacted` fields masked;
    (None, "") for anything else."""
    status = getattr(answer, "status_code", None)
    if not isinstance(status, int):
        return None, ""
    text = getattr(answer, "text", "")
    return status, redact_json_text(text if isinstance(text, str) else "", redacted)[:RESPONSE_HEAD_CHARS]


def delivery_attempt(*, delivery_id: int) -> OutboundDelivery | None:
    """Try to send one delivery if it is waiting and due; record the result.

    The row is claimed in a short transaction (a lease: not due again for OUTBOX_LEASE, one more
    attempt counted), the handler runs outside any lock, and the result is recorded in a second
    transaction with the attempt's own row. So a slow partner holds no database lock, and a row that
    another worker holds or has claimed, or that is not due, is left alone. Returns the row as it
    stands afterwards (None if there is no such row).
    """
    claimed_at = timezone.now()
    with transaction.atomic():
        delivery = (
            OutboundDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=claimed_at)
            .first()
        )
        if delivery is None:
            return OutboundDelivery.objects.filter(pk=delivery_id).first()
        older = _older_waiting(delivery)
        if older is not None:
            # Not an attempt: it goes after the one before it (which makes it due once it has gone).
            delivery.next_attempt_at = max(older.next_attempt_at, claimed_at) + timedelta(seconds=1)
            delivery.save(update_fields=["next_attempt_at"])
            logger.info("Delivery %s (%s) waits for %s", delivery.key, delivery.kind, older.key)
            return delivery
        delivery.attempts += 1
        delivery.next_attempt_at = claimed_at + _setting("OUTBOX_LEASE")
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    number = delivery.attempts

    error, refused = None, False
    handler = _handlers.get(delivery.kind)
    started_at, started = timezone.now(), time.monotonic()
    try:
        if handler is None:
            raise LookupError(f"No handler is registered for deliveries of kind {delivery.kind!r}.")
        answer = handler(delivery)
    except Exception as exc:
        error = _error_text(exc)
        refused = isinstance(exc, DeliveryRefused)
        answer = getattr(exc, "response", None)
        logger.warning("Delivery %s (%s) attempt %d failed: %s", delivery.key, delivery.kind, number, error)
    http_status, response_head = _answer_of(answer, redacted=_redacted.get(delivery.kind, frozenset()))
    attempt = DeliveryAttempt(
        delivery_id=delivery_id,
        number=number,
        started_at=started_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=error is None,
        http_status=http_status,
        response_head=response_head,
        error=error or "",
    )
    return _delivery_record(delivery_id=delivery_id, attempt=attempt, refused=refused)


def _delivery_record(*, delivery_id: int, attempt: DeliveryAttempt, refused: bool = False) -> OutboundDelivery:
    now = timezone.now()
    error = attempt.error
    with transaction.atomic():
        delivery = OutboundDelivery.objects.select_for_update().get(pk=delivery_id)
        # The attempt is history whatever the row's state is now.
        attempt.save()
        if attempt.succeeded:
            # A success is the truth whatever happened to the row meanwhile.
            if delivery.status != DeliveryStatus.DELIVERED:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = now
                delivery.save(update_fields=["status", "delivered_at"])
            _wake_next(delivery, now=now)
            return delivery
        if delivery.status != DeliveryStatus.PENDING or delivery.attempts != attempt.number:
            # Someone retried it meanwhile and another attempt owns the row now; its result counts.
            return delivery
        next_attempt_at = now + delivery_backoff(attempts=attempt.number)
        delivery.last_error = error
        if refused or next_attempt_at > delivery.created_at + _setting("OUTBOX_HORIZON"):
            delivery.status = DeliveryStatus.DEAD
            delivery.next_attempt_at = now
            logger.error(
                "Delivery %s (%s) given up after %d attempts%s: %s", delivery.key, delivery.kind, attempt.number,
                " (refused for good)" if refused else "", error
            )
            _wake_next(delivery, now=now)
        else:
            delivery.next_attempt_at = next_attempt_at
        delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
    return delivery


def _older_waiting(delivery: OutboundDelivery) -> OutboundDelivery | None:
    """For a kind sent in order, an older delivery of the same order still waiting: it goes first."""
    if delivery.kind not in _in_order or not delivery.order_no:
        return None
    return (OutboundDelivery.objects.filter(kind=delivery.kind, order_no=delivery.order_no,
                                            status=DeliveryStatus.PENDING, id__lt=delivery.pk)
            .order_by("id").only("key", "next_attempt_at").first())


def _wake_next(delivery: OutboundDelivery, *, now: datetime) -> None:
    """For a kind sent in order, the next waiting delivery of the same order is due now: it goes as soon as this one
    has gone, not a sweep later."""
    if delivery.kind not in _in_order or not delivery.order_no:
        return
    following = (OutboundDelivery.objects.filter(kind=delivery.kind, order_no=delivery.order_no,
                                                 status=DeliveryStatus.PENDING, id__gt=delivery.pk)
                 .order_by("id").first())
    if following is not None and following.next_attempt_at > now:
        following.next_attempt_at = now
        following.save(update_fields=["next_attempt_at"])
        _send_later(following.pk)


def deliveries_sweep(*, now: datetime | None = None, limit: int = OUTBOX_SWEEP_LIMIT) -> int:
    """Enqueue a send task for each waiting delivery that is due; returns how many.

    This is how retries after a backoff happen, and how a delivery whose task the broker lost is sent
    after all. A row enqueued twice is attempted once: the claim in `delivery_attempt` decides.
    """
    now = now or timezone.now()
    due = list(
        OutboundDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        async_task(SEND_TASK, delivery_id)
    return len(due)


def deliveries_newest(*, kind: str, event: str, order_nos) -> Iterator[OutboundDelivery]:
    """The newest delivery of `kind` whose payload's `event` is `event`, for each of `order_nos` (a queryset of order
    numbers) that has one, in order-number order, read in chunks (a day of a large counterparty is many)."""
    last = None
    rows = (OutboundDelivery.objects.filter(kind=kind, payload__event=event, order_no__in=order_nos)
            .order_by("order_no", "-created_at", "-id"))
    for delivery in rows.iterator(chunk_size=2000):
        if delivery.order_no != last:
            last = delivery.order_no
            yield delivery


def delivery_retry(*, delivery: OutboundDelivery, by_name: str) -> OutboundDelivery:
    """A person's "try again now": a given-up or waiting delivery becomes due at once and is sent.

    A given-up delivery stays past its horizon, so this is one more attempt: if it fails too, the row
    is given up again. A delivered one is refused: its receiver already has it.
    """
    with transaction.atomic():
        locked = OutboundDelivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status == DeliveryStatus.DELIVERED:
            raise ValidationError(
                _("%(key)s was already delivered; it is not sent again."),
                code="delivered",
                params={"key": locked.key},
            )
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "next_attempt_at"])
        logger.info("Delivery %s (%s) retried by %s", locked.key, locked.kind, by_name)
        _send_later(locked.pk)
    return locked
