"""The wz-open API: the checks every call passes, then one method per path (the table in protocol.py)."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import time

from integrations.wanzhuang.simulator.protocol import (
    AUTH_REFUSED,
    CAR_CONTINUING,
    CAR_PLUG_IN,
    CAR_STARTABLE,
    CAR_UNPLUG,
    CHARGE_MODES,
    CHARGE_UNKNOWN,
    CHARGING,
    DEVICE_ADDED,
    DEVICE_OFFLINE,
    DEVICE_UNKNOWN,
    EBIKE_CONTINUING,
    EBIKE_STARTABLE,
    FAULT,
    MODE_CAR_ENERGY,
    MODE_DEVICE_TYPES,
    MODE_MISMATCH,
    MODE_PAGES,
    PAUSED,
    PORT_BUSY,
    PORT_FIELDS,
    PORT_STATES,
    SIGNING_FIELDS,
    START_OK,
    STOP_PORT_FAULT_SET,
    STOP_REBOOT,
    STOP_SERVER,
    SUCCESS,
    SUCCESS_MESSAGE,
    ApiError,
    Params,
    Route,
    bad_param,
    mode_fits,
    paged,
    parse_int,
    signature,
    unix,
)
from integrations.wanzhuang.simulator.state import RenewalOrder, SimDevice, SimPort, SimSession
from integrations.wanzhuang.simulator.tariff import camel, check_mode, rate_per_second

logger = logging.getLogger(__name__)

RESULT = {"result": True}
RENEW_LIST_DAYS = 30  # a flow card is listed for renewal this many days before it expires


def envelope(code: int, message: str, data=None) -> dict:
    """Every answer: HTTP 200 and this object; `timestamp` is the cloud's (real) time."""
    return {"code": code, "message": message, "data": data, "timestamp": int(time.time())}


