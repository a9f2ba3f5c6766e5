"""Wanzhuang's wire as the cloud speaks it: codes, tables, routes, the signature and typed parameters.

Everything here comes from the vendor's pages (`wanzhuang-open-api.txt`, research notes §3) and, where they
are silent, from the wire document our client shares (`wz_wire.md`). Nothing is imported from our client:
the simulator checks signatures with its own reading of the document, so it verifies the client rather
than agreeing with it by construction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# ---- answer codes -------------------------------------------------------------------------------
# The public pages show only 1 (success); the others are the wire document's.
SUCCESS = 1
FAILURE = 0
AUTH_REFUSED = 1001  # signature, app_id or timestamp
INVALID = 1002  # a parameter missing or invalid (also: unknown path, wrong method or content type)
DEVICE_UNKNOWN = 1003
DEVICE_OFFLINE = 1004
PORT_BUSY = 1005  # the port cannot start in its state
CHARGE_UNKNOWN = 1006
DEVICE_ADDED = 1007
MODE_MISMATCH = 1008

SUCCESS_MESSAGE = "SUCCESS"  # as the saveMode page's example answers

# ---- devices --------------------------------------------------------------------------------------
DEVICE_TYPE_NAMES = {
    0: "普通慢充款",
    1: "功率慢充款",
    2: "电量慢充款",
    3: "快充款",
    4: "功率款10",
    5: "电量款20",
    6: "两路功率款",
    8: "普通功率款",
    12: "汽车交流插座桩70",
    13: "汽车慢充桩",
}
CAR_TYPES = frozenset({12, 13})

# charge_mode → name.
MODE_TIME, MODE_ENERGY, MODE_POWER = 0, 1, 2
MODE_TIME_2, MODE_ENERGY_2, MODE_POWER_2 = 7, 8, 9
MODE_CAR_ENERGY = 11
CHARGE_MODES = {
    MODE_TIME: "时间模式",
    MODE_ENERGY: "电量模式",
    MODE_POWER: "功率模式",
    MODE_TIME_2: "时间模式2",
    MODE_ENERGY_2: "电量模式2",
    MODE_POWER_2: "功率模式2",
    MODE_CAR_ENERGY: "汽车桩标准电量模式",
}
# "时间模式下只能匹配普通慢充款(0)、电量慢充款(2)、快充款(3)" and the lines after it on the saveMode page.
_SECOND_MODE_TYPES = frozenset({1, 4, 5, 6, 8})
MODE_DEVICE_TYPES = {
    MODE_TIME: frozenset({0, 2, 3}),
    MODE_ENERGY: frozenset({2, 3}),
    MODE_POWER: frozenset({2}),
    MODE_TIME_2: _SECOND_MODE_TYPES,
    MODE_ENERGY_2: _SECOND_MODE_TYPES,
    MODE_POWER_2: _SECOND_MODE_TYPES,
    MODE_CAR_ENERGY: CAR_TYPES,
}
ENERGY_MODES = frozenset({MODE_ENERGY, MODE_ENERGY_2, MODE_CAR_ENERGY})
TIME_MODES = frozenset({MODE_TIME, MODE_TIME_2})
POWER_MODES = frozenset({MODE_POWER, MODE_POWER_2})


def mode_fits(charge_mode: int, device_type: int) -> bool:
    return device_type in MODE_DEVICE_TYPES.get(charge_mode, frozenset())


def modes_of(device_type: int) -> list[int]:
    """The charge modes a device type takes, lowest first."""
    return sorted(mode for mode, types in MODE_DEVICE_TYPES.items() if device_type in types)


# ---- ports ----------------------------------------------------------------------------------------
PORT_STATES = {
    0: "空闲",
    1: "连接",
    2: "充电中",
    3: "暂停",
    4: "断开连接",
    5: "充电结束",
    6: "故障",
    7: "测试",
    8: "高温暂停",
    9: "低温暂停",
    10: "超整机功率暂停",
    11: "过压暂停",
    12: "低压暂停",
    13: "按键支付暂停",
    14: "烟感报警暂停",
    15: "自检",
    16: "就绪",
    17: "急停",
    18: "漏电自检失败",
    19: "充电完成等待断开",
    20: "CP故障",
    21: "接地故障",
    22: "输出故障",
    23: "预约等待启动",
    24: "保险丝熔断",
    25: "继电器粘连",
}
CHARGING = 2
FAULT = 6
WAIT_UNPLUG = 19
# The generic rule: a start may begin on 0, 1 or 5; on 2 with the same charge_id it "continues".
EBIKE_STARTABLE = frozenset({0, 1, 5})
EBIKE_CONTINUING = frozenset({CHARGING})
# The car-pile column: only 1 starts; 2/3/8–14/16 continue; 0 and 15 ask to plug in; 4/5/19 to unplug;
# any other state is shown as a fault.
CAR_STARTABLE = frozenset({1})
CAR_CONTINUING = frozenset({2, 3, *range(8, 15), 16})
CAR_PLUG_IN = frozenset({0, 15})
CAR_UNPLUG = frozenset({4, 5, 19})
# States in which a session is under way but draws nothing (pauses): it neither accrues nor ends.
PAUSED = frozenset({3, *range(8, 15)})

PORT_FIELDS = (
    "state",
    "charge_id",
    "charge_mode",
    "pay_amount",
    "pay_used",
    "time_total",
    "time_used",
    "eq_used",
    "rated_power",
    "current_power",
    "start_time",
    "rev_time",
)

# ---- stop reasons (finish_order) -----------------------------------------------------------------
STOP_REASONS = {
    0: "充电超时", 1: "金额用完", 2: "充电完成", 3: "用户退费", 4: "插头拔掉", 5: "低温", 6: "高温", 7: "功率异常",
    8: "机器故障", 9: "电网异常", 10: "漏电", 11: "定时关电", 12: "服务器下发", 13: "无可用端口", 14: "支付超时",
    15: "按键停止", 16: "短路", 17: "低功率因数", 18: "电网过压", 19: "电网低压", 20: "电网频率异常", 21: "烟雾",
    22: "时间用完", 23: "时间模式最高功率", 24: "整机最高功率", 25: "最大充电时间", 26: "设置端口故障",
    27: "最大浮充时间", 28: "断路", 29: "保险丝熔断", 30: "充电器异常", 31: "功率模式最高功率", 32: "测试",
    33: "断电重启/插座无功率", 34: "不支持的模式", 35: "暂停供电超时", 36: "CP就绪超时", 37: "CP断开", 38: "CP异常",
    39: "启动充电超时", 40: "急停", 41: "双击枪头按钮", 42: "接地故障", 43: "输出异常", 44: "过流保护",
    45: "采样通信故障", 46: "供电接口过流", 47: "达到上限电量", 48: "超过电量模式上限功率", 49: "设置错误",
    50: "切换充电模式",
}  # fmt: skip
STOP_MONEY_USED = 1
STOP_COMPLETE = 2
STOP_UNPLUGGED = 4
STOP_SERVER = 12
STOP_PORT_FAULT_SET = 26
STOP_REBOOT = 33

START_OK = 1  # start_power state: the port started charging

# ---- routes -----------------------------------------------------------------------------------------
QUERY, JSON, MULTIPART = "query", "json", "multipart"
CONTENT_TYPES = {JSON: "application/json", MULTIPART: "multipart/form-data"}

# The mode-settings pages (GET /open/device/<page>, device_num): the charge modes a page describes (None:
# settings of every mode) and the saveMode fields it shows, answered under their camelCase names.
_ENERGY_PAGE = ("work_charge", "work_charge_fourdigit", "max_pay_fee", "start_fee", "whether_refund")
_POWER_PAGE = ("power_value", "price_value", "check_time", "inc_time", "type", "count_mode", "whether_refund")
MODE_PAGES: dict[str, tuple[frozenset[int] | None, tuple[str, ...]]] = {
    "getDeviceModeTimeInfo": (
        frozenset({MODE_TIME}),
        ("charge_type", "charge_value", "max_power", "max_pay_fee", "start_fee", "whether_refund"),
    ),
    "getDeviceModeTime2Info": (
        frozenset({MODE_TIME_2}),
        ("charge_type", "payment_value", "time_value", "max_power", "start_fee", "whether_refund"),
    ),
    # A car pile's one mode (11) is an energy mode with the same price fields; it has no page of its own.
    "getDeviceModeWorkInfo": (frozenset({MODE_ENERGY, MODE_CAR_ENERGY}), _ENERGY_PAGE),
    "getDeviceModeWork2Info": (
        frozenset({MODE_ENERGY_2}),
        ("work_charge", "work_charge_fourdigit", "payment_value", "start_fee", "whether_refund"),
    ),
    "getDeviceModePowerInfo": (frozenset({MODE_POWER}), _POWER_PAGE),
    "getDeviceModePower2Info": (frozenset({MODE_POWER_2}), (*_POWER_PAGE, "display_delay")),
    "getDeviceModeNotDisturbInfo": (
        None,
        ("is_not_disturb", "not_disturb_start", "not_disturb_end", "not_disturb_volume"),
    ),
    "getDeviceModeSafeInfo": (
        None,
        (
            "is_outage",
            "auto_off_wait_time",
            "auto_off_lower_power",
            "floating_charge_time",
            "floating_charge_power",
            "detect_time",
        ),
    ),
    "getDeviceModeUserInfo": (None, ("is_free_charge", "whether_refund")),
    # saveMode has no fields of coins or cards: these pages answer an empty object.
    "getDeviceModeCoinInfo": (None, ()),
    "getDeviceModeOnlineCardInfo": (None, ()),
    "getDeviceModeOfflineCardInfo": (None, ()),
}


@dataclass(frozen=True)
class Route:
    """One API path: its method, how its parameters travel, the method of the simulator that answers it,
    and, for a mode-settings page, the page's name."""

    method: str
    encoding: str
    handler: str
    page: str | None = None


