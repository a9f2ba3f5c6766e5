"""The Wanzhuang simulator alone, over real HTTP: its checks, its answers, its billing and its callbacks.

The calls are signed here, from the wire document's rules (`wz_wire.md`), not with our client's signing
module, and the callbacks go to a small receiver on the simulation kit's `LoopbackServer`; so these tests
need neither our client, nor Django's views, nor a database. They prove that the simulator speaks the
document, which is what the end-to-end tests of our client and receiver then rely on.
"""

import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from urllib.parse import parse_qs

import pytest
import requests

from integrations.simulation import LoopbackServer, Response
from integrations.wanzhuang.management.commands.wanzhuang_simulator import demo_fleet
from integrations.wanzhuang.simulator import CallbackRecord, SimDevice, WanzhuangSimulator

TIMEOUT = 5
APP_ID, SECRET = "sim-app", "sim-secret"
START = dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC)
START_UNIX = int(START.timestamp())

# The settings the saveMode page marks required, as a form sends them.
SETTINGS = {
    "start_fee": "100",
    "is_not_disturb": "0",
    "not_disturb_start": "22:00",
    "not_disturb_end": "07:00",
    "not_disturb_volume": "3",
    "is_outage": "0",
    "auto_off_wait_time": "60",
    "auto_off_lower_power": "5",
    "floating_charge_time": "120",
    "floating_charge_power": "30",
    "whether_refund": "1",
    "is_free_charge": "0",
    "detect_time": "10",
}


# ---- the document's signature, written out again ------------------------------------------------------


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def sign(params, secret=SECRET, method="hmac-sha256"):
    pairs = sorted((k, as_text(v)) for k, v in params.items() if k != "sign" and v is not None and v != "")
    string = "&".join(f"{k}={v}" for k, v in pairs)
    if method == "hmac-sha256":
        return hmac.new(secret.encode(), string.encode(), hashlib.sha256).hexdigest()
    return hashlib.sha256((string + secret).encode()).hexdigest()


def sign_valid(fields, secret=SECRET, method="hmac-sha256"):
    return fields.get("sign") == sign(fields, secret, method)


class Api:
    """Our side of the API, spoken plainly: signed parameters, the envelope back."""

    def __init__(self, sim, app_id=APP_ID, secret=SECRET, method="hmac-sha256"):
        self.sim, self.app_id, self.secret, self.method = sim, app_id, secret, method

    def signed(self, params, timestamp=None):
        fields = {**params, "app_id": self.app_id, "timestamp": int(time.time()) if timestamp is None else timestamp}
        fields["sign"] = sign(fields, self.secret, self.method)
        return fields

    def get(self, path, timestamp=None, **params):
        fields = {k: as_text(v) for k, v in self.signed(params, timestamp).items()}
        return requests.get(self.sim.base_url + path, params=fields, timeout=TIMEOUT).json()

    def post(self, path, timestamp=None, **params):
        return requests.post(self.sim.base_url + path, json=self.signed(params, timestamp), timeout=TIMEOUT).json()

    def form(self, path, **params):
        fields = {k: as_text(v) for k, v in self.signed(params).items()}
        files = {k: (None, v) for k, v in fields.items()}
        return requests.post(self.sim.base_url + path, files=files, timeout=TIMEOUT).json()


# ---- a callback receiver standing in for ours -------------------------------------------------------------


class Received:
    def __init__(self, name, content_type, fields):
        self.name, self.content_type, self.fields = name, content_type, fields


class Receiver:
    """Records every callback it answers and answers code 1, or the replies queued in `replies`."""

    def __init__(self):
        self.received: list[Received] = []
        self.replies: deque[tuple[int, dict]] = deque()
        self.handler = None  # called with each Received before answering, e.g. to call the cloud back
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.app, name="wz-receiver")
        self.server.start()
        self.url = f"{self.server.base_url}/integrations/wanzhuang/callback"

    def app(self, request):
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = email.message_from_bytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + request.body, policy=email.policy.HTTP
            )
            fields = {
                part.get_param("name", header="content-disposition"): part.get_content()
                for part in message.iter_parts()
            }
        else:
            fields = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        received = Received(request.path.rsplit("/", 1)[-1], content_type, fields)
        with self.lock:
            self.received.append(received)
            status, reply = self.replies.popleft() if self.replies else (200, {"code": 1, "message": "ok", "data": {}})
        if self.handler:
            self.handler(received)
        return Response.json(reply, status=status)

    def of(self, name):
        with self.lock:
            return [r for r in self.received if r.name == name]

    def close(self):
        self.server.stop()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def energy_mode(**fields):
    """Energy mode 1 at 1.00 yuan per kWh, refundable."""
    return {"charge_mode": 1, "work_charge": 100, "max_pay_fee": 3000, **SETTINGS, **fields}


def fleet():
    return [
        SimDevice("WZ000001", 2, 10, added=True, mode=energy_mode()),
        SimDevice("WZ000002", 8, 10, added=True),
        SimDevice("WZ000003", 13, added=True, mode={"charge_mode": 11, "work_charge_fourdigit": 15000}),
        SimDevice("WZ000009", 2, 10),  # installed, not on our account yet
    ]


