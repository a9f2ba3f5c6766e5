"""The fields of the two sync endpoints, checked as 4pyun checks them: the first field wrong is refused by name.

Each check raises `ApiError` 400 (请求参数错误) with a hint naming the field in back-quotes, in 4pyun's own wording
for a missing one ("`order` required~"). Fields are checked in the order of the page's table, so the hint names
the first one wrong, as 4pyun's validator does. An optional field that is null or "" counts as absent; a required
one that is null or "" counts as missing. Numbers must be JSON integers: "100", 100.0 and true are refused, as a
Java int field of 4pyun's would refuse them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from integrations.fourpyun.simulator.protocol import PLATE, bad_request, parse_utc

REPLENISH_STATES = (0, -1, 2, 3)  # 未充电, 启动失败/充电异常, 充电中, 充电完成
FINAL_STATES = frozenset({3, -1})
DEVICE_TYPES = (0, 1)  # 汽车充电桩, 两轮电瓶车充电设备
ENERGY_CODES = ("CN_AC", "CN_DC")
DEVICE_STATES = (1, -1, -2)  # 可用, 故障, 离线
PORT_STATES = (1, 2, 3, -1)  # 空闲, 充电中, 空占中, 故障
# The appendix lists -1, 1 and 2; the page's own example sends 0, so 4pyun takes it too.
SPACE_STATUSES = (-1, 0, 1, 2)
MAX_QUANTITY = 10_000_000  # 0.001 kWh: 10 MWh is no charging session
MAX_FEN = 100_000_000  # one million yuan


def _absent(value: Any) -> bool:
    return value is None or value == ""


def _text(obj: Mapping, name: str, *, label: str | None = None, required: bool = True) -> str | None:
    label = label or name
    value = obj.get(name)
    if _absent(value):
        if required:
            raise bad_request(f"`{label}` required~")
        return None
    if not isinstance(value, str):
        raise bad_request(f"`{label}` 必须为字符串")
    return value


def _integer(
    obj: Mapping,
    name: str,
    *,
    label: str | None = None,
    required: bool = True,
    maximum: int | None = None,
    choices: Collection[int] | None = None,
) -> int | None:
    label = label or name
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"`{label}` required~")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"`{label}` 必须为整数")
    if choices is not None:
        if value not in choices:
            raise bad_request(f"`{label}` 取值无效: {value}, 可选值 {', '.join(map(str, choices))}")
    elif value < 0 or (maximum is not None and value > maximum):
        raise bad_request(f"`{label}` 超出取值范围: {value}")
    return value


def _choice(obj: Mapping, name: str, choices: Collection[str]) -> str:
    value = _text(obj, name)
    if value not in choices:
        raise bad_request(f"`{name}` 取值无效: {value}, 可选值 {', '.join(choices)}")
    return value


def _utc(obj: Mapping, name: str):
    text = _text(obj, name)
    moment = parse_utc(text)
    if moment is None:
        raise bad_request(f"`{name}` 时间格式错误, 应为 yyyy-MM-dd'T'HH:mm:ss.SSS'Z' (UTC)")
    return moment


def check_record(body: Mapping) -> None:
    """A charging record (replenish/sync), field by field in the page's order."""
    _text(body, "station_uuid")
    _text(body, "order")
    start = _utc(body, "start_time")
    end = _utc(body, "end_time")
    if end < start:
        raise bad_request("`end_time` 不能早于 `start_time`")
    _text(body, "vin", required=False)
    plate = _text(body, "plate", required=False)
    if plate is not None and not PLATE.match(plate):
        raise bad_request("`plate` 车牌号码格式错误")
    _integer(body, "quantity", maximum=MAX_QUANTITY)
    _integer(body, "energy_value", maximum=MAX_FEN)
    _integer(body, "fee_value", maximum=MAX_FEN)
    _integer(body, "state", choices=REPLENISH_STATES)
    _text(body, "state_desc")
    _text(body, "device_no")
    _integer(body, "device_type", choices=DEVICE_TYPES)
    _text(body, "port_no")
    _choice(body, "energy_code", ENERGY_CODES)
    _integer(body, "soc", required=False, maximum=100)
    _text(body, "mobile")


def check_device(body: Mapping) -> None:
    """A device and its ports (device/sync), field by field in the page's order."""
    _text(body, "station_uuid")
    _text(body, "no")
    _text(body, "name")
    _integer(body, "type", choices=DEVICE_TYPES)
    _integer(body, "state", choices=DEVICE_STATES)
    _text(body, "state_desc")
    _choice(body, "energy_code", ENERGY_CODES)
    ports = body.get("port")
    if ports is None:
        raise bad_request("`port` required~")
    if not isinstance(ports, list):
        raise bad_request("`port` 必须为数组")
    if not ports:
        raise bad_request("`port` 不能为空")
    for index, port in enumerate(ports):
        where = f"port[{index}]"
        if not isinstance(port, dict):
            raise bad_request(f"`{where}` 必须为对象")
        _text(port, "no", label=f"{where}.no")
        _integer(port, "state", label=f"{where}.state", choices=PORT_STATES)
        _text(port, "state_desc", label=f"{where}.state_desc")
        _text(port, "alias", label=f"{where}.alias")
        _integer(port, "space_status", label=f"{where}.space_status", required=False, choices=SPACE_STATUSES)
    metadata = body.get("metadata")
    if metadata is None:
        raise bad_request("`metadata` required~")
    if not isinstance(metadata, dict):
        raise bad_request("`metadata` 必须为对象")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise bad_request(f"`metadata.{key}` 必须为字符串")
