"""The periodic tasks of the integrations, as data, and the post_migrate hook that makes them so.

The schedules live in django-q2's `Schedule` table, where the cluster reads them. Writing them from
code on every migrate means a fresh database has them, a changed interval reaches production with the
deploy, and nobody has to click them together in the admin. A row is found by its name, which is
therefore a stable identifier and never changes. The inbox's and the outbox's tasks are below; each
enabled counterparty adds its own (`CounterpartyConfig.schedules`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.apps import apps as global_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from integrations.counterparty import PeriodicTask, counterparties

SCHEDULES: tuple[PeriodicTask, ...] = (
    # The outbox's guarantee: due deliveries (retries, and any whose task the broker lost) are sent.
    PeriodicTask("outbox_sweep", "integrations.tasks.deliveries_sweep", minutes=1),
    PeriodicTask("inbox_retry_failed", "integrations.tasks.inbound_retry_failed", minutes=5),
    # Tomorrow's partitions of the inbox and the samples exist days before they are needed, and the days past
    # their retention go; hourly, so that a run missed or a table too busy for its lock is soon made good.
    PeriodicTask("partitions_maintain", "backoffice.tasks.partitions_maintain", minutes=60),
)


def schedules_all() -> tuple[PeriodicTask, ...]:
    """The shared schedules, the daily close's, and those of every enabled counterparty."""
    # The previous business day's statements, every night: each source repairs, then compares.
    close = PeriodicTask("statements_build", "orders.tasks.statements_build_previous_day",
                         daily_at=settings.STATEMENTS_BUILD_AT)
    return (*SCHEDULES, close, *(task for config in counterparties() for task in config.schedules()))


def _next_daily(at: str, now: datetime) -> datetime:
    """The next instant after `now` at local time `at` ("HH:MM", the project's time zone)."""
    hour, minute = (int(part) for part in at.split(":"))
    local = timezone.localtime(now)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = datetime.combine(candidate.date() + timedelta(days=1), time(hour, minute), tzinfo=local.tzinfo)
    return candidate


def _daily_at_of(row) -> str:
    return "" if row.next_run is None else timezone.localtime(row.next_run).strftime("%H:%M")


def schedules_ensure(**kwargs):
    """Create each schedule of `schedules_all()` that is missing and correct one that differs; idempotent.

    Connected to post_migrate, which passes the migrated state as `apps` and the database as `using`;
    called without them it uses the installed apps and the default database. A name taken twice
    (made by hand) is reduced to one row, or the task would run twice as often.
    """
    apps = kwargs.get("apps") or global_apps
    using = kwargs.get("using") or DEFAULT_DB_ALIAS
    try:
        Schedule = apps.get_model("django_q", "Schedule")
    except LookupError:
        # django_q is not (yet) migrated in this database: a partial migrate; the next one will do.
        return
    with transaction.atomic(using=using):
        for task in schedules_all():
            wanted = {"func": task.func, "schedule_type": task.schedule_type, "minutes": task.minutes or None,
                      "repeats": -1}
            rows = list(Schedule.objects.using(using).filter(name=task.name).order_by("pk"))
            if not rows:
                if task.daily_at:
                    wanted["next_run"] = _next_daily(task.daily_at, timezone.now())
                Schedule.objects.using(using).create(name=task.name, **wanted)
                continue
            row, extra = rows[0], rows[1:]
            if extra:
                Schedule.objects.using(using).filter(pk__in=[r.pk for r in extra]).delete()
            if task.daily_at and _daily_at_of(row) != task.daily_at:
                wanted["next_run"] = _next_daily(task.daily_at, timezone.now())
            changed = [field for field, value in wanted.items() if getattr(row, field) != value]
            if changed:
                for field in changed:
                    setattr(row, field, wanted[field])
                row.save(using=using, update_fields=changed)
