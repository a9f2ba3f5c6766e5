"""Our vocabulary in 4pyun's codes (doc.4pyun.com/openapi/appendix.html), as data; every table is tested whole in
`tests/integrations/fourpyun/test_mappers.py`. The descriptions (`state_desc`) are 4pyun's own words."""

from __future__ import annotations

from datetime import UTC, datetime

from chargers.models import Charger, ConnectorStatus, CurrentType, ParkingStatus
from tariffs.models import VehicleKind

# device_type: 0 汽车充电桩, 1 两轮电瓶车充电设备.
DEVICE_TYPE = {VehicleKind.EV: 0, VehicleKind.EBIKE: 1}
# energy_code: only CN_AC 交流慢充 and CN_DC 直流快充 exist; a pile that gives both is a fast charger.
ENERGY_CODE = {CurrentType.AC: "CN_AC", CurrentType.DC: "CN_DC", CurrentType.AC_DC: "CN_DC"}

# device_state: 1 可用, -1 故障, -2 离线.
DEVICE_AVAILABLE, DEVICE_FAULT, DEVICE_OFFLINE = 1, -1, -2
DEVICE_STATE_DESC = {DEVICE_AVAILABLE: "可用", DEVICE_FAULT: "故障", DEVICE_OFFLINE: "离线"}

# port_state: 1 空闲, 2 充电中, 3 空占中, -1 故障. A port that cannot be used for any other reason (offline,
# under maintenance, state unknown) is -1 with its own description; a booked one is taken (3).
PORT_STATE = {
    ConnectorStatus.FREE: (1, "空闲"),
    ConnectorStatus.CHARGING: (2, "充电中"),
    ConnectorStatus.OCCUPIED: (3, "空占中"),
    ConnectorStatus.BOOKED: (3, "已预约"),
    ConnectorStatus.FAULT: (-1, "故障"),
    ConnectorStatus.OFFLINE: (-1, "离线"),
    ConnectorStatus.MAINTENANCE: (-1, "维护中"),
    ConnectorStatus.UNKNOWN: (-1, "状态未知"),
}
# space_status: -1 未知, 1 空闲, 2 占用.
SPACE_STATUS = {ParkingStatus.UNKNOWN: -1, ParkingStatus.FREE: 1, ParkingStatus.OCCUPIED: 2}

# replenish_state: 0 未充电, -1 启动失败/充电异常, 2 充电中, 3 充电完成.
NOT_CHARGING, FAILED, CHARGING, FINISHED = 0, -1, 2, 3
REPLENISH_STATES = (NOT_CHARGING, FAILED, CHARGING, FINISHED)


def device_type(charger: Charger) -> int:
    return DEVICE_TYPE[charger.kind]


def energy_code(charger: Charger) -> str:
    return ENERGY_CODE[charger.current_type]


def device_state(charger: Charger) -> int:
    if not charger.online or charger.status == ConnectorStatus.OFFLINE:
        return DEVICE_OFFLINE
    if charger.status == ConnectorStatus.FAULT:
        return DEVICE_FAULT
    return DEVICE_AVAILABLE


def utc_time(moment: datetime) -> str:
    """4pyun's JSON time: UTC, ISO 8601 with milliseconds and Z (`2025-09-17T06:14:08.320Z`)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
