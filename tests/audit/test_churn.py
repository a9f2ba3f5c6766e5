"""History keeps what people edit, not what machines report: a vendor's pushes, a session paying with a card and
a save that changes nothing write no record; an operator's edit writes exactly one."""

import pytest
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from chargers.models import Charger, Connector, ConnectorStatus
from chargers.services import connector_status_update
from orders.models import CardMovementKind, ChargingCard
from orders.services import card_balance_change
from tests.audit.conftest import form_data, records
from tests.chargers.factories import ConnectorFactory
from tests.tariffs.factories import PeriodFactory, TariffTemplateFactory

pytestmark = pytest.mark.django_db


def ok(response):
    assert response.status_code == 200, response.content
    assert response.json()["errorCode"] == "200", response.json()


def history_rows():
    return Charger.history.count(), Connector.history.count()


def device_info(status, first, second):
    """Tomda's DEVICE_INFO of the e-bike charger of tests/integrations/tomda/conftest.py, its two guns as given."""
    return {
        "deviceType": "CHARGER",
        "deviceInfo": {
            "serialNum": "1012300002", "lost": 0, "connectorCount": 2, "chargerStatus": status,
            "chargerDeviceType": "TOMDA_EB10_T1", "chargerDeviceName": "10 路电动单车", "commuType": "GPRS",
            "deviceModel": "EB10", "hardwareVersion": "H2.1", "firmwareVersion": "F3.4.1",
            "connectorInfo": [{"connectorId": "1", "connectorStatus": first},
                              {"connectorId": "2", "connectorStatus": second}],
        },
    }


def fault(status, minute):
    return {
        "serialNum": "1012300002", "eventSource": "CHARGER_PLUG", "connectorId": 1, "eventCount": 1,
        "eventInfo": [{"eventCode": "TOMDA_EBIKE_FAULT_ES", "eventName": "急停",
                       "deviceTime": f"2026-11-21 10:{minute:02d}:00", "eventStatus": status}],
    }


def test_a_vendors_status_pushes_change_chargers_and_connectors_and_write_no_history(push, ebike_charger):
    # Given a Tomda charger with its two connectors free, and their history so far
    before = history_rows()

    # When Tomda reports its state (every minute, for every charger) and a fault comes and goes on a connector
    ok(push("DEVICE_INFO", device_info("CHARGING", "CHARGING", "FREE"), time="2026-11-21 10:00:00"))
    ok(push("EVENT_DATA", fault("HAPPENING", 1)))
    first = ebike_charger.connectors.get(number=1)
    faulty = first.status
    ok(push("EVENT_DATA", fault("RECOVERED", 2)))
    ok(push("DEVICE_INFO", device_info("FREE", "FREE", "CHARGING"), time="2026-11-21 10:03:00"))

    # Then the charger and its connectors changed as Tomda said
    charger = Charger.objects.get(pk=ebike_charger.pk)
    assert (charger.vendor_status, charger.firmware_version) == ("FREE", "F3.4.1")
    assert faulty == ConnectorStatus.FAULT
    assert list(charger.connectors.order_by("number").values_list("status", flat=True)) == [
        ConnectorStatus.FREE, ConnectorStatus.CHARGING,
    ]
    # And not one history record was written for it
    assert history_rows() == before


def test_a_status_saved_by_its_service_costs_the_update_alone(django_assert_num_queries):
    # 50,000 connectors a minute: their saves must not even look at their history
    connector = ConnectorFactory(status=ConnectorStatus.FREE)

    with django_assert_num_queries(1):
        changed = connector_status_update(connector=connector, status=ConnectorStatus.CHARGING, vendor_status="CHARGE",
                                          at=timezone.now())

    assert changed


def test_logging_in_writes_no_history_of_the_user(client, operator):
    count = len(records(operator))

    # axes counts each login by its request; Client.login has none of its own to give.
    assert client.login(request=HttpRequest(), username="operator", password="pw-staff-1234")

    operator.refresh_from_db()
    assert operator.last_login is not None
    assert len(records(operator)) == count


def test_an_operators_edit_of_a_connector_writes_exactly_one_record_with_the_old_and_new_name(client, operator):
    connector = ConnectorFactory(name="1 号枪")
    before = records(connector)
    client.force_login(operator)
    url = reverse("admin:chargers_connector_change", args=[connector.pk])

    response = client.post(url, form_data(client.get(url), name="快充 A 枪"))

    assert response.status_code == 302
    (record,) = records(connector)[len(before):]
    assert record.history_user == operator
    assert (record.prev_record.name, record.name) == ("1 号枪", "快充 A 枪")


def test_a_status_saved_by_a_service_after_an_edit_adds_nothing_to_the_edit(client, operator):
    # Given a connector an operator renamed
    connector = ConnectorFactory(name="1 号枪", status=ConnectorStatus.FREE)
    client.force_login(operator)
    url = reverse("admin:chargers_connector_change", args=[connector.pk])
    client.post(url, form_data(client.get(url), name="快充 A 枪"))
    count = len(records(connector))

    # When its status is saved in full (not only its status fields), as a careless caller would
    connector.refresh_from_db()
    connector.status = ConnectorStatus.CHARGING
    connector.save()

    # Then nothing tracked changed, so nothing was written
    assert len(records(connector)) == count


def test_a_card_paying_and_topped_up_writes_no_card_history_its_movements_are_its_history(finance):
    card = ChargingCard.objects.create(number="C1001", holder="张三")
    count = len(records(card))

    movement = card_balance_change(card=card, amount_fen=5000, kind=CardMovementKind.TOP_UP, note="开卡充值",
                                   by_name=finance.username)

    card.refresh_from_db()
    assert card.balance_fen == 5000 and movement.balance_after_fen == 5000
    assert len(records(card)) == count


def test_saving_a_template_whose_rows_alone_changed_writes_a_record_for_the_row_only(client, operator):
    template = TariffTemplateFactory(name="工作日分时")
    row = PeriodFactory(template=template, position=1, start_minute=0, end_minute=1440, electricity_price_e4=6500)
    counts = len(records(template)), len(records(row))
    client.force_login(operator)
    url = reverse("admin:tariffs_tarifftemplate_change", args=[template.pk])

    response = client.post(url, form_data(client.get(url), **{"details-0-electricity_price_e4": "0.7000"}))

    assert response.status_code == 302
    assert len(records(template)) == counts[0]
    (record,) = records(row)[counts[1]:]
    assert (record.prev_record.electricity_price_e4, record.electricity_price_e4) == (6500, 7000)
    assert record.history_user == operator
