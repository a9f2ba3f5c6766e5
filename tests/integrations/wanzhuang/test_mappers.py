"""Wanzhuang's tables mapped to our vocabulary, every code against the research notes (vendors.md §3): port states
0–25 and their start rules for e-bike devices and car piles, stop reasons 0–50, device records, charge ids."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.utils.translation import override

from chargers.models import ConnectorStatus, CurrentType
from integrations.values import MappingError
from integrations.wanzhuang import constants, mappers
from integrations.wanzhuang.mappers import StartRule
from orders.models import CloseReason, OrderStatus
from tariffs.models import VehicleKind

# --- the research notes' tables, as vendors.md §3.2 and §3.3 print them --------------------------------

PORT_STATE_TABLE = (
    "0 空闲 · 1 连接 · 2 充电中 · 3 暂停 · 4 断开连接 · 5 充电结束 · 6 故障 · 7 测试 · 8 高温暂停 · 9 低温暂停 · "
    "10 超整机功率暂停 · 11 过压暂停 · 12 低压暂停 · 13 按键支付暂停 · 14 烟感报警暂停 · 15 自检 · 16 就绪 · 17 急停 · "
    "18 漏电自检失败 · 19 充电完成等待断开 · 20 CP故障 · 21 接地故障 · 22 输出故障 · 23 预约等待启动 · 24 保险丝熔断 · "
    "25 继电器粘连."
)
STOP_REASON_TABLE = (
    "0 充电超时 1 金额用完 2 充电完成 3 用户退费 4 插头拔掉 5 低温 6 高温 7 功率异常 8 机器故障 9 电网异常 "
    "10 漏电 11 定时关电 12 服务器下发 13 无可用端口 14 支付超时 15 按键停止 16 短路 17 低功率因数 "
    "18 电网过压 19 电网低压 20 电网频率异常 21 烟雾 22 时间用完 23 时间模式最高功率 24 整机最高功率 "
    "25 最大充电时间 26 设置端口故障 27 最大浮充时间 28 断路 29 保险丝熔断 30 充电器异常 "
    "31 功率模式最高功率 32 测试 33 断电重启/插座无功率 34 不支持的模式 35 暂停供电超时 "
    "36 CP就绪超时 37 CP断开 38 CP异常 39 启动充电超时 40 急停 41 双击枪头按钮 42 接地故障 43 输出异常 44 过流保护 "
    "45 采样通信故障 46 供电接口过流 47 达到上限电量 48 超过电量模式上限功率 49 设置错误 50 切换充电模式."
)


def numbered(table: str) -> dict[int, str]:
    """`0 空闲 · 1 连接 ...` (or without the dots) as {0: "空闲", 1: "连接", ...}."""
    pairs = re.findall(r"(\d+) ([^\s·]+?)(?=\s*(?:·|\s\d+ |\.$))", table.strip())
    return {int(code): name for code, name in pairs}


RESEARCH_PORT_STATES = numbered(PORT_STATE_TABLE)
RESEARCH_STOP_REASONS = numbered(STOP_REASON_TABLE)


def test_the_typed_copies_hold_every_code_of_the_notes():
    assert sorted(RESEARCH_PORT_STATES) == list(range(26))
    assert sorted(RESEARCH_STOP_REASONS) == list(range(51))
    assert RESEARCH_PORT_STATES[19] == "充电完成等待断开" and RESEARCH_STOP_REASONS[33] == "断电重启/插座无功率"


# --- port states ---------------------------------------------------------------------------------------

S = ConnectorStatus
# What each state means for the connector: a paused session still holds its port (charging).
EXPECTED_CONNECTOR_STATUS = {
    0: S.FREE, 1: S.OCCUPIED, 2: S.CHARGING, 3: S.CHARGING, 4: S.OCCUPIED, 5: S.OCCUPIED, 6: S.FAULT,
    7: S.MAINTENANCE, 8: S.CHARGING, 9: S.CHARGING, 10: S.CHARGING, 11: S.CHARGING, 12: S.CHARGING,
    13: S.CHARGING, 14: S.CHARGING, 15: S.MAINTENANCE, 16: S.OCCUPIED, 17: S.FAULT, 18: S.FAULT,
    19: S.OCCUPIED, 20: S.FAULT, 21: S.FAULT, 22: S.FAULT, 23: S.BOOKED, 24: S.FAULT, 25: S.FAULT,
}
FAULT_STATES = {6, 17, 18, 20, 21, 22, 24, 25}


def test_every_port_state_has_the_research_name():
    assert {state: name for state, (name, _status) in mappers.PORT_STATES.items()} == RESEARCH_PORT_STATES


@pytest.mark.parametrize("state", range(26))
def test_every_port_state_has_a_connector_status(state):
    status = mappers.connector_status(state)

    assert status in ConnectorStatus.values
    assert status == EXPECTED_CONNECTOR_STATUS[state]
    assert mappers.state_name(state) == RESEARCH_PORT_STATES[state]


def test_a_state_outside_the_table_is_unknown():
    assert mappers.connector_status(26) == ConnectorStatus.UNKNOWN
    with override("en"):
        assert mappers.state_name(99) == "unknown state"


@pytest.mark.parametrize(("value", "state"), [("0", 0), (25, 25), ("7", 7)])
def test_a_port_state_is_read_from_text_or_number(value, state):
    assert mappers.port_state({"state": value}) == state


@pytest.mark.parametrize("value", ["26", "-1", "x", "", None, "2.5", 256])
def test_a_port_state_outside_0_to_25_is_refused_naming_the_field(value):
    with pytest.raises(MappingError, match="state"):
        mappers.port_state({"state": value})


# --- a port's state as the news of its session ---------------------------------------------------------

SESSION_CHARGING = {2, 3, 8, 9, 10, 11, 12, 13, 14}
SESSION_FINISHED = {0, 4, 5, 19}


@pytest.mark.parametrize("state", range(26))
def test_the_session_status_every_port_state_gives(state):
    status = mappers.session_status(state)

    if state in SESSION_CHARGING:
        assert status == OrderStatus.CHARGING
    elif state in SESSION_FINISHED:
        assert status == OrderStatus.FINISHED
    else:  # waiting (a plug, a self-test, a booking) or faulty: no news of the session's progress
        assert status == OrderStatus.STARTING


def test_the_session_states_are_these_and_only_these():
    by_status = {}
    for state in range(26):
        by_status.setdefault(mappers.session_status(state), set()).add(state)

    assert by_status == {
        OrderStatus.CHARGING: SESSION_CHARGING,
        OrderStatus.FINISHED: SESSION_FINISHED,
        OrderStatus.STARTING: {1, 6, 7, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25},
    }


@pytest.mark.parametrize("state", [26, 99, -1])
def test_a_state_outside_the_table_says_nothing_of_the_session(state):
    assert mappers.session_status(state) == OrderStatus.STARTING


# --- start rules ---------------------------------------------------------------------------------------

R = StartRule
# The generic rule (e-bike devices): start on 0, 1 and 5; continue on 2 with the same charge_id; nothing else.
EBIKE_STARTS, EBIKE_CONTINUES = {0, 1, 5}, {2}
# Car piles, the document's own column.
CAR_STARTS = {1}
CAR_CONTINUES = {2, 3, 8, 9, 10, 11, 12, 13, 14, 16}
CAR_PLUG_IN = {0, 15}
CAR_UNPLUG = {4, 5, 19}
EBIKE_TYPES = [0, 1, 2, 3, 4, 5, 6, 8]
CAR_TYPES = [12, 13]


def expected_car_rule(state: int) -> StartRule:
    if state in CAR_STARTS:
        return R.START
    if state in CAR_CONTINUES:
        return R.CONTINUE
    if state in CAR_PLUG_IN:
        return R.PLUG_IN
    if state in CAR_UNPLUG:
        return R.UNPLUG
    return R.FAULT


def test_the_rule_tables_cover_every_state():
    assert sorted(mappers.EBIKE_START_RULES) == list(range(26))
    assert sorted(mappers.CAR_START_RULES) == list(range(26))


@pytest.mark.parametrize("device_type", EBIKE_TYPES)
@pytest.mark.parametrize("state", range(26))
def test_the_start_rule_of_every_state_of_an_ebike_device(device_type, state):
    rule = mappers.start_rule(device_type=device_type, state=state)

    if state in EBIKE_STARTS:
        assert rule is R.START
    elif state in EBIKE_CONTINUES:
        assert rule is R.CONTINUE
    elif state in FAULT_STATES:
        assert rule is R.FAULT
    else:
        assert rule in (R.BUSY, R.PLUG_IN, R.UNPLUG)  # a refusal, with the driver's next step where there is one


@pytest.mark.parametrize("device_type", CAR_TYPES)
@pytest.mark.parametrize("state", range(26))
def test_the_start_rule_of_every_state_of_a_car_pile(device_type, state):
    assert mappers.start_rule(device_type=device_type, state=state) is expected_car_rule(state)


def test_the_driver_is_told_to_plug_in_or_unplug_on_an_ebike_port_where_that_helps():
    assert mappers.EBIKE_START_RULES[4] is R.PLUG_IN  # 断开连接
    assert mappers.EBIKE_START_RULES[19] is R.UNPLUG  # 充电完成等待断开
    assert {state for state, rule in mappers.EBIKE_START_RULES.items() if rule is R.BUSY} == {
        3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 23}


@pytest.mark.parametrize("device_type", [None, 7, 99])
def test_a_device_of_no_known_type_takes_the_generic_rule(device_type):
    assert mappers.start_rule(device_type=device_type, state=5) is R.START
    assert mappers.start_rule(device_type=device_type, state=3) is R.BUSY


@pytest.mark.parametrize("device_type", [2, 13])
def test_a_state_outside_the_table_is_a_fault(device_type):
    assert mappers.start_rule(device_type=device_type, state=26) is R.FAULT


def refusal(device_type, state, *, port_charge_id=0, charge_id=261121100000000001):
    with override("en"):
        return mappers.start_refusal(device_type=device_type, state=state, port_charge_id=port_charge_id,
                                     charge_id=charge_id, serial="19285526", port=3)


# The words of each refusal, in English.
WORDS = {
    R.CONTINUE: "in use by another session",
    R.PLUG_IN: "waits for a plug",
    R.UNPLUG: "must be unplugged first",
    R.BUSY: "cannot start now",
    R.FAULT: "is faulty",
}


@pytest.mark.parametrize(("device_type", "rules"), [(2, mappers.EBIKE_START_RULES), (13, mappers.CAR_START_RULES)])
@pytest.mark.parametrize("state", range(26))
def test_start_refusal_says_each_case_naming_port_device_and_state(device_type, rules, state):
    rule = rules[state]

    message = refusal(device_type, state)

    if rule is R.START:
        assert message is None
    else:
        assert WORDS[rule] in message
        assert "Port 3 of 19285526" in message
        assert f"state {state} {RESEARCH_PORT_STATES[state]}" in message


@pytest.mark.parametrize(("device_type", "state"), [(2, 2), (13, 2), (13, 3), (13, 16)])
def test_a_continuing_state_takes_only_the_session_already_on_the_port(device_type, state):
    ours = 261121100000000001

    assert refusal(device_type, state, port_charge_id=ours, charge_id=ours) is None
    assert WORDS[R.CONTINUE] in refusal(device_type, state, port_charge_id=ours + 1, charge_id=ours)
    assert WORDS[R.CONTINUE] in refusal(device_type, state, port_charge_id=0, charge_id=ours)


def test_a_paused_ebike_port_refuses_even_its_own_session():
    ours = 261121100000000001

    assert WORDS[R.BUSY] in refusal(2, 3, port_charge_id=ours, charge_id=ours)


def test_start_refusal_names_the_device_and_wanzhuangs_state_in_any_language():
    message = mappers.start_refusal(device_type=2, state=6, port_charge_id=0, charge_id=1, serial="19285526",
                                    port=3)

    assert "19285526" in message and "6 故障" in message


# --- stop reasons --------------------------------------------------------------------------------------

C = CloseReason
# Our close reason of each stop reason.
EXPECTED_CLOSE_REASONS = {
    0: C.TIME_REACHED, 1: C.AMOUNT_REACHED, 2: C.FULL, 3: C.USER_STOP, 4: C.UNPLUGGED, 5: C.DEVICE_FAULT,
    6: C.DEVICE_FAULT, 7: C.DEVICE_FAULT, 8: C.DEVICE_FAULT, 9: C.POWER_LOSS, 10: C.DEVICE_FAULT,
    11: C.TIME_REACHED, 12: C.REMOTE_STOP, 13: C.OTHER, 14: C.OTHER, 15: C.USER_STOP, 16: C.DEVICE_FAULT,
    17: C.DEVICE_FAULT, 18: C.POWER_LOSS, 19: C.POWER_LOSS, 20: C.POWER_LOSS, 21: C.DEVICE_FAULT,
    22: C.TIME_REACHED, 23: C.OTHER, 24: C.OTHER, 25: C.TIME_REACHED, 26: C.REMOTE_STOP, 27: C.FULL,
    28: C.DEVICE_FAULT, 29: C.DEVICE_FAULT, 30: C.DEVICE_FAULT, 31: C.OTHER, 32: C.OTHER, 33: C.POWER_LOSS,
    34: C.OTHER, 35: C.OTHER, 36: C.START_TIMEOUT, 37: C.UNPLUGGED, 38: C.DEVICE_FAULT, 39: C.START_TIMEOUT,
    40: C.USER_STOP, 41: C.USER_STOP, 42: C.DEVICE_FAULT, 43: C.DEVICE_FAULT, 44: C.DEVICE_FAULT,
    45: C.DEVICE_FAULT, 46: C.DEVICE_FAULT, 47: C.ENERGY_REACHED, 48: C.OTHER, 49: C.OTHER, 50: C.OTHER,
}


def test_every_stop_reason_has_the_research_text():
    assert {code: words for code, (words, _reason) in mappers.STOP_REASONS.items()} == RESEARCH_STOP_REASONS


def test_every_stop_reason_has_a_close_reason_of_ours():
    assert {code: reason for code, (_words, reason) in mappers.STOP_REASONS.items()} == EXPECTED_CLOSE_REASONS
    assert set(EXPECTED_CLOSE_REASONS.values()) <= set(CloseReason.values)


@pytest.mark.parametrize("code", range(51))
def test_close_reason_keeps_the_code_and_wanzhuangs_words(code):
    assert mappers.close_reason(code) == (EXPECTED_CLOSE_REASONS[code], f"{code} {RESEARCH_STOP_REASONS[code]}")


@pytest.mark.parametrize("code", [51, 77, 999])
def test_an_unlisted_stop_reason_is_other_keeping_its_number(code):
    with override("en"):
        reason, text = mappers.close_reason(code)

    assert reason == CloseReason.OTHER
    assert text == f"{code} stop reason {code}"


# --- device records ------------------------------------------------------------------------------------


def device(**fields):
    record = {"device_num": "19285526", "device_type": 2, "device_name": "10路电量慢充", "port_num": 10, "online": 1,
              "version": "V2.3", "signal": 23, "iccid": "89860000000000000001", "charge_mode": 1}
    record.update(fields)
    return {name: value for name, value in record.items() if value is not None}


def port(number, state):
    return {"device_port": number, "state": state, "charge_id": 0, "charge_mode": 1, "pay_amount": 0,
            "pay_used": 0, "time_total": 0, "time_used": 0, "eq_used": 0, "rated_power": 0, "current_power": 0,
            "start_time": 0, "rev_time": 1_795_000_000}


def test_an_ebike_device_without_ports_names_no_connector():
    # A device list says nothing of the ports: what they last said stands
    info = mappers.charger_info(device())

    assert (info.serial, info.online, info.vendor_status, info.status) == ("19285526", True, "online", S.FREE)
    assert (info.device_type_code, info.device_type_name, info.kind, info.current_type) == (
        "2", "电量慢充款", VehicleKind.EBIKE, CurrentType.AC)
    assert (info.model, info.firmware_version, info.communication_type, info.rated_power_w) == (
        "10路电量慢充", "V2.3", "4G", 0)
    assert info.connectors == ()


def test_an_ebike_device_with_its_ports_takes_each_ports_state():
    ports = [port(1, 0), port(2, 2), port(3, 6), port(4, 23)]

    info = mappers.charger_info(device(port_num=4), ports)

    assert [(c.number, c.vendor_status, c.status) for c in info.connectors] == [
        (1, "0", S.FREE), (2, "2", S.CHARGING), (3, "6", S.FAULT), (4, "23", S.BOOKED)]


@pytest.mark.parametrize("device_type", CAR_TYPES)
def test_a_car_pile_is_an_ev_ac_charger(device_type):
    name = {12: "汽车交流插座桩70", 13: "汽车慢充桩"}[device_type]

    info = mappers.charger_info(device(device_type=device_type, port_num=1, charge_mode=11), [port(1, 1)])

    assert (info.kind, info.current_type, info.device_type_code, info.device_type_name) == (
        VehicleKind.EV, CurrentType.AC, str(device_type), name)
    assert [(c.number, c.status) for c in info.connectors] == [(1, S.OCCUPIED)]


def test_a_car_pile_without_ports_names_no_connector_whatever_its_port_num():
    info = mappers.charger_info(device(device_type=13, port_num=2, rated_power=7000))

    assert info.kind == VehicleKind.EV and info.rated_power_w == 7000
    assert info.connectors == ()


@pytest.mark.parametrize("port_num", [0, 3, "x", None])
def test_port_num_is_not_read_the_ports_are(port_num):
    ports = [port(1, 0), port(2, 2)]

    with_ports = mappers.charger_info(device(port_num=port_num), ports)
    without = mappers.charger_info(device(port_num=port_num))

    assert [c.number for c in with_ports.connectors] == [1, 2]
    assert without.connectors == ()


def test_an_offline_device_has_every_port_offline_keeping_the_states():
    ports = [port(1, 0), port(2, 2)]

    with_ports = mappers.charger_info(device(online=0), ports)
    without = mappers.charger_info(device(online=0, port_num=3))

    assert (with_ports.online, with_ports.status, with_ports.vendor_status) == (False, S.OFFLINE, "offline")
    assert [(c.vendor_status, c.status) for c in with_ports.connectors] == [("0", S.OFFLINE), ("2", S.OFFLINE)]
    # Without its ports the device is offline, and names no port to mark offline
    assert (without.online, without.status, without.connectors) == (False, S.OFFLINE, ())


def test_a_device_record_without_online_iccid_or_port_num_is_offline_naming_no_connector():
    info = mappers.charger_info(device(online=None, iccid=None, port_num=None, device_name=None, version=None))

    assert not info.online
    assert (info.communication_type, info.model, info.firmware_version) == ("", "", "")
    assert info.connectors == ()


def test_a_device_type_we_do_not_know_is_kept_by_code_without_a_kind_of_car():
    info = mappers.charger_info(device(device_type=99))

    assert (info.device_type_code, info.device_type_name, info.kind) == ("99", "", VehicleKind.EBIKE)


@pytest.mark.parametrize(
    ("record", "ports", "field"),
    [
        (device(device_num=None), None, "device_num"),
        (device(device_type=None), None, "device_type"),
        (device(device_type="汽车"), None, "device_type"),
        (device(online=2), None, "online"),
        (device(), [port(1, 26)], "state"),
        (device(), [port(0, 1)], "device_port"),
        (device(), [{"state": 1}], "device_port"),
    ],
)
def test_a_device_record_we_cannot_read_is_refused_naming_the_field(record, ports, field):
    with pytest.raises(MappingError, match=field):
        mappers.charger_info(record, ports)


def test_a_device_record_that_is_not_an_object_is_refused():
    with override("en"), pytest.raises(MappingError, match="not an object"):
        mappers.charger_info(["19285526"])


# --- charge ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_no", "charge_id"),
    [
        ("20261202103015000123", 261202103015000123),
        ("20261121100000999999", 261121100000999999),
        ("20000000000000000001", 1),
        ("20999999999999999999", 999_999_999_999_999_999),
    ],
)
def test_charge_id_is_our_order_number_without_its_century_and_back(order_no, charge_id):
    assert constants.charge_id_of(order_no) == charge_id
    assert charge_id < 2**63  # Wanzhuang types it int: a signed 64-bit integer holds it
    assert mappers.order_no_of(charge_id) == order_no
    assert mappers.order_no_of(str(charge_id)) == order_no  # as a callback sends it


def test_a_generated_order_number_round_trips():
    from orders.services import order_no_generate

    order_no = order_no_generate(at=dt.datetime(2026, 12, 2, 2, 30, 15, tzinfo=dt.UTC))

    assert mappers.order_no_of(constants.charge_id_of(order_no)) == order_no


@pytest.mark.parametrize("order_no", ["2026120210301500012", "202612021030150001234", "19261202103015000123",
                                      "2026120210301500012x", "", "P0000000001"])
def test_charge_id_of_refuses_what_is_not_our_order_number(order_no):
    with pytest.raises(ValueError, match="order number"):
        constants.charge_id_of(order_no)


@pytest.mark.parametrize("charge_id", [0, "0", -1, "-5", 10**18, "1000000000000000000", "abc", "1.5", "", None,
                                       "１２３", True])
def test_order_no_of_refuses_a_charge_id_that_cannot_be_ours_naming_the_field(charge_id):
    with pytest.raises(MappingError, match="charge_id"):
        mappers.order_no_of(charge_id)


def test_order_no_of_names_the_field_it_is_given():
    with pytest.raises(MappingError, match="port_charge_id"):
        mappers.order_no_of("x", field="port_charge_id")


# --- ports, times and energy ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "number"), [("1", 1), (10, 10), ("255", 255)])
def test_ports_are_numbered_from_one(value, number):
    assert mappers.port_number(value) == number


@pytest.mark.parametrize("value", ["0", "256", "", None, "a"])
def test_a_port_number_outside_1_to_255_is_refused(value):
    with pytest.raises(MappingError, match="device_port"):
        mappers.port_number(value)


def test_a_unix_time_is_an_aware_utc_moment_inside_the_window():
    around = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)

    moment = mappers.unix_time({"start_time": "1795226400"}, "start_time", around=around)

    assert moment == dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("seconds", ["1795402860", "0", "4102444801", "-1", "x"])  # 2 days ahead, 1970, 2100+, ...
def test_a_unix_time_outside_the_window_or_unreadable_is_refused_naming_the_field(seconds, settings):
    settings.INBOX_TIME_BEHIND_DAYS = 30
    around = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)

    with pytest.raises(MappingError, match="end_time"):
        mappers.unix_time({"end_time": seconds}, "end_time", around=around)


@pytest.mark.parametrize(("value", "moment"), [
    ("1795226400", dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)),
    (1795226400, dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)),
    (1, dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)),
])
def test_unix_or_none_reads_unix_seconds_as_an_aware_utc_moment(value, moment):
    result = mappers.unix_or_none(value)

    assert result == moment
    assert result.tzinfo is not None


@pytest.mark.parametrize("value", [0, "0", "-1", 4_102_444_800, "4102444801", "x", "", None, "1.5", 1.5, [1], {}])
def test_unix_or_none_is_none_for_what_is_not_a_unix_time(value):
    assert mappers.unix_or_none(value) is None


@pytest.mark.parametrize(("code", "device_type"), [("2", 2), ("13", 13), ("0", 0), ("", None), ("x", None),
                                                   ("1 3", None), ("-1", None), ("１３", None), ("١٣", None)])
def test_device_type_of_is_the_type_a_sync_stored_or_none(code, device_type):
    charger = SimpleNamespace(device_type_code=code)

    assert mappers.device_type_of(charger) == device_type


def test_device_type_of_a_car_pile_tells_it_apart():
    assert mappers.is_car_pile(mappers.device_type_of(SimpleNamespace(device_type_code="12")))
    assert not mappers.is_car_pile(mappers.device_type_of(SimpleNamespace(device_type_code="2")))
    assert not mappers.is_car_pile(mappers.device_type_of(SimpleNamespace(device_type_code="")))


@pytest.mark.parametrize(("unit", "eq_used", "wh"), [(1, "1234", 1234), (10, "123", 1230), (1000, "2", 2000),
                                                     (10, "", 0), (10, None, 0)])
def test_energy_is_eq_used_in_the_configured_unit(settings, unit, eq_used, wh):
    settings.WANZHUANG_ENERGY_UNIT_WH = unit

    assert mappers.energy_wh({} if eq_used is None else {"eq_used": eq_used}) == wh


def test_energy_above_what_a_session_can_take_is_refused_in_any_unit(settings):
    from integrations.values import ENERGY_WH_MAX

    settings.WANZHUANG_ENERGY_UNIT_WH = 10

    assert mappers.energy_wh({"eq_used": str(ENERGY_WH_MAX // 10)}) == ENERGY_WH_MAX
    with pytest.raises(MappingError, match="eq_used"):
        mappers.energy_wh({"eq_used": str(ENERGY_WH_MAX // 10 + 1)})
    with pytest.raises(MappingError, match="eq_used"):
        mappers.energy_wh({"eq_used": "-1"})
