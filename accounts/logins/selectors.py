"""Reads of the lockouts: whether a user name is locked at an address, and until when.

axes keeps one row per user name, address and browser, and locks the user name at the address while the failures
of its rows newer than the cool-off period (`AXES_COOLOFF_TIME`; none: for good) add up to `AXES_FAILURE_LIMIT`.
So the lock ends when the oldest of the rows needed to reach the limit leaves that period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone


@dataclass(frozen=True)
class LockoutState:
    """The failures of a user name at an address that count now; whether they lock it, and until when (None while
    locked: until a superuser unlocks it)."""

    failures: int
    locked: bool
    until: dt.datetime | None = None

    @property
    def attempts_left(self) -> int:
        return max(settings.AXES_FAILURE_LIMIT - self.failures, 0)


def _counted_since(now: dt.datetime) -> dt.datetime | None:
    cool_off = get_cool_off()
    return None if cool_off is None else now - cool_off


def _state(rows: list[tuple[int, dt.datetime]]) -> LockoutState:
    """The state of one user name and address from its counted rows, newest first."""
    cool_off = get_cool_off()
    counted = 0
    until = None
    locked = False
    for failures, at in rows:
        counted += failures
        if not locked and counted >= settings.AXES_FAILURE_LIMIT:
            locked = True
            until = at + cool_off if cool_off is not None else None
    return LockoutState(failures=counted, locked=locked, until=until)


def _counted(queryset: QuerySet, now: dt.datetime) -> QuerySet:
    since = _counted_since(now)
    return queryset if since is None else queryset.filter(attempt_time__gte=since)


def lockout_state(*, username: str | None, ip_address: str | None, now: dt.datetime | None = None) -> LockoutState:
    """Whether `username` is locked out at `ip_address` now."""
    now = now or timezone.now()
    rows = _counted(AccessAttempt.objects.filter(username=username, ip_address=ip_address), now)
    return _state(list(rows.order_by("-attempt_time").values_list("failures_since_start", "attempt_time")))


def lockout_states(*, pairs: Iterable[tuple[str | None, str | None]], now: dt.datetime | None = None
                   ) -> dict[tuple[str | None, str | None], LockoutState]:
    """The state of each (user name, address) of `pairs`, in one query: a page of the lockout list."""
    now = now or timezone.now()
    pairs = set(pairs)
    if not pairs:
        return {}
    match = Q()
    for username, ip_address in pairs:
        match |= Q(username=username, ip_address=ip_address)
    grouped = defaultdict(list)
    rows = _counted(AccessAttempt.objects.filter(match), now).order_by("-attempt_time")
    for username, ip_address, failures, at in rows.values_list("username", "ip_address", "failures_since_start",
                                                                "attempt_time"):
        grouped[(username, ip_address)].append((failures, at))
    return {pair: _state(grouped.get(pair, [])) for pair in pairs}


def lockout_counted(*, attempt: AccessAttempt, now: dt.datetime | None = None) -> bool:
    """Whether the failures of `attempt` still count (they have not left the cool-off period)."""
    since = _counted_since(now or timezone.now())
    return since is None or attempt.attempt_time >= since


def lockouts_filter_locked(*, queryset: QuerySet, locked: bool, now: dt.datetime | None = None) -> QuerySet:
    """The rows of `queryset` whose user name is locked (or not) at their address now, in SQL: the list's filter."""
    now = now or timezone.now()
    same = _counted(AccessAttempt.objects.filter(username=OuterRef("username"), ip_address=OuterRef("ip_address")),
                    now)
    total = same.order_by().values("username").annotate(total=Sum("failures_since_start")).values("total")[:1]
    annotated = queryset.annotate(
        counted_failures=Coalesce(Subquery(total, output_field=IntegerField()), Value(0)))
    limit = settings.AXES_FAILURE_LIMIT
    return annotated.filter(counted_failures__gte=limit) if locked else annotated.filter(counted_failures__lt=limit)
