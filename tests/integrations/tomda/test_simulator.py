"""The Tomda simulator itself, over real HTTP: its API answers, billing and pushes.

The pushes go to a small stdlib receiver started here, so these tests need neither Django's push
view nor a database: they prove that the simulator speaks the vendor's protocol, which is what
the end-to-end tests of our client and receiver then rely on.
"""

import datetime as dt
import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests

from integrations.tomda.simulator import BEIJING, SimCharger, TomdaSimulator, round_half_up

TIMEOUT = 5
OK = {"errorCode": "200", "errorDesc": "", "data": None}
WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


# ---- a push receiver standing in for ours ------------------------------------------------------


class Received:
    def __init__(self, content_type, raw, body):
        self.content_type = content_type
        self.raw = raw
        self.body = body  # {type, time, content}, content decoded from its JSON string if form-encoded
        self.type = body["type"]
        self.content = body["content"]


class Receiver:
    """Records every push and answers like our receiver: OK, a balance, or a fee model by push type."""

    def __init__(self):
        self.received: list[Received] = []
        self.replies = {"QUERY_ORDER_BALANCE_INFO": {"errorCode": "200", "errorDesc": "", "data": {"balance": 500}}}
        self.statuses = deque()  # HTTP statuses to answer before answering normally
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/x-www-form-urlencoded"):
                    fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
                    body = {**fields, "content": json.loads(fields["content"])}
                else:
                    body = json.loads(raw)
                status = receiver.statuses.popleft() if receiver.statuses else 200
                if status == 200:
                    receiver.received.append(Received(content_type, raw, body))
                reply = receiver.replies.get(body["type"], OK)
                payload = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/integrations/tomda/push"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def of(self, push_type):
        return [r for r in self.received if r.type == push_type]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def make_sim():
    started = []

    def make(**kwargs):
        kwargs.setdefault("chargers", fleet())
        kwargs.setdefault("start_time", dt.datetime(2024, 5, 1, 9, 50, tzinfo=BEIJING))
        kwargs.setdefault("push_retry_delay", 0.01)
        sim = TomdaSimulator(**kwargs)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def fleet():
    return [
        SimCharger(serial="1012300001", kind="ev"),
        SimCharger(serial="1012300003", kind="ev", connectors=2, power_w=7000, device_type="TOMDA_EV14K_T6"),
        SimCharger(serial="1012310001", kind="ebike", connectors=10),
    ]


class Api:
    """Our side of the API, spoken plainly: form parameters, a token, the envelope's errorCode."""

    def __init__(self, sim, api_id="sim-id", api_key="sim-key"):
        self.sim = sim
        self.token = self.get("/api/sys/token/get", apiId=api_id, apiKey=api_key)["data"]["token"]

    def get(self, path, **params):
        return requests.get(self.sim.base_url + path, params=params, timeout=TIMEOUT).json()

    def post(self, path, **params):
        return requests.post(self.sim.base_url + path, data=params, timeout=TIMEOUT).json()

    def call(self, path, method="POST", **params):
        params.setdefault("token", self.token)
        return self.get(path, **params) if method == "GET" else self.post(path, **params)

    def start(self, order_no, serial="1012300001", connector=1, charger_type=1, strategy="4", param="0", **extra):
        return self.call(
            "/api/sys/charger/start", chargerType=charger_type, serialNum=serial, connectorId=connector,
            chargeStrategy=strategy, chargeStrategyParam=param, clientOrderId=order_no, **extra,
        )


EV_TEMPLATE = {  # before 10:00 100 fen/kWh in all, from 10:00 150 fen/kWh
    "clientElecFeeModelId": "EV-TOU",
    "modelName": "EV time of use",
    "modelType": 1,
    "modelDetailCount": 2,
    "elecFeeModelDetail": [
        {"endValueOne": 10, "endValueTwo": 0, "elecFee": 80, "serviceFee": 20, "elecInterval": "PLAIN", "position": 1},
        {"endValueOne": 24, "endValueTwo": 0, "elecFee": 110, "serviceFee": 40, "elecInterval": "PEAK", "position": 2},
    ],
}
EBIKE_TEMPLATE = {  # the spec's example: power tiers, fen per hour
    "clientElecFeeModelId": "EB-TIERS",
    "modelName": "E-bike tiers",
    "modelType": 2,
    "freeChargeTime": 0,
    "modelDetailCount": 4,
    "elecFeeModelDetail": [
        {"endValueOne": 150, "elecFee": 40, "serviceFee": 0, "position": 1},
        {"endValueOne": 300, "elecFee": 50, "serviceFee": 0, "position": 2},
        {"endValueOne": 450, "elecFee": 60, "serviceFee": 0, "position": 3},
        {"endValueOne": 600, "elecFee": 70, "serviceFee": 0, "position": 4},
    ],
}


