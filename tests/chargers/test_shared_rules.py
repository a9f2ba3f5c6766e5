"""The rules every vendor's pushes share, with no vendor's code involved.

A session's reading moves a connector's status but never ends a fault or an outage, and never
overwrites newer news. A charger's fault events make its connectors faulty while a fault happens and
give them back the status their vendor last reported when none is left. A charger's answer to a
tariff lands on the latest push of that template to it, a late copy changes nothing, and an answer
to a template never sent is refused.
"""

import datetime as dt

import pytest

from chargers.models import (
    ChargerTariffPush,
    Connector,
    ConnectorStatus,
    EventState,
    TariffPushResult,
    Vendor,
)
from chargers.services import (
    charger_tariff_push_answer,
    connector_faults_apply,
    connector_reading_status_apply,
)
from tests.chargers.factories import ChargerEventFactory, ChargerFactory, ConnectorFactory
from tests.tariffs.factories import TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
EARLIER = AT - dt.timedelta(minutes=1)
FAULT_CODE = "WZ_EMERGENCY_STOP"
OTHER_FAULT_CODE = "WZ_OVER_TEMPERATURE"


def wanzhuang_charger(**kwargs):
    return ChargerFactory(vendor=Vendor.WANZHUANG, serial="WZ0000000001", device_type_code="WZ_EV7", **kwargs)


def vendor_mapping(calls):
    """A vendor's reading of its own status words, remembering what it was asked."""
    words = {"IDLE": ConnectorStatus.FREE, "GUN_IN": ConnectorStatus.OCCUPIED}

    def recovered_status(vendor_status):
        calls.append(vendor_status)
        return words[vendor_status]

    return recovered_status


def stored(connector):
    return Connector.objects.get(pk=connector.pk)


# --- a session's reading ----------------------------------------------------------------------------------


def test_a_reading_sets_the_status_it_implies_in_memory_and_keeps_the_vendors_word():
    # Given a free connector whose vendor last said "IDLE"
    connector = ConnectorFactory(
        charger=wanzhuang_charger(),
        number=1,
        status=ConnectorStatus.FREE,
        vendor_status="IDLE",
        status_changed_at=EARLIER,
    )

    # When a reading implying charging arrives
    changed = connector_reading_status_apply(connector=connector, status=ConnectorStatus.CHARGING, at=AT)

    # Then the connector in memory charges since the reading's time, with the vendor's word kept for later
    assert changed
    assert (connector.status, connector.vendor_status, connector.status_changed_at) == (
        ConnectorStatus.CHARGING,
        "IDLE",
        AT,
    )
    # And nothing is written until the caller saves
    assert stored(connector).status == ConnectorStatus.FREE


def test_a_reading_that_implies_no_status_changes_nothing():
    # Given a free connector
    connector = ConnectorFactory(
        charger=wanzhuang_charger(),
        number=1,
        status=ConnectorStatus.FREE,
        vendor_status="IDLE",
        status_changed_at=EARLIER,
    )

    # When a reading implying no status arrives
    changed = connector_reading_status_apply(connector=connector, status=None, at=AT)

    # Then the connector is as it was
    assert not changed
    assert (connector.status, connector.status_changed_at) == (ConnectorStatus.FREE, EARLIER)


@pytest.mark.parametrize("kept", [ConnectorStatus.FAULT, ConnectorStatus.OFFLINE])
def test_a_reading_cannot_end_a_fault_or_an_outage(kept):
    # Given a faulty (or offline) connector
    connector = ConnectorFactory(
        charger=wanzhuang_charger(), number=1, status=kept, vendor_status="IDLE", status_changed_at=EARLIER
    )

    # When a newer reading implying charging arrives
    changed = connector_reading_status_apply(connector=connector, status=ConnectorStatus.CHARGING, at=AT)

    # Then the connector keeps its status and its time
    assert not changed
    assert (connector.status, connector.status_changed_at) == (kept, EARLIER)


def test_a_reading_older_than_the_connectors_status_changes_nothing():
    # Given a connector that became occupied at AT
    connector = ConnectorFactory(
        charger=wanzhuang_charger(),
        number=1,
        status=ConnectorStatus.OCCUPIED,
        vendor_status="GUN_IN",
        status_changed_at=AT,
    )

    # When a reading from a second earlier, implying charging, arrives late
    changed = connector_reading_status_apply(
        connector=connector, status=ConnectorStatus.CHARGING, at=AT - dt.timedelta(seconds=1)
    )

    # Then the newer status stands
    assert not changed
    assert (connector.status, connector.status_changed_at) == (ConnectorStatus.OCCUPIED, AT)


# --- fault events -----------------------------------------------------------------------------------------


