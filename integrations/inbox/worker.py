"""The applying half of the inbox: stored pushes applied in batches, one transaction per batch.

A batch is claimed with `SELECT … FOR UPDATE SKIP LOCKED`, so any number of workers on any number of
machines share the stored pushes and none applies a push another holds. The rows' statuses change in
the batch's own transaction: a worker that dies mid-batch leaves its rows waiting, as they were, with
none of their effects, and the next worker applies them. Rows about a charger or an order another
worker is applying are left for the next batch, so workers run side by side instead of queueing on
each other's rows.

Each push is applied inside a savepoint: one that is refused or fails leaves no trace of its writes
and never holds back the rest of its batch. Pushes of a batched kind (Tomda's readings) are applied
together, and one by one only when the batch as a whole does not go through.

The retry task and a person's replay apply rows through the same path; none of them ever applies a
push that failed verification or came from a sender outside the allow-list.
"""

from __future__ import annotations

import logging
import select
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Charger
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification
from orders.models import Order

from .protocol import InboundRejected, Parsed, inbox_protocol, protocols_registered
from .receiver import MAX_AUTOMATIC_ATTEMPTS, NOTIFY_CHANNEL, clean_text, inbound_dedupe_holder

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Refused because of who sent them, not what they said: such rows are never applied.
UNTRUSTED = Q(verification=Verification.FAILED) | Q(reject_reason__in=[RejectReason.VERIFICATION, RejectReason.SENDER])


@dataclass
class BatchResult:
    claimed: int = 0
    outcomes: Counter = field(default_factory=Counter)  # InboundStatus value → rows
    deferred: int = 0  # rows about a charger or order another worker holds; left for the next batch

    @property
    def applied(self) -> int:
        return sum(self.outcomes.values())


# --- one batch -----------------------------------------------------------------------------------------


# Looks past rows left for another worker, so that pushes about chargers nobody holds are never stuck
# behind a backlog about one a stuck transaction holds.
CLAIM_ROUNDS = 4


def inbox_work(*, batch_size: int = BATCH_SIZE) -> BatchResult:
    """Claim up to `batch_size` waiting pushes, oldest first, and apply them in one transaction."""
    with transaction.atomic():
        result = BatchResult()
        kept: list[InboundMessage] = []
        seen: list[int] = []
        for _round in range(CLAIM_ROUNDS):
            rows = list(
                # NO KEY UPDATE: a copy of a claimed push can still be stored as its duplicate meanwhile.
                InboundMessage.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(status=InboundStatus.RECEIVED)
                .exclude(UNTRUSTED)
                .exclude(pk__in=seen)
                .order_by("received_at", "id")[: batch_size - len(kept)]
            )
            result.claimed += len(rows)
            seen += [row.pk for row in rows]
            ready, deferred = _without_busy_subjects(rows)
            kept += ready
            result.deferred += deferred
            if not deferred or len(kept) >= batch_size:
                break
        kept.sort(key=lambda row: (row.received_at, row.pk))
        if kept:
            result.outcomes = _apply(kept)
        return result


def inbox_drain(*, batch_size: int = BATCH_SIZE) -> Counter:
    """Apply batches until no push waits; the outcomes of all of them (for tests and `--idle-exit`)."""
    total: Counter = Counter()
    while True:
        result = inbox_work(batch_size=batch_size)
        total.update(result.outcomes)
        if not result.claimed:
            return total
        if not result.applied:
            time.sleep(0.05)  # everything waiting is about chargers or orders another worker is applying