# ---- tokens ------------------------------------------------------------------------------------


def test_token_is_issued_for_the_right_credentials_only(make_sim):
    sim = make_sim()
    url = sim.base_url + "/api/sys/token/get"

    good = requests.get(url, params={"apiId": "sim-id", "apiKey": "sim-key"}, timeout=TIMEOUT)
    wrong_id = requests.get(url, params={"apiId": "other", "apiKey": "sim-key"}, timeout=TIMEOUT).json()
    wrong_key = requests.get(url, params={"apiId": "sim-id", "apiKey": "nope"}, timeout=TIMEOUT).json()

    assert good.status_code == 200
    assert good.json()["errorCode"] == "200"
    assert good.json()["data"]["timeout"] == 7200
    assert len(good.json()["data"]["token"]) >= 16
    assert (wrong_id["errorCode"], wrong_id["errorDesc"]) == ("2001", "对接平台不存在")
    assert wrong_key["errorCode"] == "1401"
    assert sim.calls[0] == ("GET", "/api/sys/token/get", {"apiId": "sim-id", "apiKey": "sim-key"})


def test_calls_without_a_valid_token_answer_1300(make_sim):
    sim = make_sim()
    api = Api(sim)

    assert api.call("/api/sys/charger/info", "GET", serialNum="1012300001")["errorCode"] == "200"
    assert api.call("/api/sys/charger/info", "GET", serialNum="1012300001", token="")["errorCode"] == "1300"
    unknown = api.call("/api/sys/charger/info", "GET", serialNum="1012300001", token="forged")
    assert (unknown["errorCode"], unknown["errorDesc"]) == ("1300", "Token 超时")

    sim.expire_tokens()

    assert api.call("/api/sys/charger/info", "GET", serialNum="1012300001")["errorCode"] == "1300"
    assert Api(sim).call("/api/sys/charger/info", "GET", serialNum="1012300001")["errorCode"] == "200"


def test_tokens_expire_after_their_ttl(make_sim):
    sim = make_sim(token_ttl=0.2)
    api = Api(sim)
    assert api.call("/api/sys/charger/info", "GET", serialNum="1012300001")["errorCode"] == "200"

    time.sleep(0.3)

    assert api.call("/api/sys/charger/info", "GET", serialNum="1012300001")["errorCode"] == "1300"


# ---- starting a session ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"serial": "9999999999"}, "2003"),
        ({"charger_type": 2}, "2007"),
        ({"connector": 2}, "2010"),
        ({"strategy": "1", "param": "30"}, "2012"),  # an EV pile only charges until full
        ({"connector": "one"}, "1401"),
        ({"charger_type": "x"}, "2007"),
    ],
)
def test_start_validation(make_sim, change, code):
    sim = make_sim()
    api = Api(sim)

    answer = api.start("ORD-1", **change)

    assert answer["errorCode"] == code
    assert "ORD-1" not in sim.sessions


def test_start_rejects_a_busy_connector_a_reused_order_and_an_offline_charger(make_sim):
    sim = make_sim()
    api = Api(sim)
    assert api.start("ORD-1", connector=0)["errorCode"] == "200"  # a single-gun pile takes 0 as well as 1

    assert api.start("ORD-2")["errorCode"] == "2011"
    assert api.call("/api/sys/charger/stop", clientOrderId="ORD-1")["errorCode"] == "200"
    assert api.start("ORD-1")["errorCode"] == "2008"
    sim.set_online("1012300001", False)
    assert api.start("ORD-3")["errorCode"] == "1423"
    assert api.call("/api/sys/charger/stop", clientOrderId="ORD-404")["errorCode"] == "2013"


