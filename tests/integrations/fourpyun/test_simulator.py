"""The 4pyun simulator alone, over real HTTP: its checks in 4pyun's order, its answers, its faults and its pushes.

The calls are built here as 4pyun's pages describe them (a JSON body with the public parameters, its MD5 with
`&app_secret=` in `Authorization`), and the pushes go to a small receiver on the simulation kit's `LoopbackServer`;
so these tests need neither our client, nor Django's views, nor a database. They prove that the simulator speaks
the pages, which is what the end-to-end tests of our client and receiver then rely on.
"""

import datetime as dt
import json
import re
import threading
import time
from collections import deque
from urllib.parse import parse_qs

import pytest
import requests

from integrations.fourpyun.signing import form_sign, json_sign, json_signing_string, masked
from integrations.fourpyun.simulator import (
    CHARGING_STATUS,
    DEVICE_PATH,
    ORDER_INFO,
    RECORD_PATH,
    START_RESULT,
    FourpyunSimulator,
    order_fields,
    result_fields,
)
from integrations.simulation import LoopbackServer, Response, SimClock

TIMEOUT = 5
APP_ID, SECRET = "op00961963581daa7", "sim-test-4pyun-secret"
STATION = "49f0cc52-e8c7-41e3-b54d-af666b8cc11a"
JSON = "application/json; charset=utf-8"