def _without_busy_subjects(rows: list[InboundMessage]) -> tuple[list[InboundMessage], int]:
    """The rows about chargers and orders this worker could lock now; rows about one that another worker
    holds wait for the next batch.

    So a charger, its connectors and its sessions are written by one worker at a time: two workers
    never race to set one connector's status and never deadlock on each other's rows. (Which of two
    workers applies a charger's news first is not fixed; the domain rules keep news from moving anything
    backwards.) The locks are
    taken without waiting (SKIP LOCKED), one statement each, and let a web request meanwhile add a row
    that refers to the charger or order (FOR NO KEY UPDATE). Chargers are the counterparty's own: a row's
    (vendor, charger serial). A charger we do not have yet (its first report creates it) has no row to
    lock, so each charger is also held by a transaction-level advisory lock on its (vendor, serial): two
    workers never create one charger at once (and deadlock on each other's new rows), nor apply its news
    at once when one of them met it before its row was committed and the other after.
    """
    if connection.vendor != "postgresql":
        return rows, 0  # one worker at a time there: SQLite serialises writers
    chargers = {(row.vendor, row.charger_serial) for row in rows if row.charger_serial}
    by_vendor: dict[str, set[str]] = {}
    for vendor, serial in chargers:
        by_vendor.setdefault(vendor, set()).add(serial)
    wanted = Q(pk__in=[])
    for vendor, serials in by_vendor.items():
        wanted |= Q(vendor=vendor, serial__in=serials)
    busy_chargers = _held_elsewhere(Charger, wanted, ("vendor", "serial"), chargers)
    busy_chargers |= _charger_keys_held_elsewhere(chargers)
    orders = {(row.order_no,) for row in rows if row.order_no}
    busy_orders = _held_elsewhere(Order, Q(order_no__in=[n for (n,) in orders]), ("order_no",), orders)
    kept = [
        row for row in rows
        if (row.vendor, row.charger_serial) not in busy_chargers and (row.order_no,) not in busy_orders
    ]
    return kept, len(rows) - len(kept)


def _held_elsewhere(model, wanted: Q, keys: tuple[str, ...], asked: set) -> set:
    """Lock the rows of `model` matching `wanted` without waiting; the keys of those another transaction holds."""
    if not asked:
        return set()
    locked = set(
        model.objects.select_for_update(skip_locked=True, no_key=True).filter(wanted).order_by("pk").values_list(*keys)
    )
    if not asked - locked:
        return set()
    return set(model.objects.filter(wanted).values_list(*keys)) - locked


# The advisory lock class of chargers by (vendor, serial), whether or not their row exists yet; the
# second key is a hash of both (a collision only makes a push wait for the next batch).
CHARGER_LOCK = 0x1B0C


def _charger_key(vendor: str, serial: str) -> str:
    return f"{vendor}:{serial}"


def _charger_keys_held_elsewhere(chargers: set) -> set:
    """Take the chargers' advisory locks without waiting; the (vendor, serial) of those another worker holds."""
    if not chargers:
        return set()
    keys = {_charger_key(vendor, serial): (vendor, serial) for vendor, serial in chargers}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k, pg_try_advisory_xact_lock(%s, hashtext(k)) FROM unnest(%s::text[]) AS k",
            [CHARGER_LOCK, sorted(keys)],
        )
        return {keys[key] for key, taken in cursor.fetchall() if not taken}


def _subjects(row: InboundMessage) -> set[tuple[str, ...]]:
    """What a row's push is about: its charger and its order, as far as the receiver could tell."""
    subjects = set()
    if row.charger_serial:
        subjects.add(("charger", row.vendor, row.charger_serial))
    if row.order_no:
        subjects.add(("order", row.order_no))
    return subjects


