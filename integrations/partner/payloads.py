"""Our data as the 2017 partner interface shows it: stations, chargers with their fee texts, and orders.

The fee texts of StubInfo (§2.2, `syncStubInfo`):

StubInfo describes one charger to the partner. Its `electricFee` (电费描述) and `serviceFee` (服务费描述) are
"String" descriptions with no format: texts for people, not amounts for a program. They are written in Chinese
whatever the admin's language, and prices keep our four decimals of yuan, so nothing is rounded.

Where the spec is silent, we assumed:

- a fee the same all day is described by its price alone ("0.6500元/度"); otherwise each period in day order
  as "HH:MM-HH:MM <尖|峰|平|谷> <price>元/度" (no interval word for a period without one), joined by "；";
- a power tier reads "≤<bound>W <price>元/<charge unit>", the unit in the largest whole unit ("小时",
  "4小时", "30分钟", "90秒"), the tiers in power order, joined by "；";
- the free time at the start spares both fees, so each text ends with it, in minutes when whole
  ("，前3分钟免费"), else in seconds ("，前90秒免费");
- `totalFeeInfo` (总费用, a number the spec does not explain) is the price per kWh of the period in force,
  below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import translation

from backoffice.days import BEIJING
from chargers.models import Charger, Connector, ConnectorStatus, CurrentType, ParkingStatus
from orders.models import CloseReason, Order, OrderStatus
from orders.selectors import order_fees_so_far
from stations.models import Station, StationAccess, StationStatus
from tariffs.models import VehicleKind
from tariffs.pricing import Interval, Period, PowerTier, Tariff
from tariffs.renderings import periods_in_day_order, require_rows, tiers_in_power_order
from tariffs.units import format_minute_of_day, format_price_e4

from .protocol import format_time, kwh, yuan

# Protocol text: Chinese whatever the admin language, so plain literals rather than gettext.
_INTERVAL_ZH = {Interval.CUSP: "尖", Interval.PEAK: "峰", Interval.PLAIN: "平", Interval.VALLEY: "谷"}


def _zh_charge_unit(seconds: int) -> str:
    """A charge unit as the partner reads it: 3600 -> "小时", 14400 -> "4小时", 1800 -> "30分钟", 90 -> "90秒"."""
    if seconds % 3600 == 0:
        count, name = seconds // 3600, "小时"
    elif seconds % 60 == 0:
        count, name = seconds // 60, "分钟"
    else:
        count, name = seconds, "秒"
    return name if count == 1 else f"{count}{name}"


def _zh_periods(periods: list[Period], price_of) -> str:
    if len({price_of(period) for period in periods}) == 1:
        return f"{format_price_e4(price_of(periods[0]))}元/度"
    parts = []
    for period in periods:
        span = f"{format_minute_of_day(period.start_minute)}-{format_minute_of_day(period.end_minute)}"
        interval = _INTERVAL_ZH.get(period.interval)
        words = [span, interval] if interval else [span]
        parts.append(" ".join([*words, f"{format_price_e4(price_of(period))}元/度"]))
    return "；".join(parts)


def _zh_tiers(tiers: list[PowerTier], price_of) -> str:
    return "；".join(
        f"≤{tier.power_upper_w}W {format_price_e4(price_of(tier))}元/{_zh_charge_unit(tier.unit_seconds)}"
        for tier in tiers
    )


def fee_descriptions(tariff: Tariff) -> dict:
    """`{"electricFee": ..., "serviceFee": ...}`: the StubInfo fee texts of `tariff`, in Chinese."""
    require_rows(tariff)
    if tariff.periods:
        periods = [period for _label, period in periods_in_day_order(tariff)]
        electric = _zh_periods(periods, lambda period: period.electricity_price_e4)
        service = _zh_periods(periods, lambda period: period.service_price_e4)
    else:
        tiers = [tier for _label, tier in tiers_in_power_order(tariff)]
        electric = _zh_tiers(tiers, lambda tier: tier.electricity_price_e4)
        service = _zh_tiers(tiers, lambda tier: tier.service_price_e4)
    free = tariff.free_charge_seconds
    if free > 0:
        # The free time spares both fees, so each text says so on its own.
        suffix = f"，前{free // 60}分钟免费" if free % 60 == 0 else f"，前{free}秒免费"
        electric += suffix
        service += suffix
    return {"electricFee": electric, "serviceFee": service}


# --- stations, chargers and orders as the partner reads them (§2.1, §2.2, §2.3) ---------------------------------
#
# Where the spec is silent, we assumed:
#
# - a station (桩群) is `Id` = our station code; a charger (桩) is `Id` = its vendor serial, the number printed on it;
#   a gun (枪) is `gunId` = the connector's number ("1", "2");
# - StubInfo also lists each charger's guns with their status (`guns`), since chargeStart needs a gunId and the
#   spec lists none; an AC/DC charger counts among the AC and the DC chargers alike;
# - a charger's `status` is its best gun's: idle when one gun is free, else charging, parking occupied, fault,
#   maintenance, offline in that order; an offline charger is 5 whatever its guns say, a station under construction
#   makes its chargers 6 and one under maintenance makes them 4; a gun whose state we do not know is offline;
# - `existsGun` is 1 for a car charger (its cable is fixed) and 0 for an e-bike socket; `totalFeeInfo` is the price
#   per kWh (electricity plus service, yuan with four decimals) of the period in force now, null for a tariff by
#   power tier or a station without a tariff; `parkingFeeInfo` is the station's parking fee text;
# - an order's `status` is 1 from its creation until it is settled (the spec has no "starting", and an ended session
#   awaiting the vendor's settlement has no final figures yet), 2 or 9 once settled by its close reason, 0 when its
#   start failed; `soc` is stated only for a DC charger; `timeCharge` is the charging time the charger reported, or
#   the time since the start while it gives none;
# - the fees of a session not yet settled are our price so far (the pricing engine over its readings), so a partner
#   sees the money run with the energy; a settled order's are its final fees.


STUB_GROUP_TYPES = {StationAccess.PUBLIC: 0, StationAccess.PRIVATE: 1, StationAccess.DEDICATED: 2}

IDLE, CHARGING, FAULT, PARKING_TAKEN, MAINTENANCE, OFFLINE, BUILDING = 0, 1, 2, 3, 4, 5, 6
# Our connector states as the spec's stub states (§2.2 status).
GUN_STATUS = {
    ConnectorStatus.FREE: IDLE,
    ConnectorStatus.OCCUPIED: CHARGING,
    ConnectorStatus.CHARGING: CHARGING,
    ConnectorStatus.BOOKED: CHARGING,
    ConnectorStatus.FAULT: FAULT,
    ConnectorStatus.MAINTENANCE: MAINTENANCE,
    ConnectorStatus.OFFLINE: OFFLINE,
    ConnectorStatus.UNKNOWN: OFFLINE,
}
# Which gun state a charger with several shows: the first found in this order.
STUB_STATUS_ORDER = (IDLE, CHARGING, PARKING_TAKEN, FAULT, MAINTENANCE, OFFLINE)
STATION_STUB_STATUS = {StationStatus.BUILD: BUILDING, StationStatus.MAINTAIN: MAINTENANCE}

CURRENT_TYPES = {CurrentType.AC: 0, CurrentType.DC: 1, CurrentType.AC_DC: 2}
PARKING = {ParkingStatus.UNKNOWN: 0, ParkingStatus.FREE: 1, ParkingStatus.OCCUPIED: 2}

START_FAILED, ORDER_CHARGING, ENDED, ENDED_ABNORMALLY = 0, 1, 2, 9
ORDER_STATUS = {
    OrderStatus.CREATED: ORDER_CHARGING,
    OrderStatus.BOOKED: ORDER_CHARGING,
    OrderStatus.STARTING: ORDER_CHARGING,
    OrderStatus.CHARGING: ORDER_CHARGING,
    OrderStatus.STOPPING: ORDER_CHARGING,
    # Ended but not settled: its figures are not final yet, so it is not "ended" to the partner until settled.
    OrderStatus.FINISHED: ORDER_CHARGING,
    OrderStatus.SETTLED: ENDED,
    OrderStatus.START_FAILED: START_FAILED,
    OrderStatus.CANCELLED: START_FAILED,
}
# Close reasons after which an ended session is "结束充电异常" (9) rather than normal (2).
ABNORMAL_CLOSE = frozenset({CloseReason.POWER_LOSS, CloseReason.DEVICE_FAULT, CloseReason.START_TIMEOUT,
                            CloseReason.OTHER})


def _coordinate(value) -> str:
    return "" if value is None else f"{value:.6f}"


def stub_group(station: Station, *, ac: int, dc: int) -> dict:
    """§2.1 one station (桩群); `ac` and `dc` are its counts of AC and DC chargers."""
    return {
        "Id": station.code,
        "stubGroupName": station.name,
        "cityCode": station.city_code,
        "imgUrl": station.picture_url,
        "stubAcCnt": ac,
        "stubDcCnt": dc,
        "serviceTime": station.service_hours,
        "address": station.address,
        "lng": _coordinate(station.longitude),
        "lat": _coordinate(station.latitude),
        "stubGroupType": STUB_GROUP_TYPES[station.access],
        "stubGroupInfo": station.guide,
    }


def is_ac(charger: Charger) -> bool:
    return charger.current_type in (CurrentType.AC, CurrentType.AC_DC)


def is_dc(charger: Charger) -> bool:
    return charger.current_type in (CurrentType.DC, CurrentType.AC_DC)


def gun_status(connector: Connector) -> int:
    status = GUN_STATUS[connector.status]
    if status == IDLE and connector.parking_status == ParkingStatus.OCCUPIED:
        return PARKING_TAKEN  # the socket is free but a car stands in its space
    return status


def stub_status(charger: Charger, connectors: list[Connector], station: Station) -> int:
    if station.status in STATION_STUB_STATUS:
        return STATION_STUB_STATUS[station.status]
    if not charger.online:
        return OFFLINE
    found = {gun_status(connector) for connector in connectors}
    return next((status for status in STUB_STATUS_ORDER if status in found), OFFLINE)


def _parking(connectors: list[Connector]) -> int:
    states = {connector.parking_status for connector in connectors}
    if ParkingStatus.OCCUPIED in states:
        return PARKING[ParkingStatus.OCCUPIED]
    if ParkingStatus.FREE in states:
        return PARKING[ParkingStatus.FREE]
    return PARKING[ParkingStatus.UNKNOWN]


@dataclass(frozen=True)
class StationFees:
    """What a station's tariff in force says to the partner: the fee texts and the price per kWh now."""

    electric: str = ""
    service: str = ""
    total_per_kwh: Decimal | None = None