def test_a_happening_fault_at_a_connector_makes_that_connector_faulty_and_only_it():
    # Given a charger with two free connectors, and a fault happening at the first
    charger = wanzhuang_charger()
    first = ConnectorFactory(charger=charger, number=1, vendor_status="IDLE", status_changed_at=EARLIER)
    second = ConnectorFactory(charger=charger, number=2, vendor_status="IDLE", status_changed_at=EARLIER)
    ChargerEventFactory(
        charger=charger, connector=first, code=FAULT_CODE, is_fault=True, state=EventState.HAPPENING, device_time=AT
    )

    # When the event's consequences are applied
    connector_faults_apply(charger=charger, connector=first, at=AT, recovered_status=vendor_mapping([]))

    # Then the first connector is stored faulty since the event, with its vendor's word kept
    assert (stored(first).status, stored(first).vendor_status, stored(first).status_changed_at) == (
        ConnectorStatus.FAULT,
        "IDLE",
        AT,
    )
    # And the second is still free
    assert stored(second).status == ConnectorStatus.FREE


def test_a_happening_fault_of_the_whole_charger_makes_every_connector_faulty():
    # Given a charger with a free and a charging connector, and a fault of the whole charger happening
    charger = wanzhuang_charger()
    first = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FREE, vendor_status="IDLE")
    second = ConnectorFactory(charger=charger, number=2, status=ConnectorStatus.CHARGING, vendor_status="GUN_IN")
    ChargerEventFactory(
        charger=charger, connector=None, code=FAULT_CODE, is_fault=True, state=EventState.HAPPENING, device_time=AT
    )

    # When the charger-wide event's consequences are applied
    connector_faults_apply(charger=charger, connector=None, at=AT, recovered_status=vendor_mapping([]))

    # Then both connectors are faulty
    assert [stored(first).status, stored(second).status] == [ConnectorStatus.FAULT, ConnectorStatus.FAULT]


def test_an_event_that_is_not_a_fault_leaves_the_connector_alone():
    # Given a free connector with an alarm (not a fault) happening at it
    charger = wanzhuang_charger()
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FREE, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger,
        connector=connector,
        code="WZ_DOOR_OPEN",
        is_fault=False,
        state=EventState.HAPPENING,
        device_time=AT,
    )

    # When the event's consequences are applied
    connector_faults_apply(charger=charger, connector=connector, at=AT, recovered_status=vendor_mapping([]))

    # Then the connector is still free
    assert stored(connector).status == ConnectorStatus.FREE


def test_when_its_last_fault_recovers_a_connector_takes_the_status_its_vendor_last_reported():
    # Given a faulty connector whose vendor last said "GUN_IN", and its fault's latest event says recovered
    charger = wanzhuang_charger()
    connector = ConnectorFactory(
        charger=charger,
        number=1,
        status=ConnectorStatus.FAULT,
        vendor_status="GUN_IN",
        status_changed_at=AT - dt.timedelta(minutes=5),
    )
    ChargerEventFactory(
        charger=charger,
        connector=connector,
        code=FAULT_CODE,
        is_fault=True,
        state=EventState.HAPPENING,
        device_time=AT - dt.timedelta(minutes=5),
    )
    ChargerEventFactory(
        charger=charger, connector=connector, code=FAULT_CODE, is_fault=True, state=EventState.RECOVERED, device_time=AT
    )
    asked = []

    # When the recovery's consequences are applied
    connector_faults_apply(charger=charger, connector=connector, at=AT, recovered_status=vendor_mapping(asked))

    # Then the vendor's mapping was asked about its last word, and the connector takes its answer at AT
    assert asked == ["GUN_IN"]
    assert (stored(connector).status, stored(connector).status_changed_at) == (ConnectorStatus.OCCUPIED, AT)


def test_a_fault_that_happens_again_after_recovering_is_still_open():
    # Given a fault that recovered and then happened again
    charger = wanzhuang_charger()
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FREE, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger,
        connector=connector,
        code=FAULT_CODE,
        is_fault=True,
        state=EventState.RECOVERED,
        device_time=EARLIER,
    )
    ChargerEventFactory(
        charger=charger, connector=connector, code=FAULT_CODE, is_fault=True, state=EventState.HAPPENING, device_time=AT
    )

    # When the events' consequences are applied
    connector_faults_apply(charger=charger, connector=connector, at=AT, recovered_status=vendor_mapping([]))

    # Then the latest event decides: the connector is faulty
    assert stored(connector).status == ConnectorStatus.FAULT


def test_a_connector_stays_faulty_while_another_of_its_faults_happens():
    # Given a faulty connector with one fault recovered and another still happening
    charger = wanzhuang_charger()
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FAULT, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger,
        connector=connector,
        code=OTHER_FAULT_CODE,
        is_fault=True,
        state=EventState.HAPPENING,
        device_time=AT - dt.timedelta(minutes=5),
    )
    ChargerEventFactory(
        charger=charger, connector=connector, code=FAULT_CODE, is_fault=True, state=EventState.RECOVERED, device_time=AT
    )

    # When the recovery's consequences are applied
    connector_faults_apply(charger=charger, connector=connector, at=AT, recovered_status=vendor_mapping([]))

    # Then the connector is still faulty
    assert stored(connector).status == ConnectorStatus.FAULT


