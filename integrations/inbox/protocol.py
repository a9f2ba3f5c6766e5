"""What a counterparty tells the inbox: how its pushes look, what each means, and how it wants its answers.

The receiver (`receiver.py`) and the worker (`worker.py`) are the same for every vendor and partner;
each counterparty's folder subclasses `InboxProtocol` once and registers it. A protocol is pure where
it can be: `parse` reads bytes into a typed push without touching the database, so the receiver can
refuse bad input at once and the worker can read the stored row again the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from integrations.models import RejectReason, Verification
from integrations.values import MappingError


class InboundRejected(Exception):
    """Input we will never accept as it is; `reason` is a RejectReason value.

    `kind`, `charger_serial` and `order_no` are what the push was about as far as it could be read,
    so that even a refused push is found by the admin's filters. `item` names, in the counterparty's
    words, the part of a push refused by itself (`InboxProtocol.check`).
    """

    def __init__(self, message: str, *, reason: str, kind: str = "", charger_serial: str = "", order_no: str = "",
                 item: dict | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.kind = kind
        self.charger_serial = charger_serial
        self.order_no = order_no
        self.item = item


def malformed(message: str, **about) -> InboundRejected:
    """A push refused as malformed: `message` names the field at fault."""
    return InboundRejected(message, reason=RejectReason.MALFORMED, **about)


def push_read(function, *args, **kwargs):
    """Call a counterparty's mapper on a push's field; its MappingError refuses the push as malformed, naming
    the field."""
    try:
        return function(*args, **kwargs)
    except MappingError as exc:
        raise malformed(str(exc)) from exc


@dataclass(frozen=True)
class Parsed:
    """A push as its protocol read it: what kind, what it is about, and the typed content.

    Whether it is a question is its kind's: `InboxProtocol.question_kinds`.
    """

    kind: str
    record: Any
    dedupe_key: str = ""
    charger_serial: str = ""
    order_no: str = ""
    received_at: datetime | None = None  # when we received it: the time of news that carries none


class InboxProtocol:
    """One counterparty's pushes. Subclasses set the class attributes and implement the methods."""

    vendor: ClassVar[str]  # a Counterparty value
    # The setting that lists the addresses (and CIDR ranges) allowed to push; empty allows any.
    allowed_ips_setting: ClassVar[str]
    # Request headers worth keeping with a push (never one that carries a secret).
    kept_headers: ClassVar[tuple[str, ...]] = ("Content-Type", "Content-Length", "User-Agent")
    # Kinds the worker applies many at a time through one `apply` call; others go one by one.
    batched_kinds: ClassVar[frozenset[str]] = frozenset()
    # Kinds answered inline (`answer`) and never applied later.
    question_kinds: ClassVar[frozenset[str]] = frozenset()

    # --- receiving ---

    def verify(self, request) -> str:
        """A Verification value for this request, checked on the raw request before anything is parsed."""
        return Verification.UNCHECKED

    def parse(self, *, body: bytes, content_type: str, received_at: datetime | None = None, kind: str = "") -> Parsed:
        """Read and check a push in memory; raises InboundRejected naming the field at fault.

        `kind` is what the push's URL names (`inbound_receive(kind=...)`), for a counterparty that pushes each
        kind to a URL of its own; empty when its pushes say their kind in the body.
        """
        raise NotImplementedError

    def check(self, parsed: Parsed) -> list[InboundRejected]:
        """Cheap checks against what we know (an indexed lookup or a cache), raising InboundRejected.

        A push of many items (a charger's readings socket by socket) may be taken in part: the refusals
        of the items left out are returned, each with its `item`, and `apply` leaves them out too. What
        this cannot tell cheaply the worker finds out when it applies the push.
        """
        return []

    def answer(self, parsed: Parsed) -> Any:
        """The data of the answer to a question push; raises InboundRejected for one we cannot answer."""
        raise NotImplementedError

    # --- replies, in the counterparty's own envelope ---

    def reply_ok(self, data: Any = None, *, description: str = "") -> dict:
        raise NotImplementedError

    def reply_refused(self, rejected: InboundRejected) -> tuple[dict, int]:
        """(reply, HTTP status) for a refused push."""
        raise NotImplementedError

    def reply_partly_refused(self, refused: list[InboundRejected]) -> dict:
        """A push stored for its good items, naming the refused ones so that the sender sends none again."""
        return self.reply_ok(description="; ".join(refusal.message for refusal in refused))

    def reply_duplicate(self, *, original_id: int) -> dict:
        return self.reply_ok(description=f"#{original_id}")

    def reply_unanswered(self) -> dict:
        """A question we failed to answer on our side; the sender should ask again."""
        raise NotImplementedError

    def reply_unstored(self) -> tuple[dict, int]:
        """(reply, HTTP status ≥ 500) for a push we could not store: the sender must send it again."""
        raise NotImplementedError

    # --- applying (the worker) ---

    def apply(self, pushes: list[Parsed]) -> None:
        """Apply news pushes to the domain, in the transaction the worker holds.

        Pushes of a kind in `batched_kinds` come many at a time, others one at a time. Raising
        InboundRejected refuses them (the worker retries a refused batch one push at a time, so only
        the push at fault is refused); any other exception fails them, leaving no trace of their writes.
        """
        raise NotImplementedError


_protocols: dict[str, InboxProtocol] = {}


def inbox_protocol_register(protocol: InboxProtocol) -> None:
    _protocols[protocol.vendor] = protocol


def protocols_registered() -> dict[str, InboxProtocol]:
    return dict(_protocols)


def inbox_protocol(vendor: str) -> InboxProtocol:
    try:
        return _protocols[vendor]
    except KeyError:
        raise LookupError(f"no inbox protocol is registered for {vendor!r}") from None
