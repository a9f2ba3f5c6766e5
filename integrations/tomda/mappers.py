"""Tomda's words and units, mapped to ours. Every table is data, tested against the spec's appendices."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from backoffice.days import BEIJING
from chargers.models import ConnectorStatus, CurrentType, EventSource, EventState
from chargers.vendor import ChargerInfo, ChargeStrategy, ConnectorInfo, SessionState
from integrations.values import (
    AMOUNT_FEN_MAX,
    ENERGY_WH_MAX,
    SESSION_SECONDS_MAX,
    WALL_TIME_FORMAT,
    MappingError,
    integer,
    moment_checked,
    shown,
    text,
    wall_time,
)
from orders.models import CloseReason, OrderStatus
from tariffs.models import VehicleKind

from . import constants as c

# Appendix 2: charger and connector status.
DEVICE_STATUS = {
    "FREE": ConnectorStatus.FREE,
    "BOOKED": ConnectorStatus.BOOKED,
    "CHARGING": ConnectorStatus.CHARGING,
    "PARKING": ConnectorStatus.OCCUPIED,
    "MAINTAIN": ConnectorStatus.MAINTENANCE,
    "FAULT": ConnectorStatus.FAULT,
}

# Appendix 3: order status → ours. PARK (the car stays after charging), FINISH, WAIT_PAY and CLOSED
# all mean the energy has stopped; settlement (ORDER_DATA) makes the order settled.
ORDER_STATUS = {
    "BOOKED": OrderStatus.BOOKED,
    "CHARGE": OrderStatus.CHARGING,
    "PARK": OrderStatus.FINISHED,
    "FINISH": OrderStatus.FINISHED,
    "CLOSED": OrderStatus.FINISHED,
    "WAIT_PAY": OrderStatus.FINISHED,
}

# Appendix 3 as the connector sees it; CLOSED says nothing about the gun, so it changes nothing.
RUN_STATUS_CONNECTOR = {
    "BOOKED": ConnectorStatus.BOOKED,
    "CHARGE": ConnectorStatus.CHARGING,
    "PARK": ConnectorStatus.OCCUPIED,
    "FINISH": ConnectorStatus.OCCUPIED,
    "WAIT_PAY": ConnectorStatus.OCCUPIED,
}

# Appendix 7: close type → (our reason, Tomda's words to the driver).
CLOSE_TYPES = {
    "EBIKE_DEAUTHORIZED": (CloseReason.INSUFFICIENT_BALANCE, "余额不足,请充值后再进行扫码充电"),
    "EBIKE_LOCAL": (CloseReason.OTHER, "插座被禁用,请选择空闲的插座开始您的充电服务"),
    "EBIKE_ENERGYLIMITREACHED": (CloseReason.ENERGY_REACHED, "按电量充时,达到最大可充电量"),
    "EBIKE_EVDISCONNECTED": (
        CloseReason.UNPLUGGED,
        "充电桩检测的您的充电器被拔掉或插头松动,请确定插好后再进行扫码充电",
    ),
    "EBIKE_GROUNDFAULT": (CloseReason.DEVICE_FAULT, "充电桩维护中,请联系管理员"),
    "EBIKE_OVERCURRRENDFAULT": (
        CloseReason.DEVICE_FAULT,
        "您的充电器功率大于 600W, 为正常使用请选择 600W 以内的充电器",
    ),
    "EBIKE_POWERLOSS": (
        CloseReason.POWER_LOSS,
        "充电站停电了,来电后我们会重新给您的爱车开始充电,不会缩短您的充电时间,请耐心等候",
    ),
    "EBIKE_POWERQUALITY": (CloseReason.DEVICE_FAULT, "充电桩维护中,请联系管理员"),
    "EBIKE_REMOTE": (CloseReason.REMOTE_STOP, "您已经远程停止充电,如果需要再次充电,请重新扫码"),
    "EBIKE_TIMELIMITREACHED": (CloseReason.TIME_REACHED, "已达到您选择的充电时间"),
    "EBIKE_TIMEOUT": (CloseReason.START_TIMEOUT, "插头未插好,请确定插好后再进行扫码充电"),
    "EBIKE_SOCLIMITREACHED": (CloseReason.FULL, "您的爱车已充满,请使用,注意出行安全"),
    "EBIKE_IMMEDIATERESET": (CloseReason.OTHER, "Reset"),
}

EVENT_SOURCE = {
    "CHARGER": EventSource.CHARGER,
    "CHARGER_PLUG": EventSource.PLUG,
    "SERVER": EventSource.SERVER,
}

EVENT_STATE = {
    "HAPPENING": EventState.HAPPENING,
    "IGNORED": EventState.IGNORED,
    "HANDLED": EventState.HANDLED,
    "RECOVERED": EventState.RECOVERED,
}

# Appendix 5 lists fault codes only; any code naming a fault makes the connector faulty while it happens.
FAULT_MARK = "_FAULT_"


def is_fault(event_code: str) -> bool:
    return FAULT_MARK in event_code

# Appendix 6: device type → (vehicle kind, current type, rated power in W; 0 when the type does not say).
DEVICE_TYPES = {
    "TOMDA_EB10_T1": (VehicleKind.EBIKE, CurrentType.AC, 0),
    "TOMDA_EB10_T2": (VehicleKind.EBIKE, CurrentType.AC, 0),
    "TOMDA_EV7K_T3": (VehicleKind.EV, CurrentType.AC, 7000),
    "TOMDA_EV7K_T4": (VehicleKind.EV, CurrentType.AC, 7000),
    "TOMDA_EB10_T5": (VehicleKind.EBIKE, CurrentType.AC, 0),
    "TOMDA_EV14K_T6": (VehicleKind.EV, CurrentType.AC, 14000),
    "TOMDA_EB10_T7": (VehicleKind.EBIKE, CurrentType.AC, 0),
}

# §4.5.3 chargeStrategy; the energy strategy's parameter is in whole kW(h) on Tomda's side, Wh on ours.
STRATEGY_CODES = {
    ChargeStrategy.TIME: c.STRATEGY_TIME,
    ChargeStrategy.AMOUNT: c.STRATEGY_AMOUNT,
    ChargeStrategy.ENERGY: c.STRATEGY_ENERGY,
    ChargeStrategy.FULL: c.STRATEGY_FULL,
}

CHARGER_TYPES = {VehicleKind.EV: c.CHARGER_TYPE_EV, VehicleKind.EBIKE: c.CHARGER_TYPE_EBIKE}

# §4.5.3: "e-bike chargers have timed charging and until full, car chargers only until full; the
# others are reserved". Amount and energy exist in the code table but no charger takes them.
STRATEGIES_BY_KIND = {
    VehicleKind.EV: (ChargeStrategy.FULL,),
    VehicleKind.EBIKE: (ChargeStrategy.TIME, ChargeStrategy.FULL),
}


def parse_time(value, *, field: str, around: datetime | None = None) -> datetime:
    """Tomda's local time (`values.wall_time`), within the window around `around` (now); else MappingError."""
    try:
        moment = wall_time(value)
    except ValueError as exc:
        raise MappingError(
            _("%(field)s: %(value)s is not a time of the form yyyy-MM-dd HH:mm:ss.") % {"field": field,
                                                                                        "value": shown(value)}
        ) from exc
    return moment_checked(moment, field=field, around=around)