ROUTES: dict[str, Route] = {
    "/open/device/add": Route("POST", JSON, "_api_device_add"),
    "/open/device/findOne": Route("GET", QUERY, "_api_device_find_one"),
    "/open/device/findMultiDevices": Route("POST", MULTIPART, "_api_device_find_multi"),
    "/open/device/list": Route("GET", QUERY, "_api_device_list"),
    "/open/device/delete": Route("GET", QUERY, "_api_device_delete"),
    "/open/device/state": Route("GET", QUERY, "_api_port_status"),
    "/open/device/state/list": Route("GET", QUERY, "_api_ports_status"),
    "/open/device/state/port/error": Route("POST", JSON, "_api_port_error"),
    "/open/device/state/offline": Route("POST", JSON, "_api_offline"),
    "/open/device/state/reboot": Route("POST", JSON, "_api_reboot"),
    "/open/device/state/offlineProfit": Route("POST", JSON, "_api_offline_profit_set"),
    "/open/device/saveMode": Route("POST", MULTIPART, "_api_save_mode"),
    "/open/device/getMode": Route("GET", QUERY, "_api_get_mode"),
    "/open/device/car/saveMode": Route("POST", MULTIPART, "_api_car_save_mode"),
    "/open/device/car/getMode": Route("GET", QUERY, "_api_car_get_mode"),
    **{f"/open/device/{page}": Route("GET", QUERY, "_api_mode_page", page) for page in MODE_PAGES},
    "/open/charge/start": Route("POST", JSON, "_api_charge_start"),
    "/open/charge/stop": Route("POST", JSON, "_api_charge_stop"),
    "/open/callback/log": Route("GET", QUERY, "_api_callback_log"),
    "/open/callback/retry/finish_order": Route("POST", JSON, "_api_callback_retry_finish"),
    "/open/device/log/online": Route("GET", QUERY, "_api_online_log"),
    "/open/flowCard/renewList": Route("GET", QUERY, "_api_renew_list"),
    "/open/flowCard/renewOrder": Route("POST", JSON, "_api_renew_order"),
    "/open/flowCard/renewStatus": Route("GET", QUERY, "_api_renew_status"),
}

