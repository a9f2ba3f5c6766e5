"""Tomda's appendices mapped to our vocabulary: every code of each table has a home."""

import datetime as dt

import pytest

from chargers.models import ConnectorStatus
from integrations.tomda import mappers
from orders.models import CloseReason, OrderStatus

# The tables as the spec prints them (appendices 2, 3, 6, 7).
APPENDIX_2 = ["FREE", "BOOKED", "CHARGING", "PARKING", "MAINTAIN", "FAULT"]
APPENDIX_3 = ["BOOKED", "CHARGE", "PARK", "FINISH", "CLOSED", "WAIT_PAY"]
APPENDIX_6 = ["TOMDA_EB10_T1", "TOMDA_EB10_T2", "TOMDA_EV7K_T3", "TOMDA_EV7K_T4", "TOMDA_EB10_T5",
              "TOMDA_EV14K_T6", "TOMDA_EB10_T7"]
APPENDIX_7 = ["EBIKE_DEAUTHORIZED", "EBIKE_LOCAL", "EBIKE_ENERGYLIMITREACHED", "EBIKE_EVDISCONNECTED",
              "EBIKE_GROUNDFAULT", "EBIKE_OVERCURRRENDFAULT", "EBIKE_POWERLOSS", "EBIKE_POWERQUALITY",
              "EBIKE_REMOTE", "EBIKE_TIMELIMITREACHED", "EBIKE_TIMEOUT", "EBIKE_SOCLIMITREACHED",
              "EBIKE_IMMEDIATERESET"]


def test_every_device_status_maps_and_nothing_else():
    assert sorted(mappers.DEVICE_STATUS) == sorted(APPENDIX_2)
    assert set(mappers.DEVICE_STATUS.values()) <= set(ConnectorStatus.values)
    assert mappers.device_status("SOMETHING_NEW") == ConnectorStatus.UNKNOWN


def test_every_order_status_maps_to_one_of_ours():
    assert sorted(mappers.ORDER_STATUS) == sorted(APPENDIX_3)
    assert set(mappers.ORDER_STATUS.values()) <= set(OrderStatus.values)
    assert mappers.order_status("CHARGE") == OrderStatus.CHARGING


def test_every_close_type_maps_with_tomdas_words():
    assert sorted(mappers.CLOSE_TYPES) == sorted(APPENDIX_7)
    for reason, words in mappers.CLOSE_TYPES.values():
        assert reason in CloseReason.values and words
    assert mappers.close_reason("NEW_TYPE") == (CloseReason.OTHER, "NEW_TYPE")


def test_every_device_type_has_a_vehicle_kind():
    assert sorted(mappers.DEVICE_TYPES) == sorted(APPENDIX_6)
    assert {kind for kind, _current, _power in mappers.DEVICE_TYPES.values()} == {"ev", "ebike"}


def test_times_are_beijing_local_on_the_wire():
    moment = mappers.parse_time("2026-11-21 08:30:00", field="t")

    assert moment == dt.datetime(2026, 11, 21, 0, 30, tzinfo=dt.UTC)
    assert mappers.format_time(moment) == "2026-11-21 08:30:00"
    with pytest.raises(mappers.MappingError, match="'2026/11/21'"):
        mappers.parse_time("2026/11/21", field="t")
    # exactly the form, two digits a field, as the schema's pattern says
    for loose in ("2026-11-21 8:30:00", " 2026-11-21 08:30:00", "2026-11-21 08:30:00\n"):
        with pytest.raises(mappers.MappingError):
            mappers.parse_time(loose, field="t")


@pytest.mark.parametrize(("wire", "ours"), [(None, 1), ("", 1), (0, 1), ("0", 1), (1, 1), (2, 2)])
def test_single_gun_chargers_send_zero_or_nothing(wire, ours):
    assert mappers.connector_number(wire) == ours


@pytest.mark.parametrize(
    ("strategy", "param", "wire"),
    [("time", 120, (1, 120)), ("amount", 500, (2, 500)), ("energy", 20_000, (3, 20)), ("full", 99, (4, 0))],
)
def test_strategies_and_their_units(strategy, param, wire):
    assert mappers.strategy_parameters(strategy, param) == wire


def test_an_energy_limit_tomda_cannot_carry_is_refused():
    with pytest.raises(mappers.MappingError, match="1500 Wh"):
        mappers.strategy_parameters("energy", 1500)


def test_a_charger_without_connector_list_gets_its_counted_connectors():
    info = mappers.charger_info({"serialNum": "X", "lost": 1, "connectorCount": 2, "chargerStatus": "FREE"})

    assert not info.online
    assert [c.number for c in info.connectors] == [1, 2]
