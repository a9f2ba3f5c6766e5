"""A person's large selection of stored pushes or deliveries, acted on in one go.

More than a page goes to a task (run inline by the test settings, as a worker would run it): the operator is
told it will happen in the background, each row ends as the replay or retry left it, and the admin's history
names who asked. A selection beyond the background limit is refused whole.
"""

import datetime as dt
import logging

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse
from django.utils import timezone, translation
from django_q.models import Task

from backoffice.adminkit import actions as actions_module
from integrations.bulk import deliveries_retry_selected, inbound_replay_selected
from integrations.models import (
    Counterparty,
    DeliveryStatus,
    InboundMessage,
    InboundStatus,
    OutboundDelivery,
    Verification,
)
from integrations.outbox import delivery_handler_register, delivery_handler_unregister
from tests.integrations.factories import InboundMessageFactory, OutboundDeliveryFactory

pytestmark = pytest.mark.django_db

MESSAGES = reverse("admin:integrations_inboundmessage_changelist")
DELIVERIES = reverse("admin:integrations_outbounddelivery_changelist")
REPLAY_TASK = "integrations.tasks.inbound_replay_selected"
RETRY_TASK = "integrations.tasks.deliveries_retry_selected"
START = timezone.now() - dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def english(client):
    # The messages are compared in the source language; the zh-hans catalogue translates them.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def shown_messages(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def per_page(monkeypatch, model, rows):
    """The registered admin of `model` shows `rows` to a page."""
    monkeypatch.setattr(admin.site.get_model_admin(model), "list_per_page", rows)


def background_limit(monkeypatch, rows):
    """Selections of more than `rows` are refused (the admins leave the limit to BACKGROUND_LIMIT)."""
    monkeypatch.setattr(actions_module, "BACKGROUND_LIMIT", rows)


def logged(model):
    """The admin history's change entries of `model`: {object id: (user, message)}."""
    entries = LogEntry.objects.filter(content_type__model=model._meta.model_name, action_flag=CHANGE)
    return {int(entry.object_id): (entry.user, entry.change_message) for entry in entries}


# --- stored pushes ---------------------------------------------------------------------------------------


def failed_message(minute, **fields):
    """A partner push received `minute` minutes after START that failed (its charger was missing then)."""
    return InboundMessageFactory(
        vendor=Counterparty.PARTNER,
        kind="notification_start_charge_result",
        status=InboundStatus.FAILED,
        error="LookupError: unknown charger 1012300009",
        received_at=START + dt.timedelta(minutes=minute),
        processed_at=None,
        **fields,
    )


def test_replaying_more_than_a_page_runs_in_the_background_oldest_first_and_says_so(
    client, operator, partner_processor, monkeypatch
):
    # Given a list of two rows to a page, and three failed pushes selected, listed newest first
    per_page(monkeypatch, InboundMessage, 2)
    middle, newest, oldest = failed_message(1), failed_message(2), failed_message(0)
    client.force_login(operator)

    # When an operator replays them
    response = client.post(
        MESSAGES, {"action": "replay", "_selected_action": [newest.pk, middle.pk, oldest.pk]}, follow=True
    )

    # Then they were handed to the task, oldest first, under the operator's name, and the operator is told so
    assert shown_messages(response) == [
        ("success", "3 messages will be replayed in the background, oldest first; each row's status tells how it went.")
    ]
    task = Task.objects.get(func=REPLAY_TASK)
    assert task.args == ([oldest.pk, middle.pk, newest.pk], operator.pk)
    assert (task.success, task.result) == (True, "3 done, 0 unchanged, 0 failed")
    # and the task applied each push, in the order they were sent
    assert partner_processor.seen == [oldest.body, middle.body, newest.body]
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}
    # and the history says who replayed each
    assert logged(InboundMessage) == {row.pk: (operator, "Replayed.") for row in (oldest, middle, newest)}