def record(**changes):
    """A finished charging record as the page's example has it (with a plate of the rule), changed as asked;
    a change to None drops the field."""
    fields = {
        "station_uuid": STATION,
        "order": "20250917151408743549",
        "start_time": "2025-09-17T06:14:08.320Z",
        "end_time": "2025-09-17T07:14:08.351Z",
        "vin": "LSTOP103212132001",
        "plate": "川A660N1",
        "quantity": 1000,
        "energy_value": 800,
        "fee_value": 200,
        "state": 3,
        "state_desc": "SOC已充满",
        "device_no": "TEST250911100001",
        "device_type": 0,
        "port_no": "1",
        "energy_code": "CN_AC",
        "soc": 100,
        "mobile": "13800138001",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def device(**changes):
    fields = {
        "station_uuid": STATION,
        "no": "TEST250911100001",
        "name": "测试设备",
        "type": 0,
        "state": 1,
        "state_desc": "可用",
        "energy_code": "CN_AC",
        "metadata": {"DEVICE_SOFTWARE_VERSION": "S1.0.2.111", "DEVICE_CHARGE_POWER": "1200000000"},
        "port": [
            {"no": "TEST01", "state": 1, "state_desc": "空闲", "alias": "A", "space_status": 0},
            {"no": "TEST02", "state": -1, "state_desc": "故障", "alias": "B", "space_status": -1},
        ],
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def now_ms():
    return int(time.time() * 1000)


def body_text(fields, *, app_id=APP_ID, timestamp=None, sign_type="MD5"):
    """The JSON text of a call: the public parameters first, then the endpoint's fields, written once."""
    document = {"app_id": app_id, "timestamp": now_ms() if timestamp is None else timestamp, "sign_type": sign_type}
    document = {name: value for name, value in document.items() if value is not None}
    return json.dumps({**document, **fields}, ensure_ascii=False, separators=(",", ":"))


def post(sim, path, text, *, authorization=None, secret=SECRET, content_type=JSON):
    """POST `text` as it is, signed with `secret` unless an `authorization` is given ("" for none)."""
    headers = {"Content-Type": content_type}
    signature = json_sign(text, secret) if authorization is None else authorization
    if signature:
        headers["Authorization"] = signature
    return requests.post(sim.base_url + path, data=text.encode("utf-8"), headers=headers, timeout=TIMEOUT)


def sync(sim, fields, path=RECORD_PATH, **kwargs):
    return post(sim, path, body_text(fields), **kwargs)


def refused(response, status, code):
    """4pyun's envelope of a refusal, checked; its hint."""
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == code, answer
    assert re.fullmatch(r"\d{32}", answer["seqno"])
    return answer.get("hint")


@pytest.fixture
def sim():
    with FourpyunSimulator(APP_ID, SECRET, stations={STATION}) as simulator:
        yield simulator


# ---- the envelope and the checks ---------------------------------------------------------------------------


def test_a_good_record_is_accepted_and_kept_once(sim):
    response = sync(sim, record())

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["code"] == "1001"
    assert re.fullmatch(r"\d{32}", answer["seqno"])
    assert answer["data_node"] == "CN-South/SIM-1"
    assert isinstance(answer["time_cost"], int)
    assert "message" not in answer and "hint" not in answer
    [kept] = sim.records_of("20250917151408743549")
    assert kept.body == {"app_id": APP_ID, "timestamp": kept.body["timestamp"], "sign_type": "MD5", **record()}
    assert kept.seq == 1 and kept.final
    assert sim.final_of("20250917151408743549") is kept
    assert sim.orders() == ["20250917151408743549"]
    assert sim.duplicates() == {}
    assert [call.accepted for call in sim.calls] == [True]


def test_the_same_record_sent_twice_is_counted_as_a_duplicate(sim):
    sync(sim, record())
    sync(sim, record())  # a retry: a new timestamp, the same record

    assert list(sim.duplicates().values()) == [2]
    assert sim.accepted_counts()[sim.records[0].key] == 2


def test_progress_then_final_keeps_every_record_and_the_final_one(sim):
    sync(sim, record(state=2, state_desc="充电中", end_time="2025-09-17T06:44:08.000Z", quantity=500))
    sync(sim, record())
    sync(sim, record(state=2, state_desc="充电中", end_time="2025-09-17T06:50:00.000Z", quantity=600))

    records = sim.records_of("20250917151408743549")
    assert [r.state for r in records] == [2, 3, 2]
    assert sim.final_of("20250917151408743549") is records[1]
    assert sim.latest_of("20250917151408743549") is records[2]
    assert sim.out_of_order() == [records[2]]  # a progress after the final, and an earlier end


def test_a_body_changed_after_signing_is_refused_with_the_masked_signing_string(sim):
    text = body_text(record())
    signature = json_sign(text, SECRET)
    tampered = text.replace('"fee_value":200', '"fee_value":20')

    hint = refused(post(sim, RECORD_PATH, tampered, authorization=signature), 401, "401")

    assert sim.calls[-1].message == "请求签名校验不通过"
    assert hint == masked(json_signing_string(tampered, SECRET), SECRET)
    assert hint.endswith("&app_secret=***") and SECRET not in hint
    assert sim.records == []
    assert not sim.calls[-1].accepted and sim.calls[-1].body == tampered.encode()


def test_a_wrong_secret_or_no_signature_is_refused(sim):
    assert refused(sync(sim, record(), secret="not-the-secret"), 401, "401").endswith("app_secret=***")
    refused(sync(sim, record(), authorization=""), 401, "401")
    assert sim.records == []


def test_the_signature_is_compared_without_regard_to_case(sim):
    text = body_text(record())
    assert post(sim, RECORD_PATH, text, authorization=json_sign(text, SECRET).upper()).json()["code"] == "1001"


def test_another_app_id_is_refused(sim):
    text = body_text(record(), app_id="op00somebodyelse")
    assert "app_id" in refused(post(sim, RECORD_PATH, text), 401, "401")


@pytest.mark.parametrize("minutes", [11, -11])
def test_a_timestamp_eleven_minutes_off_is_refused(sim, minutes):
    text = body_text(record(), timestamp=now_ms() + minutes * 60_000)

    hint = refused(post(sim, RECORD_PATH, text), 401, "401")

    assert "10分钟" in hint
    assert sim.records == []


def test_a_timestamp_nine_minutes_off_is_taken(sim):
    text = body_text(record(), timestamp=now_ms() - 9 * 60_000)
    assert post(sim, RECORD_PATH, text).json()["code"] == "1001"


def test_the_timestamp_is_checked_against_the_simulators_clock():
    clock = SimClock(dt.datetime.now(dt.UTC))
    with FourpyunSimulator(APP_ID, SECRET, clock=clock) as sim:
        assert sync(sim, record()).json()["code"] == "1001"
        clock.advance(11 * 60)
        assert "10分钟" in refused(sync(sim, record()), 401, "401")
        assert sim.records[0].received_at < clock.now()


def test_sign_type_must_be_md5(sim):
    text = body_text(record(), sign_type="SHA256")
    assert "sign_type" in refused(post(sim, RECORD_PATH, text), 400, "400")


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        ("not json", JSON, "JSON"),
        ("[1, 2]", JSON, "JSON 对象"),
        ('{"a": 1}', "application/x-www-form-urlencoded", "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_before_anything_else(sim, body, content_type, named):
    hint = refused(post(sim, RECORD_PATH, body, content_type=content_type, authorization=""), 400, "400")
    assert named in hint


@pytest.mark.parametrize(
    "field",
    ["station_uuid", "order", "start_time", "end_time", "quantity", "energy_value", "fee_value", "state",
     "state_desc", "device_no", "device_type", "port_no", "energy_code", "mobile"],
)
def test_a_missing_field_is_named_in_4pyuns_words(sim, field):
    hint = refused(sync(sim, record(**{field: None})), 400, "400")

    assert hint == f"`{field}` required~"
    assert sim.calls[-1].message == "请求参数错误"


def test_an_empty_mobile_is_a_missing_one(sim):
    assert refused(sync(sim, record(mobile="")), 400, "400") == "`mobile` required~"


def test_the_optional_fields_may_be_left_out(sim):
    assert sync(sim, record(vin=None, plate=None, soc=None)).json()["code"] == "1001"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"quantity": "1000"}, "quantity"),
        ({"quantity": 1000.0}, "quantity"),
        ({"energy_value": True}, "energy_value"),
        ({"fee_value": -1}, "fee_value"),
        ({"quantity": 10_000_001}, "quantity"),
        ({"energy_value": 100_000_001}, "energy_value"),
        ({"state": 1}, "state"),
        ({"device_type": 2}, "device_type"),
        ({"energy_code": "CN_XX"}, "energy_code"),
        ({"start_time": "2025-09-17 14:14:08"}, "start_time"),
        ({"end_time": "2025-09-17T07:14:08Z"}, "end_time"),
        ({"end_time": "2025-02-30T07:14:08.000Z"}, "end_time"),
        ({"end_time": "2025-09-17T06:14:08.319Z"}, "end_time"),
        ({"soc": 101}, "soc"),
        ({"order": 20250917151408743549}, "order"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(sim, change, named):
    hint = refused(sync(sim, record(**change)), 400, "400")
    assert hint.startswith(f"`{named}`")
    assert sim.records == []


@pytest.mark.parametrize("plate", ["川A660N11", "粤B12I45", "A12345", "粤B1234", "京A123456", "粤BA12345"])
def test_a_plate_that_is_not_one_is_refused(sim, plate):
    assert refused(sync(sim, record(plate=plate)), 400, "400") == "`plate` 车牌号码格式错误"
    assert sim.calls[-1].message == "请求参数错误"


@pytest.mark.parametrize("plate", ["粤B12345", "粤BD12345", "粤BFA1234", "粤B12345D", "粤B1234学", ""])
def test_ordinary_and_new_energy_plates_are_taken(sim, plate):
    assert sync(sim, record(plate=plate)).json()["code"] == "1001"


def test_a_station_it_does_not_know_is_1002(sim):
    response = sync(sim, record(station_uuid="00000000-0000-0000-0000-000000000000"))

    assert response.status_code == 200
    assert response.json()["code"] == "1002"
    assert response.json()["message"] == "充电站不存在"
    assert sim.records == []


def test_without_stations_any_station_is_known():
    with FourpyunSimulator(APP_ID, SECRET) as sim:
        assert sync(sim, record(station_uuid="any-station")).json()["code"] == "1001"


def test_another_path_or_method_is_404_in_the_envelope(sim):
    response = requests.post(sim.base_url + "/gate/1.0/energy/internal/nothing", json={}, timeout=TIMEOUT)
    refused(response, 404, "404")
    refused(requests.get(sim.base_url + RECORD_PATH, timeout=TIMEOUT), 404, "404")


# ---- faults ------------------------------------------------------------------------------------------------


def test_fail_for_answers_1500_for_a_while_then_takes_the_record(sim):
    sim.fail_for(0.3)

    response = sync(sim, record())
    assert response.status_code == 200
    assert response.json()["code"] == "1500" and response.json()["message"] == "失败"
    assert sim.records == []

    time.sleep(0.35)
    assert sync(sim, record()).json()["code"] == "1001"
    assert len(sim.records) == 1


def test_fail_for_503_is_an_http_503_with_the_envelope(sim):
    sim.fail_for(0.3, "503")

    refused(sync(sim, record()), 503, "503")

    time.sleep(0.35)
    assert sync(sim, record()).status_code == 200


def test_fail_next_fails_that_many_calls(sim):
    sim.fail_next(2, "503")

    assert [sync(sim, record()).status_code for _ in range(3)] == [503, 503, 200]
    assert len(sim.records) == 1


def test_an_unknown_fault_mode_is_an_error(sim):
    with pytest.raises(ValueError):
        sim.fail_for(1, "timeout")


def test_refuse_refuses_every_later_record_of_the_order(sim):
    sim.refuse("20250917151408743549", hint="`order` 订单已结算")

    assert refused(sync(sim, record()), 400, "400") == "`order` 订单已结算"
    assert refused(sync(sim, record(state=2, state_desc="充电中")), 400, "400") == "`order` 订单已结算"
    assert sync(sim, record(order="20250917151408740000")).json()["code"] == "1001"

    sim.clear_faults()
    assert sync(sim, record()).json()["code"] == "1001"
    assert [r.order for r in sim.records] == ["20250917151408740000", "20250917151408743549"]
    assert len(sim.refused_calls) == 2


def test_refuse_with_a_code_of_4pyuns_own_is_http_200(sim):
    sim.refuse("20250917151408743549", code="1500", hint="重复的订单")
    assert refused(sync(sim, record()), 200, "1500") == "重复的订单"


# ---- device sync -------------------------------------------------------------------------------------------


def test_a_device_sync_is_accepted_and_its_latest_state_kept(sim):
    assert sync(sim, device(), DEVICE_PATH).json()["code"] == "1001"
    ports = [{"no": "TEST01", "state": 2, "state_desc": "充电中", "alias": "A"},
             {"no": "TEST02", "state": 1, "state_desc": "空闲", "alias": "B", "space_status": 2}]
    assert sync(sim, device(state=-2, state_desc="离线", port=ports, metadata={}), DEVICE_PATH).json()["code"] == "1001"

    latest = sim.device("TEST250911100001")
    assert latest.body["state"] == -2
    assert latest.ports["TEST01"]["state"] == 2
    assert [s.seq for s in sim.device_syncs] == [1, 2]
    assert list(sim.devices) == ["TEST250911100001"]
    assert sim.records == []


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        ({"name": None}, "`name` required~"),
        ({"type": 3}, "`type`"),
        ({"state": 0}, "`state`"),
        ({"port": []}, "`port`"),
        ({"port": None}, "`port` required~"),
        ({"port": [{"no": "1", "state": 1, "state_desc": "空闲"}]}, "`port[0].alias` required~"),
        ({"port": [{"no": "1", "state": 4, "state_desc": "?", "alias": "A"}]}, "`port[0].state`"),
        ({"port": [{"no": "1", "state": 1, "state_desc": "空闲", "alias": "A", "space_status": 3}]},
         "`port[0].space_status`"),
        ({"metadata": {"DEVICE_CHARGE_POWER": 7000}}, "`metadata.DEVICE_CHARGE_POWER`"),
        ({"metadata": None}, "`metadata` required~"),
    ],
)
def test_a_wrong_device_sync_is_refused_naming_its_field(sim, change, hint):
    assert refused(sync(sim, device(**change), DEVICE_PATH), 400, "400").startswith(hint)
    assert sim.device_syncs == []


