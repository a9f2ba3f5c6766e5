"""Wanzhuang's codes in our vocabulary, as data: port states 0–25 and their start rules, stop reasons 0–50,
its device records, its ids of our orders and its times (vendors.md §3). Its own tables (device types, charge
modes, the charge_id of an order) are in `constants`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from chargers.models import ConnectorStatus, CurrentType
from chargers.vendor import ChargerInfo, ConnectorInfo
from integrations import values
from integrations.values import MappingError
from orders.models import CloseReason, OrderStatus
from tariffs.models import VehicleKind

from . import constants as c

# --- ports -----------------------------------------------------------------------------------------------

S = ConnectorStatus
# state → (Wanzhuang's name, our connector status). A paused session still holds its port: charging.
PORT_STATES: dict[int, tuple[str, str]] = {
    0: ("空闲", S.FREE),
    1: ("连接", S.OCCUPIED),
    2: ("充电中", S.CHARGING),
    3: ("暂停", S.CHARGING),
    4: ("断开连接", S.OCCUPIED),
    5: ("充电结束", S.OCCUPIED),
    6: ("故障", S.FAULT),
    7: ("测试", S.MAINTENANCE),
    8: ("高温暂停", S.CHARGING),
    9: ("低温暂停", S.CHARGING),
    10: ("超整机功率暂停", S.CHARGING),
    11: ("过压暂停", S.CHARGING),
    12: ("低压暂停", S.CHARGING),
    13: ("按键支付暂停", S.CHARGING),
    14: ("烟感报警暂停", S.CHARGING),
    15: ("自检", S.MAINTENANCE),
    16: ("就绪", S.OCCUPIED),
    17: ("急停", S.FAULT),
    18: ("漏电自检失败", S.FAULT),
    19: ("充电完成等待断开", S.OCCUPIED),
    20: ("CP故障", S.FAULT),
    21: ("接地故障", S.FAULT),
    22: ("输出故障", S.FAULT),
    23: ("预约等待启动", S.BOOKED),
    24: ("保险丝熔断", S.FAULT),
    25: ("继电器粘连", S.FAULT),
}


class StartRule(enum.Enum):
    """What a port in a state does with a start command."""

    START = "start"  # a new session may start
    CONTINUE = "continue"  # only the session already on the port, by its own charge_id (续充)
    PLUG_IN = "plug_in"  # the driver must plug in first
    UNPLUG = "unplug"  # the driver must unplug (and plug in again)
    BUSY = "busy"  # the port is held (a paused or booked session, a self-test)
    FAULT = "fault"  # the port is faulty


R = StartRule
_FAULTS = (6, 17, 18, 20, 21, 22, 24, 25)
# Every device but a car pile: starts on 0, 1 and 5, continues on 2 (vendors.md §3.2, the generic rule).
EBIKE_START_RULES: dict[int, StartRule] = {
    **{state: R.BUSY for state in PORT_STATES},
    0: R.START, 1: R.START, 5: R.START,
    2: R.CONTINUE,
    4: R.PLUG_IN,
    19: R.UNPLUG,
    **{state: R.FAULT for state in _FAULTS},
}
# Car piles (device types 12, 13), the document's own column: only 1 starts; 2, 3, 8–14 and 16 continue;
# 0 and 15 ask to plug in; 4, 5 and 19 ask to unplug; every other state is a fault.
CAR_START_RULES: dict[int, StartRule] = {
    **{state: R.FAULT for state in PORT_STATES},
    1: R.START,
    **{state: R.CONTINUE for state in (2, 3, 8, 9, 10, 11, 12, 13, 14, 16)},
    0: R.PLUG_IN, 15: R.PLUG_IN,
    4: R.UNPLUG, 5: R.UNPLUG, 19: R.UNPLUG,
}

# --- devices ---------------------------------------------------------------------------------------------


def is_car_pile(device_type: int | None) -> bool:
    return device_type in c.CAR_DEVICE_TYPES


def device_type_of(charger) -> int | None:
    """A Wanzhuang charger's device type, as its sync stored it (None before the first)."""
    code = charger.device_type_code
    return int(code) if code.isascii() and code.isdigit() else None


def start_rule(*, device_type: int | None, state: int) -> StartRule:
    rules = CAR_START_RULES if is_car_pile(device_type) else EBIKE_START_RULES
    return rules.get(state, R.FAULT)


def state_name(state: int) -> str:
    return PORT_STATES.get(state, (_("unknown state"), ""))[0]


