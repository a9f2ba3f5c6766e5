"""The chargers' panel of the admin dashboard: what needs an operator now, each count a link to its list."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chargers.dashboard import ChargerAttention, chargers_attention
from chargers.models import ConnectorStatus
from tests.chargers.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def given_chargers_in_every_state():
    ChargerFactory.create_batch(2, online=False, status=ConnectorStatus.OFFLINE)
    ChargerFactory(status=ConnectorStatus.FAULT)
    ChargerFactory(station=None)
    ChargerFactory()  # free, placed: nothing to do
    ConnectorFactory.create_batch(3, status=ConnectorStatus.FAULT)
    ConnectorFactory(status=ConnectorStatus.CHARGING)


def test_nothing_needs_attention_without_chargers():
    assert chargers_attention() == ChargerAttention(offline=0, faulty=0, faulty_connectors=0, awaiting_station=0)


def test_offline_faulty_and_unplaced_chargers_are_counted_in_two_queries():
    given_chargers_in_every_state()

    with CaptureQueriesContext(connection) as queries:
        attention = chargers_attention()

    assert attention == ChargerAttention(offline=2, faulty=1, faulty_connectors=3, awaiting_station=1)
    assert len(queries) == 2


@pytest.mark.parametrize(("row", "count"), [("chargers-offline", 2), ("chargers-faulty", 1),
                                            ("connectors-faulty", 3), ("chargers-awaiting-station", 1)])
def test_each_count_links_to_the_list_of_what_it_counts(client, operator, row, count):
    given_chargers_in_every_state()
    client.force_login(operator)

    content = client.get(INDEX).content.decode()
    match = re.search(rf'<tr id="{row}"><th scope="row"><a href="([^"]+)">.*?<td class="figure[^"]*">(\d+)</td>',
                      content, re.S)
    listed = client.get(match.group(1).replace("&amp;", "&"))

    assert int(match.group(2)) == count
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == count


def test_finance_without_the_chargers_permissions_does_not_see_the_panel(client, finance):
    client.force_login(finance)

    response = client.get(INDEX)

    assert "chargers-attention" not in [p.name for p in response.context["dashboard_panels"]]
    assert 'id="panel-chargers-attention"' not in response.content.decode()