def test_ebike_strategies_and_malformed_numbers(make_sim):
    sim = make_sim()
    api = Api(sim)
    ebike = {"serial": "1012310001", "charger_type": 2}

    amount = api.start("EB-1", connector=3, strategy="2", param="100", **ebike)
    malformed = api.start("EB-2", connector=3, strategy="1", param="half an hour", **ebike)
    timed = api.start("EB-3", connector=3, strategy="1", param="60", **ebike)

    assert amount["errorCode"] == "2012"
    assert malformed["errorCode"] == "1401"
    assert "chargeStrategyParam" in malformed["errorDesc"]
    assert timed["errorCode"] == "200"
    assert sim.chargers["1012310001"].connectors[3].status == "CHARGING"
    assert sim.sessions["EB-3"].status == "CHARGE"


def test_fail_next_answers_the_given_code_once_and_does_nothing(make_sim):
    sim = make_sim()
    api = Api(sim)
    sim.fail_next("/api/sys/charger/start", 1419)

    first = api.start("ORD-1")
    second = api.start("ORD-1")

    assert first == {"errorCode": "1419", "errorDesc": "请求开始充电超时,充电桩未响应,请重试", "data": None}
    assert second["errorCode"] == "200"
    assert [c[1] for c in sim.calls].count("/api/sys/charger/start") == 2


def test_reservation_holds_the_connector_for_its_order(make_sim):
    sim = make_sim()
    api = Api(sim)

    assert api.call("/api/sys/charger/order", serialNum="1012310001", clientOrderId="R-0")["errorCode"] == "1440"
    assert api.call("/api/sys/charger/order", serialNum="1012300001", clientOrderId="R-1")["errorCode"] == "200"
    assert sim.chargers["1012300001"].connectors[1].status == "BOOKED"
    assert api.start("OTHER")["errorCode"] == "2011"
    assert api.start("R-1")["errorCode"] == "200"
    assert sim.sessions["R-1"].status == "CHARGE"
    assert api.call("/api/sys/charger/cancel", clientOrderId="R-404")["errorCode"] == "2013"


def test_post_parameters_must_be_form_encoded(make_sim):
    sim = make_sim()
    api = Api(sim)

    as_json = requests.post(sim.base_url + "/api/sys/charger/stop", json={"token": api.token}, timeout=TIMEOUT)
    as_query = requests.post(sim.base_url + "/api/sys/charger/stop", params={"token": api.token}, timeout=TIMEOUT)

    assert as_json.status_code == 200
    assert as_json.json()["errorCode"] == "1401"
    assert as_query.json()["errorCode"] == "1401"


# ---- energy and billing ------------------------------------------------------------------------


def test_energy_accrues_and_ev_periods_are_billed_at_their_local_time(make_sim):
    # Given a 7 kW pile holding a template that changes price at 10:00, and a session from 09:50
    sim = make_sim()
    api = Api(sim)
    fee = api.call("/api/sys/charger/fee", serialNum="1012300001", elecFeeModelInfo=json.dumps(EV_TEMPLATE))
    assert fee["errorCode"] == "200"
    assert api.start("ORD-1")["errorCode"] == "200"

    # When 20 simulated minutes pass
    sim.advance(20 * 60)
    progress = api.call("/api/sys/charger/sync", clientOrderId="ORD-1")["data"]

    # Then 2333 Wh were charged: 10 minutes at 100 fen/kWh and 10 at 150, rounded once: 291.67 → 292
    assert progress["chargeEnergy"] == 2333
    assert progress["chargeCost"] == 292
    assert progress["chargeTime"] == 1200
    assert progress["parkTime"] == 1200
    assert progress["status"] == "CHARGE"
    assert progress["chargeStartTime"] == "2024-05-01 09:50:00"
    assert progress["chargeEndTime"] is None
    assert progress["connectorId"] == 0
    assert sim.sessions["ORD-1"].energy_wh == 2333


