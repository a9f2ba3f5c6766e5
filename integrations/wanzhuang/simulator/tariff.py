"""Charge modes as a device keeps them: the saveMode fields, their checks, and what a session costs.

A device keeps what saveMode sent, field by field and as sent (text), because getMode answers it back
that way. Money is exact: a session's cost is a Fraction of fen per simulated second, rounded half up
to whole fen once, when it is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from fractions import Fraction

from integrations.wanzhuang.simulator.protocol import (
    ENERGY_MODES,
    MODE_POWER,
    MODE_POWER_2,
    MODE_TIME,
    MODE_TIME_2,
    ApiError,
    bad_param,
    parse_int,
    sign_text,
)

# The saveMode form (the page's 请求参数) by type. The page types the array fields "string": they are
# compact JSON arrays of ints (wire document).
INT_FIELDS = frozenset(
    {
        "max_power",
        "start_fee",
        "max_pay_fee",
        "work_charge",
        "work_charge_fourdigit",
        "check_time",
        "inc_time",
        "type",
        "count_mode",
        "not_disturb_volume",
        "is_outage",
        "auto_off_wait_time",
        "auto_off_lower_power",
        "floating_charge_power",
        "whether_refund",
        "is_free_charge",
        "detect_time",
    }
)
TEXT_FIELDS = frozenset(
    {"charge_type", "display_delay", "is_not_disturb", "not_disturb_start", "not_disturb_end", "floating_charge_time"}
)
ARRAY_FIELDS = frozenset({"charge_value", "payment_value", "time_value", "power_value", "price_value"})
MODE_FIELDS = INT_FIELDS | TEXT_FIELDS | ARRAY_FIELDS
FLAG_FIELDS = frozenset({"is_outage", "whether_refund", "is_free_charge"})

# The page marks these required. The others it marks so (charge_type, charge_value, max_power,
# max_pay_fee) belong to some modes only; each mode's own price fields are required below instead.
SETTING_FIELDS = (
    "is_not_disturb",
    "not_disturb_start",
    "not_disturb_end",
    "not_disturb_volume",
    "is_outage",
    "auto_off_wait_time",
    "auto_off_lower_power",
    "floating_charge_time",
    "floating_charge_power",
    "whether_refund",
    "is_free_charge",
    "detect_time",
)
REQUIRED_FIELDS = ("start_fee", *SETTING_FIELDS)

# The fields a mode cannot price without: all of a tuple's names, or one of a set's.
PRICE_FIELDS: dict[int, tuple[str, ...] | frozenset[str]] = {
    MODE_TIME: ("charge_value",),
    MODE_TIME_2: ("payment_value", "time_value"),
    MODE_POWER: ("power_value", "price_value"),
    MODE_POWER_2: ("power_value", "price_value"),
    **{mode: frozenset({"work_charge", "work_charge_fourdigit"}) for mode in ENERGY_MODES},
}
# Time mode 2 levels: 0.01–10 yuan for 60 s–12 hours (the page's 每档 ranges).
LEVEL_FEN = (1, 1000)
LEVEL_SECONDS = (60, 43_200)


def round_half_up(value: Fraction) -> int:
    """Whole fen from an exact non-negative amount, 0.5 rounding up."""
    return int((value + Fraction(1, 2)) // 1)


def camel(name: str) -> str:
    """getMode's name of a saveMode field: work_charge_fourdigit → workChargeFourdigit."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def int_array(fields: Mapping[str, str], name: str) -> list[int]:
    """An array field as ints; the field was checked when it was saved."""
    return [int(item) for item in json.loads(fields[name])]


def _array(name: str, value: str) -> list[int]:
    try:
        items = json.loads(value)
    except ValueError:
        raise bad_param(name, "应为 JSON 数组, 如 [100,200]") from None
    if not isinstance(items, list) or not items or any(parse_int(item) is None for item in items):
        raise bad_param(name, "应为非空整数数组")
    numbers = [parse_int(item) for item in items]
    if any(number < 0 for number in numbers):
        raise bad_param(name, "不能为负数")
    return numbers