def test_a_device_at_an_unknown_station_is_1002(sim):
    assert sync(sim, device(station_uuid="elsewhere"), DEVICE_PATH).json()["code"] == "1002"


def test_a_tampered_device_sync_is_refused(sim):
    text = body_text(device())
    signature = json_sign(text, SECRET)
    refused(post(sim, DEVICE_PATH, text.replace('"state":1,', '"state":-1,', 1), authorization=signature), 401, "401")
    assert sim.device_syncs == []


# ---- pushes ------------------------------------------------------------------------------------------------


class Receiver:
    """Our push receiver, played plainly: it keeps each form and answers 1001 when its `sign` is 4pyun's form
    signature with the secret, 401 otherwise; or the replies queued in `replies`."""

    def __init__(self, secret=SECRET):
        self.secret = secret
        self.received: list[tuple[str, dict, str]] = []  # (name, fields, content type)
        self.replies: deque[tuple[int, dict | str]] = deque()  # a str is answered as text
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.app, name="fourpyun-receiver")
        self.server.start()
        self.url = f"{self.server.base_url}/integrations/4pyun/push"

    def app(self, request):
        name = request.path.rsplit("/", 1)[-1]
        fields = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
        with self.lock:
            self.received.append((name, fields, request.headers.get("Content-Type", "")))
            if self.replies:
                status, reply = self.replies.popleft()
                if isinstance(reply, str):
                    return Response(status=status, body=reply.encode())
                return Response.json(reply, status=status)
        if fields.get("sign") != form_sign(fields, self.secret):
            return Response.json({"code": "401", "message": "签名错误"}, status=401)
        return Response.json({"code": "1001"})

    def names(self):
        with self.lock:
            return [name for name, _fields, _type in self.received]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.stop()