def test_a_connector_stays_faulty_while_a_fault_of_its_whole_charger_happens():
    # Given a faulty connector whose own fault recovered while a fault of the whole charger still happens
    charger = wanzhuang_charger()
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FAULT, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger,
        connector=None,
        code=OTHER_FAULT_CODE,
        is_fault=True,
        state=EventState.HAPPENING,
        device_time=AT - dt.timedelta(minutes=5),
    )
    ChargerEventFactory(
        charger=charger, connector=connector, code=FAULT_CODE, is_fault=True, state=EventState.RECOVERED, device_time=AT
    )

    # When the connector's recovery is applied
    connector_faults_apply(charger=charger, connector=connector, at=AT, recovered_status=vendor_mapping([]))

    # Then the connector is still faulty
    assert stored(connector).status == ConnectorStatus.FAULT


def test_when_a_fault_of_the_whole_charger_recovers_only_connectors_without_their_own_fault_recover():
    # Given two faulty connectors after a charger-wide fault, the second also with a fault of its own
    charger = wanzhuang_charger()
    first = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FAULT, vendor_status="IDLE")
    second = ConnectorFactory(charger=charger, number=2, status=ConnectorStatus.FAULT, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger,
        connector=second,
        code=OTHER_FAULT_CODE,
        is_fault=True,
        state=EventState.HAPPENING,
        device_time=AT - dt.timedelta(minutes=5),
    )
    ChargerEventFactory(
        charger=charger,
        connector=None,
        code=FAULT_CODE,
        is_fault=True,
        state=EventState.HAPPENING,
        device_time=AT - dt.timedelta(minutes=5),
    )
    ChargerEventFactory(
        charger=charger, connector=None, code=FAULT_CODE, is_fault=True, state=EventState.RECOVERED, device_time=AT
    )

    # When the charger-wide recovery is applied
    connector_faults_apply(charger=charger, connector=None, at=AT, recovered_status=vendor_mapping([]))

    # Then the first connector is free again and the second is still faulty
    assert [stored(first).status, stored(second).status] == [ConnectorStatus.FREE, ConnectorStatus.FAULT]


def test_a_recovery_leaves_a_connector_that_is_not_faulty_as_it_is():
    # Given a charging connector (its vendor's last word "IDLE") and a charger-wide fault that recovered
    charger = wanzhuang_charger()
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.CHARGING, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger, connector=None, code=FAULT_CODE, is_fault=True, state=EventState.RECOVERED, device_time=AT
    )
    asked = []

    # When the charger-wide recovery is applied
    connector_faults_apply(charger=charger, connector=None, at=AT, recovered_status=vendor_mapping(asked))

    # Then the connector still charges and the vendor's mapping was not asked
    assert stored(connector).status == ConnectorStatus.CHARGING
    assert asked == []


def test_an_event_at_one_connector_does_not_recover_another():
    # Given two faulty connectors with no fault happening anywhere
    charger = wanzhuang_charger()
    first = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FAULT, vendor_status="IDLE")
    second = ConnectorFactory(charger=charger, number=2, status=ConnectorStatus.FAULT, vendor_status="IDLE")
    ChargerEventFactory(
        charger=charger, connector=first, code=FAULT_CODE, is_fault=True, state=EventState.RECOVERED, device_time=AT
    )

    # When the first connector's recovery is applied
    connector_faults_apply(charger=charger, connector=first, at=AT, recovered_status=vendor_mapping([]))

    # Then only the first recovers; the second waits for news of its own
    assert [stored(first).status, stored(second).status] == [ConnectorStatus.FREE, ConnectorStatus.FAULT]


def test_a_fault_of_another_charger_does_not_count():
    # Given a free connector, and a charger-wide fault happening on another charger
    charger = wanzhuang_charger()
    connector = ConnectorFactory(charger=charger, number=1, status=ConnectorStatus.FREE, vendor_status="IDLE")
    ChargerEventFactory(
        charger=ChargerFactory(vendor=Vendor.WANZHUANG, serial="WZ0000000002"),
        connector=None,
        code=FAULT_CODE,
        is_fault=True,
        state=EventState.HAPPENING,
        device_time=AT,
    )

    # When this charger's events are applied
    connector_faults_apply(charger=charger, connector=None, at=AT, recovered_status=vendor_mapping([]))

    # Then its connector is still free
    assert stored(connector).status == ConnectorStatus.FREE


# --- a charger's answer to a tariff -----------------------------------------------------------------------


