"""The integrations' panel of the admin dashboard: dead letters of the outbox, the inbox's backlog and its
failures, each a count linking to its list, and each count bounded on a table of millions of rows."""

import re

import pytest
from django.urls import reverse

from integrations import dashboard
from integrations.dashboard import integrations_attention
from integrations.models import DeliveryStatus, InboundStatus
from tests.integrations.factories import InboundMessageFactory, OutboundDeliveryFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def given_deliveries_and_pushes():
    OutboundDeliveryFactory.create_batch(2, status=DeliveryStatus.DEAD)
    OutboundDeliveryFactory(status=DeliveryStatus.PENDING)
    InboundMessageFactory.create_batch(3, status=InboundStatus.RECEIVED, processed_at=None)
    InboundMessageFactory(status=InboundStatus.FAILED, error="boom")
    InboundMessageFactory()  # processed


def test_nothing_needs_attention_in_an_empty_inbox_and_outbox():
    attention = integrations_attention()

    assert (attention.dead_deliveries.counted, attention.backlog.waiting, attention.failed_pushes.counted) == (0, 0, 0)
    assert not attention.dead_deliveries and not attention.failed_pushes


def test_dead_letters_waiting_and_failed_pushes_are_counted():
    given_deliveries_and_pushes()

    attention = integrations_attention()

    assert (attention.dead_deliveries.counted, attention.backlog.waiting, attention.failed_pushes.counted) == (2, 3, 1)


def test_a_count_stops_past_its_limit_and_says_more_than(monkeypatch, client, superuser):
    monkeypatch.setattr(dashboard, "COUNT_LIMIT", 1)
    OutboundDeliveryFactory.create_batch(3, status=DeliveryStatus.DEAD)
    client.force_login(superuser)

    attention = integrations_attention()
    content = client.get(INDEX).content.decode()

    assert attention.dead_deliveries.counted == 2 and attention.dead_deliveries.more_than_counted
    assert re.search(r'<tr id="deliveries-dead">.*?<td class="figure alert">&gt; 1</td>', content, re.S)


@pytest.mark.parametrize(("row", "count"), [("deliveries-dead", 2), ("pushes-waiting", 3), ("pushes-failed", 1)])
def test_each_count_links_to_the_list_of_what_it_counts(client, operator, row, count):
    given_deliveries_and_pushes()
    client.force_login(operator)

    content = client.get(INDEX).content.decode()
    match = re.search(rf'<tr id="{row}"><th scope="row"><a href="([^"]+)">.*?<td class="figure[^"]*">(\d+)', content,
                      re.S)
    listed = client.get(match.group(1).replace("&amp;", "&"))

    assert int(match.group(2)) == count
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == count


def test_finance_without_the_integrations_permissions_does_not_see_the_panel(client, finance):
    client.force_login(finance)

    response = client.get(INDEX)

    assert "integrations-attention" not in [p.name for p in response.context["dashboard_panels"]]
    assert 'id="panel-integrations-attention"' not in response.content.decode()
