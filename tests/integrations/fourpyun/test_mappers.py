"""Every table of ours in 4pyun's appendix codes, whole: each of our values has a code, and each code is one 4pyun
lists (doc.4pyun.com/openapi/appendix.html)."""

from datetime import UTC, datetime, timedelta, timezone

from chargers.models import Charger, ConnectorStatus, CurrentType, ParkingStatus
from integrations.fourpyun import mappers
from tariffs.models import VehicleKind

DEVICE_TYPES = {0, 1}
ENERGY_CODES = {"CN_AC", "CN_DC"}
DEVICE_STATES = {1, -1, -2}
PORT_STATES = {1, 2, 3, -1}
SPACE_STATUSES = {-1, 1, 2}


def test_every_vehicle_kind_and_current_has_a_code_of_the_appendix():
    assert set(mappers.DEVICE_TYPE) == set(VehicleKind.values)
    assert set(mappers.DEVICE_TYPE.values()) == DEVICE_TYPES
    assert set(mappers.ENERGY_CODE) == set(CurrentType.values)
    assert set(mappers.ENERGY_CODE.values()) == ENERGY_CODES
    assert mappers.ENERGY_CODE[CurrentType.AC_DC] == "CN_DC"


def test_every_connector_status_has_a_port_state_and_every_parking_status_a_space_status():
    assert set(mappers.PORT_STATE) == set(ConnectorStatus.values)
    assert {state for state, _desc in mappers.PORT_STATE.values()} == PORT_STATES
    assert all(desc for _state, desc in mappers.PORT_STATE.values())
    assert set(mappers.SPACE_STATUS) == set(ParkingStatus.values)
    assert set(mappers.SPACE_STATUS.values()) <= SPACE_STATUSES


def test_a_device_state_is_offline_faulty_or_available():
    assert set(mappers.DEVICE_STATE_DESC) == DEVICE_STATES
    assert mappers.device_state(Charger(online=False, status=ConnectorStatus.FREE)) == -2
    assert mappers.device_state(Charger(online=True, status=ConnectorStatus.OFFLINE)) == -2
    assert mappers.device_state(Charger(online=True, status=ConnectorStatus.FAULT)) == -1
    for status in (ConnectorStatus.FREE, ConnectorStatus.CHARGING, ConnectorStatus.OCCUPIED):
        assert mappers.device_state(Charger(online=True, status=status)) == 1


def test_times_are_utc_with_milliseconds_as_4pyun_writes_them():
    beijing = timezone(timedelta(hours=8))
    assert mappers.utc_time(datetime(2025, 9, 17, 14, 14, 8, 320999, tzinfo=beijing)) == "2025-09-17T06:14:08.320Z"
    assert mappers.utc_time(datetime(2024, 4, 14, 16, 0, tzinfo=UTC)) == "2024-04-14T16:00:00.000Z"