@pytest.fixture
def make_sim():
    started = []

    def make(**kwargs):
        kwargs.setdefault("devices", fleet())
        kwargs.setdefault("start_time", START)
        kwargs.setdefault("callback_retry_delay", 0.01)
        sim = WanzhuangSimulator(**kwargs)
        sim.start()
        started.append(sim)
        return sim, Api(sim, app_id=sim.app_id, secret=sim.app_secret, method=sim.sign_method)

    yield make
    for sim in started:
        sim.stop()


def start(api, device_num="WZ000001", port=1, charge_id=261202103015000123, charge_mode=1, total_fee=500):
    return api.post(
        "/open/charge/start",
        device_num=device_num,
        device_port=port,
        charge_id=charge_id,
        charge_mode=charge_mode,
        total_fee=total_fee,
    )


def assert_ok(answer):
    assert answer["code"] == 1, answer
    assert answer["message"] == "SUCCESS"
    assert isinstance(answer["timestamp"], int)
    return answer["data"]


# ---- signature and envelope ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["hmac-sha256", "sha256"])
def test_a_signed_call_is_accepted_and_answers_the_device_record(make_sim, method):
    sim, api = make_sim(sign_method=method)
    data = assert_ok(api.get("/open/device/findOne", device_num="WZ000001"))
    assert data == {
        "device_num": "WZ000001",
        "device_type": 2,
        "device_name": "电量慢充款 WZ000001",
        "port_num": 10,
        "online": 1,
        "version": "V2.3",
        "signal": 23,
        "iccid": sim.device("WZ000001").iccid,
        "charge_mode": 1,
    }
    assert sim.calls[-1][:2] == ("GET", "/open/device/findOne")


def test_wrong_sign_stale_timestamp_and_unknown_app_id_answer_1001(make_sim):
    sim, api = make_sim()
    fields = api.signed({"device_num": "WZ000001"})
    fields["sign"] = "0" * 64
    wrong = requests.get(sim.base_url + "/open/device/findOne", params=fields, timeout=TIMEOUT).json()
    assert (wrong["code"], wrong["message"], wrong["data"]) == (1001, "签名错误", None)

    tampered = api.signed({"device_num": "WZ000001"})
    tampered["device_num"] = "WZ000002"
    assert requests.get(sim.base_url + "/open/device/findOne", params=tampered, timeout=TIMEOUT).json()["code"] == 1001

    stale = api.get("/open/device/findOne", timestamp=int(time.time()) - 301, device_num="WZ000001")
    assert stale["code"] == 1001
    assert "timestamp expired" in stale["message"]
    assert api.get("/open/device/findOne", timestamp=int(time.time()) - 200, device_num="WZ000001")["code"] == 1

    stranger = Api(sim, app_id="someone-else").get("/open/device/findOne", device_num="WZ000001")
    assert stranger["code"] == 1001
    assert "app_id" in stranger["message"]
    assert Api(sim, secret="other-secret").get("/open/device/findOne", device_num="WZ000001")["code"] == 1001
    # The other digest is another signature.
    assert Api(sim, method="sha256").get("/open/device/findOne", device_num="WZ000001")["code"] == 1001

    unsigned = {"device_num": "WZ000001", "app_id": APP_ID, "timestamp": str(int(time.time()))}
    answer = requests.get(sim.base_url + "/open/device/findOne", params=unsigned, timeout=TIMEOUT).json()
    assert answer["code"] == 1001


def test_json_bodies_sign_lists_as_compact_json_and_booleans_as_true_false(make_sim):
    sim, api = make_sim()
    assert_ok(api.post("/open/device/state/offline", device_nums=["WZ000002"]))
    assert sim.device("WZ000002").online is False
    # The worked example of the vendor's page signs is_error=true.
    assert_ok(api.post("/open/device/state/port/error", device_num="WZ000001", device_port="2", is_error=True))
    assert sim.port("WZ000001", 2).state == 6
    # Empty values take no part in the signature.
    assert_ok(api.post("/open/device/state/port/error", device_num="WZ000001", device_port="2", is_error="0", x=""))
    assert sim.port("WZ000001", 2).state == 0


def test_unknown_paths_wrong_methods_and_content_types_answer_1002_in_the_envelope(make_sim):
    sim, api = make_sim()
    unknown = requests.get(sim.base_url + "/open/nothing", timeout=TIMEOUT)
    assert unknown.status_code == 200
    assert unknown.json()["code"] == 1002
    assert "接口不存在" in unknown.json()["message"]
    assert api.get("/open/charge/start")["code"] == 1002

    form = api.signed({"device_num": "WZ000001"})
    as_form = requests.post(sim.base_url + "/open/device/add", data=form, timeout=TIMEOUT).json()
    assert as_form["code"] == 1002
    assert "application/json" in as_form["message"]
    as_json = api.post("/open/device/saveMode", **energy_mode(device_num="WZ000001"))
    assert as_json["code"] == 1002
    assert "multipart/form-data" in as_json["message"]
    # The vendor's examples join base and path with "//".
    assert assert_ok(api.get("//open/device/findOne", device_num="WZ000001"))["device_num"] == "WZ000001"


def test_fail_next_answers_a_code_once(make_sim):
    sim, api = make_sim()
    sim.fail_next("/open/device/findOne", 0, "系统繁忙")
    assert api.get("/open/device/findOne", device_num="WZ000001") == {
        "code": 0,
        "message": "系统繁忙",
        "data": None,
        "timestamp": pytest.approx(time.time(), abs=5),
    }
    assert api.get("/open/device/findOne", device_num="WZ000001")["code"] == 1


# ---- devices --------------------------------------------------------------------------------------------------