def test_a_large_replay_runs_as_tasks_one_after_another_each_recording_its_rows(
    client, operator, partner_processor, monkeypatch
):
    # Given a page of one row, tasks of two rows, and five failed pushes selected
    per_page(monkeypatch, InboundMessage, 1)
    monkeypatch.setattr(actions_module, "BACKGROUND_CHUNK", 2)
    rows = [failed_message(minute) for minute in range(5)]
    client.force_login(operator)

    # When an operator replays them
    client.post(MESSAGES, {"action": "replay", "_selected_action": [row.pk for row in rows]}, follow=True)

    # Then three tasks ran in turn over the selection, oldest first, and every push was applied and recorded
    ids = [row.pk for row in rows]
    tasks = Task.objects.filter(func=REPLAY_TASK).order_by("started")
    assert sorted(task.args for task in tasks) == sorted([(ids[0:2], operator.pk), (ids[2:4], operator.pk),
                                                          (ids[4:5], operator.pk)])
    assert all(task.success for task in tasks)
    assert partner_processor.seen == [row.body for row in rows]
    assert logged(InboundMessage) == {row.pk: (operator, "Replayed.") for row in rows}


def test_replaying_a_page_or_less_is_done_at_once_without_a_task(client, operator, partner_processor, monkeypatch):
    # Given a page of two rows and two failed pushes selected
    per_page(monkeypatch, InboundMessage, 2)
    first, second = failed_message(0), failed_message(1)
    client.force_login(operator)

    # When they are replayed
    response = client.post(MESSAGES, {"action": "replay", "_selected_action": [first.pk, second.pk]}, follow=True)

    # Then they are processed while the operator waits, with no task
    assert shown_messages(response) == [("success", "2 messages were processed.")]
    assert partner_processor.seen == [first.body, second.body]
    assert not Task.objects.exists()


def test_replaying_more_than_the_background_limit_is_refused_and_nothing_is_replayed(
    client, operator, partner_processor, monkeypatch
):
    # Given a page of one row, a background limit of two, and three failed pushes selected
    per_page(monkeypatch, InboundMessage, 1)
    background_limit(monkeypatch, 2)
    rows = [failed_message(minute) for minute in range(3)]
    client.force_login(operator)

    # When an operator replays them
    response = client.post(MESSAGES, {"action": "replay", "_selected_action": [row.pk for row in rows]}, follow=True)

    # Then the selection is refused whole: nothing was queued, applied, or recorded
    assert shown_messages(response) == [("error", "Select at most 2 rows at a time; a filter narrows the list.")]
    assert not Task.objects.exists()
    assert partner_processor.seen == []
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.FAILED}
    assert logged(InboundMessage) == {}


def test_a_bulk_replay_tells_pushes_applied_before_and_failures_apart_and_records_only_what_it_did(
    operator, partner_processor
):
    # Given a failing push, one applied already, a copy of that one, one from an untrusted sender, and one to apply
    failing = failed_message(0)
    partner_processor.failures[failing.body] = LookupError("unknown charger 1012300009")
    applied = InboundMessageFactory(vendor=Counterparty.PARTNER, received_at=START + dt.timedelta(minutes=1))
    copy = InboundMessageFactory(
        vendor=Counterparty.PARTNER, status=InboundStatus.DUPLICATE, duplicate_of=applied,
        received_at=START + dt.timedelta(minutes=2),
    )
    forged = failed_message(3, verification=Verification.FAILED)
    applies = failed_message(4)

    # When they are replayed together for the operator
    report = inbound_replay_selected(ids=[applies.pk, forged.pk, copy.pk, applied.pk, failing.pk], user_id=operator.pk)

    # Then each is reported for what became of it
    assert report.done == [applies]
    assert report.unchanged == [f"#{applied.pk}", f"#{copy.pk} → #{applied.pk}"]
    assert report.failures == [
        f"#{failing.pk}: LookupError: unknown charger 1012300009",
        f"Message {forged.pk} was refused because of its sender (Failed); it is never applied.",
    ]
    assert report.summary() == "1 done, 2 unchanged, 2 failed"
    assert partner_processor.seen == [applies.body]
    # and only the push it applied is in the history, under the operator's name
    assert logged(InboundMessage) == {applies.pk: (operator, "Replayed.")}


def test_a_bulk_replay_without_a_user_records_no_history(partner_processor):
    message = failed_message(0)

    report = inbound_replay_selected(ids=[message.pk])

    assert report.done == [message]
    assert LogEntry.objects.count() == 0


# --- deliveries ------------------------------------------------------------------------------------------


