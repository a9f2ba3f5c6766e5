"""The API of spec section 4: one method per path, answering in Tomda's envelope."""

from __future__ import annotations

import json
import logging
import secrets
import time

from integrations.tomda.simulator.fees import FeeSchedule
from integrations.tomda.simulator.protocol import (
    ALLOWED_STRATEGIES,
    API_PREFIX,
    CHARGER_TYPES,
    DEFAULT_LIST_LIMIT,
    FILTERABLE_FIELDS,
    SUCCESS,
    ApiError,
    Params,
    bad_params,
    wire_time,
)
from integrations.tomda.simulator.state import SimCharger, SimSession

logger = logging.getLogger(__name__)


class TomdaApi:
    """The cloud's answers to API calls, for `TomdaSimulator`; `handle_api` takes its lock."""

    ROUTES = {  # path → (allowed methods, handler); the charger list answers both (the spec says both)
        "/api/sys/token/get": (("GET",), "_api_token"),
        "/api/sys/charger/order": (("POST",), "_api_reserve"),
        "/api/sys/charger/cancel": (("POST",), "_api_cancel"),
        "/api/sys/charger/start": (("POST",), "_api_start"),
        "/api/sys/charger/stop": (("POST",), "_api_stop"),
        "/api/sys/charger/sync": (("POST",), "_api_sync"),
        "/api/sys/charger/fee": (("POST",), "_api_charger_fee"),
        "/api/sys/station/sync": (("POST",), "_api_station_sync"),
        "/api/sys/station/elecFeeInfo": (("POST",), "_api_fee_template"),
        "/api/sys/charger/list": (("GET", "POST"), "_api_charger_list"),
        "/api/sys/charger/info": (("GET",), "_api_charger_info"),
    }

    def handle_api(self, method: str, path: str, params: dict[str, str]) -> dict:
        """Tomda's answer envelope for one call; `path` is relative to /Manage."""
        with self.lock:
            self.calls.append((method, path, dict(params)))
            try:
                route = self.ROUTES.get(path)
                if route is None:
                    raise ApiError("1400", f"no API at {API_PREFIX}{path}")
                methods, handler = route
                if method not in methods:
                    raise ApiError("1400", f"{path} is called with {' or '.join(methods)}, not {method}")
                queued = self._fail_next.get(path)
                if queued:
                    raise ApiError(queued.popleft())
                args = Params(params)
                if path != "/api/sys/token/get":
                    self._check_token(args.text("token", required=False))
                data = getattr(self, handler)(args)
                envelope = {"errorCode": SUCCESS, "errorDesc": "", "data": data}
            except ApiError as exc:
                envelope = {"errorCode": exc.code, "errorDesc": exc.desc, "data": None}
                why = exc.detail
            else:
                why = ""
        shown = {k: ("***" if k in ("token", "apiKey") else v) for k, v in params.items()}
        logger.info(
            "API %s %s %s -> %s %s",
            method,
            path,
            json.dumps(shown, ensure_ascii=False),
            envelope["errorCode"],
            why or envelope["errorDesc"],
        )
        return envelope

    def _check_token(self, token: str | None) -> None:
        expiry = self._tokens.get(token or "")
        if expiry is None or expiry <= time.monotonic():
            raise ApiError("1300")

    def _charger(self, serial: str | None) -> SimCharger:
        charger = self.chargers.get(serial or "")
        if charger is None:
            raise ApiError("2003", f"no charger {serial}")
        return charger

    def _session(self, order_no: str | None) -> SimSession:
        session = self.sessions.get(order_no or "")
        if session is None:
            raise ApiError("2013", f"no order {order_no}")
        return session

    def _api_token(self, args: Params):
        if args.text("apiId", required=False) != self.api_id:
            raise ApiError("2001")
        if args.text("apiKey", required=False) != self.api_key:
            raise bad_params("apiKey is wrong")
        token = secrets.token_hex(16)
        self._tokens[token] = time.monotonic() + self.token_ttl
        return {"token": token, "timeout": int(self.token_ttl)}

    def _api_reserve(self, args: Params):
        charger = self._charger(args.text("serialNum"))
        order_no = args.text("clientOrderId")
        if charger.kind != "ev":
            raise ApiError("1440", "only EV chargers take reservations")
        connector_id = args.integer("connectorId", required=False)
        if charger.single_gun and connector_id not in (None, 0):
            # §4.5.1: "单枪桩传0或者不传" (a single-gun pile: 0 or nothing), unlike the start call's 1.
            raise bad_params(
                f"charger {charger.serial} has one connector: send connectorId 0 or none, not {connector_id}"
            )
        connector = charger.resolve_connector(connector_id)
        if not charger.online:
            raise ApiError("1423")
        if connector.status != "FREE":
            raise ApiError("2011", f"connector is {connector.status}")
        if order_no in self.sessions:
            raise ApiError("2008")
        self.sessions[order_no] = SimSession(
            order_no=order_no,
            serial=charger.serial,
            connector_id=connector.connector_id,
            power_w=charger.power_w,
            status="BOOKED",
            booked_at=self.clock.now(),
        )
        self._set_connector(charger, connector, "BOOKED", order_no)
        return None

    def _api_cancel(self, args: Params):
        session = self._session(args.text("clientOrderId"))
        if session.status != "BOOKED":
            raise ApiError("1405", f"order {session.order_no} is {session.status}, not BOOKED")
        self._close_booking(session)
        return None

    def _api_start(self, args: Params):
        charger_type = args.text("chargerType")
        serial = args.text("serialNum")
        connector_id = args.integer("connectorId")
        strategy = args.text("chargeStrategy").strip()
        strategy_param = args.text("chargeStrategyParam", required=False) or "0"
        order_no = args.text("clientOrderId")
        user_balance = args.integer("userBalance", required=False)

        charger = self._charger(serial)
        if CHARGER_TYPES.get(charger_type.strip()) != charger.kind:
            raise ApiError("2007", f"charger {serial} is {charger.kind}, chargerType {charger_type} is not")
        connector = charger.resolve_connector(connector_id)
        if not charger.online:
            raise ApiError("1423")
        booked_here = connector.status == "BOOKED" and connector.order_no == order_no
        if connector.status != "FREE" and not booked_here:
            raise ApiError("2011", f"connector is {connector.status}")
        if order_no in self.sessions and not booked_here:
            raise ApiError("2008")
        if strategy not in ALLOWED_STRATEGIES[charger.kind]:
            allowed = " or ".join(sorted(ALLOWED_STRATEGIES[charger.kind]))
            raise ApiError("2012", f"{charger.kind} chargers accept chargeStrategy {allowed}")
        limit_seconds = None
        if strategy == "1":
            try:
                minutes = int(strategy_param.strip())
            except ValueError:
                raise bad_params(f"chargeStrategyParam must be whole minutes, got {strategy_param!r}") from None
            if minutes <= 0:
                raise ApiError("2012", "a timed charge needs a positive number of minutes")
            limit_seconds = minutes * 60

        session = self.sessions.get(order_no) or SimSession(
            order_no=order_no, serial=charger.serial, connector_id=connector.connector_id, power_w=charger.power_w
        )
        session.status = "CHARGE"
        session.strategy = strategy
        session.limit_seconds = limit_seconds
        session.user_balance = user_balance
        # The pile prices the session with the template it holds when the session starts.
        session.schedule = FeeSchedule(charger.fee_model) if charger.fee_model else None
        session.started_at = self.clock.now()
        self.sessions[order_no] = session
        self._set_connector(charger, connector, "CHARGING", order_no)
        self._queue_work_data(charger)
        return None

    def _api_stop(self, args: Params):
        session = self._session(args.text("clientOrderId"))
        if session.status != "CHARGE":
            raise ApiError("1405", f"order {session.order_no} is {session.status}, not charging")
        self._end_session(session, "EBIKE_REMOTE")
        return None

    def _api_sync(self, args: Params):
        session = self._session(args.text("clientOrderId"))
        charger = self.chargers[session.serial]
        # §4.5.5 requires chargeStartTime: a booking that never charged reports when it was booked.
        started = session.started_at or session.booked_at
        park_end = session.ended_at or self.clock.now()
        return {
            "clientOrderId": session.order_no,
            "status": session.status,
            "serialNum": session.serial,
            "connectorId": charger.wire_connector_id(session.connector_id),
            "chargeStartTime": wire_time(started) if started else None,
            "chargeEndTime": wire_time(session.ended_at) if started and session.ended_at else None,
            "parkTime": int((park_end - started).total_seconds()) if started else 0,
            "chargeTime": session.charge_seconds,
            "chargeEnergy": session.energy_wh,
            "chargeCost": session.cost_fen,
        }

    def _api_charger_fee(self, args: Params):
        # The spec lists no parameters for this call; these are the ones it would need.
        charger = self._charger(args.text("serialNum"))
        model = args.json("elecFeeModelInfo", dict)
        schedule = FeeSchedule(model)
        if schedule.kind != charger.kind:
            raise ApiError("2004", f"a {schedule.kind} template cannot bill {charger.kind} charger {charger.serial}")
        self.fee_templates[schedule.model_id] = model
        self._send_fee_to(charger, model, schedule)
        return None

    def _api_station_sync(self, args: Params):
        station = args.json("stationInfo", dict)
        station_id = str(station.get("clientStationId") or "")
        if not station_id:
            raise bad_params("stationInfo.clientStationId is required")
        model = station.get("elecFeeModelInfo")
        model_id = str(station.get("clientElecFeeModelId") or "")
        if not model_id and not model:
            raise bad_params("stationInfo needs clientElecFeeModelId or elecFeeModelInfo")
        if model:
            schedule = FeeSchedule(model)
            if model_id and model_id != schedule.model_id:
                raise bad_params(
                    f"stationInfo.clientElecFeeModelId {model_id} differs from its elecFeeModelInfo's "
                    f"{schedule.model_id}"
                )
            self.fee_templates[schedule.model_id] = model
            model_id = schedule.model_id
        serials = [s.strip() for s in str(station.get("serialNums") or "").split(",") if s.strip()]
        self.stations[station_id] = {**station, "clientElecFeeModelId": model_id}
        # The station's chargers bill with its template from now on, when the cloud knows it.
        template = self.fee_templates.get(model_id)
        if template:
            kind = FeeSchedule(template).kind
            for serial in serials:
                charger = self.chargers.get(serial)
                if charger and charger.kind == kind:
                    charger.fee_model = template
        return None

    def _api_fee_template(self, args: Params):
        sync = args.integer("sycnCharger", required=False)  # sic: the spec spells it "sycn"
        if sync not in (0, 1):
            raise bad_params("sycnCharger (spelt so) must be 1 or 0")
        model = args.json("elecFeeModelInfo", dict)
        schedule = FeeSchedule(model)
        self.fee_templates[schedule.model_id] = model
        if sync == 1:
            targets: dict[str, SimCharger] = {}
            for station in self.stations.values():
                if station.get("clientElecFeeModelId") != schedule.model_id:
                    continue
                for serial in str(station.get("serialNums") or "").split(","):
                    charger = self.chargers.get(serial.strip())
                    if charger:
                        targets[charger.serial] = charger
            for charger in targets.values():
                self._send_fee_to(charger, model, schedule)
        return None

    def _send_fee_to(self, charger: SimCharger, model: dict, schedule: FeeSchedule) -> None:
        """Download a template to a pile; only an online pile of the template's kind takes it."""
        taken = charger.online and schedule.kind == charger.kind
        if taken:
            charger.fee_model = model
        self._queue(
            "PUSH_ELEC_FEE_RESULT",
            {"serialNum": charger.serial, "clientElecFeeModelId": schedule.model_id, "pushResult": 1 if taken else 0},
        )

    def _api_charger_list(self, args: Params):
        offset = args.integer("offset", required=False) or 0
        limit = args.integer("limit", required=False)
        limit = DEFAULT_LIST_LIMIT if limit is None else limit
        if offset < 0 or limit < 0:
            raise bad_params("offset and limit cannot be negative")
        filters = args.json("filters", list, required=False) or []
        count_only = args.boolean("countOnly", default=False)
        chargers = [c.as_wire() for _serial, c in sorted(self.chargers.items())]
        for index, rule in enumerate(filters):
            if not isinstance(rule, dict):
                raise bad_params(f"filters[{index}] must be an object {{key, value, type}}")
            key, value, kind = rule.get("key"), rule.get("value"), rule.get("type") or "exact"
            if key not in FILTERABLE_FIELDS:
                raise bad_params(f"filters[{index}].key must be one of {', '.join(FILTERABLE_FIELDS)} (case-sensitive)")
            if kind not in ("exact", "like"):
                raise bad_params(f"filters[{index}].type must be exact or like")
            wanted = "" if value is None else str(value)
            if kind == "exact":
                chargers = [c for c in chargers if str(c[key]) == wanted]
            else:
                needle = wanted.strip("%").lower()
                chargers = [c for c in chargers if needle in str(c[key]).lower()]
        return {"total": len(chargers), "content": [] if count_only else chargers[offset : offset + limit]}

    def _api_charger_info(self, args: Params):
        return {"charger": self._charger(args.text("serialNum")).as_wire()}