def start_refusal(*, device_type: int | None, state: int, port_charge_id: int, charge_id: int,
                  serial: str, port: int) -> str | None:
    """Why a start of `charge_id` on the port cannot be sent, in the operator's words; None when it can."""
    rule = start_rule(device_type=device_type, state=state)
    where = {"serial": serial, "port": port, "state": state, "name": state_name(state)}
    if rule is R.START:
        return None
    if rule is R.CONTINUE:
        if port_charge_id == charge_id:
            return None  # the same session again: Wanzhuang continues it (续充)
        return _("Port %(port)s of %(serial)s is in use by another session (state %(state)s %(name)s): only that "
                 "session can continue there.") % where
    messages = {
        R.PLUG_IN: _("Port %(port)s of %(serial)s waits for a plug (state %(state)s %(name)s): ask the driver to "
                     "plug in, then start again."),
        R.UNPLUG: _("Port %(port)s of %(serial)s must be unplugged first (state %(state)s %(name)s): ask the "
                    "driver to unplug and plug in again, then start again."),
        R.BUSY: _("Port %(port)s of %(serial)s cannot start now (state %(state)s %(name)s): wait until it is free."),
        R.FAULT: _("Port %(port)s of %(serial)s is faulty (state %(state)s %(name)s): it cannot start until the "
                   "fault is cleared."),
    }
    return messages[rule] % where


# What a port holding our session says of it: charging (or paused) ...
SESSION_LIVE_STATES = frozenset({2, 3, 8, 9, 10, 11, 12, 13, 14})
# ... ended, the plug still in or just pulled ...
SESSION_ENDED_STATES = frozenset({0, 4, 5, 19})


def session_status(state: int) -> str:
    """Our order status a port's state gives the session it holds. A port still waiting (for its plug, its
    self-test, a booking) or faulty says nothing of the session's progress: starting, which never moves an order
    back; only its finish_order or the callback log end it."""
    if state in SESSION_LIVE_STATES:
        return OrderStatus.CHARGING
    if state in SESSION_ENDED_STATES:
        return OrderStatus.FINISHED
    return OrderStatus.STARTING


def unix_or_none(value) -> datetime | None:
    """A Unix time in seconds from one of Wanzhuang's answers (a log entry, a port), None when it is not one."""
    try:
        seconds = int(str(value))
        return datetime.fromtimestamp(seconds, UTC) if 0 < seconds < values.UNIX_SECONDS_MAX else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def connector_status(state: int) -> str:
    return PORT_STATES.get(state, ("", S.UNKNOWN))[1]


def port_number(value, field: str = "device_port") -> int:
    """Wanzhuang numbers ports from 1, as we do."""
    return values.integer({field: value}, field, minimum=1, maximum=255)


def port_state(content: dict, field: str = "state") -> int:
    state = values.integer(content, field, maximum=255)
    if state not in PORT_STATES:
        raise MappingError(_("%(field)s: %(value)s is not a port state (0–25).") % {"field": field, "value": state})
    return state


def charger_info(device: dict, ports: list[dict] | None = None) -> ChargerInfo:
    """A device record (findOne, list) and its ports (state, when asked) as our charger description."""
    if not isinstance(device, dict):
        raise MappingError(_("The device record is not an object."))
    serial = values.text(device, "device_num")
    device_type = values.integer(device, "device_type", maximum=255)
    type_name, car = c.DEVICE_TYPES.get(device_type, ("", False))
    online = bool(values.integer(device, "online", default=0, maximum=1))
    connectors = []
    if ports is not None:
        for port in ports:
            state = port_state(port)
            status = connector_status(state) if online else S.OFFLINE
            connectors.append(ConnectorInfo(number=port_number(port.get("device_port")), vendor_status=str(state),
                                            status=status))
    # Without its ports (a device list) a record names no connector: what the ports last said stands.
    return ChargerInfo(
        serial=serial,
        online=online,
        vendor_status="online" if online else "offline",
        status=S.FREE if online else S.OFFLINE,
        device_type_code=str(device_type),
        device_type_name=type_name,
        model=values.text(device, "device_name", required=False, max_length=64),
        firmware_version=values.text(device, "version", required=False, max_length=64),
        communication_type="4G" if device.get("iccid") else "",
        connectors=tuple(connectors),
        kind=VehicleKind.EV if car else VehicleKind.EBIKE,
        current_type=CurrentType.AC,
        rated_power_w=values.integer(device, "rated_power", default=0, maximum=values.POWER_W_MAX),
    )


# --- sessions --------------------------------------------------------------------------------------------

