"""The inbox: every push is stored raw before it is answered, then processed as a service over the row.

A vendor package registers a processor per counterparty. The processor reads the stored row, changes
the domain in the transaction `inbound_process` opens, and returns the data of its reply; it raises
`InboundRejected` for input it will never accept (the row is kept as rejected, nothing else changes).
Any other exception rolls the domain back and leaves the row failed, for the retry task or a person's
replay from the admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import InboundMessage, InboundStatus, Verification

logger = logging.getLogger(__name__)

# Attempts the retry task makes before a failed row waits for a person.
MAX_AUTOMATIC_ATTEMPTS = 5


class InboundRejected(Exception):
    """Input we will not accept; `reason` is a RejectReason value, `code` the sender's protocol code."""

    def __init__(self, message: str, *, reason: str, code: str = ""):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.code = code


Processor = Callable[[InboundMessage], dict | None]
_processors: dict[str, Processor] = {}


def inbound_processor_register(vendor: str, processor: Processor) -> None:
    _processors[vendor] = processor


@dataclass(frozen=True)
class Stored:
    message: InboundMessage
    duplicate: bool


def inbound_store(
    *,
    vendor: str,
    kind: str,
    body: str,
    content_type: str = "",
    headers: dict | None = None,
    remote_addr: str = "",
    dedupe_key: str = "",
    verification: str = Verification.UNCHECKED,
    charger_serial: str = "",
    order_no: str = "",
) -> Stored:
    """Store a push and commit it. A second push with a stored dedupe key is stored as its duplicate.

    The unique constraint decides between concurrent copies: exactly one becomes the message, the
    others its duplicates. Raises on a database failure, so the caller answers 5xx and the sender retries.
    """
    fields = {
        "vendor": vendor,
        "kind": kind[:64],
        "body": body,
        "content_type": content_type[:128],
        "headers": headers or {},
        "remote_addr": remote_addr[:64],
        "verification": verification,
        "charger_serial": charger_serial[:64],
        "order_no": order_no[:64],
    }
    if dedupe_key:
        try:
            with transaction.atomic():
                return Stored(InboundMessage.objects.create(dedupe_key=dedupe_key, **fields), duplicate=False)
        except IntegrityError:
            original = InboundMessage.objects.get(vendor=vendor, dedupe_key=dedupe_key, duplicate_of__isnull=True)
            duplicate = InboundMessage.objects.create(
                dedupe_key=dedupe_key,
                duplicate_of=original,
                status=InboundStatus.DUPLICATE,
                processed_at=timezone.now(),
                **fields,
            )
            return Stored(duplicate, duplicate=True)
    return Stored(InboundMessage.objects.create(**fields), duplicate=False)


def inbound_reject(*, message: InboundMessage, reason: str, error: str, reply: dict | None = None) -> InboundMessage:
    """Keep the row as rejected with why; nothing else changes.

    A rejected row gives up its dedupe key: once the cause is fixed (say, the charger imported), the
    sender's next identical push is new news to process, not a duplicate of a refusal.
    """
    message.dedupe_key = ""
    message.status = InboundStatus.REJECTED
    message.reject_reason = reason
    message.error = error
    message.reply = reply
    message.processed_at = timezone.now()
    message.save(update_fields=["dedupe_key", "status", "reject_reason", "error", "reply", "processed_at"])
    return message


def inbound_process(*, message: InboundMessage) -> tuple[InboundMessage, dict | None]:
    """Run the vendor's processor over a stored row; returns the row and the reply data.

    The domain changes and the row's new status commit together, so a processed row always has its
    effects and a failed one has none.
    """
    processor = _processors.get(message.vendor)
    message.attempts += 1
    try:
        if processor is None:
            raise RuntimeError(f"no processor is registered for {message.vendor}")
        with transaction.atomic():
            data = processor(message)
            message.status = InboundStatus.PROCESSED
            message.reject_reason = ""
            message.error = ""
            message.processed_at = timezone.now()
            message.save(update_fields=["status", "reject_reason", "error", "processed_at", "attempts"])
        return message, data
    except InboundRejected as exc:
        message.save(update_fields=["attempts"])
        inbound_reject(message=message, reason=exc.reason, error=exc.message)
        raise
    except Exception as exc:
        logger.exception("processing %s failed", message)
        message.status = InboundStatus.FAILED
        message.error = f"{exc.__class__.__name__}: {exc}"[:4000]
        message.processed_at = timezone.now()
        message.save(update_fields=["status", "error", "processed_at", "attempts"])
        raise


def inbound_replay(*, message: InboundMessage) -> InboundMessage:
    """Process a stored push again (a person's replay or the retry task). Returns the row as it ends.

    Duplicates are replayed through the message they duplicate. A rejected row may be replayed once
    its cause is fixed (say, the unknown charger has been imported).
    """
    if message.duplicate_of_id:
        message = message.duplicate_of
    message = InboundMessage.objects.get(pk=message.pk)
    if message.status == InboundStatus.PROCESSED:
        return message
    try:
        message, _data = inbound_process(message=message)
    except Exception:  # rejected or failed: the row says which, and why
        message.refresh_from_db()
    return message


def inbound_retry_failed(*, limit: int = 200) -> int:
    """Replay failed rows that have attempts left; returns how many were processed this time."""
    failed = InboundMessage.objects.filter(
        status=InboundStatus.FAILED, attempts__lt=MAX_AUTOMATIC_ATTEMPTS
    ).order_by("received_at", "id")[:limit]
    done = 0
    for message in failed:
        if inbound_replay(message=message).status == InboundStatus.PROCESSED:
            done += 1
    return done
