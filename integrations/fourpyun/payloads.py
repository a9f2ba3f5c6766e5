"""Our data in 4pyun's shapes: an order's charging record (replenish/sync) and a charger's device (device/sync).

Pure functions of our records; the client adds the public parameters (app_id, timestamp, sign_type).

The charging record, field by field (doc.4pyun.com: 同步充电记录):

- `station_uuid`: the station's 4pyun station UUID; `order`: our order number.
- `start_time`, `end_time`: when the session started; when it ended, or its last news while it runs (UTC ISO with
  milliseconds). A start that failed has the order's creation for both.
- `vin`, `plate`: the order's vehicle; the plate only when it is one (`orders.plates`): a record with a malformed
  plate would be refused and lost, one without a plate is taken and grants no reduction.
- `quantity`: energy in Wh (4pyun's unit, 0.001 kWh, is a Wh).
- `energy_value`, `fee_value`: electricity and service fee in fen; final once ended, our price so far while it runs.
- `state`, `state_desc`: 2 charging, 3 ended, -1 start failed; the close reason in Chinese.
- `device_no`, `port_no`: the charger's vendor serial, the connector's number; `device_type`, `energy_code`: the
  charger's vehicle kind and current (`mappers`).
- `soc`: the session's last SOC, left out when no reading gave one.
- `mobile`: the driver's mobile, else the card holder's, else our local id of the driver (the spec allows it:
  "未收集到时可传递本地用户标识"): `driver:<id>`, `card:<number>` or `order:<number>`, never mistaken for a phone.

The device, field by field (doc.4pyun.com: 充电设备同步): `no` the serial, `name` ours (else the serial), `type`,
`state`/`state_desc` from the charger (`mappers.device_state`), `energy_code`, `metadata` (the versions and model
the vendor reported; the rated power in 4pyun's 0.0001 W) and `port`: each connector's number as `no` and `alias`,
its state and its parking space.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import translation

from chargers.models import Charger, Connector
from orders.models import CloseReason, Order, OrderStatus
from orders.plates import plate_normalise, plate_problem
from orders.selectors import order_fees_so_far
from tariffs.models import VehicleKind

from . import mappers

STATE_DESC = {mappers.CHARGING: "充电中", mappers.FINISHED: "充电完成", mappers.FAILED: "启动失败"}


def record_state(order: Order) -> int | None:
    """The replenish_state of what the order says now; None for an order with nothing to report yet."""
    if order.status in (OrderStatus.START_FAILED, OrderStatus.CANCELLED):
        return mappers.FAILED
    if order.status == OrderStatus.SETTLED:
        return mappers.FINISHED
    if order.status in (OrderStatus.CHARGING, OrderStatus.STOPPING, OrderStatus.FINISHED):
        return mappers.CHARGING
    return None


def _state_desc(order: Order, state: int) -> str:
    words = STATE_DESC[state]
    reason = ""
    if order.close_reason:
        with translation.override("zh-hans"):
            reason = str(CloseReason(order.close_reason).label)
    elif state == mappers.FAILED:
        reason = order.close_reason_text
    return f"{words}：{reason}"[:100] if reason and state != mappers.CHARGING else words


def reduction_problem(order: Order) -> str:
    """Why 4pyun cannot grant a parking-fee reduction for this order's record, for the operator; empty when it can.
    E-bikes park without plates: their records never grant one, and are not listed."""
    if order.charger.kind == VehicleKind.EBIKE:
        return ""
    return plate_problem(plate_normalise(order.plate))


def _mobile(order: Order) -> str:
    card = order.card if order.card_id else None
    if order.mobile:
        return order.mobile
    if card is not None and card.mobile:
        return card.mobile
    if order.driver_id:
        return f"driver:{order.driver_id}"
    if card is not None:
        return f"card:{card.number}"
    return f"order:{order.order_no}"


def record_fields(order: Order, *, state: int, now: datetime) -> dict:
    """The record of `order` in `state`; `order` with its station, charger, connector and card loaded."""
    charger = order.charger
    started = order.started_at or order.created_at
    if state == mappers.FAILED:
        started = ended = order.created_at
    else:
        ended = order.ended_at or order.last_data_at or now
    electricity, service = order_fees_so_far(order=order)
    plate = plate_normalise(order.plate)
    fields = {
        "station_uuid": order.station.fourpyun_station_uuid,
        "order": order.order_no,
        "start_time": mappers.utc_time(started),
        "end_time": mappers.utc_time(max(ended, started)),
    }
    if order.vin:
        fields["vin"] = order.vin
    if plate and not plate_problem(plate):
        fields["plate"] = plate
    fields |= {
        "quantity": order.energy_wh,
        "energy_value": electricity,
        "fee_value": service,
        "state": state,
        "state_desc": _state_desc(order, state),
        "device_no": charger.serial,
        "device_type": mappers.device_type(charger),
        "port_no": str(order.connector.number),
        "energy_code": mappers.energy_code(charger),
    }
    if order.soc is not None:
        fields["soc"] = order.soc
    fields["mobile"] = _mobile(order)
    return fields


def _port(connector: Connector) -> dict:
    state, desc = mappers.PORT_STATE[connector.status]
    return {"no": str(connector.number), "state": state, "state_desc": desc, "alias": str(connector.number),
            "space_status": mappers.SPACE_STATUS[connector.parking_status]}


def device_fields(charger: Charger, connectors: list[Connector], *, station_uuid: str) -> dict:
    """The device sync of `charger` with its `connectors` (in number order)."""
    state = mappers.device_state(charger)
    metadata = {key: value for key, value in (
        ("DEVICE_HARDWARE_VERSION", charger.hardware_version),
        ("DEVICE_SOFTWARE_VERSION", charger.firmware_version),
        ("DEVICE_MODEL", charger.model),
        ("DEVICE_NET_TYPE", charger.communication_type),
        # 4pyun's power unit is 0.0001 W.
        ("DEVICE_CHARGE_POWER", str(charger.rated_power_w * 10_000) if charger.rated_power_w else ""),
    ) if value}
    return {
        "station_uuid": station_uuid,
        "no": charger.serial,
        "name": charger.name or charger.serial,
        "type": mappers.device_type(charger),
        "state": state,
        "state_desc": mappers.DEVICE_STATE_DESC[state],
        "energy_code": mappers.energy_code(charger),
        "metadata": metadata,
        "port": [_port(connector) for connector in connectors],
    }