C = CloseReason
# stop_reason → (Wanzhuang's words, our close reason)
STOP_REASONS: dict[int, tuple[str, str]] = {
    0: ("充电超时", C.TIME_REACHED),
    1: ("金额用完", C.AMOUNT_REACHED),
    2: ("充电完成", C.FULL),
    3: ("用户退费", C.USER_STOP),
    4: ("插头拔掉", C.UNPLUGGED),
    5: ("低温", C.DEVICE_FAULT),
    6: ("高温", C.DEVICE_FAULT),
    7: ("功率异常", C.DEVICE_FAULT),
    8: ("机器故障", C.DEVICE_FAULT),
    9: ("电网异常", C.POWER_LOSS),
    10: ("漏电", C.DEVICE_FAULT),
    11: ("定时关电", C.TIME_REACHED),
    12: ("服务器下发", C.REMOTE_STOP),
    13: ("无可用端口", C.OTHER),
    14: ("支付超时", C.OTHER),
    15: ("按键停止", C.USER_STOP),
    16: ("短路", C.DEVICE_FAULT),
    17: ("低功率因数", C.DEVICE_FAULT),
    18: ("电网过压", C.POWER_LOSS),
    19: ("电网低压", C.POWER_LOSS),
    20: ("电网频率异常", C.POWER_LOSS),
    21: ("烟雾", C.DEVICE_FAULT),
    22: ("时间用完", C.TIME_REACHED),
    23: ("时间模式最高功率", C.OTHER),
    24: ("整机最高功率", C.OTHER),
    25: ("最大充电时间", C.TIME_REACHED),
    26: ("设置端口故障", C.REMOTE_STOP),
    27: ("最大浮充时间", C.FULL),
    28: ("断路", C.DEVICE_FAULT),
    29: ("保险丝熔断", C.DEVICE_FAULT),
    30: ("充电器异常", C.DEVICE_FAULT),
    31: ("功率模式最高功率", C.OTHER),
    32: ("测试", C.OTHER),
    33: ("断电重启/插座无功率", C.POWER_LOSS),
    34: ("不支持的模式", C.OTHER),
    35: ("暂停供电超时", C.OTHER),
    36: ("CP就绪超时", C.START_TIMEOUT),
    37: ("CP断开", C.UNPLUGGED),
    38: ("CP异常", C.DEVICE_FAULT),
    39: ("启动充电超时", C.START_TIMEOUT),
    40: ("急停", C.USER_STOP),
    41: ("双击枪头按钮", C.USER_STOP),
    42: ("接地故障", C.DEVICE_FAULT),
    43: ("输出异常", C.DEVICE_FAULT),
    44: ("过流保护", C.DEVICE_FAULT),
    45: ("采样通信故障", C.DEVICE_FAULT),
    46: ("供电接口过流", C.DEVICE_FAULT),
    47: ("达到上限电量", C.ENERGY_REACHED),
    48: ("超过电量模式上限功率", C.OTHER),
    49: ("设置错误", C.OTHER),
    50: ("切换充电模式", C.OTHER),
}


def close_reason(code: int) -> tuple[str, str]:
    """(our close reason, Wanzhuang's words) of a stop reason; an unlisted code is "other", kept by number."""
    words, reason = STOP_REASONS.get(code, (_("stop reason %(code)s") % {"code": code}, C.OTHER))
    return reason, f"{code} {words}"


def order_no_of(charge_id, field: str = "charge_id") -> str:
    """Our order number of a callback's charge_id (`constants.order_no_of`); MappingError naming the field."""
    try:
        return c.order_no_of(str(charge_id if charge_id is not None else "").strip())
    except ValueError as exc:
        raise MappingError(_("%(field)s: %(value)s is not one of our orders (a charge_id of 1 to 18 digits).")
                           % {"field": field, "value": values.shown(charge_id)}) from exc


def unix_time(content: dict, field: str, *, around: datetime | None = None) -> datetime:
    """A Unix time in seconds, inside the window around `around`."""
    seconds = values.integer(content, field, maximum=values.UNIX_SECONDS_MAX)
    return values.moment_checked(datetime.fromtimestamp(seconds, UTC), field=field, around=around)


def energy_wh(content: dict, field: str = "eq_used") -> int:
    """`eq_used` in Wh: WANZHUANG_ENERGY_UNIT_WH Wh a unit."""
    from django.conf import settings

    unit = settings.WANZHUANG_ENERGY_UNIT_WH
    return values.integer(content, field, default=0, maximum=values.ENERGY_WH_MAX // unit) * unit