def station_fees(tariff: Tariff | None, *, now: datetime) -> StationFees:
    if tariff is None:
        return StationFees()
    texts = fee_descriptions(tariff)
    total = None
    if tariff.periods:
        minute = now.astimezone(BEIJING).hour * 60 + now.astimezone(BEIJING).minute
        period = next((p for p in tariff.periods if p.start_minute <= minute < p.end_minute), None)
        if period is not None:
            total = (Decimal(period.electricity_price_e4 + period.service_price_e4) / 10_000).quantize(
                Decimal("0.0001"))
    return StationFees(electric=texts["electricFee"], service=texts["serviceFee"], total_per_kwh=total)


def stub(charger: Charger, connectors: list[Connector], station: Station, fees: StationFees) -> dict:
    """§2.2 StubInfo: one charger (桩) of the station."""
    return {
        "Id": charger.serial,
        "stubName": charger.name or charger.serial,
        "serviceFee": fees.service,
        "electricFee": fees.electric,
        "totalFeeInfo": fees.total_per_kwh,
        "parkingFeeInfo": station.parking_fee,
        "status": str(stub_status(charger, connectors, station)),
        "existsGun": 1 if charger.kind == VehicleKind.EV else 0,
        "type": CURRENT_TYPES[charger.current_type],
        "kw": kwh(charger.rated_power_w),
        "parkingStatus": _parking(connectors),
        "guns": [
            {"gunId": str(connector.number),
             "status": str(OFFLINE if not charger.online else gun_status(connector))}
            for connector in connectors
        ],
    }