def test_without_a_fee_model_the_pile_does_not_bill(make_sim):
    sim = make_sim()
    api = Api(sim)
    api.start("ORD-1")

    sim.advance(3600)

    progress = api.call("/api/sys/charger/sync", clientOrderId="ORD-1")["data"]
    assert (progress["chargeEnergy"], progress["chargeCost"]) == (7000, 0)


def test_ebike_tiers_bill_by_the_hour_and_a_timed_session_ends_at_its_limit(make_sim, receiver):
    # Given a 250 W e-bike session of 30 minutes on a pile priced 50 fen/h for 150-300 W
    sim = make_sim(push_url=receiver.url, ask_fees=False)
    api = Api(sim)
    sim.chargers["1012310001"].fee_model = EBIKE_TEMPLATE
    api.start("EB-1", serial="1012310001", connector=4, charger_type=2, strategy="1", param="30")

    # When 20 minutes pass, then 20 more
    sim.advance(20 * 60)
    midway = sim.sessions["EB-1"].cost_fen
    sim.advance(20 * 60)
    sim.drain()

    # Then it billed 1/3 h (16.67 → 17), stopped itself at 30 minutes and billed 1/2 h
    session = sim.sessions["EB-1"]
    assert midway == 17
    assert (session.status, session.close_type) == ("CLOSED", "EBIKE_TIMELIMITREACHED")
    assert (session.energy_wh, session.cost_fen, session.charge_seconds) == (125, 25, 1800)
    assert session.ended_at == dt.datetime(2024, 5, 1, 10, 20, tzinfo=BEIJING)
    order = receiver.of("ORDER_DATA")[-1].content
    assert order["chargeEndTime"] == "2024-05-01 10:20:00"
    assert (order["chargeTime"], order["chargeCost"], order["connectorId"]) == (1800, 25, 4)
    assert sim.chargers["1012310001"].connectors[4].status == "FREE"


def test_free_charge_time_is_not_billed(make_sim):
    sim = make_sim()
    api = Api(sim)
    sim.chargers["1012310001"].fee_model = {**EBIKE_TEMPLATE, "freeChargeTime": 600}
    api.start("EB-1", serial="1012310001", connector=1, charger_type=2)

    sim.advance(30 * 60)

    assert sim.sessions["EB-1"].cost_fen == 17  # 20 billed minutes at 50 fen/h


def test_round_half_up():
    from fractions import Fraction

    assert [round_half_up(Fraction(n, 2)) for n in (0, 1, 3, 5)] == [0, 1, 2, 3]


# ---- pushes ------------------------------------------------------------------------------------


def test_start_and_stop_push_work_data_then_the_order_then_the_free_connector(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False)
    api = Api(sim)
    sim.drain()
    startup = [r.type for r in receiver.received]

    api.start("ORD-1")
    sim.advance(600)
    api.call("/api/sys/charger/stop", clientOrderId="ORD-1")
    sim.drain()

    assert startup == ["DEVICE_INFO"] * 3
    after = receiver.received[3:]
    assert [r.type for r in after] == ["DEVICE_INFO", "WORK_DATA", "WORK_DATA", "ORDER_DATA", "DEVICE_INFO"]
    assert all(r.content_type.startswith("application/json") for r in after)
    assert all(WIRE_TIME.match(r.body["time"]) for r in after)
    charging, started, finished, order, freed = (r.content for r in after)
    assert charging["deviceInfo"]["connectorInfo"] == [{"connectorId": 1, "connectorStatus": "CHARGING"}]
    assert started["workDataInfo"][0]["chargerRunStatus"] == "CHARGE"
    item = finished["workDataInfo"][0]
    assert (item["chargerRunStatus"], item["chargeTime"], item["chargeEnergy"], item["connectorId"]) == (
        "FINISH", 10, 1166, 0,
    )
    assert order == {
        "serialNum": "1012300001", "connectorId": 0, "clientOrderId": "ORD-1",
        "chargeStartTime": "2024-05-01 09:50:00", "chargeEndTime": "2024-05-01 10:00:00",
        "chargeEnergy": 1166, "chargeTime": 600, "chargeCost": 0, "orderStatus": "CLOSED",
        "closeType": "EBIKE_REMOTE",
    }
    assert freed["deviceInfo"]["chargerStatus"] == "FREE"
    assert sim.pushes[-1].reply == OK
    assert sim.pushes[-1].status_code == 200