@pytest.fixture
def pushing(receiver):
    with FourpyunSimulator(APP_ID, SECRET, stations={STATION}, push_base_url=receiver.url,
                           push_retry_delay=0.05) as simulator:
        yield simulator


def test_push_posts_a_signed_form_our_receiver_can_verify(pushing, receiver):
    fields = result_fields(record(state=2, state_desc="启动成功"))

    status, answer = pushing.push(START_RESULT, fields)

    assert (status, answer) == (200, {"code": "1001"})
    [(name, got, content_type)] = receiver.received
    assert name == "start-result"
    assert content_type.startswith("application/x-www-form-urlencoded")
    assert got["sign"] == form_sign(got, SECRET)
    assert got["app_id"] == APP_ID and got["sign_type"] == "MD5" and abs(int(got["timestamp"]) - now_ms()) < 60_000
    assert {k: got[k] for k in fields} == fields == {
        "station_uuid": STATION, "order": "20250917151408743549", "device_no": "TEST250911100001", "port_no": "1",
        "state": "2", "state_desc": "启动成功",
    }
    [push] = pushing.pushes()
    assert push.status == "delivered" and push.reply == {"code": "1001"} and not push.automatic


def test_a_tampered_or_unsigned_push_fails_our_check(pushing, receiver):
    fields = order_fields(record())

    assert pushing.push(ORDER_INFO, fields, tamper=True)[0] == 401
    assert pushing.push(ORDER_INFO, fields, sign=False)[0] == 401

    tampered, unsigned = (got for _name, got, _type in receiver.received)
    assert tampered["state_desc"] != fields["state_desc"]
    assert "sign" not in unsigned
    assert [push.status for push in pushing.pushes()] == ["refused", "refused"]