@pytest.fixture
def sent():
    keys = []
    delivery_handler_register("test.bulk", lambda delivery: keys.append(delivery.key))
    yield keys
    delivery_handler_unregister("test.bulk")


def delivery(minute, key, status=DeliveryStatus.DEAD):
    return OutboundDeliveryFactory(
        kind="test.bulk", key=key, status=status, attempts=21 if status == DeliveryStatus.DEAD else 1,
        last_error="connection refused" if status == DeliveryStatus.DEAD else "",
        created_at=START + dt.timedelta(minutes=minute),
    )


def test_retrying_more_than_a_page_runs_in_the_background_and_refuses_a_delivered_one(
    client, operator, sent, monkeypatch, django_capture_on_commit_callbacks
):
    # Given a page of two rows and three deliveries selected: two given up, one delivered already
    per_page(monkeypatch, OutboundDelivery, 2)
    later = delivery(2, "order-2-settled")
    done = delivery(1, "order-1-settled", status=DeliveryStatus.DELIVERED)
    earlier = delivery(0, "order-0-settled")
    client.force_login(operator)

    # When an operator retries them
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            DELIVERIES, {"action": "retry_now", "_selected_action": [later.pk, done.pk, earlier.pk]}, follow=True
        )

    # Then they were handed to the task, and the operator is told it happens in the background
    assert shown_messages(response) == [
        ("success", "3 deliveries will be attempted in the background; each row's status tells how it went.")
    ]
    task = Task.objects.get(func=RETRY_TASK)
    assert task.args == ([earlier.pk, done.pk, later.pk], operator.pk)
    assert task.result == "2 done, 0 unchanged, 1 failed"
    # and the given-up ones were sent, oldest first; the delivered one was not sent again
    assert sent == ["order-0-settled", "order-2-settled"]
    assert dict(OutboundDelivery.objects.values_list("key", "status")) == {
        "order-0-settled": DeliveryStatus.DELIVERED,
        "order-1-settled": DeliveryStatus.DELIVERED,
        "order-2-settled": DeliveryStatus.DELIVERED,
    }
    assert OutboundDelivery.objects.get(pk=done.pk).attempts == 1
    # and the history names the operator for the two retried
    assert logged(OutboundDelivery) == {earlier.pk: (operator, "Retried."), later.pk: (operator, "Retried.")}


def test_retrying_more_than_the_background_limit_is_refused_and_nothing_is_retried(
    client, operator, sent, monkeypatch, django_capture_on_commit_callbacks
):
    # Given a page of one row, a background limit of two, and three given-up deliveries selected
    per_page(monkeypatch, OutboundDelivery, 1)
    background_limit(monkeypatch, 2)
    rows = [delivery(minute, f"order-{minute}-settled") for minute in range(3)]
    client.force_login(operator)

    # When an operator retries them
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            DELIVERIES, {"action": "retry_now", "_selected_action": [row.pk for row in rows]}, follow=True
        )

    # Then the selection is refused whole
    assert shown_messages(response) == [("error", "Select at most 2 rows at a time; a filter narrows the list.")]
    assert not Task.objects.exists()
    assert sent == []
    assert set(OutboundDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DEAD}
    assert logged(OutboundDelivery) == {}


def test_a_bulk_retry_reports_a_delivered_one_in_its_failures_and_names_who_retried(operator, sent, caplog):
    # Given a given-up delivery and a delivered one
    dead = delivery(0, "order-0-settled")
    delivered = delivery(1, "order-7-settled", status=DeliveryStatus.DELIVERED)

    # When both are retried for the operator
    with caplog.at_level(logging.INFO, logger="integrations.outbox"):
        report = deliveries_retry_selected(ids=[delivered.pk, dead.pk], user_id=operator.pk)

    # Then the given-up one is due now, the delivered one is refused in words, and the operator is named
    assert report.done == [dead]
    assert report.failures == ["order-7-settled was already delivered; it is not sent again."]
    assert report.summary() == "1 done, 0 unchanged, 1 failed"
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.PENDING
    assert dead.next_attempt_at > START
    assert OutboundDelivery.objects.get(pk=delivered.pk).status == DeliveryStatus.DELIVERED
    assert logged(OutboundDelivery) == {dead.pk: (operator, "Retried.")}
    assert "retried by operator" in caplog.text