class WanzhuangApi:
    """The cloud's answers to API calls, for `WanzhuangSimulator`; `handle_api` takes its lock."""

    def handle_api(self, route: Route, path: str, params: dict) -> dict:
        """The envelope answering one call whose parameters the HTTP front has read."""
        with self.lock:
            self.calls.append((route.method, path, dict(params)))
            try:
                self._authenticate(params)
                queued = self._fail_next.get(path)
                if queued:
                    raise ApiError(*queued.popleft())
                handler = getattr(self, route.handler)
                args = Params(params)
                data = handler(args, route.page) if route.page else handler(args)
                answer = envelope(SUCCESS, SUCCESS_MESSAGE, data)
            except ApiError as exc:
                answer = envelope(exc.code, exc.message)
        shown = {key: value for key, value in params.items() if key != "sign"}
        logger.info(
            "API %s %s %s -> %s %s",
            route.method,
            path,
            json.dumps(shown, ensure_ascii=False),
            answer["code"],
            answer["message"],
        )
        return answer

    def _authenticate(self, params: dict) -> None:
        """app_id, then the timestamp window (real time: the client signs with the real time, whatever the
        simulated clock says), then the signature: each refusal is 1001."""
        app_id = params.get("app_id")
        if app_id in (None, ""):
            raise ApiError(AUTH_REFUSED, "缺少 app_id")
        if str(app_id) != self.app_id:
            raise ApiError(AUTH_REFUSED, f"app_id 不存在: {app_id}")
        timestamp = parse_int(params.get("timestamp"))
        if timestamp is None:
            raise ApiError(AUTH_REFUSED, "timestamp 无效: 应为 Unix 秒")
        if abs(time.time() - timestamp) > self.timestamp_tolerance:
            raise ApiError(AUTH_REFUSED, "timestamp expired: 时间戳已过期")
        given = params.get("sign")
        if not isinstance(given, str) or not given:
            raise ApiError(AUTH_REFUSED, "签名错误: 缺少 sign")
        expected = signature(params, self.app_secret, self.sign_method)
        if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8")):
            raise ApiError(AUTH_REFUSED, "签名错误")

    # ---- lookups -----------------------------------------------------------------------------------

    def _device(self, device_num: str | None) -> SimDevice:
        """A device on our account; any other is unknown to the API (1003)."""
        device = self.devices.get(device_num or "")
        if device is None or not device.added:
            raise ApiError(DEVICE_UNKNOWN, f"设备不存在: {device_num}")
        return device

    @staticmethod
    def _port_of(device: SimDevice, number: int) -> SimPort:
        if number not in device.ports:
            raise bad_param("device_port", f"应在 1 到 {device.port_num} 之间")
        return device.ports[number]

    def _port_fields(self, args: Params) -> tuple[str, ...]:
        names = args.text_list("port_fields", required=False)
        if not names:
            return PORT_FIELDS
        unknown = [name for name in names if name not in PORT_FIELDS]
        if unknown:
            raise bad_param("port_fields", f"未知字段 {', '.join(unknown)}")
        return tuple(name for name in PORT_FIELDS if name in names)

    def _port_item(self, device: SimDevice, port: SimPort, fields: tuple[str, ...]) -> dict:
        now = self.clock.now()
        session = port.session
        drawing = session is not None and session.charging and port.state == CHARGING
        values = {
            "state": port.state,
            "charge_id": port.charge_id,
            "charge_mode": session.charge_mode if session else device.charge_mode,
            "pay_amount": session.total_fee if session else 0,
            "pay_used": session.pay_used if session else 0,
            "time_total": session.time_total if session else 0,
            "time_used": session.time_used(now) if session else 0,
            "eq_used": session.eq_wh // self.energy_unit_wh if session else 0,
            "rated_power": port.rated_power_w,
            "current_power": port.power_w if drawing else 0,
            "start_time": session.start_unix if session else 0,
            "rev_time": unix(now),
        }
        return {"device_port": port.number, **{name: values[name] for name in fields}}

    def _device_state(self, device: SimDevice, fields: tuple[str, ...]) -> dict:
        return {
            "device_num": device.device_num,
            "online": 1 if device.online else 0,
            "ports": [self._port_item(device, port, fields) for port in device.ports.values()],
        }

    # ---- devices -------------------------------------------------------------------------------------

    def _api_device_add(self, args: Params):
        device_num = args.text("device_num")
        device = self.devices.get(device_num)
        if device is None:
            raise ApiError(DEVICE_UNKNOWN, f"设备不存在: {device_num} (设备编号无效)")
        if device.added:
            raise ApiError(DEVICE_ADDED, f"设备已添加: {device_num}")
        device.added = True
        return RESULT

    def _api_device_find_one(self, args: Params):
        return self._device(args.text("device_num")).record()

    def _api_device_find_multi(self, args: Params):
        # Numbers that are not devices of ours are left out of the list, as a batch lookup does.
        found = (self.devices.get(num) for num in args.text_list("device_nums"))
        return [device.record() for device in found if device is not None and device.added]

    def _api_device_list(self, args: Params):
        page, size = args.page()
        records = [device.record() for _num, device in sorted(self.devices.items()) if device.added]
        return paged(records, page, size)

    def _api_device_delete(self, args: Params):
        self._device(args.text("device_num")).added = False
        return RESULT

    # ---- device state --------------------------------------------------------------------------------

    def _api_port_status(self, args: Params):
        device = self._device(args.text("device_num"))
        return self._device_state(device, self._port_fields(args))

    def _api_ports_status(self, args: Params):
        fields = self._port_fields(args)
        found = (self.devices.get(num) for num in args.text_list("device_nums"))
        return [self._device_state(device, fields) for device in found if device is not None and device.added]

    def _api_port_error(self, args: Params):
        """is_error 1: the port is faulty (6); a session on it ends (26, 设置端口故障). 0: a faulty port is
        idle (0) again; a port in any other state keeps it."""
        device = self._device(args.text("device_num"))
        port = self._port_of(device, args.integer("device_port"))
        if args.flag("is_error"):
            if port.session is not None and port.session.charging:
                self._end_session(port.session, STOP_PORT_FAULT_SET, port_state=FAULT)
            else:
                self._set_port_state(port, FAULT)
        elif port.state == FAULT:
            self._set_port_state(port, 0)
        return RESULT

    def _api_offline(self, args: Params):
        devices = [self._device(num) for num in args.text_list("device_nums")]
        for device in devices:
            self._set_online(device, False)
        return RESULT

    def _api_reboot(self, args: Params):
        """The device restarts: its sessions end (33, 断电重启), it is off and back on line at once."""
        device = self._device(args.text("device_num"))
        if not device.online:
            raise ApiError(DEVICE_OFFLINE, f"设备离线: {device.device_num}")
        for port in device.ports.values():
            if port.session is not None and port.session.charging:
                self._end_session(port.session, STOP_REBOOT)
        device.reboots += 1
        self._set_online(device, False)
        self._set_online(device, True)
        return RESULT

    def _api_offline_profit_set(self, args: Params):
        device = self._device(args.text("device_num"))
        coin = args.integer("coin", minimum=0)
        card = args.integer("card", minimum=0)
        device.offline_coin, device.offline_card = coin, card
        return RESULT

    # ---- charge modes ----------------------------------------------------------------------------------

    def _mode_number(self, args: Params) -> int:
        mode = args.integer("charge_mode")
        if mode not in CHARGE_MODES:
            raise bad_param("charge_mode", f"未知充电模式 {mode}")
        return mode

    @staticmethod
    def _mismatch(device: SimDevice, mode: int) -> ApiError:
        takes = "、".join(str(m) for m, types in sorted(MODE_DEVICE_TYPES.items()) if device.device_type in types)
        return ApiError(
            MODE_MISMATCH,
            f"充电模式与设备类型不匹配: {CHARGE_MODES[mode]}({mode}) 不能用于设备类型 {device.device_type}"
            f" (可用模式: {takes})",
        )

    def _api_save_mode(self, args: Params):
        device = self._device(args.text("device_num"))
        mode = self._mode_number(args)
        if mode == MODE_CAR_ENERGY:
            raise bad_param("charge_mode", "11 为汽车桩模式, 请使用 /open/device/car/saveMode")
        if not mode_fits(mode, device.device_type):
            raise self._mismatch(device, mode)
        # Saving replaces the device's mode and settings with the form's.
        device.mode = check_mode(args.raw)
        return RESULT

    def _api_car_save_mode(self, args: Params):
        device = self._device(args.text("device_num"))
        mode = self._mode_number(args)
        if mode != MODE_CAR_ENERGY:
            raise bad_param("charge_mode", f"汽车桩只支持 {MODE_CAR_ENERGY}")
        if not device.is_car:
            raise self._mismatch(device, mode)
        device.mode = check_mode(args.raw, settings_required=False)
        return RESULT

    @staticmethod
    def _mode_answer(device: SimDevice) -> dict:
        saved = {camel(name): value for name, value in (device.mode or {}).items() if name != "charge_mode"}
        return {"charge_mode": device.charge_mode, "device_num": device.device_num, **saved}

    def _api_get_mode(self, args: Params):
        return self._mode_answer(self._device(args.text("device_num")))

    def _api_car_get_mode(self, args: Params):
        device = self._device(args.text("device_num"))
        if not device.is_car:
            raise ApiError(MODE_MISMATCH, f"设备类型不匹配: {device.device_num} 不是汽车桩")
        return self._mode_answer(device)

    def _api_mode_page(self, args: Params, page: str):
        """A settings page: its fields of the saved mode; {} when the device is in another mode."""
        device = self._device(args.text("device_num"))
        modes, names = MODE_PAGES[page]
        if device.mode is None or (modes is not None and device.charge_mode not in modes):
            return {}
        return {camel(name): device.mode[name] for name in names if name in device.mode}

    # ---- charging ----------------------------------------------------------------------------------------

    def _check_startable(self, device: SimDevice, port: SimPort) -> None:
        state = port.state
        name = PORT_STATES.get(state, "")
        if device.is_car:
            if state in CAR_PLUG_IN:
                raise ApiError(PORT_BUSY, "请插枪")
            if state in CAR_UNPLUG:
                raise ApiError(PORT_BUSY, "请拔枪")
            if state in CAR_CONTINUING:
                raise ApiError(PORT_BUSY, f"端口忙碌: {state} {name}")
            if state not in CAR_STARTABLE:
                raise ApiError(PORT_BUSY, f"端口故障: {state} {name}")
        elif state not in EBIKE_STARTABLE:
            if state == CHARGING or state in PAUSED:
                raise ApiError(PORT_BUSY, f"端口忙碌: {state} {name}")
            raise ApiError(PORT_BUSY, f"端口故障: {state} {name}")

    def _api_charge_start(self, args: Params):
        device = self._device(args.text("device_num"))
        port = self._port_of(device, args.integer("device_port"))
        charge_id = args.integer("charge_id", minimum=1)
        mode = self._mode_number(args)
        total_fee = args.integer("total_fee", minimum=1)
        if not device.online:
            raise ApiError(DEVICE_OFFLINE, f"设备离线: {device.device_num}")

        continuing = CAR_CONTINUING if device.is_car else EBIKE_CONTINUING
        session = port.session
        if port.state in continuing and session is not None and session.charging and session.charge_id == charge_id:
            return RESULT  # 续充: the same charge_id on its own port goes on, nothing new starts
        self._check_startable(device, port)

        saved = device.charge_mode
        if saved is not None and mode != saved:
            raise ApiError(MODE_MISMATCH, f"充电模式与设备不匹配: 设备为 {saved}, 请求为 {mode}")
        if saved is None and not mode_fits(mode, device.device_type):
            raise self._mismatch(device, mode)
        earlier = self.sessions.get(charge_id)
        if earlier is not None and earlier.status != "failed":
            raise bad_param("charge_id", f"{charge_id} 已使用")

        # The session bills with the mode saved when it starts; with none saved it is free.
        fields = device.mode if saved is not None else None
        session = SimSession(
            charge_id=charge_id,
            device_num=device.device_num,
            port=port.number,
            charge_mode=mode,
            total_fee=total_fee,
            power_w=port.power_w,
            rate=rate_per_second(fields, port.power_w),
            refundable=bool(fields) and fields.get("whether_refund") == "1",
            started_at=self.clock.now(),
        )
        self.sessions[charge_id] = session
        failure = self._fail_starts.pop((device.device_num, port.number), None)
        if failure is not None:
            # The device answers the start but the port does not start: it stays as it was.
            session.status, session.start_state, session.ended_at = "failed", failure, session.started_at
            self._queue_start_power(session, failure)
        else:
            port.session = session
            self._set_port_state(port, CHARGING)
            self._queue_start_power(session, START_OK)
        return RESULT

    def _api_charge_stop(self, args: Params):
        """Ends the session (12, 服务器下发); a session that ended already is answered success again."""
        device = self._device(args.text("device_num"))
        number = args.integer("device_port")
        self._port_of(device, number)
        charge_id = args.integer("charge_id", minimum=1)
        session = self.sessions.get(charge_id)
        if session is None or session.device_num != device.device_num or session.port != number:
            raise ApiError(CHARGE_UNKNOWN, f"订单不存在: charge_id {charge_id} 不在 {device.device_num} 端口 {number}")
        if not device.online:
            raise ApiError(DEVICE_OFFLINE, f"设备离线: {device.device_num}")
        if session.charging:
            self._end_session(session, STOP_SERVER)
        return RESULT

    # ---- callbacks ---------------------------------------------------------------------------------------

    def _api_callback_log(self, args: Params):
        charge_id = args.integer("charge_id", minimum=1)
        if charge_id not in self.sessions and charge_id not in self._callback_log:
            raise ApiError(CHARGE_UNKNOWN, f"订单不存在: {charge_id}")
        return self.callback_log(charge_id)

    def _api_callback_retry_finish(self, args: Params):
        """Send the logged finish_order of a charge_id again, freshly timestamped and signed."""
        charge_id = args.integer("charge_id", minimum=1)
        finishes = [record for record in self._callback_log.get(charge_id, []) if record.name == "finish_order"]
        if not finishes:
            raise ApiError(CHARGE_UNKNOWN, f"订单不存在: {charge_id} 没有结束订单上报记录")
        fields = {key: value for key, value in finishes[-1].fields.items() if key not in SIGNING_FIELDS}
        self._queue_callback("finish_order", fields, charge_id=charge_id)
        return RESULT

    # ---- device log ----------------------------------------------------------------------------------------

    def _api_online_log(self, args: Params):
        device = self._device(args.text("device_num"))
        page, size = args.page()
        entries = [{"online": online, "time": at} for online, at in reversed(device.online_log)]  # newest first
        return paged(entries, page, size)

    # ---- flow cards ------------------------------------------------------------------------------------------

    def _api_renew_list(self, args: Params):
        page, size = args.page()
        horizon = unix(self.clock.now()) + RENEW_LIST_DAYS * 86400
        due = sorted(
            (device for device in self.devices.values() if device.added and device.card_expire <= horizon),
            key=lambda device: (device.card_expire, device.device_num),
        )
        items = [{"device_num": d.device_num, "iccid": d.iccid, "expire_time": d.card_expire} for d in due]
        return paged(items, page, size)

    def _api_renew_order(self, args: Params):
        device_nums = args.text_list("device_nums")
        if not device_nums:
            raise bad_param("device_nums", "不能为空")
        for device_num in device_nums:
            self._device(device_num)
        now = self.clock.now()
        self._renewal_seq += 1
        order_no = f"XF{now.astimezone(dt.UTC):%Y%m%d%H%M%S}{self._renewal_seq:04d}"
        self.renewals[order_no] = RenewalOrder(order_no=order_no, device_nums=list(device_nums), created_at=now)
        return {"order_no": order_no}

    def _api_renew_status(self, args: Params):
        order_no = args.text("order_no")
        order = self.renewals.get(order_no)
        if order is None:
            raise ApiError(DEVICE_UNKNOWN, f"续费订单不存在: {order_no}")
        self._progress_renewal(order)
        return {"order_no": order.order_no, "status": order.status}