def check_mode(raw: Mapping[str, object], *, settings_required: bool = True) -> dict[str, str]:
    """The mode a saveMode form sets, as the device keeps it: `charge_mode` and every known field that is
    not empty, as text; a 1002 naming the first field at fault.

    `settings_required`: the page marks the settings fields (not-disturb, outage, floating charge, refund,
    free charge, detect time) and start_fee required. The car pile's form, whose page we have no copy of,
    and a mode given to a simulated device need only `charge_mode` and the mode's price fields.
    """
    mode = parse_int(raw.get("charge_mode"))
    if mode is None:
        raise bad_param("charge_mode", "应为整数" if raw.get("charge_mode") not in (None, "") else "不能为空")
    kept: dict[str, str] = {"charge_mode": str(mode)}
    for name in sorted(MODE_FIELDS):
        value = raw.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool | dict):
            raise bad_param(name)
        kept[name] = sign_text(value)
    for name in REQUIRED_FIELDS if settings_required else ():
        if name not in kept:
            raise bad_param(name, "不能为空")
    price_fields = PRICE_FIELDS.get(mode)
    if isinstance(price_fields, frozenset):
        if not price_fields & kept.keys():
            raise bad_param(" 或 ".join(sorted(price_fields)), "不能为空")
    elif price_fields:
        for name in price_fields:
            if name not in kept:
                raise bad_param(name, "不能为空")
    for name, value in kept.items():
        if name in INT_FIELDS:
            number = parse_int(value)
            if number is None:
                raise bad_param(name, "应为整数")
            if number < 0:
                raise bad_param(name, "不能为负数")
            if name in FLAG_FIELDS and number not in (0, 1):
                raise bad_param(name, "应为 0 或 1")
        elif name in ARRAY_FIELDS:
            _array(name, value)
    if kept.get("is_not_disturb", "0") not in ("0", "1"):
        raise bad_param("is_not_disturb", "应为 0 或 1")
    if kept.get("charge_type", "fixed") not in ("fixed", "custom"):
        raise bad_param("charge_type", "应为 fixed 或 custom")
    if mode == MODE_TIME_2:
        payments, times = _array("payment_value", kept["payment_value"]), _array("time_value", kept["time_value"])
        if len(payments) != len(times):
            raise bad_param("time_value", "档位数须与 payment_value 相同")
        if any(not LEVEL_FEN[0] <= fen <= LEVEL_FEN[1] for fen in payments):
            raise bad_param("payment_value", "每档金额须在 1 到 1000 分之间")
        if any(not LEVEL_SECONDS[0] <= seconds <= LEVEL_SECONDS[1] for seconds in times):
            raise bad_param("time_value", "每档时间须在 60 到 43200 秒之间")
    if mode in (MODE_POWER, MODE_POWER_2) and len(_array("power_value", kept["power_value"])) != len(
        _array("price_value", kept["price_value"])
    ):
        raise bad_param("price_value", "档位数须与 power_value 相同")
    return kept


def energy_price(fields: Mapping[str, str]) -> Fraction:
    """Fen per kWh. The page: to bill with four digits, send work_charge_fourdigit (0.0001 yuan, i.e.
    0.01 fen, per kWh) instead of work_charge, so the four-digit price wins when both came."""
    if "work_charge_fourdigit" in fields:
        return Fraction(int(fields["work_charge_fourdigit"]), 100)
    return Fraction(int(fields.get("work_charge", "0")))


def rate_per_second(fields: Mapping[str, str] | None, power_w: int) -> Fraction:
    """Fen per simulated second of charging at `power_w` under a saved mode; 0 without one or when free.

    Energy modes (1, 8, 11): price per kWh × power. Time mode 0: charge_value[0] fen per hour. Time mode 7:
    payment_value[0] fen per time_value[0] seconds, pro rata. Power modes (2, 9): price_value[i] fen per
    hour for the first power_value bound at or above the port's power (the highest bound above them all).
    """
    if not fields or fields.get("is_free_charge") == "1":
        return Fraction(0)
    mode = int(fields["charge_mode"])
    if mode in ENERGY_MODES:
        return energy_price(fields) * power_w / 3_600_000
    if mode == MODE_TIME:
        return Fraction(int_array(fields, "charge_value")[0], 3600)
    if mode == MODE_TIME_2:
        return Fraction(int_array(fields, "payment_value")[0], int_array(fields, "time_value")[0])
    if mode in (MODE_POWER, MODE_POWER_2):
        tiers = sorted(zip(int_array(fields, "power_value"), int_array(fields, "price_value"), strict=True))
        price = next((price for bound, price in tiers if power_w <= bound), tiers[-1][1])
        return Fraction(price, 3600)
    raise ApiError(0, f"无法计费的充电模式 {mode}")