def format_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(WALL_TIME_FORMAT)


# No charger has more guns than this; a larger number is a garbled push.
MAX_CONNECTOR = 255


def connector_number(value) -> int:
    """Tomda numbers guns from 1; a single-gun charger sends 0 or nothing. Ours start at 1."""
    return max(integer({"connectorId": value}, "connectorId", default=1, maximum=MAX_CONNECTOR), 1)


def device_status(vendor_status: str) -> str:
    return DEVICE_STATUS.get(vendor_status, ConnectorStatus.UNKNOWN)


def charger_info(charger: dict) -> ChargerInfo:
    """A §4.3.1 charger object as ours."""
    if not isinstance(charger, dict):
        raise MappingError(_("%(field)s must be a JSON object.") % {"field": "deviceInfo"})
    serial = text(charger, "serialNum")
    lost = integer(charger, "lost", default=0)
    vendor_status = text(charger, "chargerStatus", required=False, max_length=32)
    connectors = charger.get("connectorInfo")
    connectors = [] if connectors is None else connectors
    # Read whenever sent, as every field is, though only a charger described without its connectors uses it.
    count = integer(charger, "connectorCount", default=1, maximum=MAX_CONNECTOR)
    if not isinstance(connectors, list):
        raise MappingError(_("%(field)s must be a list.") % {"field": "connectorInfo"})
    described = []
    for item in connectors:
        if not isinstance(item, dict):
            raise MappingError(_("Each %(field)s item must be an object.") % {"field": "connectorInfo"})
        # A connector the description gives no status of is as the charger is.
        status = text(item, "connectorStatus", required=False, max_length=32) or vendor_status
        number = connector_number(item.get("connectorId"))
        if any(connector.number == number for connector in described):
            # 0 and 1 both name a single-gun charger's gun: one description cannot hold both.
            raise MappingError(_("%(field)s: connector %(number)s is described twice.")
                               % {"field": "connectorId", "number": number})
        described.append(ConnectorInfo(number=number, vendor_status=status, status=device_status(status)))
    if not described:
        described = [
            ConnectorInfo(number=n, vendor_status=vendor_status, status=device_status(vendor_status))
            for n in range(1, max(count, 1) + 1)
        ]
    device_type = text(charger, "chargerDeviceType", required=False)
    kind, current_type, rated_power_w = DEVICE_TYPES.get(device_type, ("", "", 0))
    return ChargerInfo(
        serial=serial,
        online=lost == 0,
        vendor_status=vendor_status,
        status=device_status(vendor_status),
        device_type_code=device_type,
        device_type_name=text(charger, "chargerDeviceName", required=False, max_length=100),
        model=text(charger, "deviceModel", required=False),
        hardware_version=text(charger, "hardwareVersion", required=False),
        firmware_version=text(charger, "firmwareVersion", required=False),
        communication_type=text(charger, "commuType", required=False, max_length=16),
        connectors=tuple(described),
        kind=kind,
        current_type=current_type,
        rated_power_w=rated_power_w,
    )