def test_a_device_not_added_is_unknown_until_it_is_added_once(make_sim):
    sim, api = make_sim()
    assert api.get("/open/device/findOne", device_num="WZ000009")["code"] == 1003
    assert api.post("/open/device/add", device_num="WZ999999")["code"] == 1003
    assert assert_ok(api.post("/open/device/add", device_num="WZ000009")) == {"result": True}
    assert api.post("/open/device/add", device_num="WZ000009")["code"] == 1007
    assert assert_ok(api.get("/open/device/findOne", device_num="WZ000009"))["charge_mode"] is None
    assert_ok(api.get("/open/device/delete", device_num="WZ000009"))
    assert api.get("/open/device/findOne", device_num="WZ000009")["code"] == 1003


def test_device_list_pages_and_batch_lookups(make_sim):
    sim, api = make_sim()
    first = assert_ok(api.get("/open/device/list", page=1, page_size=2))
    assert first["total"] == 3
    assert [d["device_num"] for d in first["list"]] == ["WZ000001", "WZ000002"]
    second = assert_ok(api.get("/open/device/list", page=2, page_size=2))
    assert [d["device_num"] for d in second["list"]] == ["WZ000003"]
    assert api.get("/open/device/list", page=0)["code"] == 1002

    found = assert_ok(api.form("/open/device/findMultiDevices", device_nums=["WZ000003", "WZ000009", "NOPE"]))
    assert [d["device_num"] for d in found] == ["WZ000003"]
    assert found[0]["device_type"] == 13
    assert found[0]["port_num"] == 1

    states = assert_ok(api.get("/open/device/state/list", device_nums=["WZ000001", "WZ000003"], port_fields=["state"]))
    assert [s["device_num"] for s in states] == ["WZ000001", "WZ000003"]
    assert states[1]["ports"] == [{"device_port": 1, "state": 1}]


def test_port_status_answers_every_field_or_those_asked(make_sim):
    sim, api = make_sim()
    data = assert_ok(api.get("/open/device/state", device_num="WZ000001"))
    assert data["device_num"] == "WZ000001"
    assert data["online"] == 1
    assert len(data["ports"]) == 10
    assert data["ports"][0] == {
        "device_port": 1,
        "state": 0,
        "charge_id": 0,
        "charge_mode": 1,
        "pay_amount": 0,
        "pay_used": 0,
        "time_total": 0,
        "time_used": 0,
        "eq_used": 0,
        "rated_power": 1000,
        "current_power": 0,
        "start_time": 0,
        "rev_time": START_UNIX,
    }
    picked = assert_ok(api.get("/open/device/state", device_num="WZ000001", port_fields=["state", "charge_id"]))
    assert picked["ports"][3] == {"device_port": 4, "state": 0, "charge_id": 0}
    bad = api.get("/open/device/state", device_num="WZ000001", port_fields=["state", "voltage"])
    assert bad["code"] == 1002
    assert "port_fields" in bad["message"]


