"""Operators' requests from the admin: one way to run a request over the selected rows and say how it went.

Every admin action that asks a vendor (sync a charger, send a station, stop a session) does the same:
refuse a selection too large for a click, run the service row by row, tell each refusal with a link to
its row in the operator's words (`backoffice.errors.error_message`), and tell the count of what worked
in one message. `Operation` says what differs. An action on our own records that may cover thousands of
rows (replaying pushes, retrying deliveries) hands a selection of more than a page to tasks instead
(`selection_in_background`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.utils.functional import Promise
from django.utils.translation import gettext
from django_q.tasks import async_chain

from backoffice.errors import REFUSALS, error_message, unknown_outcome_message

from .display import admin_link, html_message

# Each selected row costs a call to the vendor while the operator waits; more than this is bulk work
# for a task, not for a click.
VENDOR_ACTION_LIMIT = 50


@dataclass(frozen=True)
class Operation:
    """A request on one row, as the admin runs it.

    `service(row)` does it and refuses with a ValidationError or a DomainError. `done_count` is a plural
    message with %(count)d. `unknown(error)` says what an unanswered request means for this one (was
    it done? will the system find out?). `not_applicable(row)` is why the request does not apply to the
    row, or None. `label(row)` is the text of the row's link.
    """

    service: Callable[[Any], Any]
    done_count: Promise
    unknown: Callable[[Exception], str] = unknown_outcome_message
    not_applicable: Callable[[Any], str | None] | None = None
    label: Callable[[Any], str] | None = None


def too_many_selected(model_admin, request, rows, *, limit: int = VENDOR_ACTION_LIMIT) -> bool:
    """Tell the operator and return True when `rows` (at most limit + 1 of them) exceed the limit."""
    if len(rows) <= limit:
        return False
    model_admin.message_user(
        request,
        gettext("Select at most %(limit)d rows at a time: each one is a call to the vendor.") % {"limit": limit},
        messages.ERROR,
    )
    return True


def operation_run(model_admin, request, row, operation: Operation) -> tuple[bool, Any]:
    """Run `operation` on one row; a refusal is told, linked to the row. (whether it was done, its result)."""
    link = admin_link(row, operation.label(row) if operation.label else None)
    reason = operation.not_applicable(row) if operation.not_applicable else None
    if reason is None:
        try:
            return True, operation.service(row)
        except REFUSALS as error:
            reason = error_message(error, unknown=operation.unknown)
    model_admin.message_user(
        request, html_message(gettext("%(object)s: %(error)s"), object=link, error=reason), messages.ERROR
    )
    return False, None


def operation_run_selected(model_admin, request, rows, operation: Operation, *,
                           limit: int = VENDOR_ACTION_LIMIT) -> int:
    """Run `operation` on each of `rows` (a sliced queryset or a list of at most limit + 1); the count done."""
    rows = list(rows[: limit + 1])
    if too_many_selected(model_admin, request, rows, limit=limit):
        return 0
    done = sum(operation_run(model_admin, request, row, operation)[0] for row in rows)
    if done:
        model_admin.message_user(request, operation.done_count % {"count": done}, messages.SUCCESS)
    return done


# A selection of more than a page goes to tasks: the operator gets the page back at once, and each row's
# status says how it went. Beyond BACKGROUND_LIMIT a selection is refused: a filter narrows it better.
BACKGROUND_LIMIT = 10_000
# Rows per task: each task finishes well within the cluster's timeout (a replay takes tens of
# milliseconds a row) and records its rows' history as it ends; the tasks run one after another.
BACKGROUND_CHUNK = 250


def selection_in_background(model_admin, request, queryset, *, task: str, queued: Promise,
                            limit: int | None = None) -> bool:
    """Hand a selection of more than a page (`list_per_page`) to the task `task(ids, user_id)`, in the
    queryset's order: a chain of tasks of BACKGROUND_CHUNK rows, each started when the one before ends.
    Tell the operator with `queued` (a plural message with %(count)d). Returns whether the selection was
    dealt with here (queued, or refused as too large), so the caller does nothing more."""
    limit = BACKGROUND_LIMIT if limit is None else limit
    ids = list(queryset.values_list("pk", flat=True)[: limit + 1])
    if len(ids) <= model_admin.list_per_page:
        return False
    if len(ids) > limit:
        model_admin.message_user(
            request,
            gettext("Select at most %(limit)d rows at a time; a filter narrows the list.") % {"limit": limit},
            messages.ERROR,
        )
        return True
    async_chain([(task, (ids[start:start + BACKGROUND_CHUNK], request.user.pk))
                 for start in range(0, len(ids), BACKGROUND_CHUNK)])
    model_admin.message_user(request, queued % {"count": len(ids)}, messages.SUCCESS)
    return True
