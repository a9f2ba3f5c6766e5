"""A person's selection acted on in one go: stored pushes replayed, deliveries retried.

The admin runs a page's worth at once and hands a larger selection to a task (`integrations.tasks`);
both run the same function here, which records each row a person changed in the admin's history
under their name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from backoffice.errors import error_message
from integrations.inbox import inbound_replay
from integrations.models import InboundMessage, InboundStatus, OutboundDelivery
from integrations.outbox import delivery_retry


@dataclass
class BulkReport:
    """What became of a selection: rows done, rows that needed nothing (with why), rows that failed."""

    done: list = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.done)} done, {len(self.unchanged)} unchanged, {len(self.failures)} failed"


def _logged(user_id: int | None, rows: list, message: str) -> None:
    if user_id is not None and rows:
        LogEntry.objects.log_actions(user_id, rows, CHANGE, change_message=message)


def inbound_replay_selected(*, ids, user_id: int | None = None) -> BulkReport:
    """Replay the stored pushes `ids`, oldest first: pushes about one session only make sense in the
    order they were sent. `unchanged` names those applied before (and as which row)."""
    report = BulkReport()
    for selected in InboundMessage.objects.filter(pk__in=ids).order_by("received_at", "id").iterator():
        try:
            replayed = inbound_replay(message=selected)
        except ValidationError as error:
            report.failures.append(error_message(error))
            continue
        message = replayed.message
        if replayed.already_applied:
            applied = replayed.applied_as
            report.unchanged.append(f"#{selected.pk} → #{applied}" if applied != selected.pk else f"#{selected.pk}")
        elif message.status == InboundStatus.PROCESSED:
            report.done.append(message)
        else:
            report.failures.append(f"#{message.pk}: {message.error or message.get_status_display()}")
    _logged(user_id, report.done, gettext("Replayed."))
    return report


def deliveries_retry_selected(*, ids, user_id: int | None = None) -> BulkReport:
    """Make the deliveries `ids` due now, oldest first; a delivered one is refused."""
    report = BulkReport()
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    by_name = user.get_username() if user is not None else ""
    for delivery in OutboundDelivery.objects.filter(pk__in=ids).order_by("created_at", "id").iterator():
        try:
            delivery_retry(delivery=delivery, by_name=by_name)
        except ValidationError as error:
            report.failures.append(error_message(error))
            continue
        report.done.append(delivery)
    _logged(user_id, report.done, gettext("Retried."))
    return report