def push(charger, version, *, minutes_before, **kwargs):
    return ChargerTariffPush.objects.create(
        charger=charger, tariff_version=version, requested_at=AT - dt.timedelta(minutes=minutes_before), **kwargs
    )


@pytest.mark.parametrize(("accepted", "result"), [(True, TariffPushResult.ACCEPTED), (False, TariffPushResult.REFUSED)])
def test_a_chargers_answer_is_recorded_on_the_push_of_the_template_it_names(accepted, result):
    # Given a version of template WZ-T1 sent to the charger
    charger = wanzhuang_charger()
    sent = push(charger, TariffVersionFactory(template=TariffTemplateFactory(external_id="WZ-T1")), minutes_before=1)

    # When the charger answers about WZ-T1
    answered = charger_tariff_push_answer(charger=charger, template_external_id="WZ-T1", accepted=accepted, at=AT)

    # Then the push is stored with the answer and its time
    assert answered.pk == sent.pk
    sent.refresh_from_db()
    assert (sent.result, sent.answered_at) == (result, AT)


def test_an_answer_lands_on_the_latest_push_of_the_templates_versions_to_that_charger():
    # Given version 1 of WZ-T1 sent to the charger, then version 2, then another template,
    # and version 2 sent to another charger afterwards
    charger = wanzhuang_charger()
    template = TariffTemplateFactory(external_id="WZ-T1")
    first_version, second_version = TariffVersionFactory(template=template), TariffVersionFactory(template=template)
    older = push(charger, first_version, minutes_before=10)
    latest = push(charger, second_version, minutes_before=5)
    other_template = push(
        charger, TariffVersionFactory(template=TariffTemplateFactory(external_id="WZ-T2")), minutes_before=1
    )
    other_charger = push(
        ChargerFactory(vendor=Vendor.WANZHUANG, serial="WZ0000000002"), second_version, minutes_before=1
    )

    # When the charger accepts WZ-T1
    charger_tariff_push_answer(charger=charger, template_external_id="WZ-T1", accepted=True, at=AT)

    # Then only its latest push of WZ-T1 is accepted
    results = {row.pk: row.result for row in ChargerTariffPush.objects.all()}
    assert results == {
        older.pk: TariffPushResult.PENDING,
        latest.pk: TariffPushResult.ACCEPTED,
        other_template.pk: TariffPushResult.PENDING,
        other_charger.pk: TariffPushResult.PENDING,
    }


def test_a_later_answer_replaces_an_earlier_one():
    # Given a push the charger refused a minute before AT
    charger = wanzhuang_charger()
    sent = push(
        charger,
        TariffVersionFactory(template=TariffTemplateFactory(external_id="WZ-T1")),
        minutes_before=5,
        result=TariffPushResult.REFUSED,
        answered_at=EARLIER,
    )

    # When the charger accepts it at AT
    charger_tariff_push_answer(charger=charger, template_external_id="WZ-T1", accepted=True, at=AT)

    # Then the acceptance stands
    sent.refresh_from_db()
    assert (sent.result, sent.answered_at) == (TariffPushResult.ACCEPTED, AT)


def test_an_answer_older_than_the_recorded_one_changes_nothing():
    # Given a push the charger accepted at AT
    charger = wanzhuang_charger()
    sent = push(
        charger,
        TariffVersionFactory(template=TariffTemplateFactory(external_id="WZ-T1")),
        minutes_before=5,
        result=TariffPushResult.ACCEPTED,
        answered_at=AT,
    )

    # When a late copy of an earlier refusal arrives
    returned = charger_tariff_push_answer(
        charger=charger, template_external_id="WZ-T1", accepted=False, at=AT - dt.timedelta(seconds=30)
    )

    # Then the push is returned unchanged
    assert returned.pk == sent.pk
    sent.refresh_from_db()
    assert (sent.result, sent.answered_at) == (TariffPushResult.ACCEPTED, AT)


def test_an_answer_about_a_template_never_sent_to_the_charger_is_refused_naming_both():
    # Given WZ-T1 sent to another charger only
    charger = wanzhuang_charger()
    push(
        ChargerFactory(vendor=Vendor.WANZHUANG, serial="WZ0000000002"),
        TariffVersionFactory(template=TariffTemplateFactory(external_id="WZ-T1")),
        minutes_before=1,
    )

    # When the charger answers about WZ-T1
    # Then it is refused, naming the template and the charger
    with pytest.raises(ChargerTariffPush.DoesNotExist) as refused:
        charger_tariff_push_answer(charger=charger, template_external_id="WZ-T1", accepted=True, at=AT)
    assert "WZ-T1" in str(refused.value)
    assert "WZ0000000001" in str(refused.value)
    assert ChargerTariffPush.objects.get().result == TariffPushResult.PENDING
