"""What the simulated 4pyun keeps: the records and device syncs it accepted, and every request with its answer."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from integrations.fourpyun.simulator.checks import FINAL_STATES
from integrations.fourpyun.simulator.protocol import OK, parse_utc

# The public parameters: a retry of the same record carries a new timestamp, and is still the same record.
COMMON_FIELDS = frozenset({"app_id", "timestamp", "sign_type"})


def record_key(body: dict) -> str:
    """What makes two accepted records the same record: every field but the public parameters, as canonical JSON."""
    return json.dumps({k: v for k, v in body.items() if k not in COMMON_FIELDS}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


@dataclass(frozen=True)
class AcceptedRecord:
    """A charging record 4pyun took: the body as parsed, the bytes as sent, when (simulator's clock) and in what
    place of all records accepted (from 1)."""

    body: dict
    raw: bytes
    received_at: dt.datetime
    seq: int

    @property
    def order(self) -> str:
        return self.body["order"]

    @property
    def state(self) -> int:
        return self.body["state"]

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def end_time(self) -> dt.datetime:
        return parse_utc(self.body["end_time"])

    @property
    def key(self) -> str:
        return record_key(self.body)


@dataclass(frozen=True)
class DeviceSync:
    """A device sync 4pyun took: the body as parsed and sent, when, and its place among the syncs (from 1)."""

    body: dict
    raw: bytes
    received_at: dt.datetime
    seq: int

    @property
    def no(self) -> str:
        return self.body["no"]

    @property
    def ports(self) -> dict[str, dict]:
        """The ports by their number."""
        return {port["no"]: port for port in self.body["port"]}


@dataclass(frozen=True)
class SeenRequest:
    """A request as it came and what 4pyun answered it, accepted or not."""

    method: str
    path: str
    body: bytes
    authorization: str | None
    received_at: dt.datetime
    status: int
    answer: dict = field(default_factory=dict)

    @property
    def code(self) -> str:
        return str(self.answer.get("code", ""))

    @property
    def hint(self) -> str | None:
        return self.answer.get("hint")

    @property
    def message(self) -> str | None:
        return self.answer.get("message")

    @property
    def accepted(self) -> bool:
        return self.status == 200 and self.code == OK

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")