CALLBACK_NAMES = ("start_power", "finish_order", "icc_pay_req", "offline_profit")
MULTIPART_CALLBACKS = frozenset({"offline_profit"})

# ---- the signature --------------------------------------------------------------------------------
HMAC_SHA256 = "hmac-sha256"
SHA256 = "sha256"
SIGN_METHODS = (HMAC_SHA256, SHA256)
SIGNING_FIELDS = ("app_id", "timestamp", "sign")


def sign_text(value: Any) -> str:
    """A value as the document says it is signed: booleans true/false, lists and objects compact JSON,
    numbers str(), strings as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, float):
        return json.dumps(value)
    return str(value)


def signing_string(params: Mapping[str, Any]) -> str:
    """Every parameter but `sign`, those that are None or "" left out, sorted by key, `k=v` joined by `&`.
    (An empty list is "[]", not empty: it takes part.)"""
    kept = {key: sign_text(value) for key, value in params.items() if key != "sign" and value not in (None, "")}
    return "&".join(f"{key}={kept[key]}" for key in sorted(kept))


def signature(params: Mapping[str, Any], secret: str, method: str) -> str:
    """The lowercase hex digest: HMAC-SHA256 keyed with the secret, or SHA-256 of the string + secret."""
    string = signing_string(params)
    if method == HMAC_SHA256:
        return hmac.new(secret.encode("utf-8"), string.encode("utf-8"), hashlib.sha256).hexdigest()
    if method == SHA256:
        return hashlib.sha256((string + secret).encode("utf-8")).hexdigest()
    raise ValueError(f"sign_method must be one of {', '.join(SIGN_METHODS)}, not {method!r}")


# ---- times ------------------------------------------------------------------------------------------
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def unix(moment: dt.datetime) -> int:
    """Whole Unix seconds of an aware moment (floored, exactly: no float on the way)."""
    return (moment - EPOCH) // dt.timedelta(seconds=1)


# ---- errors and parameters ---------------------------------------------------------------------------


class ApiError(Exception):
    """A refusal: its code and the message the cloud answers (Chinese, as the vendor writes them)."""

    def __init__(self, code: int, message: str):
        self.code = code
        self.message = message
        super().__init__(f"{code} {message}")


def bad_param(name: str, detail: str = "") -> ApiError:
    """1002 "参数错误: <field>", with what is wrong after it when that helps the caller."""
    return ApiError(INVALID, f"参数错误: {name}" + (f" {detail}" if detail else ""))


_INTEGER = re.compile(r"-?\d+")


def parse_int(value: Any) -> int | None:
    """An int from a JSON number or a decimal string; None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