def test_port_error_reboot_offline_and_the_online_log(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert_ok(start(api, port=3, charge_id=11))
    sim.advance(60)
    assert_ok(api.post("/open/device/state/port/error", device_num="WZ000001", device_port="3", is_error="1"))
    assert sim.port("WZ000001", 3).state == 6
    assert sim.session(11).stop_reason == 26
    assert start(api, port=3, charge_id=12)["code"] == 1005

    assert_ok(start(api, port=4, charge_id=13))
    assert_ok(api.post("/open/device/state/reboot", device_num="WZ000001"))
    assert sim.session(13).stop_reason == 33
    assert sim.device("WZ000001").reboots == 1

    sim.advance(30)
    assert_ok(api.post("/open/device/state/offline", device_nums=["WZ000001"]))
    assert start(api, port=5, charge_id=14)["code"] == 1004
    assert api.post("/open/device/state/reboot", device_num="WZ000001")["code"] == 1004
    log = assert_ok(api.get("/open/device/log/online", device_num="WZ000001", page=1, page_size=10))
    assert log["total"] == 4
    assert log["list"] == [
        {"online": 0, "time": START_UNIX + 90},
        {"online": 1, "time": START_UNIX + 60},
        {"online": 0, "time": START_UNIX + 60},
        {"online": 1, "time": START_UNIX},
    ]
    assert api.post("/open/device/state/offline", device_nums=["WZ000001", "NOPE"])["code"] == 1003

    assert_ok(api.post("/open/device/state/offlineProfit", device_num="WZ000002", coin=1200, card=300))
    assert (sim.device("WZ000002").offline_coin, sim.device("WZ000002").offline_card) == (1200, 300)
    assert api.post("/open/device/state/offlineProfit", device_num="WZ000002", coin=-1, card=0)["code"] == 1002


# ---- charge modes ----------------------------------------------------------------------------------------------


def test_save_mode_is_multipart_and_get_mode_answers_it_back_in_camel_case_as_sent(make_sim):
    sim, api = make_sim()
    form = {
        "device_num": "WZ000002",
        "charge_mode": 9,
        "power_value": "[200,400,800]",
        "price_value": "[100,150,200]",
        "type": 0,
        "display_delay": "5",
        **SETTINGS,
    }
    assert assert_ok(api.form("/open/device/saveMode", **form)) == {"result": True}
    data = assert_ok(api.get("/open/device/getMode", device_num="WZ000002"))
    assert data == {
        "charge_mode": 9,
        "device_num": "WZ000002",
        "powerValue": "[200,400,800]",
        "priceValue": "[100,150,200]",
        "type": "0",
        "displayDelay": "5",
        "startFee": "100",
        "isNotDisturb": "0",
        "notDisturbStart": "22:00",
        "notDisturbEnd": "07:00",
        "notDisturbVolume": "3",
        "isOutage": "0",
        "autoOffWaitTime": "60",
        "autoOffLowerPower": "5",
        "floatingChargeTime": "120",
        "floatingChargePower": "30",
        "whetherRefund": "1",
        "isFreeCharge": "0",
        "detectTime": "10",
    }
    assert assert_ok(api.get("/open/device/getDeviceModePower2Info", device_num="WZ000002")) == {
        "powerValue": "[200,400,800]",
        "priceValue": "[100,150,200]",
        "type": "0",
        "displayDelay": "5",
        "whetherRefund": "1",
    }
    assert assert_ok(api.get("/open/device/getDeviceModePowerInfo", device_num="WZ000002")) == {}
    assert assert_ok(api.get("/open/device/getDeviceModeNotDisturbInfo", device_num="WZ000002")) == {
        "isNotDisturb": "0",
        "notDisturbStart": "22:00",
        "notDisturbEnd": "07:00",
        "notDisturbVolume": "3",
    }
    assert assert_ok(api.get("/open/device/getDeviceModeWorkInfo", device_num="WZ000001")) == {
        "workCharge": "100",
        "maxPayFee": "3000",
        "startFee": "100",
        "whetherRefund": "1",
    }
    assert assert_ok(api.get("/open/device/getDeviceModeTimeInfo", device_num="WZ000001")) == {}
    assert assert_ok(api.get("/open/device/getDeviceModeCoinInfo", device_num="WZ000001")) == {}


def test_form_values_travel_as_sent_non_ascii_and_line_breaks_included(make_sim):
    sim, api = make_sim()
    form = energy_mode(device_num="WZ000001", not_disturb_start="晚上 22:00", floating_charge_time="120\r\n")
    assert_ok(api.form("/open/device/saveMode", **form))
    data = assert_ok(api.get("/open/device/getMode", device_num="WZ000001"))
    assert (data["notDisturbStart"], data["floatingChargeTime"]) == ("晚上 22:00", "120\r\n")


def test_save_mode_refuses_a_mode_the_device_type_does_not_take_and_bad_fields(make_sim):
    sim, api = make_sim()
    # Type 8 takes 7, 8 and 9 only; energy mode 1 is for types 2 and 3.
    mismatch = api.form("/open/device/saveMode", **energy_mode(device_num="WZ000002"))
    assert mismatch["code"] == 1008
    assert sim.device("WZ000002").mode is None
    assert api.form("/open/device/saveMode", **energy_mode(device_num="WZ000003"))["code"] == 1008

    missing = energy_mode(device_num="WZ000001")
    del missing["detect_time"]
    answer = api.form("/open/device/saveMode", **missing)
    assert (answer["code"], answer["message"]) == (1002, "参数错误: detect_time 不能为空")
    not_int = api.form("/open/device/saveMode", **energy_mode(device_num="WZ000001", work_charge="1.5"))
    assert (not_int["code"], not_int["message"]) == (1002, "参数错误: work_charge 应为整数")
    no_price = {k: v for k, v in energy_mode(device_num="WZ000001").items() if k != "work_charge"}
    assert api.form("/open/device/saveMode", **no_price)["code"] == 1002
    bad_array = {**SETTINGS, "device_num": "WZ000001", "charge_mode": 0, "charge_value": "200,400"}
    assert api.form("/open/device/saveMode", **bad_array)["message"].startswith("参数错误: charge_value")
    assert api.form("/open/device/saveMode", **energy_mode(device_num="WZ000001", charge_mode=11))["code"] == 1002
    assert api.form("/open/device/saveMode", **energy_mode(device_num="WZ000009"))["code"] == 1003
    # Nothing of the refused forms was kept.
    assert sim.device("WZ000001").mode["work_charge"] == "100"

    # The four-digit price alone is enough for an energy mode.
    four = {k: v for k, v in energy_mode(device_num="WZ000001", work_charge_fourdigit=12345).items()}
    del four["work_charge"]
    assert_ok(api.form("/open/device/saveMode", **four))
    assert "workCharge" not in assert_ok(api.get("/open/device/getMode", device_num="WZ000001"))


def test_car_piles_save_mode_11_on_their_own_page(make_sim):
    sim, api = make_sim()
    assert_ok(api.form("/open/device/car/saveMode", device_num="WZ000003", charge_mode=11, work_charge=120))
    assert assert_ok(api.get("/open/device/car/getMode", device_num="WZ000003")) == {
        "charge_mode": 11,
        "device_num": "WZ000003",
        "workCharge": "120",
    }
    assert api.form("/open/device/car/saveMode", device_num="WZ000003", charge_mode=1, work_charge=120)["code"] == 1002
    assert api.form("/open/device/car/saveMode", device_num="WZ000001", charge_mode=11, work_charge=1)["code"] == 1008
    assert api.get("/open/device/car/getMode", device_num="WZ000001")["code"] == 1008


# ---- charging and its callbacks ------------------------------------------------------------------------------------


def test_start_turns_the_port_to_charging_and_posts_a_signed_start_power(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert assert_ok(start(api, port=2, charge_id=261202103015000123)) == {"result": True}
    assert sim.port("WZ000001", 2).state == 2
    sim.drain()
    (callback,) = receiver.of("start_power")
    assert callback.content_type == "application/x-www-form-urlencoded"
    assert callback.fields == {
        "device_num": "WZ000001",
        "device_port": "2",
        "charge_id": "261202103015000123",
        "state": "1",
        "app_id": APP_ID,
        "timestamp": callback.fields["timestamp"],
        "sign": callback.fields["sign"],
    }
    assert abs(int(callback.fields["timestamp"]) - time.time()) < 5
    assert sign_valid(callback.fields)
    (record,) = sim.callbacks("start_power")
    assert isinstance(record, CallbackRecord)
    assert (record.status, record.attempts, record.reply["code"]) == ("delivered", 1, 1)

    port = assert_ok(api.get("/open/device/state", device_num="WZ000001"))["ports"][1]
    assert port["state"] == 2
    assert port["charge_id"] == 261202103015000123
    assert port["pay_amount"] == 500
    assert port["current_power"] == 200
    assert port["start_time"] == START_UNIX
    # 500 fen at 1.00 yuan/kWh and 200 W: 5 kWh, 25 hours.
    assert port["time_total"] == 25 * 3600


def test_sha256_callbacks_are_signed_with_sha256(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url, sign_method="sha256")
    assert_ok(start(api, charge_id=5))
    sim.drain()
    assert sign_valid(receiver.of("start_power")[0].fields, method="sha256")


def test_start_refusals(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert start(api, device_num="WZ000009")["code"] == 1003
    assert start(api, port=11)["code"] == 1002
    assert start(api, total_fee=0)["code"] == 1002
    assert start(api, charge_id=0)["code"] == 1002
    assert start(api, charge_mode=5)["code"] == 1002
    assert start(api, charge_mode=0)["code"] == 1008  # the device is in energy mode 1
    # A device with no mode saved takes any mode its type takes.
    assert start(api, device_num="WZ000002", charge_mode=1)["code"] == 1008
    assert_ok(start(api, device_num="WZ000002", charge_mode=9, charge_id=7))

    assert_ok(start(api, charge_id=1))
    assert_ok(start(api, charge_id=1))  # 续充: the same charge_id on its port goes on
    busy = start(api, charge_id=2)
    assert (busy["code"], busy["message"].startswith("端口忙碌")) == (1005, True)
    assert start(api, port=2, charge_id=1)["code"] == 1002  # a charge_id is used once
    sim.set_port_state("WZ000001", 3, 6)
    assert "端口故障" in start(api, port=3, charge_id=3)["message"]
    sim.set_port_state("WZ000001", 4, 5)
    assert_ok(start(api, port=4, charge_id=4))  # 5 (charge ended) starts on an e-bike port

    sim.set_online("WZ000001", False)
    assert start(api, port=5, charge_id=5)["code"] == 1004
    sim.drain()
    assert len(receiver.of("start_power")) == 3  # charge_ids 7, 1 and 4: no second start_power for 1


def test_car_piles_start_only_with_a_car_plugged_in(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    car = {"device_num": "WZ000003", "charge_mode": 11}
    sim.set_port_state("WZ000003", 1, 0)
    assert start(api, charge_id=21, **car)["message"] == "请插枪"
    sim.set_port_state("WZ000003", 1, 5)
    assert start(api, charge_id=21, **car)["message"] == "请拔枪"
    sim.set_port_state("WZ000003", 1, 17)
    assert start(api, charge_id=21, **car)["code"] == 1005
    sim.set_port_state("WZ000003", 1, 1)
    assert_ok(start(api, charge_id=21, total_fee=3000, **car))
    sim.set_port_state("WZ000003", 1, 3)  # paused: the same charge_id continues, no other starts
    assert_ok(start(api, charge_id=21, total_fee=3000, **car))
    assert start(api, charge_id=22, **car)["code"] == 1005
    sim.advance(600)  # paused: nothing accrues
    assert sim.session(21).energy_ws == 0
    sim.set_port_state("WZ000003", 1, 2)
    sim.advance(3600)  # 7 kWh at 1.5000 yuan/kWh
    assert_ok(api.post("/open/charge/stop", device_num="WZ000003", device_port=1, charge_id=21))
    sim.drain()
    (finish,) = receiver.of("finish_order")
    assert (finish.fields["eq_used"], finish.fields["pay_used"], finish.fields["stop_reason"]) == ("7000", "1050", "12")
    assert finish.fields["refund_amount"] == "0"  # the mode does not say whether_refund=1
    assert sim.port("WZ000003", 1).state == 19  # waits for the plug to be pulled
    assert start(api, charge_id=23, **car)["message"] == "请拔枪"
    port = assert_ok(api.get("/open/device/state", device_num="WZ000003"))["ports"][0]
    assert (port["state"], port["charge_id"], port["pay_used"]) == (19, 21, 1050)


def test_stop_sends_finish_order_with_reason_12_and_consistent_figures(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert_ok(start(api, port=1, charge_id=31, total_fee=500))
    sim.advance(1800)  # 200 W for half an hour: 100 Wh, 10 fen at 1.00 yuan/kWh
    port = assert_ok(api.get("/open/device/state", device_num="WZ000001", port_fields=["eq_used", "pay_used"]))
    assert port["ports"][0] == {"device_port": 1, "eq_used": 100, "pay_used": 10}
    assert api.post("/open/charge/stop", device_num="WZ000001", device_port=1, charge_id=99)["code"] == 1006
    assert api.post("/open/charge/stop", device_num="WZ000001", device_port=2, charge_id=31)["code"] == 1006
    assert_ok(api.post("/open/charge/stop", device_num="WZ000001", device_port=1, charge_id=31))
    assert sim.port("WZ000001", 1).state == 0
    assert sim.port("WZ000001", 1).charge_id == 0
    # A stop of a session that has ended is answered again, and sends nothing new.
    assert_ok(api.post("/open/charge/stop", device_num="WZ000001", device_port=1, charge_id=31))
    sim.drain()
    (finish,) = receiver.of("finish_order")
    assert finish.content_type == "application/x-www-form-urlencoded"
    assert sign_valid(finish.fields)
    fields = {k: v for k, v in finish.fields.items() if k not in ("app_id", "timestamp", "sign")}
    assert fields == {
        "device_num": "WZ000001",
        "device_port": "1",
        "charge_id": "31",
        "stop_reason": "12",
        "start_time": str(START_UNIX),
        "end_time": str(START_UNIX + 1800),
        "time_used": "1800",
        "eq_used": "100",
        "pay_amount": "500",
        "pay_used": "10",
        "refund_amount": "490",  # whether_refund=1
    }


def test_a_session_ends_by_itself_when_its_prepaid_amount_is_used(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert_ok(start(api, port=6, charge_id=41, total_fee=10))  # 10 fen: 100 Wh, 30 minutes at 200 W
    sim.advance(1000)
    assert sim.session(41).charging
    sim.advance(1000)
    session = sim.session(41)
    assert (session.status, session.stop_reason, session.pay_used) == ("finished", 1, 10)
    assert session.ended_at == START + dt.timedelta(seconds=1800)
    assert sim.port("WZ000001", 6).state == 0
    sim.drain()
    (finish,) = receiver.of("finish_order")
    assert finish.fields["stop_reason"] == "1"
    assert (finish.fields["time_used"], finish.fields["eq_used"]) == ("1800", "100")
    assert (finish.fields["pay_used"], finish.fields["refund_amount"]) == ("10", "0")
    assert finish.fields["end_time"] == str(START_UNIX + 1800)


def test_time_and_power_modes_bill_by_the_hour(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    # Time mode 0 on a type-2 device: 60 fen an hour.
    assert_ok(api.form("/open/device/saveMode", device_num="WZ000001", charge_mode=0, charge_value="[60]", **SETTINGS))
    assert_ok(start(api, port=1, charge_id=51, charge_mode=0, total_fee=100))
    # Power mode 2 on a type-8 device: 200 W falls in the first bound, 100 fen an hour.
    power = {"device_num": "WZ000002", "charge_mode": 9, "power_value": "[200,400]", "price_value": "[100,150]"}
    assert_ok(api.form("/open/device/saveMode", **power, **SETTINGS))
    assert_ok(start(api, device_num="WZ000002", port=1, charge_id=52, charge_mode=9, total_fee=1000))
    sim.port("WZ000002", 2).power_w = 300
    assert_ok(start(api, device_num="WZ000002", port=2, charge_id=53, charge_mode=9, total_fee=1000))
    sim.advance(1800)
    assert (sim.session(51).pay_used, sim.session(52).pay_used, sim.session(53).pay_used) == (30, 50, 75)
    sim.advance(4200)  # 100 fen of time mode last 100 minutes
    assert (sim.session(51).stop_reason, sim.session(51).time_used(sim.now())) == (1, 6000)


def test_fail_next_start_answers_success_but_start_power_carries_the_failure(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    sim.set_port_state("WZ000001", 7, 1)
    sim.fail_next_start("WZ000001", 7, state=17)
    assert_ok(start(api, port=7, charge_id=61))
    assert sim.port("WZ000001", 7).state == 1
    assert sim.session(61).status == "failed"
    sim.drain()
    assert receiver.of("start_power")[0].fields["state"] == "17"
    # The port starts next time, even under the failed start's charge_id.
    assert_ok(start(api, port=7, charge_id=61))
    sim.drain()
    assert [r.fields["state"] for r in receiver.of("start_power")] == ["17", "1"]
    assert not receiver.of("finish_order")


def test_finish_hook_ends_a_session_with_its_reason(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert_ok(start(api, port=8, charge_id=71))
    sim.advance(90)
    sim.finish(71, stop_reason=4)
    sim.drain()
    (finish,) = receiver.of("finish_order")
    assert (finish.fields["stop_reason"], finish.fields["time_used"]) == ("4", "90")
    with pytest.raises(ValueError, match="not charging"):
        sim.finish(71)


def test_a_card_swipe_posts_icc_pay_req_and_returns_our_reply(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    calls_back = []

    def accept(received):
        # As our receiver does: an accepted swipe is started under a charge_id of ours, while answering.
        if received.name == "icc_pay_req":
            calls_back.append(start(api, port=int(received.fields["device_port"]), charge_id=81, total_fee=300))

    receiver.handler = accept
    record = sim.swipe_card("WZ000001", 9, "ICC0001234", pay_amount=300)
    assert record.name == "icc_pay_req"
    assert (record.status, record.reply["code"]) == ("delivered", 1)
    (swipe,) = receiver.of("icc_pay_req")
    assert swipe.content_type == "application/x-www-form-urlencoded"
    assert {k: swipe.fields[k] for k in ("device_num", "device_port", "icc_id", "pay_amount")} == {
        "device_num": "WZ000001",
        "device_port": "9",
        "icc_id": "ICC0001234",
        "pay_amount": "300",
    }
    assert sign_valid(swipe.fields)
    assert calls_back[0]["code"] == 1
    assert sim.port("WZ000001", 9).state == 2

    # A refusal is an answer: it is not tried again.
    receiver.handler = None
    sim.drain()  # the start_power of that start goes first
    receiver.replies.append((200, {"code": 0, "message": "余额不足", "data": {}}))
    refused = sim.swipe_card("WZ000001", 10, "ICC0009999")
    assert (refused.status, refused.attempts, refused.reply["message"]) == ("refused", 1, "余额不足")
    assert receiver.of("icc_pay_req")[-1].fields["pay_amount"] == "0"


def test_the_callback_log_lists_what_was_sent_and_what_we_answered(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert_ok(start(api, port=1, charge_id=91))
    sim.advance(120)
    assert_ok(api.post("/open/charge/stop", device_num="WZ000001", device_port=1, charge_id=91))
    sim.drain()
    log = assert_ok(api.get("/open/callback/log", charge_id=91))
    assert [entry["type"] for entry in log] == ["start_power", "finish_order"]
    start_entry, finish_entry = log
    assert start_entry["req"] == receiver.of("start_power")[0].fields
    assert finish_entry["req"] == receiver.of("finish_order")[0].fields
    assert json.loads(finish_entry["res"]) == {"code": 1, "message": "ok", "data": {}}
    assert (start_entry["created_at"], finish_entry["created_at"]) == (START_UNIX, START_UNIX + 120)
    assert all(isinstance(value, str) for value in finish_entry["req"].values())
    assert api.get("/open/callback/log", charge_id=12345)["code"] == 1006


def test_a_lost_finish_is_logged_and_resent_on_request(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert api.post("/open/callback/retry/finish_order", charge_id=101)["code"] == 1006
    assert_ok(start(api, port=1, charge_id=101))
    assert_ok(start(api, port=2, charge_id=102))
    sim.lose_finish(101)
    sim.advance(300)
    assert_ok(api.post("/open/charge/stop", device_num="WZ000001", device_port=2, charge_id=102))
    assert_ok(api.post("/open/charge/stop", device_num="WZ000001", device_port=1, charge_id=101))
    sim.drain()
    assert [r.fields["charge_id"] for r in receiver.of("finish_order")] == ["102"]
    lost = sim.callbacks("finish_order")[-1]
    assert (lost.charge_id, lost.status) == (101, "dropped")
    log = assert_ok(api.get("/open/callback/log", charge_id=101))
    assert [(entry["type"], entry["res"]) for entry in log][-1] == ("finish_order", "")
    assert log[-1]["req"]["stop_reason"] == "12"

    assert assert_ok(api.post("/open/callback/retry/finish_order", charge_id=101)) == {"result": True}
    sim.drain()
    resent = receiver.of("finish_order")[-1]
    assert resent.fields["charge_id"] == "101"
    assert sign_valid(resent.fields)
    business = ("stop_reason", "start_time", "end_time", "time_used", "eq_used", "pay_used", "refund_amount")
    assert {k: resent.fields[k] for k in business} == {k: log[-1]["req"][k] for k in business}
    log = assert_ok(api.get("/open/callback/log", charge_id=101))
    assert [entry["type"] for entry in log] == ["start_power", "finish_order", "finish_order"]
    assert json.loads(log[-1]["res"])["code"] == 1


def test_lose_finish_without_a_charge_id_loses_the_next_one(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    assert_ok(start(api, port=1, charge_id=111))
    sim.lose_finish()
    sim.finish(111)
    sim.drain()
    assert not receiver.of("finish_order")
    assert sim.callbacks("finish_order")[0].status == "dropped"


def test_callbacks_are_retried_until_answered_with_code_1(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url, callback_retries=3)
    receiver.replies.extend([(200, {"code": 0, "message": "busy"}), (500, {"code": 1})])
    assert_ok(start(api, port=1, charge_id=121))
    sim.drain()
    (record,) = sim.callbacks("start_power")
    assert (record.status, record.attempts) == ("delivered", 3)
    assert len(receiver.of("start_power")) == 3

    receiver.replies.extend([(200, {"code": 0, "message": "no"})] * 3)
    sim.finish(121)
    sim.drain()
    (finish,) = sim.callbacks("finish_order")
    assert (finish.status, finish.attempts, finish.reply["message"]) == ("refused", 3, "no")
    assert json.loads(assert_ok(api.get("/open/callback/log", charge_id=121))[-1]["res"])["code"] == 0


def test_callbacks_keep_the_order_of_events(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    for port in (1, 2, 3):
        assert_ok(start(api, port=port, charge_id=130 + port, total_fee=1))
    sim.advance(200)  # 1 fen buys 180 s at 200 W and 1.00 yuan/kWh: every session ends
    sim.drain()
    assert [(r.name, r.fields["charge_id"]) for r in receiver.received] == [
        ("start_power", "131"),
        ("start_power", "132"),
        ("start_power", "133"),
        ("finish_order", "131"),
        ("finish_order", "132"),
        ("finish_order", "133"),
    ]


def test_offline_profit_is_a_signed_multipart_body(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url)
    sim.advance(42)
    record = sim.send_offline_profit("WZ000001", coin=1500, card=700)
    assert record.status == "delivered"
    (profit,) = receiver.of("offline_profit")
    assert profit.content_type.startswith("multipart/form-data; boundary=")
    assert {k: profit.fields[k] for k in ("device_num", "coin", "card", "time")} == {
        "device_num": "WZ000001",
        "coin": "1500",
        "card": "700",
        "time": str(START_UNIX + 42),
    }
    assert sign_valid(profit.fields)
    assert (sim.device("WZ000001").offline_coin, sim.device("WZ000001").offline_card) == (1500, 700)
    sim.send_offline_profit("WZ000001", coin=0, card=0, time=1_700_000_000)
    assert receiver.of("offline_profit")[-1].fields["time"] == "1700000000"


def test_offline_profit_rounds_report_every_e_bike_device_on_our_account(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url, offline_profit_interval=0.1)
    sim.add_offline_revenue("WZ000002", coin=100, card=50)

    def reported():
        return {r.fields["device_num"]: (r.fields["coin"], r.fields["card"]) for r in receiver.of("offline_profit")}

    deadline = time.monotonic() + 5
    while reported().get("WZ000002") != ("100", "50") and time.monotonic() < deadline:
        time.sleep(0.05)
    # Not the car pile, not the device that is not on our account.
    assert reported() == {"WZ000001": ("0", "0"), "WZ000002": ("100", "50")}
    assert all(r.content_type.startswith("multipart/form-data") for r in receiver.of("offline_profit"))


def test_tick_interval_moves_sessions_in_real_time(make_sim, receiver):
    sim, api = make_sim(callback_url=receiver.url, tick_interval=0.05, speed=600)
    assert_ok(start(api, port=1, charge_id=141, total_fee=1))  # 180 simulated seconds
    deadline = time.monotonic() + 5
    while sim.session(141).charging and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.session(141).stop_reason == 1


# ---- flow cards -------------------------------------------------------------------------------------------------


def test_flow_card_renewal_moves_from_pending_to_done(make_sim):
    devices = [SimDevice("WZ000001", 2, added=True, card_days_left=10), SimDevice("WZ000002", 8, added=True)]
    sim, api = make_sim(devices=devices)
    due = assert_ok(api.get("/open/flowCard/renewList", page=1, page_size=20))
    assert due == {
        "total": 1,
        "list": [
            {"device_num": "WZ000001", "iccid": sim.device("WZ000001").iccid, "expire_time": START_UNIX + 10 * 86400}
        ],
    }
    assert api.post("/open/flowCard/renewOrder", device_nums=[])["code"] == 1002
    assert api.post("/open/flowCard/renewOrder", device_nums=["NOPE"])["code"] == 1003
    order_no = assert_ok(api.post("/open/flowCard/renewOrder", device_nums=["WZ000001"]))["order_no"]
    assert assert_ok(api.get("/open/flowCard/renewStatus", order_no=order_no)) == {"order_no": order_no, "status": 0}
    sim.advance(60)
    assert assert_ok(api.get("/open/flowCard/renewStatus", order_no=order_no))["status"] == 1
    sim.advance(240)
    assert assert_ok(api.get("/open/flowCard/renewStatus", order_no=order_no))["status"] == 2
    assert assert_ok(api.get("/open/flowCard/renewList"))["total"] == 0
    assert api.get("/open/flowCard/renewStatus", order_no="XF0")["code"] == 1003

    failing = assert_ok(api.post("/open/flowCard/renewOrder", device_nums=["WZ000002"]))["order_no"]
    sim.set_renewal_status(failing, 3)
    sim.advance(600)
    assert assert_ok(api.get("/open/flowCard/renewStatus", order_no=failing))["status"] == 3


# ---- the simulator's own inputs ------------------------------------------------------------------------------------


def test_devices_and_their_modes_are_checked_when_given():
    with pytest.raises(ValueError, match="does not take"):
        WanzhuangSimulator(devices=[SimDevice("A", 8, mode={"charge_mode": 1, "work_charge": 100})])
    with pytest.raises(ValueError, match="work_charge"):
        WanzhuangSimulator(devices=[SimDevice("A", 2, mode={"charge_mode": 1})])
    with pytest.raises(ValueError, match="twice"):
        WanzhuangSimulator(devices=[SimDevice("A"), SimDevice("A")])
    with pytest.raises(ValueError, match="sign_method"):
        WanzhuangSimulator(sign_method="md5")
    car = SimDevice("C", 12)
    assert (car.port_num, car.ports[1].state, car.ports[1].power_w) == (1, 1, 7000)


def test_the_demo_fleet_runs_and_its_devices_start(receiver):
    with WanzhuangSimulator(devices=demo_fleet(), start_time=START, callback_url=receiver.url) as sim:
        api = Api(sim)
        assert sim.url == sim.base_url
        assert assert_ok(api.get("/open/device/list"))["total"] == 4
        for charge_id, device in enumerate(sim.devices.values(), start=1):
            answer = start(api, device_num=device.device_num, charge_id=charge_id, charge_mode=device.charge_mode)
            assert_ok(answer)
        sim.drain()
        assert len(receiver.of("start_power")) == 4
        assert [d["device_num"] for d in assert_ok(api.get("/open/flowCard/renewList"))["list"]] == ["WZ000003"]