def test_form_encoding_sends_content_as_a_json_string(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, push_encoding="form", ask_fees=False)
    sim.drain()

    first = receiver.received[0]
    fields = parse_qs(first.raw.decode("utf-8"))
    assert first.content_type.startswith("application/x-www-form-urlencoded")
    assert set(fields) == {"type", "time", "content"}
    assert json.loads(fields["content"][0])["deviceInfo"]["serialNum"] == "1012300001"
    assert WIRE_TIME.match(fields["time"][0])


def test_work_data_rounds_report_every_running_connector(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False)
    api = Api(sim)
    api.start("A", serial="1012300003", connector=1)
    api.start("B", serial="1012300003", connector=2)
    sim.drain()
    before = len(receiver.of("WORK_DATA"))

    sim.advance(150)
    sim.tick()
    sim.drain()

    rounds = receiver.of("WORK_DATA")[before:]
    assert len(rounds) == 1
    items = rounds[0].content["workDataInfo"]
    assert [(i["connectorId"], i["clientOrderId"]) for i in items] == [(1, "A"), (2, "B")]
    assert items[0]["chargeTime"] == 2  # minutes
    assert (items[0]["chargePower"], items[0]["chargeVoltage"], items[0]["chargeCurrent"]) == (7000, 2200, 318)
    assert items[0]["chargeEnergy"] == 291


def test_fault_ends_the_session_and_recover_frees_the_connector(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False)
    api = Api(sim)
    api.start("EB-1", serial="1012310001", connector=2, charger_type=2)
    sim.drain()
    mark = len(receiver.received)

    sim.fault("1012310001", 2, code="TOMDA_EBIKE_FAULT_LEAK_CURRENT")
    sim.drain()
    faulted = receiver.received[mark:]
    sim.recover("1012310001", 2, code="TOMDA_EBIKE_FAULT_LEAK_CURRENT")
    sim.drain()
    recovered = receiver.received[mark + len(faulted):]

    assert [r.type for r in faulted] == ["EVENT_DATA", "WORK_DATA", "ORDER_DATA", "DEVICE_INFO"]
    event = faulted[0].content
    assert (event["eventSource"], event["connectorId"], event["eventCount"]) == ("CHARGER_PLUG", 2, 1)
    assert event["eventInfo"][0]["eventCode"] == "TOMDA_EBIKE_FAULT_LEAK_CURRENT"
    assert event["eventInfo"][0]["eventName"] == "漏电流过高"
    assert event["eventInfo"][0]["eventStatus"] == "HAPPENING"
    assert faulted[2].content["closeType"] == "EBIKE_GROUNDFAULT"
    assert faulted[3].content["deviceInfo"]["connectorInfo"][1] == {"connectorId": 2, "connectorStatus": "FAULT"}
    assert [r.type for r in recovered] == ["EVENT_DATA", "DEVICE_INFO"]
    assert recovered[0].content["eventInfo"][0]["eventStatus"] == "RECOVERED"
    assert sim.chargers["1012310001"].connectors[2].status == "FREE"


def test_a_whole_charger_fault_uses_the_deployed_event_name_when_asked(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False, event_type="EVENT_INFO")
    sim.drain()
    mark = len(receiver.received)

    sim.fault("1012300003", None, code="TOMDA_EBIKE_FAULT_TILT")
    sim.drain()

    pushed = receiver.received[mark:]
    assert [r.type for r in pushed] == ["EVENT_INFO", "DEVICE_INFO"]
    assert pushed[0].content["eventSource"] == "CHARGER"
    assert "connectorId" not in pushed[0].content
    assert pushed[1].content["deviceInfo"]["chargerStatus"] == "FAULT"
    assert {c.status for c in sim.chargers["1012300003"].connectors.values()} == {"FAULT"}
    assert Api(sim).start("X", serial="1012300003", connector=1)["errorCode"] == "2011"