def close_reason(close_type: str) -> tuple[str, str]:
    """(our close reason, Tomda's text) for an appendix-7 close type; unknown types are "other", kept raw."""
    return CLOSE_TYPES.get(close_type, (CloseReason.OTHER, close_type))


def order_status(vendor_status: str) -> str | None:
    return ORDER_STATUS.get(vendor_status)


def session_state(data: dict) -> SessionState:
    """The answer of §4.5.5 (progress query) as ours."""
    vendor_status = text(data, "status", max_length=32)
    status = order_status(vendor_status)
    if status is None:
        raise MappingError(_("%(field)s: %(value)s is not an order status of appendix 3.")
                           % {"field": "status", "value": shown(vendor_status)})
    started, ended = data.get("chargeStartTime"), data.get("chargeEndTime")
    cost = integer(data, "chargeCost", default=0, maximum=AMOUNT_FEN_MAX)
    return SessionState(
        order_no=text(data, "clientOrderId"),
        vendor_status=vendor_status,
        status=status,
        serial=text(data, "serialNum"),
        connector_number=connector_number(data.get("connectorId")),
        started_at=parse_time(started, field="chargeStartTime") if started else None,  # none while booked
        ended_at=parse_time(ended, field="chargeEndTime") if ended else None,
        charge_seconds=integer(data, "chargeTime", default=0, maximum=SESSION_SECONDS_MAX),
        park_seconds=integer(data, "parkTime", default=0, maximum=SESSION_SECONDS_MAX),
        energy_wh=integer(data, "chargeEnergy", default=0, maximum=ENERGY_WH_MAX),
        cost_fen=cost or None,
    )


def strategy_parameters(strategy: str, param: int) -> tuple[int, int]:
    """(chargeStrategy, chargeStrategyParam) of §4.5.3 for our strategy and parameter (minutes, fen, Wh, 0)."""
    code = STRATEGY_CODES[strategy]
    if strategy == ChargeStrategy.FULL:
        return code, 0
    if strategy == ChargeStrategy.ENERGY:
        if param % 1000:
            raise MappingError(_("Tomda takes whole kWh for the energy strategy; %(wh)s Wh is not.") % {"wh": param})
        return code, param // 1000
    return code, param
