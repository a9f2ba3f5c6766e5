"""The receiving half of the inbox: check a push in memory, store it in one statement, answer.

News is applied later by the worker (`worker.py`), so a sender waits for one insert and one commit,
never for our domain work. Only questions (a balance, a tariff) are answered inline, and even they are
stored, with their answer, before the answer is sent. Whatever reaches us is stored: bytes that are not
text are kept escaped, and a push we refuse is kept as rejected with the reply we gave. A push we
cannot store gets a 5xx, so the sender sends it again.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.days import business_day_bounds, business_day_of
from integrations.models import InboundMessage, InboundStatus, RejectReason, Verification

from .protocol import InboundRejected, InboxProtocol
from .senders import sender_address, sender_allowed

logger = logging.getLogger(__name__)

# PostgreSQL channel the workers listen on; a stored news push notifies it when its insert commits.
NOTIFY_CHANNEL = "inbox"
NOTIFY_INTERVAL = 0.05  # seconds
# Attempts the retry task makes before a failed row waits for a person.
MAX_AUTOMATIC_ATTEMPTS = 5


# --- text that any database column takes ---------------------------------------------------------------


def clean_text(value: str) -> str:
    """`value` with what a text column refuses escaped: NUL (PostgreSQL) and lone surrogates (UTF-8)."""
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def clean(value: Any) -> Any:
    """`clean_text` through a JSON value (a reply that repeats what the sender wrote)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(key)): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value


def body_text(raw: bytes) -> str:
    """The body as stored: its text when it is UTF-8, else the text with each bad byte as \\xNN."""
    return clean_text(raw.decode("utf-8", "backslashreplace"))


# --- one statement per push --------------------------------------------------------------------------


_INSERT_COLUMNS: dict[str, tuple] = {}

# A dedupe key is unique within a business day, which is what a day-partitioned table can enforce. Vendors
# re-send within minutes, so a push received in the first hours of a day is also checked against the first
# arrivals of the day before: a first arrival holds its key for the rest of its day and, at least, this long.
DEDUPE_CARRY = timedelta(hours=1)


def dedupe_carries_over(received_at) -> bool:
    """Whether a push received at this instant also meets the first arrivals of the business day before."""
    start, _end = business_day_bounds(business_day_of(received_at))
    return received_at - start < DEDUPE_CARRY