def test_push_returns_an_answer_that_is_not_json_as_text_and_tries_once(pushing, receiver):
    receiver.replies.append((500, "upstream error"))

    status, answer = pushing.push(CHARGING_STATUS, order_fields(record(state=2, state_desc="充电中")))

    assert (status, answer) == (500, "upstream error")
    [push] = pushing.pushes()
    assert push.attempts == 1 and push.status == "failed"


def test_order_fields_are_the_push_pages_fields_in_beijing_time():
    fields = order_fields(record(plate=None))

    assert fields == {
        "station_uuid": STATION, "order": "20250917151408743549", "device_no": "TEST250911100001", "port_no": "1",
        "device_type": "0", "energy_code": "CN_AC", "start_time": "2025-09-17 14:14:08",
        "end_time": "2025-09-17 15:14:08", "replenish_time": "3600", "plate": "", "quantity": "1000",
        "total_value": "1000", "energy_value": "800", "fee_value": "200", "state": "3", "state_desc": "SOC已充满",
    }


def test_accepted_records_are_pushed_back_in_order(pushing, receiver):
    sync(pushing, record(state=0, state_desc="未充电", end_time="2025-09-17T06:14:08.320Z", quantity=0))
    sync(pushing, record(state=2, state_desc="充电中", end_time="2025-09-17T06:44:08.320Z", quantity=500))
    sync(pushing, record())

    pushing.drain(TIMEOUT)

    assert receiver.names() == ["charging-status", "order-info"]  # nothing for 未充电
    status, final = receiver.received[0][1], receiver.received[1][1]
    assert status["state"] == "2" and status["replenish_time"] == "1800" and status["quantity"] == "500"
    assert final["end_time"] == "2025-09-17 15:14:08" and final["total_value"] == "1000"
    assert final["plate"] == "川A660N1"
    assert final["sign"] == form_sign(final, SECRET)
    pushes = pushing.pushes()
    assert [(p.name, p.status, p.reply, p.automatic) for p in pushes] == [
        ("charging-status", "delivered", {"code": "1001"}, True),
        ("order-info", "delivered", {"code": "1001"}, True),
    ]


