"""Facts of Wanzhuang's open API (wz-open), kept as data: codes, paths, device types, charge modes.

Sources: Wanzhuang's public pages (`/work/shared/specs/wanzhuang-open-api.txt`, the research notes §3) and,
where they are silent, the wire document our client and our simulator share (`wz_wire.md`). What comes
from the second is marked ASSUMED; a change here is a change of what we believe Wanzhuang does.
"""

from __future__ import annotations

import re

from django.conf import settings

VENDOR = "wanzhuang"  # chargers.models.Vendor.WANZHUANG

# Every answer is {"code", "message", "data", "timestamp"}; this code means success.
SUCCESS_CODE = 1

# ASSUMED: the public pages show only code 1. These are the codes of our simulator, by what went wrong;
# the texts are how the operator reads them. Any other code is a generic failure.
FAILURE_CODE = 0
AUTH_CODE = 1001
ERROR_TEXTS: dict[int, str] = {
    0: "操作失败",
    1: "成功",
    1001: "签名、应用或时间戳校验失败",
    1002: "参数缺失或不合法",
    1003: "设备不存在",
    1004: "设备离线",
    1005: "端口忙或当前状态不能启动",
    1006: "充电订单不存在",
    1007: "设备已添加",
    1008: "充电模式与设备类型不匹配",
}
UNKNOWN_ERROR_TEXT = "未知错误"

# Error codes grouped by what the caller or an operator must do differently; the client turns each group
# into its own exception class, and any code in no group into a plain failure.
AUTH_CODES = frozenset({1001})
INVALID_REQUEST_CODES = frozenset({1002, 1008})
NOT_FOUND_CODES = frozenset({1003, 1006})
DEVICE_UNAVAILABLE_CODES = frozenset({1004, 1005})
CONFLICT_CODES = frozenset({1007})

# The mode-settings getters: the client's operation (and method) name → the page's name, which is its path.
MODE_SETTINGS: dict[str, str] = {
    "not_disturb_info": "getDeviceModeNotDisturbInfo",  # 免打扰
    "power2_info": "getDeviceModePower2Info",  # 功率模式2
    "power_info": "getDeviceModePowerInfo",  # 功率模式
    "online_card_info": "getDeviceModeOnlineCardInfo",  # 在线卡
    "safe_info": "getDeviceModeSafeInfo",  # 安全
    "coin_info": "getDeviceModeCoinInfo",  # 投币
    "time2_info": "getDeviceModeTime2Info",  # 时间模式2
    "time_info": "getDeviceModeTimeInfo",  # 时间模式
    "user_info": "getDeviceModeUserInfo",  # 用户设置
    "work2_info": "getDeviceModeWork2Info",  # 电量模式2
    "work_info": "getDeviceModeWorkInfo",  # 电量模式
    "offline_card_info": "getDeviceModeOfflineCardInfo",  # 离线卡
}

# Paths by operation, relative to WANZHUANG_BASE_URL; setting WANZHUANG_PATHS overrides any of them.
# ASSUMED (not shown by the public pages, our wire document's choice): device_delete, reboot,
# offline_revenue_set, car_mode_save, car_mode_get, online_log, the three flow_card_renew_* and every
# mode-settings getter but time_info and work_info.
DEFAULT_PATHS: dict[str, str] = {
    "device_add": "/open/device/add",
    "device_detail": "/open/device/findOne",
    "devices_detail": "/open/device/findMultiDevices",
    "device_list": "/open/device/list",
    "device_delete": "/open/device/delete",  # ASSUMED
    "port_status": "/open/device/state",
    "ports_status": "/open/device/state/list",
    "port_fault_set": "/open/device/state/port/error",
    "force_offline": "/open/device/state/offline",
    "reboot": "/open/device/state/reboot",  # ASSUMED
    "offline_revenue_set": "/open/device/state/offlineProfit",  # ASSUMED
    "mode_save": "/open/device/saveMode",
    "mode_get": "/open/device/getMode",
    # time_info and work_info are known paths; the other getters ASSUMED.
    **{operation: f"/open/device/{name}" for operation, name in MODE_SETTINGS.items()},
    "car_mode_save": "/open/device/car/saveMode",  # ASSUMED
    "car_mode_get": "/open/device/car/getMode",  # ASSUMED
    "charge_start": "/open/charge/start",
    "charge_stop": "/open/charge/stop",
    "callback_log": "/open/callback/log",
    "finish_callback_retry": "/open/callback/retry/finish_order",
    "online_log": "/open/device/log/online",  # ASSUMED
    "flow_card_renew_list": "/open/flowCard/renewList",  # ASSUMED
    "flow_card_renew_order": "/open/flowCard/renewOrder",  # ASSUMED
    "flow_card_renew_status": "/open/flowCard/renewStatus",  # ASSUMED
}