def test_balance_zero_ends_a_third_party_billed_session(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False)
    api = Api(sim)
    api.start("RICH")
    api.start("POOR", serial="1012310001", connector=1, charger_type=2)
    receiver.replies["QUERY_ORDER_BALANCE_INFO"] = {"errorCode": "200", "errorDesc": "", "data": {"balance": 500}}

    sim.advance(60)
    sim.tick()
    sim.drain()
    assert sim.sessions["POOR"].status == "CHARGE"

    receiver.replies["QUERY_ORDER_BALANCE_INFO"] = {"errorCode": "200", "errorDesc": "", "data": {"balance": 0}}
    sim.advance(60)
    sim.tick()
    sim.drain()

    queries = [r.content["clientOrderId"] for r in receiver.of("QUERY_ORDER_BALANCE_INFO")]
    assert queries == ["RICH", "POOR", "RICH", "POOR"]
    assert (sim.sessions["POOR"].status, sim.sessions["POOR"].close_type) == ("CLOSED", "EBIKE_DEAUTHORIZED")
    assert sim.sessions["RICH"].close_type == "EBIKE_DEAUTHORIZED"
    assert receiver.of("ORDER_DATA")[-1].content["closeType"] == "EBIKE_DEAUTHORIZED"


def test_chargers_ask_for_their_fee_model_and_bill_with_the_answer(make_sim, receiver):
    receiver.replies["QUERY_CHARGER_ELEC_FEE"] = {
        "errorCode": "200", "errorDesc": "", "data": {"elecFeeModelInfo": EV_TEMPLATE},
    }
    sim = make_sim(push_url=receiver.url, chargers=[SimCharger(serial="1012300001")])
    sim.drain()

    assert [r.type for r in receiver.received] == ["DEVICE_INFO", "QUERY_CHARGER_ELEC_FEE"]
    assert receiver.received[1].content == {"serialNum": "1012300001"}
    assert sim.chargers["1012300001"].fee_model == EV_TEMPLATE
    api = Api(sim)
    api.start("ORD-1")
    sim.advance(600)
    assert sim.sessions["ORD-1"].cost_fen == 117  # 1166.67 Wh at 100 fen/kWh


def test_set_online_pushes_device_info_and_a_reconnecting_pile_asks_for_its_fee(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False)
    sim.drain()
    mark = len(receiver.received)

    sim.set_online("1012300001", False)
    sim.set_online("1012300001", True)
    sim.drain()

    pushed = receiver.received[mark:]
    assert [r.type for r in pushed] == ["DEVICE_INFO", "DEVICE_INFO", "QUERY_CHARGER_ELEC_FEE"]
    assert [p.content["deviceInfo"]["lost"] for p in pushed[:2]] == [1, 0]


def test_fee_template_sync_reaches_every_charger_of_the_stations_using_it(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False, chargers=[
        SimCharger(serial="A1"), SimCharger(serial="A2"), SimCharger(serial="B1"), SimCharger(serial="C1"),
    ])
    api = Api(sim)
    other = {**EV_TEMPLATE, "clientElecFeeModelId": "OTHER"}
    stations = [
        {"clientStationId": "S-A", "serialNums": "A1,A2", "clientElecFeeModelId": "EV-TOU", "stationType": 1},
        {"clientStationId": "S-B", "serialNums": "B1", "elecFeeModelInfo": EV_TEMPLATE, "stationType": 1},
        {"clientStationId": "S-C", "serialNums": "C1", "elecFeeModelInfo": other, "stationType": 1},
    ]
    for station in stations:
        assert api.call("/api/sys/station/sync", stationInfo=json.dumps(station))["errorCode"] == "200"
    sim.set_online("A2", False)
    sim.drain()
    mark = len(receiver.received)

    answer = api.call("/api/sys/station/elecFeeInfo", sycnCharger=1, elecFeeModelInfo=json.dumps(EV_TEMPLATE))
    sim.drain()

    assert answer["errorCode"] == "200"
    results = receiver.received[mark:]
    assert {r.type for r in results} == {"PUSH_ELEC_FEE_RESULT"}
    assert sorted((r.content["serialNum"], r.content["pushResult"]) for r in results) == [
        ("A1", 1), ("A2", 0), ("B1", 1),
    ]
    assert all(r.content["clientElecFeeModelId"] == "EV-TOU" for r in results)
    assert sim.chargers["A1"].fee_model == EV_TEMPLATE
    assert sim.chargers["A2"].fee_model is None
    assert sim.chargers["C1"].fee_model == other
    assert set(sim.fee_templates) == {"EV-TOU", "OTHER"}
    assert set(sim.stations) == {"S-A", "S-B", "S-C"}