def _apply(rows: list[InboundMessage]) -> Counter:
    """Apply claimed rows, in the order given, in the caller's transaction; record how each ended.

    The result is that of applying the rows one by one in that order: pushes of a batched kind are
    gathered and applied together, and a push of another kind about the same charger or order first
    applies what was gathered before it.
    """
    if connection.vendor == "postgresql":
        # A foreign key that no longer holds (say, a connector deleted meanwhile) must fail its own push,
        # inside its savepoint, not the batch's commit.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    now = timezone.now()
    processed: list[InboundMessage] = []
    refused: list[tuple[InboundMessage, InboundRejected]] = []
    failed: list[tuple[InboundMessage, str]] = []
    by_vendor: dict[str, list[tuple[InboundMessage, Parsed]]] = {}
    for row in rows:
        try:
            protocol = inbox_protocol(row.vendor)
            parsed = protocol.parse(body=row.body.encode("utf-8"), content_type=row.content_type,
                                    received_at=row.received_at, kind=row.kind)
        except InboundRejected as exc:
            refused.append((row, exc))
            continue
        except Exception as exc:
            logger.exception("reading %s failed", row)
            failed.append((row, f"{exc.__class__.__name__}: {exc}"))
            continue
        if parsed.kind in protocol.question_kinds:
            failed.append((row, _("A question is answered when it is asked, never later; the sender asks again.")))
            continue
        by_vendor.setdefault(row.vendor, []).append((row, parsed))

    def attempt(protocol, items) -> bool:
        try:
            with transaction.atomic():
                protocol.apply([parsed for _row, parsed in items])
        except InboundRejected as exc:
            if len(items) == 1:
                refused.append((items[0][0], exc))
            return False
        except Exception as exc:
            if len(items) == 1:
                logger.exception("applying %s failed", items[0][0])
                failed.append((items[0][0], f"{exc.__class__.__name__}: {exc}"))
            else:
                logger.warning("a batch of %d %s failed (%s); applying it push by push", len(items),
                               items[0][1].kind, exc)
            return False
        processed.extend(row for row, _parsed in items)
        return True

    def flush(protocol, gathered: dict[str, list]) -> None:
        for group in gathered.values():
            if len(group) > 1 and attempt(protocol, group):
                continue
            for item in group:
                attempt(protocol, [item])
        gathered.clear()

    for vendor, items in by_vendor.items():
        protocol = inbox_protocol(vendor)
        gathered: dict[str, list] = {}
        gathered_subjects: set = set()
        for row, parsed in items:
            if parsed.kind in protocol.batched_kinds:
                gathered.setdefault(parsed.kind, []).append((row, parsed))
                gathered_subjects.update(_subjects(row))
                continue
            if _subjects(row) & gathered_subjects:
                flush(protocol, gathered)  # what came before this push about its charger or order goes first
                gathered_subjects.clear()
            attempt(protocol, [(row, parsed)])
        flush(protocol, gathered)

    # Each row by its id and its day, so that on PostgreSQL only its day's partition is looked in.
    if processed:
        InboundMessage.objects.filter(pk__in=[row.pk for row in processed],
                                      received_day__in={row.received_day for row in processed}).update(
            status=InboundStatus.PROCESSED, reject_reason="", error="", processed_at=now,
            attempts=F("attempts") + 1,
        )
    for row, exc in refused:
        InboundMessage.objects.filter(pk=row.pk, received_day=row.received_day).update(
            status=InboundStatus.REJECTED, reject_reason=exc.reason, error=clean_text(exc.message)[:4000],
            processed_at=now, attempts=F("attempts") + 1,
            # A refused push gives up its dedupe key: once its cause is fixed (say, the charger imported),
            # the sender's next identical push is new news to apply, not a duplicate of a refusal.
            dedupe_key="",
        )
    for row, error in failed:
        InboundMessage.objects.filter(pk=row.pk, received_day=row.received_day).update(
            status=InboundStatus.FAILED, error=clean_text(error)[:4000], processed_at=now,
            attempts=F("attempts") + 1,
        )
    return Counter({
        InboundStatus.PROCESSED: len(processed), InboundStatus.REJECTED: len(refused), InboundStatus.FAILED: len(failed)
    })


# --- retries and replays -------------------------------------------------------------------------------


def inbound_retry_failed(*, limit: int = 200) -> int:
    """Apply failed rows that have automatic attempts left, oldest first; returns how many went through.

    Rows about a charger or order a worker holds wait for the next run, as in a worker's batch.
    Questions are never taken: their moment has passed.
    """
    with transaction.atomic():
        rows = list(
            InboundMessage.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(status=InboundStatus.FAILED, attempts__lt=MAX_AUTOMATIC_ATTEMPTS)
            .exclude(UNTRUSTED)
            .exclude(_questions())
            .order_by("received_at", "id")[:limit]
        )
        rows, _deferred = _without_busy_subjects(rows)
        return _apply(rows)[InboundStatus.PROCESSED] if rows else 0


def _questions() -> Q:
    """Rows of a question kind of any counterparty."""
    found = Q(pk__in=[])
    for vendor, protocol in protocols_registered().items():
        if protocol.question_kinds:
            found |= Q(vendor=vendor, kind__in=protocol.question_kinds)
    return found


@dataclass(frozen=True)
class Replayed:
    message: InboundMessage  # the row as it ends: the one replayed, or the one its duplicates lead to
    already_applied: bool  # the push had been applied before: this row, or a copy the sender sent again

    @property
    def applied_as(self) -> int:
        """The id of the row whose application the push's effects are."""
        return self.message.duplicate_of_id or self.message.pk


