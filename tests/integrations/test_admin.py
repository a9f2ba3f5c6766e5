"""The admin of the border records: read-only rows, readable bodies, index-served search, replay and retry."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from integrations.models import (
    Counterparty,
    DeliveryAttempt,
    DeliveryStatus,
    InboundStatus,
    OutboundDelivery,
    VendorToken,
)
from integrations.outbox import delivery_handler_register, delivery_handler_unregister
from tests.helpers import assert_changelist_queries_constant
from tests.integrations.factories import ApiCallLogFactory, InboundMessageFactory, OutboundDeliveryFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
CALLS = reverse("admin:integrations_apicalllog_changelist")
MESSAGES = reverse("admin:integrations_inboundmessage_changelist")
DELIVERIES = reverse("admin:integrations_outbounddelivery_changelist")


@pytest.fixture(autouse=True)
def english(client):
    # The messages and titles are compared in the source language; the zh-hans catalogue translates them.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def change_url(obj):
    return reverse(f"admin:integrations_{obj._meta.model_name}_change", args=[obj.pk])


def shown_messages(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def with_orders(factory):
    """make_rows for the query-count check: each row about an order of its own that exists."""

    def make(count):
        return [factory(order_no=OrderFactory().order_no) for _ in range(count)]

    return make


# --- lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "factory"),
    [(CALLS, ApiCallLogFactory), (MESSAGES, InboundMessageFactory), (DELIVERIES, OutboundDeliveryFactory)],
    ids=["calls", "messages", "deliveries"],
)
def test_changelist_queries_do_not_grow_with_the_number_of_rows(client, operator, url, factory):
    # Each row links to its own order: the link must come from the list's own query
    client.force_login(operator)
    assert_changelist_queries_constant(client, url, with_orders(factory))


def test_the_list_links_an_order_we_have_and_shows_an_unknown_one_as_text(client, operator):
    client.force_login(operator)
    order = OrderFactory()
    InboundMessageFactory(order_no=order.order_no)
    InboundMessageFactory(order_no="20991231235959999999")

    content = client.get(MESSAGES).content.decode()

    order_url = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{order_url}">{order.order_no}</a>' in content
    assert "20991231235959999999" in content
    assert "/20991231235959999999" not in content


def test_the_list_shows_the_time_to_the_second_in_beijing_time_and_the_first_line_of_the_error(client, operator):
    client.force_login(operator)
    ApiCallLogFactory(
        created_at=dt.datetime(2026, 11, 21, 2, 3, 4, tzinfo=dt.UTC),
        error="Read timed out.\nTraceback follows",
    )

    content = client.get(CALLS).content.decode()

    assert "2026-11-21 10:03:04" in content
    assert "Read timed out." in content
    assert "Traceback follows</span>" not in content


def test_searches_are_exact_on_serial_and_order_number(client, operator):
    client.force_login(operator)
    by_serial = ApiCallLogFactory(charger_serial="1012377777")
    by_order = ApiCallLogFactory(order_no="20261121100000000042")
    ApiCallLogFactory.create_batch(2)

    assert listed(client.get(CALLS, {"q": "1012377777"})) == {by_serial.pk}
    assert listed(client.get(CALLS, {"q": "20261121100000000042"})) == {by_order.pk}
    assert listed(client.get(CALLS, {"q": "10123777"})) == set()


def test_a_dedupe_key_search_finds_the_message_and_its_duplicates(client, operator):
    client.force_login(operator)
    original = InboundMessageFactory(dedupe_key="start-20261121-0001")
    duplicate = InboundMessageFactory(
        dedupe_key="start-20261121-0001", duplicate_of=original, status=InboundStatus.DUPLICATE
    )
    by_serial = InboundMessageFactory(charger_serial="1012388888")
    InboundMessageFactory.create_batch(2)

    assert listed(client.get(MESSAGES, {"q": "start-20261121-0001"})) == {original.pk, duplicate.pk}
    assert listed(client.get(MESSAGES, {"q": "1012388888"})) == {by_serial.pk}
    assert listed(client.get(MESSAGES, {"q": "start-20261121"})) == set()


def test_a_delivery_is_found_by_its_exact_id(client, operator):
    client.force_login(operator)
    wanted = OutboundDeliveryFactory(key="order-20261121100000000001-settled")
    OutboundDeliveryFactory.create_batch(2)

    assert listed(client.get(DELIVERIES, {"q": "order-20261121100000000001-settled"})) == {wanted.pk}


def test_the_kind_filter_offers_the_kinds_seen_lately_and_filters_by_one(client, operator):
    client.force_login(operator)
    start = InboundMessageFactory(kind="startResult")
    InboundMessageFactory(kind="pileStatus")
    InboundMessageFactory(kind="pileStatus")

    response = client.get(MESSAGES, {"kind": "startResult"})

    specs = response.context["cl"].filter_specs
    kind_filter = next(spec for spec in specs if getattr(spec, "parameter_name", None) == "kind")
    assert [choice for choice, _label in kind_filter.lookup_choices] == ["pileStatus", "startResult"]
    assert listed(response) == {start.pk}


def test_the_status_and_reason_filters_narrow_the_list(client, operator):
    client.force_login(operator)
    rejected = InboundMessageFactory(status=InboundStatus.REJECTED, reject_reason="unknown_charger")
    InboundMessageFactory(status=InboundStatus.FAILED, error="boom")
    InboundMessageFactory()

    response = client.get(MESSAGES, {"status__exact": "rejected", "reject_reason__exact": "unknown_charger"})

    assert listed(response) == {rejected.pk}


# --- a row's page -----------------------------------------------------------------------------------


def test_a_message_page_shows_the_body_indented_with_chinese_as_characters(client, operator):
    client.force_login(operator)
    message = InboundMessageFactory(
        body=json.dumps({"pileNo": "1012300001", "stationName": "南山充电站"}),  # \u escapes on the wire
        reply={"code": 0, "msg": "成功"},
    )

    content = client.get(change_url(message)).content.decode()

    assert "&quot;stationName&quot;: &quot;南山充电站&quot;" in content
    assert "{\n  &quot;pileNo&quot;: &quot;1012300001&quot;,\n" in content
    assert "&quot;msg&quot;: &quot;成功&quot;" in content
    assert "\\u5357" not in content


def test_a_form_encoded_push_is_shown_field_by_field(client, operator):
    client.force_login(operator)
    message = InboundMessageFactory(
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        body="order_id=W123&station=%E5%8D%97%E5%B1%B1&empty=",
    )

    content = client.get(change_url(message)).content.decode()

    assert "&quot;station&quot;: &quot;南山&quot;" in content
    assert "&quot;empty&quot;: &quot;&quot;" in content


def test_a_body_that_is_not_json_is_shown_as_it_came_escaped(client, operator):
    client.force_login(operator)
    call = ApiCallLogFactory(response_body="<html><body>502 Bad Gateway</body></html>")

    content = client.get(change_url(call)).content.decode()

    assert "&lt;html&gt;&lt;body&gt;502 Bad Gateway" in content


def test_a_delivery_page_shows_its_payload_indented(client, operator):
    client.force_login(operator)
    delivery = OutboundDeliveryFactory(payload={"orderNo": "20261121100000000001", "stationName": "南山充电站"})

    content = client.get(change_url(delivery)).content.decode()

    assert "&quot;stationName&quot;: &quot;南山充电站&quot;" in content


def test_a_delivery_page_lists_its_attempts_newest_first_in_beijing_time_and_read_only(client, operator):
    # Given a delivery that failed twice, once without an answer, then was taken
    client.force_login(operator)
    delivery = OutboundDeliveryFactory(status=DeliveryStatus.DELIVERED, attempts=3)
    started = dt.datetime(2026, 11, 21, 2, 3, 4, tzinfo=dt.UTC)
    for number, status, head, error in (
        (1, None, "", "partner notify: no answer in time (ConnectTimeout)"),
        (2, 502, "<html>502 Bad Gateway</html>", "502 Server Error: Bad Gateway"),
        (3, 200, '{"ret": 0}', ""),
    ):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started + dt.timedelta(minutes=number),
            duration_ms=1200 + number,
            succeeded=not error,
            http_status=status,
            response_head=head,
            error=error,
        )

    # When its page is opened
    page = client.get(change_url(delivery))

    # Then its attempts are listed, newest first, with what each got back, and none can be changed
    [attempts] = page.context["inline_admin_formsets"]
    assert [form.original.number for form in attempts] == [3, 2, 1]
    assert not (attempts.has_add_permission or attempts.has_change_permission or attempts.has_delete_permission)
    content = page.content.decode()
    assert "2026-11-21 10:06:04" in content
    assert "2026-11-21 10:04:04" in content
    assert "1202" in content
    assert "&lt;html&gt;502 Bad Gateway&lt;/html&gt;" in content
    assert "502 Server Error: Bad Gateway" in content
    assert "no answer in time (ConnectTimeout)" in content
    assert 'name="attempt_rows-0-DELETE"' not in content


@pytest.mark.parametrize("factory", [InboundMessageFactory, OutboundDeliveryFactory], ids=["message", "delivery"])
def test_the_rows_people_act_on_still_cannot_be_changed_even_by_a_superuser(client, superuser, factory):
    # Given a user who may replay or retry (the change permission)
    client.force_login(superuser)
    row = factory()

    # When the row's page is opened and a change is posted
    page = client.get(change_url(row))
    posted = client.post(change_url(row), {"status": "rejected", "kind": "edited"})

    # Then the page is read-only and the change is refused
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    row.refresh_from_db()
    assert row.kind != "edited"


def test_vendor_tokens_have_no_admin_page():
    assert VendorToken not in admin.site._registry


# --- replay -----------------------------------------------------------------------------------------


def failed_message(**fields):
    return InboundMessageFactory(
        vendor=Counterparty.PARTNER,
        kind="notification_start_charge_result",
        status=InboundStatus.FAILED,
        error="LookupError: unknown charger 1012300009",
        processed_at=None,
        **fields,
    )


def test_an_operator_replays_a_failed_message_and_is_told_it_was_processed(client, operator, partner_processor):
    # Given a push that failed because its charger was missing, which is there now
    message = failed_message()
    client.force_login(operator)

    # When an operator replays it from the list
    response = client.post(MESSAGES, {"action": "replay", "_selected_action": [message.pk]}, follow=True)

    # Then it was processed, the operator is told so, and the history says who did it
    message.refresh_from_db()
    assert message.status == InboundStatus.PROCESSED
    assert message.attempts == 2
    assert partner_processor.seen == [message.body]
    assert shown_messages(response) == [("success", "1 message was processed.")]
    assert LogEntry.objects.get(object_id=str(message.pk)).user == operator


def test_a_replay_that_fails_again_is_reported_with_the_error(client, operator, partner_processor):
    # Given two failed pushes, one of which still cannot be processed
    processed, failing = failed_message(), failed_message()
    partner_processor.failures[failing.body] = LookupError("unknown charger 1012300009")
    client.force_login(operator)

    # When both are replayed
    response = client.post(MESSAGES, {"action": "replay", "_selected_action": [processed.pk, failing.pk]}, follow=True)

    # Then the operator is told of each outcome, the failure with its error
    assert shown_messages(response) == [
        ("success", "1 message was processed."),
        ("error", f"1 message failed again: #{failing.pk}: LookupError: unknown charger 1012300009"),
    ]
    failing.refresh_from_db()
    assert (failing.status, failing.attempts) == (InboundStatus.FAILED, 2)


def test_finance_cannot_replay(client, finance, partner_processor):
    message = failed_message()
    client.force_login(finance)

    response = client.post(MESSAGES, {"action": "replay", "_selected_action": [message.pk]})

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == InboundStatus.FAILED
    assert partner_processor.seen == []


def test_the_replay_action_is_offered_to_operators(client, operator):
    client.force_login(operator)
    InboundMessageFactory()

    response = client.get(MESSAGES)

    assert "replay" in dict(response.context["action_form"].fields["action"].choices)
    # The rows are looked at, not changed, although the change permission is what allows the action
    assert response.context["title"] == "Select inbound message to view"


# --- retry ------------------------------------------------------------------------------------------


@pytest.fixture
def sent():
    keys = []
    delivery_handler_register("test.retry", lambda delivery: keys.append(delivery.key))
    yield keys
    delivery_handler_unregister("test.retry")


def test_an_operator_retries_a_given_up_delivery_and_it_is_sent(
    client, operator, sent, django_capture_on_commit_callbacks
):
    # Given a delivery given up after three days of failures
    dead = OutboundDeliveryFactory(
        kind="test.retry",
        status=DeliveryStatus.DEAD,
        attempts=21,
        last_error="connection refused",
        created_at=dt.datetime.now(BEIJING) - dt.timedelta(days=4),
    )
    client.force_login(operator)

    # When an operator retries it from the list
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [dead.pk]}, follow=True)

    # Then it is sent at once and the operator is told
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DELIVERED
    assert sent == [dead.key]
    assert shown_messages(response) == [("success", "1 delivery will be attempted now.")]


def test_retrying_a_delivered_delivery_is_refused_in_words(client, operator, sent, django_capture_on_commit_callbacks):
    delivered = OutboundDeliveryFactory(kind="test.retry", status=DeliveryStatus.DELIVERED, key="order-7-settled")
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [delivered.pk]}, follow=True)

    assert shown_messages(response) == [
        ("error", "1 delivery was not retried: order-7-settled was already delivered; it is not sent again.")
    ]
    assert sent == []
    assert OutboundDelivery.objects.get(pk=delivered.pk).attempts == 0


def test_finance_cannot_retry(client, finance, sent):
    dead = OutboundDeliveryFactory(kind="test.retry", status=DeliveryStatus.DEAD)
    client.force_login(finance)

    response = client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [dead.pk]})

    assert response.status_code == 403
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD
