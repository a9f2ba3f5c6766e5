"""The device-time rule of vendor news, service by service: older news never overwrites newer."""

import datetime as dt

import pytest

from chargers.models import Charger, Connector, ConnectorStatus
from chargers.services import charger_device_update, connector_status_apply, connector_status_update
from chargers.vendor import ChargerInfo, ConnectorInfo
from tests.chargers.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


def info(*, online=True, status=ConnectorStatus.FREE):
    return ChargerInfo(
        serial="1012300001", online=online, vendor_status="FREE", status=status,
        connectors=(ConnectorInfo(number=1, vendor_status="FREE", status=status),),
    )


def test_an_older_connector_status_does_not_overwrite_a_newer_one():
    connector = ConnectorFactory(number=1)
    connector_status_update(connector=connector, status=ConnectorStatus.CHARGING, vendor_status="CHARGING", at=AT)

    changed = connector_status_update(connector=connector, status=ConnectorStatus.FREE, vendor_status="FREE",
                                      at=AT - dt.timedelta(seconds=1))

    assert not changed
    stored = Connector.objects.get(pk=connector.pk)
    assert (stored.status, stored.status_changed_at) == (ConnectorStatus.CHARGING, AT)


def test_a_status_of_the_same_second_or_later_is_applied():
    connector = ConnectorFactory(number=1)
    connector_status_update(connector=connector, status=ConnectorStatus.CHARGING, vendor_status="CHARGING", at=AT)

    assert connector_status_update(connector=connector, status=ConnectorStatus.OCCUPIED, vendor_status="PARKING",
                                   at=AT)
    assert Connector.objects.get(pk=connector.pk).status == ConnectorStatus.OCCUPIED


def test_an_answer_to_our_own_question_is_applied_without_moving_the_vendors_clock():
    connector = ConnectorFactory(number=1)
    connector_status_update(connector=connector, status=ConnectorStatus.CHARGING, vendor_status="CHARGING", at=AT)

    connector_status_update(connector=connector, status=ConnectorStatus.FREE, vendor_status="FREE", at=None)

    stored = Connector.objects.get(pk=connector.pk)
    assert (stored.status, stored.status_changed_at) == (ConnectorStatus.FREE, AT)


def test_applying_a_status_in_memory_writes_nothing_until_saved():
    connector = ConnectorFactory(number=1, status=ConnectorStatus.FREE)

    assert connector_status_apply(connector=connector, status=ConnectorStatus.FAULT, vendor_status="FAULT", at=AT)

    assert Connector.objects.get(pk=connector.pk).status == ConnectorStatus.FREE


def test_an_older_device_report_does_not_undo_a_newer_one():
    charger = ChargerFactory(serial="1012300001", last_seen_at=None)
    ConnectorFactory(charger=charger, number=1)
    charger_device_update(charger=charger, info=info(online=False, status=ConnectorStatus.OFFLINE), at=AT)

    charger_device_update(charger=charger, info=info(online=True), at=AT - dt.timedelta(minutes=1))

    stored = Charger.objects.get(pk=charger.pk)
    assert (stored.online, stored.last_seen_at) == (False, AT)
    assert stored.connectors.get().status == ConnectorStatus.OFFLINE


@pytest.mark.parametrize("fault_of", ["connector", "charger"])
def test_a_happening_fault_outlasts_a_description_that_says_otherwise_from_any_source(fault_of):
    from tests.chargers.factories import ChargerEventFactory

    connector = ConnectorFactory(number=1, status=ConnectorStatus.FAULT, status_changed_at=None)
    ChargerEventFactory(charger=connector.charger, connector=connector if fault_of == "connector" else None,
                        code="TOMDA_EBIKE_FAULT_ES", state="happening", is_fault=True)

    # A sync from the vendor (no time of its own) and a pushed report both say the connector is free
    charger_device_update(charger=connector.charger, info=info(), at=None)
    charger_device_update(charger=connector.charger, info=info(), at=dt.datetime(2026, 11, 21, 3, tzinfo=dt.UTC))

    connector.refresh_from_db()
    assert (connector.status, connector.vendor_status) == (ConnectorStatus.FAULT, "FREE")


def test_an_event_that_is_no_fault_leaves_the_description_alone():
    from tests.chargers.factories import ChargerEventFactory

    connector = ConnectorFactory(number=1, status=ConnectorStatus.FAULT, status_changed_at=None)
    ChargerEventFactory(charger=connector.charger, connector=connector, code="TOMDA_NOTICE", state="happening",
                        is_fault=False)
    ChargerEventFactory(charger=connector.charger, connector=connector, code="TOMDA_EBIKE_FAULT_ES",
                        state="recovered", is_fault=True)

    charger_device_update(charger=connector.charger, info=info(), at=None)

    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.FREE