def test_a_start_failure_is_pushed_as_order_info_without_a_plate(pushing, receiver):
    sync(pushing, record(state=-1, state_desc="启动失败", plate=None, end_time="2025-09-17T06:14:08.320Z",
                         quantity=0, energy_value=0, fee_value=0))
    pushing.drain(TIMEOUT)

    [(name, fields, _type)] = receiver.received
    assert name == "order-info" and fields["state"] == "-1" and fields["plate"] == ""
    assert fields["sign"] == form_sign(fields, SECRET)  # an empty value is left out of the signature


def test_a_push_our_receiver_fails_is_sent_again(pushing, receiver):
    receiver.replies.extend([(503, {"code": "503"}), (200, {"code": "1500"})])

    sync(pushing, record())
    pushing.drain(TIMEOUT)

    [push] = pushing.pushes()
    assert push.attempts == 3 and push.status == "delivered"
    assert receiver.names() == ["order-info"] * 3


def test_a_push_never_answered_is_given_up_as_failed(receiver):
    receiver.server.stop()
    with FourpyunSimulator(APP_ID, SECRET, push_base_url=receiver.url, push_attempts=2,
                           push_retry_delay=0.01, push_timeout=(0.5, 0.5)) as sim:
        sync(sim, record())
        sim.drain(TIMEOUT)
        [push] = sim.pushes()
    assert push.status == "failed" and push.attempts == 2 and push.error


def test_wait_for_returns_once_the_record_came(sim):
    threading.Timer(0.1, lambda: sync(sim, record())).start()
    assert sim.wait_for(lambda s: s.final_of("20250917151408743549"), timeout=TIMEOUT).state == 3