def inbound_replay(*, message: InboundMessage) -> Replayed:
    """Apply a stored push again (a person's replay from the admin).

    Duplicates are replayed through the message they duplicate; a processed row is left as it is. A
    refused row may be replayed once its cause is fixed (say, its charger imported); if the sender's
    copy was applied meanwhile, the row becomes that copy's duplicate instead of applying it twice. A
    push that failed verification or came from a sender outside the allow-list is never applied:
    ValidationError.
    """
    with transaction.atomic():
        row = InboundMessage.objects.select_for_update(no_key=True).get(pk=message.pk)
        while row.duplicate_of_id:  # a duplicate of a duplicate (its original became a copy's): to the root
            row = InboundMessage.objects.select_for_update(no_key=True).get(pk=row.duplicate_of_id)
        if row.status in (InboundStatus.PROCESSED, InboundStatus.DUPLICATE):
            return Replayed(row, already_applied=True)
        if InboundMessage.objects.filter(UNTRUSTED, pk=row.pk).exists():
            raise ValidationError(
                _("Message %(id)s was refused because of its sender (%(reason)s); it is never applied.")
                % {"id": row.pk, "reason": row.get_reject_reason_display() or row.get_verification_display()}
            )
        if row.status in (InboundStatus.REJECTED, InboundStatus.FAILED) and _taken_by_a_copy(row):
            return Replayed(InboundMessage.objects.get(pk=row.pk), already_applied=True)
        _lock_subjects(row)
        _apply([row])
    return Replayed(InboundMessage.objects.get(pk=row.pk), already_applied=False)


def _taken_by_a_copy(row: InboundMessage) -> bool:
    """A refused row gave up its dedupe key (and one that failed in the receiver never had one); if a copy
    of it holds the key now, it becomes that copy's duplicate (True). Otherwise it takes its key (back),
    so that copies sent later are deduplicated."""
    try:
        key = inbox_protocol(row.vendor).parse(body=row.body.encode("utf-8"), content_type=row.content_type,
                                               received_at=row.received_at, kind=row.kind).dedupe_key
    except Exception:  # unreadable: applying it will say why
        return False
    if not key:
        return False
    holder = inbound_dedupe_holder(vendor=row.vendor, key=key, received_at=row.received_at, other_than=row.pk)
    if holder is None:
        try:
            with transaction.atomic():
                InboundMessage.objects.filter(pk=row.pk, received_day=row.received_day).update(dedupe_key=key)
            return False
        except IntegrityError:  # a copy arrived this instant
            holder = inbound_dedupe_holder(vendor=row.vendor, key=key, received_at=row.received_at, other_than=row.pk)
    InboundMessage.objects.filter(pk=row.pk, received_day=row.received_day).update(
        status=InboundStatus.DUPLICATE, duplicate_of_id=holder, dedupe_key=key, processed_at=timezone.now(),
        reject_reason="", error="",
    )
    # Its own duplicates are the copy's now: replaying one of them reaches the copy, never this row.
    InboundMessage.objects.filter(duplicate_of=row.pk).update(duplicate_of_id=holder)
    return True