def _end_info(order: Order) -> str:
    if order.close_reason:
        with translation.override("zh-hans"):
            label = str(CloseReason(order.close_reason).label)
        text = order.close_reason_text
        return f"{label}：{text}" if text and text != label else label
    if order.status in (OrderStatus.START_FAILED, OrderStatus.CANCELLED):
        return order.close_reason_text or "启动失败"
    return order.close_reason_text


def order_status(order: Order) -> int:
    status = ORDER_STATUS[order.status]
    if status == ENDED and order.close_reason in ABNORMAL_CLOSE:
        return ENDED_ABNORMALLY
    return status


def _charge_seconds(order: Order, now: datetime) -> int:
    if order.charge_seconds or order.started_at is None or order.status in (
            OrderStatus.START_FAILED, OrderStatus.CANCELLED, OrderStatus.BOOKED, OrderStatus.CREATED):
        return order.charge_seconds
    until = order.ended_at or now
    return max(int((until - order.started_at).total_seconds()), 0)


def order_detail(order: Order, *, now: datetime) -> dict:
    """§2.3 one order as every interface and callback states it; `order` with its station and charger loaded."""
    charger = order.charger
    electricity, service = order_fees_so_far(order=order)
    dc = charger.current_type in (CurrentType.DC, CurrentType.AC_DC)
    return {
        "OrderId": order.order_no,
        "stubId": charger.serial,
        "outOrderId": order.partner_order_no,
        "driverId": order.driver_id,
        "timeStart": format_time(order.started_at),
        # An ended session awaiting its settlement is still 1 (not ended) to the partner, so it has no end yet.
        "timeEnd": format_time(order.ended_at) if order.status != OrderStatus.FINISHED else "",
        "timeCharge": _charge_seconds(order, now),
        "feeTotal": yuan(electricity + service),
        "chargeType": 1 if dc else 0,
        "power": kwh(order.energy_wh),
        "soc": order.soc if dc else None,
        "status": order_status(order),
        "endInfo": _end_info(order),
        "feeService": yuan(service),
        "feeElectric": yuan(electricity),
        "cityCode": order.station.city_code,
    }