def path(operation: str) -> str:
    """The path of an operation: WANZHUANG_PATHS' when it names one, else the default. KeyError if unknown."""
    overrides = getattr(settings, "WANZHUANG_PATHS", None) or {}
    if operation in overrides and overrides[operation]:
        return str(overrides[operation])
    return DEFAULT_PATHS[operation]


# device_type: code → (the page's name, whether it is a car pile). Car piles (12, 13) are AC EV piles, the
# others e-bike chargers.
DEVICE_TYPES: dict[int, tuple[str, bool]] = {
    0: ("普通慢充款", False),
    1: ("功率慢充款", False),
    2: ("电量慢充款", False),
    3: ("快充款", False),
    4: ("功率款10", False),
    5: ("电量款20", False),
    6: ("两路功率款", False),
    8: ("普通功率款", False),
    12: ("汽车交流插座桩70", True),
    13: ("汽车慢充桩", True),
}
CAR_DEVICE_TYPES = frozenset(code for code, (_name, is_car) in DEVICE_TYPES.items() if is_car)

# charge_mode: code → name.
MODE_TIME, MODE_ENERGY, MODE_POWER = 0, 1, 2
MODE_TIME_2, MODE_ENERGY_2, MODE_POWER_2 = 7, 8, 9
MODE_CAR_ENERGY = 11
CHARGE_MODES: dict[int, str] = {
    MODE_TIME: "时间模式",
    MODE_ENERGY: "电量模式",
    MODE_POWER: "功率模式",
    MODE_TIME_2: "时间模式2",
    MODE_ENERGY_2: "电量模式2",
    MODE_POWER_2: "功率模式2",
    MODE_CAR_ENERGY: "汽车桩标准电量模式",
}

# The device types each mode takes ("时间模式下只能匹配普通慢充款(0)、电量慢充款(2)、快充款(3)", ...).
_SECOND_MODE_TYPES = frozenset({1, 4, 5, 6, 8})
MODE_DEVICE_TYPES: dict[int, frozenset[int]] = {
    MODE_TIME: frozenset({0, 2, 3}),
    MODE_ENERGY: frozenset({2, 3}),
    MODE_POWER: frozenset({2}),
    MODE_TIME_2: _SECOND_MODE_TYPES,
    MODE_ENERGY_2: _SECOND_MODE_TYPES,
    MODE_POWER_2: _SECOND_MODE_TYPES,
    MODE_CAR_ENERGY: frozenset({12, 13}),
}


def mode_fits(charge_mode: int, device_type: int) -> bool:
    """Whether a device of `device_type` can be set to (and started in) `charge_mode`."""
    return device_type in MODE_DEVICE_TYPES.get(charge_mode, frozenset())


# The fields of a port status item the state calls can select (`port_fields`; none selected: all).
# device_port always comes.
PORT_FIELDS = (
    "state",
    "charge_mode",
    "pay_amount",
    "pay_used",
    "time_total",
    "time_used",
    "charge_id",
    "eq_used",
    "rated_power",
    "current_power",
    "start_time",
    "rev_time",
)


# charge_id: Wanzhuang's session id is ours. It is an int, so it is our order number (20 digits, its year
# first) without the century: "20261202103015000123" ↔ 261202103015000123, 18 digits, in a signed 64-bit int.
_ORDER_NO = re.compile(r"20\d{18}")
_CHARGE_ID_MAX = 10**18 - 1


def charge_id_of(order_no: str) -> int:
    """The charge_id of one of our order numbers; ValueError for anything that is not one."""
    if not isinstance(order_no, str) or not _ORDER_NO.fullmatch(order_no):
        raise ValueError(f"not an order number of this century (20 digits starting 20): {order_no!r}")
    charge_id = int(order_no[2:])
    if charge_id == 0:
        raise ValueError(f"order number {order_no!r} gives charge_id 0, which means no session")
    return charge_id


def order_no_of(charge_id) -> str:
    """Our order number of a charge_id (an int, or its digits as a callback sends them); ValueError otherwise."""
    if isinstance(charge_id, bool):
        raise ValueError(f"not a charge_id: {charge_id!r}")
    if isinstance(charge_id, str):
        if not charge_id.isascii() or not charge_id.isdigit():
            raise ValueError(f"not a charge_id: {charge_id!r}")
        charge_id = int(charge_id)
    if not isinstance(charge_id, int) or not 0 < charge_id <= _CHARGE_ID_MAX:
        raise ValueError(f"not a charge_id of ours (1 to 18 digits): {charge_id!r}")
    return f"20{charge_id:018d}"