class Params:
    """Typed access to a call's parameters: strings from a query or a form, JSON values from a JSON body.

    A missing or malformed value is a 1002 naming the parameter. Empty strings count as missing, as they
    take no part in the signature.
    """

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = dict(raw)

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def _value(self, name: str, required: bool) -> Any:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise bad_param(name, "不能为空")
            return None
        return value

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self._value(name, required)
        if value is None:
            return None
        if isinstance(value, bool | list | dict):
            raise bad_param(name, "应为字符串")
        return str(value)

    def integer(self, name: str, *, required: bool = True, minimum: int | None = None) -> int | None:
        value = self._value(name, required)
        if value is None:
            return None
        number = parse_int(value)
        if number is None:
            raise bad_param(name, "应为整数")
        if minimum is not None and number < minimum:
            raise bad_param(name, f"不能小于 {minimum}")
        return number

    def text_list(self, name: str, *, required: bool = True) -> list[str] | None:
        """A list of strings: a JSON array in a JSON body, its compact JSON text in a query or a form."""
        value = self._value(name, required)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_param(name, "应为 JSON 数组") from None
        if not isinstance(value, list):
            raise bad_param(name, "应为字符串数组")
        if any(isinstance(item, bool) or not isinstance(item, str | int) for item in value):
            raise bad_param(name, "应为字符串数组")
        return [str(item) for item in value]

    def flag(self, name: str, *, required: bool = True) -> bool | None:
        """A 0/1 switch, as "1"/"0", 1/0 or true/false."""
        value = self._value(name, required)
        if value is None:
            return None
        text = sign_text(value).strip().lower()
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        raise bad_param(name, "应为 0 或 1")

    def page(self, *, default_size: int = 20, max_size: int = 100) -> tuple[int, int]:
        page = self.integer("page", required=False, minimum=1) or 1
        size = self.integer("page_size", required=False, minimum=1) or default_size
        if size > max_size:
            raise bad_param("page_size", f"不能大于 {max_size}")
        return page, size


def paged(items: list, page: int, size: int) -> dict:
    return {"total": len(items), "list": items[(page - 1) * size : page * size]}
