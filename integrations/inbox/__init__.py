"""The inbox: every push is stored before it is answered, then applied in batches by the worker.

`protocol` is what each counterparty provides, `receiver` the HTTP half, `worker` the applying half;
`integrations/README.md` says how a counterparty plugs in.
"""

from .known import Known, known_clear_all
from .protocol import InboundRejected, InboxProtocol, Parsed, inbox_protocol, inbox_protocol_register
from .receiver import inbound_method_refused, inbound_receive
from .worker import (
    BATCH_SIZE,
    MAX_AUTOMATIC_ATTEMPTS,
    InboxWorker,
    Replayed,
    inbound_replay,
    inbound_retry_failed,
    inbox_backlog,
    inbox_drain,
    inbox_work,
)

__all__ = [
    "BATCH_SIZE",
    "MAX_AUTOMATIC_ATTEMPTS",
    "InboundRejected",
    "InboxProtocol",
    "InboxWorker",
    "Known",
    "Parsed",
    "Replayed",
    "inbound_method_refused",
    "inbound_receive",
    "inbound_replay",
    "inbound_retry_failed",
    "inbox_backlog",
    "inbox_drain",
    "inbox_protocol",
    "inbox_protocol_register",
    "inbox_work",
    "known_clear_all",
]