def _lock_subjects(row: InboundMessage) -> None:
    """Wait for the row's charger and order, as a worker holds them while it applies their pushes."""
    if connection.vendor != "postgresql":
        return
    if row.charger_serial:
        list(Charger.objects.select_for_update(no_key=True).filter(vendor=row.vendor, serial=row.charger_serial)
             .values_list("pk"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                           [CHARGER_LOCK, _charger_key(row.vendor, row.charger_serial)])
    if row.order_no:
        list(Order.objects.select_for_update(no_key=True).filter(order_no=row.order_no).values_list("pk"))


# --- the long-running worker ---------------------------------------------------------------------------


class _Wakeup:
    """Waits for new pushes: PostgreSQL's NOTIFY on a connection of its own, else a short sleep.

    A lost listening connection (the database restarted) is opened again at the next wait; until then
    the worker polls, so it never stops applying pushes for want of a notification.
    """

    def __init__(self, *, poll: float):
        self.poll = poll
        self.listener = None
        self.listens = connection.vendor == "postgresql"
        self._listen()

    def _listen(self) -> None:
        if not self.listens or self.listener is not None:
            return
        try:
            self.listener = psycopg.connect(**connection.get_connection_params(), autocommit=True)
            self.listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except psycopg.Error as exc:
            logger.warning("cannot listen for new pushes (%s); polling every %s s", exc, self.poll)
            self.close()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` for news; whether some came (always True where we can only poll)."""
        self._listen()
        if self.listener is None:
            time.sleep(min(self.poll, timeout))
            return True
        try:
            # Readable when a notification (or anything) arrives. A signal does not cut the wait short
            # (the call resumes after the handler), which is why the wait is kept to a second or so.
            readable, _w, _x = select.select([self.listener.fileno()], [], [], timeout)
            notified = False
            for _notify in self.listener.notifies(timeout=0, stop_after=10_000):
                notified = True
        except psycopg.Error as exc:
            logger.warning("lost the connection listening for new pushes: %s", exc)
            self.close()
            return True
        return notified or bool(readable)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None


class InboxWorker:
    """`manage.py inbox_worker`: apply batches until told to stop; SIGTERM and SIGINT finish the batch first.

    With a backlog it takes full batches back to back. Caught up, it waits for news, then lingers a
    moment so that what arrives meanwhile is applied in one batch instead of one push per batch: under a
    steady stream that costs `linger` of lag and saves most of the work a batch costs.
    """

    def __init__(self, *, batch_size: int = BATCH_SIZE, poll: float = 0.5, idle_exit: bool = False,
                 max_wait: float = 1.0, linger: float = 0.2):
        self.batch_size = batch_size
        self.poll = poll
        self.idle_exit = idle_exit
        self.max_wait = max_wait
        self.linger = linger
        self.stopping = False
        self.total: Counter = Counter()

    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> Counter:
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        wakeup = _Wakeup(poll=self.poll)
        try:
            while not self.stopping:
                try:
                    result = inbox_work(batch_size=self.batch_size)
                except DatabaseError:
                    # The database went away or refused the batch: it rolled back whole, and its rows
                    # wait as they were. Try again on a new connection.
                    logger.exception("an inbox batch failed; trying again in 1 s")
                    connection.close()
                    time.sleep(1)
                    continue
                self.total.update(result.outcomes)
                if result.claimed and not result.applied:
                    time.sleep(0.05)  # all of it is about chargers or orders another worker is applying
                    continue
                if result.claimed >= self.batch_size:
                    continue  # a backlog: the next batch at once
                if self.idle_exit and not result.claimed:
                    break
                if result.claimed or wakeup.wait(self.max_wait):
                    time.sleep(self.linger)
        finally:
            wakeup.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.total


# --- what waits ----------------------------------------------------------------------------------------

BACKLOG_COUNT_LIMIT = 10_000
# A worker keeping up applies a push within seconds; a push waiting this long means none is running.
BACKLOG_STALLED_SECONDS = 60


@dataclass(frozen=True)
class Backlog:
    waiting: int  # at most BACKLOG_COUNT_LIMIT + 1, which reads "more than the limit"
    oldest_received_at: datetime | None
    failed_retrying: int
    seen_at: datetime

    @property
    def more_than_counted(self) -> bool:
        return self.waiting > BACKLOG_COUNT_LIMIT

    @property
    def age_seconds(self) -> int | None:
        """How long the oldest waiting push has waited."""
        if self.oldest_received_at is None:
            return None
        return max(0, int((self.seen_at - self.oldest_received_at).total_seconds()))

    @property
    def stalled(self) -> bool:
        return self.age_seconds is not None and self.age_seconds >= BACKLOG_STALLED_SECONDS


def inbox_backlog() -> Backlog:
    """Pushes stored and not yet applied, and the oldest of them: a stalled worker shows here first.

    Both questions are answered by the index of waiting rows, whatever the size of the table.
    """
    waiting = InboundMessage.objects.filter(status=InboundStatus.RECEIVED)
    oldest = waiting.order_by("received_at", "id").values_list("received_at", flat=True).first()
    retrying = (
        InboundMessage.objects.filter(status=InboundStatus.FAILED, attempts__lt=MAX_AUTOMATIC_ATTEMPTS)
        .exclude(UNTRUSTED).exclude(_questions())
    )
    return Backlog(
        waiting=waiting.values("pk")[: BACKLOG_COUNT_LIMIT + 1].count(),
        oldest_received_at=oldest,
        failed_retrying=retrying.values("pk")[: BACKLOG_COUNT_LIMIT + 1].count(),
        seen_at=timezone.now(),
    )