def test_station_sync_needs_a_template(make_sim):
    sim = make_sim()
    api = Api(sim)

    missing = api.call("/api/sys/station/sync", stationInfo=json.dumps({"clientStationId": "S", "serialNums": "x"}))
    broken = api.call("/api/sys/station/sync", stationInfo="{not json")
    no_flag = api.call("/api/sys/station/elecFeeInfo", elecFeeModelInfo=json.dumps(EV_TEMPLATE))

    assert missing["errorCode"] == "1401"
    assert broken["errorCode"] == "1401"
    assert "stationInfo" in broken["errorDesc"]
    assert no_flag["errorCode"] == "1401"
    assert sim.stations == {}


def test_failed_pushes_are_retried_then_recorded(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False, chargers=[SimCharger(serial="1012300001")])
    sim.drain()
    receiver.statuses.extend([503, 502])

    recovered = sim.push("DEVICE_INFO", {"deviceType": "CHARGER", "deviceInfo": {}})
    receiver.statuses.extend([503, 503, 503])
    lost = sim.push("DEVICE_INFO", {"deviceType": "CHARGER", "deviceInfo": {}})

    assert recovered == OK
    assert (sim.pushes[-2].attempts, sim.pushes[-2].ok) == (3, True)
    assert (sim.pushes[-1].attempts, sim.pushes[-1].status_code, sim.pushes[-1].ok) == (3, 503, False)
    assert lost is not None  # the 503 still carried our envelope


def test_sync_hooks_return_our_reply(make_sim, receiver):
    receiver.replies["QUERY_CHARGER_ELEC_FEE"] = {
        "errorCode": "200", "errorDesc": "", "data": {"elecFeeModelInfo": EBIKE_TEMPLATE},
    }
    sim = make_sim(push_url=receiver.url, ask_fees=False)

    balance = sim.query_balance("NOT-OURS")
    fee = sim.query_fee("1012310001")

    assert balance["data"] == {"balance": 500}
    assert fee["data"]["elecFeeModelInfo"]["clientElecFeeModelId"] == "EB-TIERS"
    assert sim.chargers["1012310001"].fee_model == EBIKE_TEMPLATE
    assert [p.type for p in sim.pushes if p.type.startswith("QUERY_")] == [
        "QUERY_ORDER_BALANCE_INFO", "QUERY_CHARGER_ELEC_FEE",
    ]


def test_work_interval_drives_sessions_in_real_time(make_sim, receiver):
    sim = make_sim(push_url=receiver.url, ask_fees=False, work_interval=0.05, speed=60)
    Api(sim).start("ORD-1")

    deadline = time.monotonic() + 5
    while len(receiver.of("WORK_DATA")) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)

    rounds = receiver.of("WORK_DATA")
    assert len(rounds) >= 3
    energies = [r.content["workDataInfo"][0]["chargeEnergy"] for r in rounds[:3]]
    assert energies[0] < energies[1] < energies[2]  # each round advanced 3 simulated seconds at least


# ---- the charger archive -----------------------------------------------------------------------


def test_charger_list_pages_filters_and_counts(make_sim):
    sim = make_sim()
    api = Api(sim)
    like_ev = json.dumps([{"key": "chargerDeviceType", "value": "EV", "type": "like"}])

    page = api.call("/api/sys/charger/list", offset=1, limit=1)["data"]
    by_get = api.call("/api/sys/charger/list", "GET", offset=0, limit=10)["data"]
    exact = api.call("/api/sys/charger/list", filters=json.dumps([{"key": "serialNum", "value": "1012310001"}]))
    liked = api.call("/api/sys/charger/list", filters=like_ev)["data"]
    counted = api.call("/api/sys/charger/list", filters=like_ev, countOnly="true")["data"]
    unknown_key = api.call("/api/sys/charger/list", filters=json.dumps([{"key": "serialnum", "value": "x"}]))
    bad_json = api.call("/api/sys/charger/list", filters="[{")

    assert page["total"] == 3
    assert [c["serialNum"] for c in page["content"]] == ["1012300003"]
    assert by_get["total"] == 3
    assert len(by_get["content"]) == 3
    assert [c["serialNum"] for c in exact["data"]["content"]] == ["1012310001"]
    assert [c["serialNum"] for c in liked["content"]] == ["1012300001", "1012300003"]
    assert counted == {"total": 2, "content": []}
    assert unknown_key["errorCode"] == "1401"
    assert bad_json["errorCode"] == "1401"


