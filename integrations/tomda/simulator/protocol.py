"""Tomda's wire as the cloud speaks it: the appendix tables, times, the error answer and form parameters."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

# Appendix 4: the cloud answers an error with its code and this text.
from integrations.tomda.constants import ERROR_TEXTS

BEIJING = ZoneInfo("Asia/Shanghai")
WIRE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
API_PREFIX = "/Manage"
SUCCESS = "200"

# Appendix 6.
DEVICE_TYPE_NAMES = {
    "TOMDA_EB10_T1": "10 路电动单车",
    "TOMDA_EB10_T2": "10 路电动单车广告机",
    "TOMDA_EV7K_T3": "7KW 电动汽车广告机",
    "TOMDA_EV7K_T4": "7KW 电动汽车",
    "TOMDA_EB10_T5": "电单车充电柜",
    "TOMDA_EV14K_T6": "电动汽车双枪交流",
    "TOMDA_EB10_T7": "电单车售卖机",
}

# Appendix 5.
EVENT_NAMES = {
    "TOMDA_EBIKE_FAULT_ES": "急停",
    "TOMDA_EBIKE_FAULT_VOLTAGE_UPLIMIT": "电压过高",
    "TOMDA_EBIKE_FAULT_VOLTAGE_DOWNLIMIT": "电压过低",
    "TOMDA_EBIKE_FAULT_CURRENT_UPLIMIT": "电流过高",
    "TOMDA_EBIKE_FAULT_CURRENT_DOWNLIMIT": "电流过低",
    "TOMDA_EBIKE_FAULT_TEMPERATURE_UPLIMIT": "温度过高",
    "TOMDA_EBIKE_FAULT_TEMPERATURE_DOWNLIMIT": "温度过低",
    "TOMDA_EBIKE_FAULT_LEAK_CURRENT": "漏电流过高",
    "TOMDA_EBIKE_FAULT_GND": "接地异常",
    "TOMDA_EBIKE_FAULT_TILT": "电桩倾斜",
    "TOMDA_EBIKE_FAULT_EM_ERROR": "电表故障",
    "TOMDA_EBIKE_FAULT_GUN_TEMPERATURE_UPLIMIT": "枪温度高",
    "TOMDA_EBIKE_FAULT_GUN_TEMPERATURE_DOWNLIMIT": "枪温度低",
}

CHARGER_TYPES = {"1": "ev", "2": "ebike"}  # chargerType of the start call
MODEL_TYPES = {1: "ev", 2: "ebike"}  # modelType of a fee template
ALLOWED_STRATEGIES = {"ev": {"4"}, "ebike": {"1", "4"}}

# Charger fields a charger-list filter may name (spec 4.3.1; connectorInfo is a list, not filterable).
FILTERABLE_FIELDS = (
    "serialNum",
    "lost",
    "connectorCount",
    "chargerStatus",
    "chargerDeviceType",
    "chargerDeviceName",
    "commuType",
    "deviceModel",
    "hardwareVersion",
    "firmwareVersion",
)
DEFAULT_LIST_LIMIT = 20


def wire_time(moment: dt.datetime) -> str:
    return moment.astimezone(BEIJING).strftime(WIRE_TIME_FORMAT)


class ApiError(Exception):
    """An answer other than 200.

    errorDesc is the appendix text of the code, as the cloud sends it; only "no such resource" (1400)
    and "parameter error" (1401) add what exactly was wrong, since a caller cannot fix those without
    it. Other details reach the simulator's log only.
    """

    VERBOSE_CODES = ("1400", "1401")

    def __init__(self, code: str, detail: str = ""):
        self.code = str(code)
        self.detail = detail
        text = ERROR_TEXTS.get(self.code, "")
        if detail and self.code in self.VERBOSE_CODES:
            self.desc = f"{text}: {detail}"
        else:
            self.desc = text or detail
        super().__init__(f"{self.code} {text} {detail}".strip())


def bad_params(detail: str) -> ApiError:
    return ApiError("1401", detail)


class Params:
    """Typed access to form parameters; a malformed value is a 1401 that names the parameter."""

    def __init__(self, raw: dict[str, str]):
        self.raw = raw

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.raw.get(name, "")
        if value == "":
            if required:
                raise bad_params(f"missing parameter {name}")
            return None
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            raise bad_params(f"{name} must be an integer, got {value!r}") from None

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self.text(name, required=False)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise bad_params(f"{name} must be true or false, got {value!r}")

    def json(self, name: str, expected: type, *, required: bool = True):
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise bad_params(f"{name} is not valid JSON ({exc})") from None
        if not isinstance(parsed, expected):
            shape = "a JSON object" if expected is dict else "a JSON array"
            raise bad_params(f"{name} must be {shape}")
        return parsed


def int_field(obj: dict, name: str, where: str, *, required: bool = True) -> int | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise bad_params(f"{where}.{name} is required")
        return None
    if isinstance(value, bool):
        raise bad_params(f"{where}.{name} must be an integer, got {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise bad_params(f"{where}.{name} must be an integer, got {value!r}") from None
