"""The periodic tasks are written by the code on every migrate: created once, corrected, never doubled."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_q.models import Schedule

from integrations.schedules import schedules_all, schedules_ensure

pytestmark = pytest.mark.django_db

EXPECTED = {
    "outbox_sweep": ("integrations.tasks.deliveries_sweep", 1),
    "inbox_retry_failed": ("integrations.tasks.inbound_retry_failed", 5),
    "partitions_maintain": ("backoffice.tasks.partitions_maintain", 60),
    "tomda_sessions_poll": ("integrations.tomda.tasks.sessions_poll", 1),
    "tomda_sessions_stuck_check": ("integrations.tomda.tasks.sessions_stuck_check", 10),
    "tomda_token_refresh": ("integrations.tomda.tasks.token_refresh", 30),
    "wanzhuang_sessions_poll": ("integrations.wanzhuang.tasks.sessions_poll", 2),
    "wanzhuang_finish_callbacks_reconcile": ("integrations.wanzhuang.tasks.finish_callbacks_reconcile", 10),
    "wanzhuang_devices_sync": ("integrations.wanzhuang.tasks.devices_sync", 60),
    "fourpyun_devices_sync": ("integrations.fourpyun.tasks.devices_sync", 1),
    # Daily, at STATEMENTS_BUILD_AT: no interval.
    "statements_build": ("orders.tasks.statements_build_previous_day", None),
    "partner_access_prune": ("integrations.partner.tasks.access_prune", 60),
    "partner_final_callbacks_redrive": ("integrations.partner.tasks.final_callbacks_redrive", 1440),
}


def schedules():
    return {s.name: (s.func, s.minutes) for s in Schedule.objects.all()}


def test_the_schedules_are_created_once_however_often_it_runs():
    # Given a database without schedules
    Schedule.objects.all().delete()

    # When it runs twice
    schedules_ensure()
    schedules_ensure()

    # Then each schedule exists once, every few minutes (the close's once a day), forever
    assert schedules() == EXPECTED
    assert Schedule.objects.count() == len(EXPECTED)
    assert set(Schedule.objects.exclude(name="statements_build").values_list("schedule_type", "repeats")) == {
        (Schedule.MINUTES, -1)}
    assert Schedule.objects.get(name="statements_build").schedule_type == Schedule.DAILY


def test_a_changed_build_time_moves_the_nightly_close(settings):
    settings.STATEMENTS_BUILD_AT = "04:30"
    schedules_ensure()
    first = Schedule.objects.get(name="statements_build").next_run

    schedules_ensure()
    assert Schedule.objects.get(name="statements_build").next_run == first  # unchanged: left as it is
    settings.STATEMENTS_BUILD_AT = "05:15"
    schedules_ensure()

    moved = Schedule.objects.get(name="statements_build")
    assert timezone.localtime(moved.next_run).strftime("%H:%M") == "05:15"
    assert timezone.now() < moved.next_run <= timezone.now() + dt.timedelta(days=1)


def test_a_changed_schedule_is_corrected_and_keeps_its_row():
    # Given schedules whose interval and function someone changed by hand
    schedules_ensure()
    sweep = Schedule.objects.get(name="outbox_sweep")
    Schedule.objects.filter(pk=sweep.pk).update(minutes=15, schedule_type=Schedule.HOURLY, repeats=3)
    Schedule.objects.filter(name="tomda_token_refresh").update(func="somewhere.else")

    # When it runs again
    schedules_ensure()

    # Then both are back as the code says, in the same row
    assert schedules() == EXPECTED
    sweep.refresh_from_db()
    assert (sweep.minutes, sweep.schedule_type, sweep.repeats) == (1, Schedule.MINUTES, -1)


def test_a_schedule_made_twice_by_hand_is_reduced_to_one():
    schedules_ensure()
    Schedule.objects.create(
        name="outbox_sweep", func="integrations.tasks.deliveries_sweep", schedule_type=Schedule.MINUTES, minutes=1
    )

    schedules_ensure()

    assert Schedule.objects.filter(name="outbox_sweep").count() == 1


def test_other_schedules_are_left_alone():
    Schedule.objects.create(name="nightly_export", func="orders.tasks.export", schedule_type=Schedule.DAILY)

    schedules_ensure()

    assert Schedule.objects.get(name="nightly_export").func == "orders.tasks.export"


def test_migrate_runs_it():
    # Given no schedules, when migrate runs (nothing to apply, post_migrate still fires)
    Schedule.objects.all().delete()
    call_command("migrate", verbosity=0)

    assert schedules() == EXPECTED


def test_every_scheduled_function_of_ours_is_importable():
    # The Tomda tasks belong to the Tomda package; the outbox and inbox ones to this app.
    from django.utils.module_loading import import_string

    for task in schedules_all():
        assert callable(import_string(task.func)), task.func


def test_the_migrated_state_post_migrate_passes_is_used_when_given():
    # Given the models as the migrations define them, as post_migrate hands them over
    Schedule.objects.all().delete()
    migrated = MigrationExecutor(connection).loader.project_state().apps

    schedules_ensure(apps=migrated, using="default")

    assert schedules() == EXPECTED