def test_charger_info_is_the_charger_object_of_the_spec(make_sim):
    sim = make_sim()
    api = Api(sim)

    info = api.call("/api/sys/charger/info", "GET", serialNum="1012310001")["data"]["charger"]
    unknown = api.call("/api/sys/charger/info", "GET", serialNum="nope")

    assert set(info) == {
        "serialNum", "lost", "connectorCount", "chargerStatus", "chargerDeviceType", "chargerDeviceName",
        "commuType", "deviceModel", "hardwareVersion", "firmwareVersion", "connectorInfo",
    }
    assert (info["lost"], info["connectorCount"], info["chargerStatus"]) == (0, 10, "FREE")
    assert (info["chargerDeviceType"], info["chargerDeviceName"]) == ("TOMDA_EB10_T1", "10 路电动单车")
    assert info["connectorInfo"][9] == {"connectorId": 10, "connectorStatus": "FREE"}
    assert (unknown["errorCode"], unknown["errorDesc"]) == ("2003", "充电桩不存在")


def test_sim_charger_defaults():
    ev, ebike = SimCharger(serial="E"), SimCharger(serial="B", kind="ebike")

    assert (ev.device_type, ev.power_w, len(ev.connectors), ev.online) == ("TOMDA_EV7K_T4", 7000, 1, True)
    assert (ebike.device_type, ebike.power_w) == ("TOMDA_EB10_T1", 250)


# ---- the management command's fleet ------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_simulates_every_tomda_charger_in_the_database():
    from integrations.tomda.management.commands.tomda_simulator import database_fleet
    from tests.chargers.factories import ChargerFactory, ConnectorFactory
    from tests.stations.factories import StationFactory

    dual = ChargerFactory(serial="1012300003", rated_power_w=14000, device_type_code="TOMDA_EV14K_T6")
    ConnectorFactory(charger=dual, number=1)
    ConnectorFactory(charger=dual, number=2)
    ebike = ChargerFactory(
        serial="1012310001", kind="ebike", rated_power_w=6000, device_type_code="TOMDA_EB10_T1",
        station=StationFactory(kind="ebike"),
    )
    for number in range(1, 11):
        ConnectorFactory(charger=ebike, number=number)
    ChargerFactory(serial="19285526", vendor="wanzhuang")

    fleet = {charger.serial: charger for charger in database_fleet()}

    # ... and one charger just installed, which the back office learns of from its first report
    assert set(fleet) == {"1012300003", "1012310001", "1012310002"}
    assert (fleet["1012310002"].kind, len(fleet["1012310002"].connectors)) == ("ebike", 10)
    assert (len(fleet["1012300003"].connectors), fleet["1012300003"].power_w) == (2, 7000)
    assert fleet["1012300003"].device_type == "TOMDA_EV14K_T6"
    assert (len(fleet["1012310001"].connectors), fleet["1012310001"].power_w) == (10, 250)
    assert fleet["1012310001"].kind == "ebike"


@pytest.mark.django_db
def test_the_just_installed_charger_is_simulated_once_when_the_back_office_has_it_already():
    from integrations.tomda.management.commands.tomda_simulator import database_fleet
    from tests.chargers.factories import ChargerFactory, ConnectorFactory

    ChargerFactory(serial="1012300001")
    waiting = ChargerFactory(serial="1012310002", station=None, kind="ebike", device_type_code="TOMDA_EB10_T5")
    for number in range(1, 11):
        ConnectorFactory(charger=waiting, number=number)

    assert sorted(charger.serial for charger in database_fleet()) == ["1012300001", "1012310002"]