def _insert_plan():
    """(fields, INSERT statement, INSERT statement that also looks at the day before, defaults) of an
    InboundMessage row, worked out once per database kind."""
    plan = _INSERT_COLUMNS.get(connection.vendor)
    if plan is None:
        fields = [field for field in InboundMessage._meta.concrete_fields if not field.primary_key]
        # Text and number columns go to the driver as they are; the others need Django's adaptation.
        plain = (models.CharField, models.TextField, models.IntegerField)
        table = connection.ops.quote_name(InboundMessage._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        held_the_day_before = (
            f"SELECT 1 FROM {table} WHERE vendor = %s AND dedupe_key = %s AND received_day = %s"  # noqa: S608
            " AND duplicate_of_id IS NULL AND NOT (dedupe_key = '')"
        )
        plan = (
            [(field.attname, None if isinstance(field, plain) and not field.null else field) for field in fields],
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING id",  # noqa: S608
            f"INSERT INTO {table} ({columns}) SELECT {placeholders} WHERE NOT EXISTS ({held_the_day_before})"  # noqa: S608
            " ON CONFLICT DO NOTHING RETURNING id",
            # Callable defaults (the time of receipt) are worked out per row, the others once.
            {field.attname: (field.get_default if callable(field.default) else field.get_default())
             for field in fields},
        )
        _INSERT_COLUMNS[connection.vendor] = plan
    return plan


def inbound_insert(*, notify: bool = False, **values) -> int | None:
    """Insert one row in a single statement; its id, or None when a first arrival already holds its key.

    In autocommit this is one statement and one commit. The unique constraint on (vendor, dedupe key, day)
    decides between concurrent copies (`ON CONFLICT DO NOTHING`); in the first hours of a day, a first
    arrival of the day before keeps a copy out as well (`DEDUPE_CARRY`), checked in the same statement.
    With `notify`, PostgreSQL tells the waiting workers in the same statement, delivered when the insert
    commits.
    """
    fields, sql, carrying_sql, defaults = _insert_plan()
    unknown = values.keys() - defaults.keys()
    if unknown:
        raise TypeError(f"not InboundMessage columns: {sorted(unknown)}")
    row = {name: default() if callable(default) else default for name, default in defaults.items()
           if name not in values}
    row.update(values)
    row["received_day"] = business_day_of(row["received_at"])
    params = [
        row[name] if field is None else field.get_db_prep_save(row[name], connection) for name, field in fields
    ]
    if row["dedupe_key"] and dedupe_carries_over(row["received_at"]):
        sql = carrying_sql
        day_before = row["received_day"] - timedelta(days=1)
        params += [row["vendor"], row["dedupe_key"], connection.ops.adapt_datefield_value(day_before)]
    postgresql = connection.vendor == "postgresql"
    if notify and postgresql:
        sql = f"WITH stored AS ({sql}) SELECT id, pg_notify(%s, '') FROM stored"  # noqa: S608
        params.append(NOTIFY_CHANNEL)
    if postgresql and settings.INBOX_PREPARED_INSERT:
        return _execute_prepared(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return found[0] if found else None


def _execute_prepared(sql: str, params: list):
    """Run the insert as a prepared statement with its values bound on the server (PostgreSQL).

    Every push runs the same statement, so PostgreSQL parses and plans it once per connection instead
    of once per push, and the body travels as a value instead of being quoted into the SQL. Django's
    own cursors bind on the client and never prepare, so this one statement uses psycopg's cursor,
    inside Django's error translation and query log. Through PgBouncer, this needs 1.21 or later with
    `max_prepared_statements` set; `INBOX_PREPARED_INSERT=false` turns it off (see the README).
    """
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        found = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return found[0] if found else None


def inbound_dedupe_holder(*, vendor: str, key: str, received_at, other_than: int | None = None) -> int | None:
    """The id of the first arrival that holds `key` for a push received at `received_at`, or None.

    Within a business day the unique constraint settles it; in the first hours of a day (`DEDUPE_CARRY`)
    the day before is looked up too. On PostgreSQL each day is one partition's index. A copy sent later
    than that is taken as news of its own.
    """
    if not key:
        return None
    day = business_day_of(received_at)
    days = [day, day - timedelta(days=1)] if dedupe_carries_over(received_at) else [day]
    holders = (
        InboundMessage.objects.filter(vendor=vendor, dedupe_key=key, duplicate_of__isnull=True,
                                      received_day__in=days)
        .exclude(dedupe_key="")
        .order_by("received_day", "id")
    )
    if other_than is not None:
        holders = holders.exclude(pk=other_than)
    return holders.values_list("pk", flat=True).first()


_last_notified = 0.0


def _notify_due() -> bool:
    """Whether this push should wake the workers: at most once per NOTIFY_INTERVAL from one process.

    A worker that is busy does not listen, and one that has caught up lingers a moment before it looks
    again, so one wake-up per interval finds every push stored meanwhile; a push that slips between a
    worker's last look and its wait is found at its next look, within a second. Each NOTIFY costs a
    lock at commit, which a push in every few milliseconds would pay for nothing.
    """
    return time.monotonic() - _last_notified >= NOTIFY_INTERVAL


def _notified() -> None:
    global _last_notified
    _last_notified = time.monotonic()


def _store_news(*, protocol: InboxProtocol, parsed, reply: dict, **values) -> tuple[dict, int]:
    """Store a news push as waiting for the worker, or as the duplicate of the first arrival of its key."""
    for _attempt in range(3):
        notify = _notify_due()
        stored = inbound_insert(
            notify=notify, dedupe_key=parsed.dedupe_key, status=InboundStatus.RECEIVED, reply=reply, **values
        )
        if stored is not None and notify:
            _notified()  # a copy, which notifies nobody, leaves the next push to do it
        if stored is not None or not parsed.dedupe_key:
            return reply, 200
        original = inbound_dedupe_holder(vendor=protocol.vendor, key=parsed.dedupe_key,
                                         received_at=values["received_at"])
        if original is None:
            continue  # the first arrival was refused in the meantime and gave up its key: this one takes it
        duplicate_reply = protocol.reply_duplicate(original_id=original)
        inbound_insert(
            dedupe_key=parsed.dedupe_key,
            duplicate_of_id=original,
            status=InboundStatus.DUPLICATE,
            processed_at=timezone.now(),
            reply=duplicate_reply,
            **values,
        )
        return duplicate_reply, 200
    raise DatabaseError(f"the dedupe key {parsed.dedupe_key} was neither free nor held")


def inbound_receive(*, protocol: InboxProtocol, request, kind: str = "") -> tuple[dict, int]:
    """Receive one push over HTTP: (reply, HTTP status) in the counterparty's protocol.

    `kind` is the kind the URL names, for a counterparty that pushes each kind to a URL of its own; the
    row keeps it, and the protocol's `parse` is given it (here and in the worker).

    Order of checks: the sender's address against the allow-list, the body's size, the verification
    of the raw request, then the push's own shape and references. Each refusal is stored as rejected,
    with the reply. A failure of our own is stored as failed when it can be, and answered with a 5xx.
    """
    values = {
        "vendor": protocol.vendor,
        "content_type": _column(request.META.get("CONTENT_TYPE", ""), 128),
        "headers": clean({name: request.headers[name] for name in protocol.kept_headers if name in request.headers}),
        "received_at": timezone.now(),
    }
    if kind:
        values["kind"] = _column(kind, 64)
    try:
        return _receive(protocol, request, values)
    except DatabaseError:
        logger.exception("could not store a %s push", protocol.vendor)
        return protocol.reply_unstored()
    except Exception as exc:
        # A fault of ours in reading the push: the sender is told to send it again, rather than take it
        # for accepted, and the row is kept to find the fault by. It is not retried automatically: the
        # sender's copies carry the push, and a person's replay finds a copy that was applied.
        logger.exception("receiving a %s push failed", protocol.vendor)
        try:
            inbound_insert(**{
                "body": "", "kind": "", "charger_serial": "", "order_no": "", "remote_addr": "", **values,
                "status": InboundStatus.FAILED, "error": clean_text(f"{exc.__class__.__name__}: {exc}")[:4000],
                "attempts": MAX_AUTOMATIC_ATTEMPTS, "processed_at": timezone.now(),
            })
        except DatabaseError:
            logger.exception("could not store a %s push", protocol.vendor)
        return protocol.reply_unstored()


def inbound_method_refused(*, protocol: InboxProtocol, method: str) -> tuple[dict, int]:
    """(reply, 405) in the counterparty's envelope for a request that is not a push (GET, OPTIONS, ...)."""
    refusal = InboundRejected(
        _("%(method)s is not a push: send pushes with POST.") % {"method": clean_text(method)[:16]},
        reason=RejectReason.MALFORMED,
    )
    return protocol.reply_refused(refusal)[0], 405


def _column(value: str, length: int) -> str:
    """A text as a column of `length` takes it: escaped first, so that the escapes fit too."""
    return clean_text(value)[:length]


def _receive(protocol: InboxProtocol, request, values: dict) -> tuple[dict, int]:
    sender = sender_address(request)
    values["remote_addr"] = _column(sender, 64)
    allowed = sender_allowed(sender, setting=protocol.allowed_ips_setting)
    try:
        raw = request.body
    except (RequestDataTooBig, ValueError) as exc:  # too large, or a Content-Length that is not a number
        size = clean_text(str(request.META.get("CONTENT_LENGTH", "?")))[:32]
        message = (
            _("The body of %(size)s bytes is larger than we accept; nothing of it was kept.")
            if isinstance(exc, RequestDataTooBig)
            else _("Content-Length %(size)s is not a number of bytes; nothing of the body was kept.")
        )
        refusal = InboundRejected(message % {"size": size}, reason=RejectReason.MALFORMED)
        if allowed:
            return _refuse(protocol, refusal, body="", verification=Verification.UNCHECKED, status=413, **values)
        raw = b""
    values["body"] = body_text(raw)
    if not allowed:
        refusal = InboundRejected(
            _("Pushes from %(address)s are not accepted; the allowed senders are set in %(setting)s.")
            % {"address": sender, "setting": protocol.allowed_ips_setting},
            reason=RejectReason.SENDER,
        )
        return _refuse(protocol, refusal, verification=Verification.UNCHECKED, **values)
    values["verification"] = verification = protocol.verify(request)
    if verification == Verification.FAILED:
        refusal = InboundRejected(_("The push failed verification."), reason=RejectReason.VERIFICATION)
        return _refuse(protocol, refusal, **values)
    try:
        parsed = protocol.parse(body=raw, content_type=values["content_type"], received_at=values["received_at"],
                                kind=values.get("kind", ""))
    except InboundRejected as refusal:
        return _refuse(protocol, refusal, **values)
    values.update(kind=_column(parsed.kind, 64), charger_serial=_column(parsed.charger_serial, 64),
                  order_no=_column(parsed.order_no, 64))
    try:
        refused = protocol.check(parsed)
    except InboundRejected as refusal:
        return _refuse(protocol, refusal, **values)
    if parsed.kind in protocol.question_kinds:
        return _answer(protocol, parsed, values)
    reply = clean(protocol.reply_partly_refused(refused)) if refused else protocol.reply_ok()
    return _store_news(protocol=protocol, parsed=parsed, reply=reply, **values)


def _refuse(protocol: InboxProtocol, refusal: InboundRejected, *, status: int | None = None, **values):
    reply, http_status = protocol.reply_refused(refusal)
    reply = clean(reply)
    values.setdefault("kind", _column(refusal.kind, 64))
    values.setdefault("charger_serial", _column(refusal.charger_serial, 64))
    values.setdefault("order_no", _column(refusal.order_no, 64))
    inbound_insert(
        status=InboundStatus.REJECTED,
        reject_reason=refusal.reason,
        error=clean_text(refusal.message)[:4000],
        reply=reply,
        processed_at=timezone.now(),
        **values,
    )
    return reply, status or http_status


def _answer(protocol: InboxProtocol, parsed, values: dict) -> tuple[dict, int]:
    """Answer a question, store it with its answer, then send the answer."""
    try:
        reply = protocol.reply_ok(protocol.answer(parsed))
    except InboundRejected as refusal:
        return _refuse(protocol, refusal, **values)
    except DatabaseError:
        raise
    except Exception as exc:
        logger.exception("answering a %s %s failed", protocol.vendor, parsed.kind)
        reply = protocol.reply_unanswered()
        inbound_insert(
            status=InboundStatus.FAILED,
            error=clean_text(f"{exc.__class__.__name__}: {exc}")[:4000],
            reply=reply,
            attempts=1,
            processed_at=timezone.now(),
            **values,
        )
        return reply, 200
    reply = clean(reply)
    inbound_insert(status=InboundStatus.PROCESSED, reply=reply, attempts=1, processed_at=timezone.now(), **values)
    return reply, 200
