"""The Wanzhuang client over real HTTP: against the Wanzhuang simulator, which checks every signature with its
own reading of the wire document, and against a tiny loopback app for answers the simulator never gives."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
import requests

from chargers.vendor import VendorNotConfigured, VendorUnavailable
from integrations.http import BadResponse
from integrations.models import ApiCallLog, CallOutcome
from integrations.simulation import LoopbackServer, Response
from integrations.wanzhuang import constants as c
from integrations.wanzhuang.client import (
    WanzhuangAuthError,
    WanzhuangClient,
    WanzhuangConflict,
    WanzhuangDeviceUnavailable,
    WanzhuangError,
    WanzhuangFailure,
    WanzhuangInvalidRequest,
    WanzhuangNotFound,
    error_class_for,
    error_message,
    wanzhuang_error,
)
from integrations.wanzhuang.simulator import ROUTES, SimDevice, WanzhuangSimulator

pytestmark = pytest.mark.django_db

APP_ID = "sim-app"
SECRET = "sim-secret"
EBIKE = "19285526"  # 电量慢充款 (2): modes 0, 1, 2
EBIKE_POWER = "19285527"  # 功率慢充款 (1): modes 7, 8, 9
CAR = "19285530"  # 汽车慢充桩 (13): mode 11
ON_SITE = "19285599"  # installed, not yet on our account
ORDER_NO = "20261202103015000123"
CHARGE_ID = 261202103015000123

SETTINGS_FIELDS = {
    "is_not_disturb": "0",
    "not_disturb_start": "22:00",
    "not_disturb_end": "07:00",
    "not_disturb_volume": 3,
    "is_outage": 0,
    "auto_off_wait_time": 60,
    "auto_off_lower_power": 5,
    "floating_charge_time": "0",
    "floating_charge_power": 0,
    "whether_refund": 1,
    "is_free_charge": 0,
    "detect_time": 5,
}
ENERGY_MODE = {"charge_mode": 1, "work_charge": 150, "max_pay_fee": 3000, "start_fee": 100, **SETTINGS_FIELDS}
TIME_MODE = {
    "charge_mode": 0,
    "charge_type": "fixed",
    "charge_value": "[200,400]",
    "max_power": 1000,
    "max_pay_fee": 2000,
    "start_fee": 100,
    **SETTINGS_FIELDS,
}
CAR_MODE = {"work_charge_fourdigit": 12_500, "start_fee": 100, "whether_refund": 1, "is_free_charge": 0}


def devices() -> list[SimDevice]:
    return [
        SimDevice(EBIKE, 2, added=True),
        SimDevice(EBIKE_POWER, 1, added=True, card_days_left=10),
        SimDevice(CAR, 13, added=True),
        SimDevice(ON_SITE, 0),
    ]


@pytest.fixture
def sim():
    with WanzhuangSimulator(app_id=APP_ID, app_secret=SECRET, devices=devices()) as simulator:
        yield simulator


def make_client(sim, **overrides) -> WanzhuangClient:
    options = {"base_url": sim.base_url, "app_id": APP_ID, "app_secret": SECRET, "read_timeout": 5.0}
    return WanzhuangClient(**options | overrides)


@pytest.fixture
def client(sim):
    return make_client(sim)


def calls_to(sim, path: str) -> list[dict]:
    """The parameters (signing fields left out) of every call the simulator read on `path`, oldest first."""
    return [
        {k: v for k, v in params.items() if k not in ("app_id", "timestamp", "sign")}
        for _method, called, params in sim.calls
        if called == path
    ]


def logged(operation: str) -> dict:
    """What the call log holds of the last call of `operation`."""
    return json.loads(ApiCallLog.objects.filter(operation=operation).latest("id").request_body)


# Devices


def test_device_add_puts_a_device_on_our_account_and_a_second_add_conflicts(sim, client):
    with pytest.raises(WanzhuangNotFound):
        client.device_detail(device_num=ON_SITE)

    assert client.device_add(device_num=ON_SITE) == {"result": True}

    assert client.device_detail(device_num=ON_SITE)["device_type"] == 0
    assert calls_to(sim, "/open/device/add") == [{"device_num": ON_SITE}]
    assert logged("device_add")["json"]["device_num"] == ON_SITE
    with pytest.raises(WanzhuangConflict) as caught:
        client.device_add(device_num=ON_SITE)
    assert caught.value.code == "1007"
    assert caught.value.message.startswith("万桩云：设备已添加（错误码 1007）：")
    assert ON_SITE in caught.value.message  # Wanzhuang's own message is kept


def test_device_detail_returns_the_device_record(client):
    record = client.device_detail(device_num=EBIKE)

    assert record["device_num"] == EBIKE
    assert record["device_type"] == 2
    assert record["port_num"] == 10
    assert record["online"] == 1
    assert ApiCallLog.objects.get(operation="device_detail").charger_serial == EBIKE


def test_an_unknown_device_is_not_found_with_wanzhuangs_message(sim, client):
    with pytest.raises(WanzhuangNotFound) as caught:
        client.device_detail(device_num="0000")

    assert isinstance(caught.value, WanzhuangError)
    assert caught.value.code == "1003"
    assert caught.value.vendor == "wanzhuang"
    assert caught.value.message == "万桩云：设备不存在（错误码 1003）：设备不存在: 0000"
    row = ApiCallLog.objects.get(operation="device_detail")
    assert (row.outcome, row.vendor_code) == (CallOutcome.VENDOR_ERROR, "1003")


def test_devices_detail_sends_the_numbers_as_json_text_in_a_multipart_form(sim, client):
    records = client.devices_detail(device_nums=[EBIKE, CAR, "0000"])

    assert [record["device_num"] for record in records] == [EBIKE, CAR]
    assert calls_to(sim, "/open/device/findMultiDevices") == [{"device_nums": f'["{EBIKE}","{CAR}","0000"]'}]
    assert logged("devices_detail")["multipart"]["device_nums"] == f'["{EBIKE}","{CAR}","0000"]'


def test_devices_detail_takes_a_list_not_one_number(client):
    with pytest.raises(TypeError):
        client.devices_detail(device_nums=EBIKE)


def test_device_list_pages_and_device_list_all_walks_every_page(sim, client):
    for n in range(4):
        sim.add_device(SimDevice(f"1929000{n}", 0, added=True))

    first = client.device_list(page=1, page_size=3)
    everything = list(client.device_list_all(page_size=3))

    assert first["total"] == 7
    assert len(first["list"]) == 3
    assert [device["device_num"] for device in everything] == sorted(
        [EBIKE, EBIKE_POWER, CAR, *(f"1929000{n}" for n in range(4))]
    )
    pages = calls_to(sim, "/open/device/list")[1:]
    assert pages == [{"page": str(page), "page_size": "3"} for page in (1, 2, 3)]


def test_device_list_all_stops_at_an_empty_page(sim, client):
    answers = iter([{"total": 10, "list": [{"device_num": "A"}]}, {"total": 10, "list": []}])
    with mock.patch.object(client, "device_list", side_effect=lambda **kw: next(answers)) as listed:
        assert [device["device_num"] for device in client.device_list_all(page_size=1)] == ["A"]
    assert listed.call_count == 2


def test_device_delete_takes_the_device_off_our_account(client):
    assert client.device_delete(device_num=EBIKE) == {"result": True}

    with pytest.raises(WanzhuangNotFound):
        client.device_detail(device_num=EBIKE)


# Device state


def test_port_status_gives_every_field_or_the_fields_asked_for(sim, client):
    every = client.port_status(device_num=EBIKE)
    some = client.port_status(device_num=EBIKE, port_fields=["state", "charge_id"])

    assert every["device_num"] == EBIKE
    assert every["online"] == 1
    assert len(every["ports"]) == 10
    assert set(every["ports"][0]) == {"device_port", *c.PORT_FIELDS}
    assert [set(port) for port in some["ports"]] == [{"device_port", "state", "charge_id"}] * 10
    assert calls_to(sim, "/open/device/state") == [
        {"device_num": EBIKE},
        {"device_num": EBIKE, "port_fields": '["state","charge_id"]'},
    ]


def test_an_unknown_port_field_is_an_invalid_request(client):
    with pytest.raises(WanzhuangInvalidRequest) as caught:
        client.port_status(device_num=EBIKE, port_fields=["voltage"])

    assert caught.value.code == "1002"
    assert "port_fields" in caught.value.message


def test_ports_status_of_several_devices(sim, client):
    states = client.ports_status(device_nums=[EBIKE, CAR], port_fields=["state"])

    assert [state["device_num"] for state in states] == [EBIKE, CAR]
    assert states[1]["ports"] == [{"device_port": 1, "state": 1}]  # a car waits plugged in
    assert calls_to(sim, "/open/device/state/list") == [
        {"device_nums": f'["{EBIKE}","{CAR}"]', "port_fields": '["state"]'}
    ]


def test_port_fault_set_marks_and_clears_a_port(sim, client):
    assert client.port_fault_set(device_num=EBIKE, port=3, faulty=True) == {"result": True}
    assert sim.port(EBIKE, 3).state == 6

    client.port_fault_set(device_num=EBIKE, port=3, faulty=False)

    assert sim.port(EBIKE, 3).state == 0
    assert calls_to(sim, "/open/device/state/port/error") == [
        {"device_num": EBIKE, "device_port": "3", "is_error": "1"},
        {"device_num": EBIKE, "device_port": "3", "is_error": "0"},
    ]


def test_force_offline_and_a_start_on_an_offline_device(sim, client):
    assert client.force_offline(device_nums=[EBIKE]) == {"result": True}

    assert not sim.device(EBIKE).online
    assert calls_to(sim, "/open/device/state/offline") == [{"device_nums": [EBIKE]}]  # a JSON array in JSON
    with pytest.raises(WanzhuangDeviceUnavailable) as caught:
        client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300)
    assert caught.value.code == "1004"


def test_reboot(sim, client):
    assert client.reboot(device_num=EBIKE) == {"result": True}

    assert sim.device(EBIKE).reboots == 1


def test_offline_revenue_set_sets_the_running_totals(sim, client):
    assert client.offline_revenue_set(device_num=EBIKE, coin=500, card=1200) == {"result": True}

    assert (sim.device(EBIKE).offline_coin, sim.device(EBIKE).offline_card) == (500, 1200)
    assert calls_to(sim, "/open/device/state/offlineProfit") == [{"device_num": EBIKE, "coin": 500, "card": 1200}]


def test_online_log_pages_the_history_newest_first(sim, client):
    client.force_offline(device_nums=[EBIKE])

    history = client.online_log(device_num=EBIKE, page=1, page_size=10)

    assert history["total"] == 2
    assert [entry["online"] for entry in history["list"]] == [0, 1]


# Charge modes


def test_mode_save_sends_every_field_as_text_and_mode_get_reads_it_back(sim, client):
    assert client.mode_save(device_num=EBIKE, fields=ENERGY_MODE) == {"result": True}

    (sent,) = calls_to(sim, "/open/device/saveMode")
    assert sent == {"device_num": EBIKE, **{name: str(value) for name, value in ENERGY_MODE.items()}}
    mode = client.mode_get(device_num=EBIKE)
    assert mode["charge_mode"] == 1
    assert mode["device_num"] == EBIKE
    assert mode["workCharge"] == "150"
    assert mode["notDisturbStart"] == "22:00"
    assert client.work_info(device_num=EBIKE)["workCharge"] == "150"
    assert client.time_info(device_num=EBIKE) == {}  # the device is not in time mode
    assert logged("mode_save")["multipart"]["work_charge"] == "150"


def test_mode_save_sends_array_fields_as_they_are_and_time_info_reads_them(sim, client):
    client.mode_save(device_num=EBIKE, fields=TIME_MODE)

    info = client.time_info(device_num=EBIKE)

    assert info["chargeValue"] == "[200,400]"
    assert info["chargeType"] == "fixed"
    assert client.mode_settings(device_num=EBIKE, name="getDeviceModeTimeInfo") == info


def test_a_mode_the_device_type_does_not_take_is_refused(sim, client):
    with pytest.raises(WanzhuangInvalidRequest) as caught:
        client.mode_save(device_num=EBIKE_POWER, fields=ENERGY_MODE)

    assert caught.value.code == "1008"
    assert c.mode_fits(1, 2) and not c.mode_fits(1, 1)


def test_mode_save_leaves_the_signing_fields_to_the_client(sim, client):
    with pytest.raises(ValueError, match="sign"):
        client.mode_save(device_num=EBIKE, fields={**ENERGY_MODE, "sign": "x"})
    with pytest.raises(ValueError, match=CAR):
        client.mode_save(device_num=EBIKE, fields={**ENERGY_MODE, "device_num": CAR})

    assert sim.calls == []


def test_every_settings_page_has_its_method_and_path(sim, client):
    client.mode_save(device_num=EBIKE, fields=ENERGY_MODE)

    for operation, page in c.MODE_SETTINGS.items():
        answer = getattr(client, operation)(device_num=EBIKE)
        assert isinstance(answer, dict)
        assert calls_to(sim, f"/open/device/{page}") == [{"device_num": EBIKE}]
    assert client.safe_info(device_num=EBIKE)["detectTime"] == "5"
    assert client.not_disturb_info(device_num=EBIKE)["notDisturbVolume"] == "3"
    with pytest.raises(ValueError):
        client.mode_settings(device_num=EBIKE, name="getDeviceModeFooInfo")


def test_car_mode_save_adds_mode_11_and_car_mode_get_reads_it(sim, client):
    assert client.car_mode_save(device_num=CAR, fields=CAR_MODE) == {"result": True}

    assert calls_to(sim, "/open/device/car/saveMode")[0]["charge_mode"] == "11"
    mode = client.car_mode_get(device_num=CAR)
    assert mode["charge_mode"] == 11
    assert mode["workChargeFourdigit"] == "12500"
    with pytest.raises(ValueError):
        client.car_mode_save(device_num=CAR, fields={**CAR_MODE, "charge_mode": 1})


# Charging


def test_a_session_starts_stops_and_its_callbacks_are_logged(sim, client):
    client.mode_save(device_num=EBIKE, fields=ENERGY_MODE)
    charge_id = c.charge_id_of(ORDER_NO)

    started = client.charge_start(device_num=EBIKE, device_port=2, charge_id=charge_id, charge_mode=1, total_fee=300)

    assert started == {"result": True}
    assert calls_to(sim, "/open/charge/start") == [
        {"device_num": EBIKE, "device_port": 2, "charge_id": CHARGE_ID, "charge_mode": 1, "total_fee": 300}
    ]
    port = client.port_status(device_num=EBIKE, port_fields=["state", "charge_id", "pay_amount"])["ports"][1]
    assert port == {"device_port": 2, "state": 2, "charge_id": CHARGE_ID, "pay_amount": 300}

    sim.advance(600)
    assert client.charge_stop(device_num=EBIKE, device_port=2, charge_id=charge_id) == {"result": True}
    sim.drain()

    log = client.callback_log(charge_id=charge_id)
    assert [entry["type"] for entry in log] == ["start_power", "finish_order"]
    finish = log[1]["req"]
    assert finish["charge_id"] == str(CHARGE_ID)
    assert finish["stop_reason"] == "12"
    assert c.order_no_of(finish["charge_id"]) == ORDER_NO
    rows = ApiCallLog.objects.filter(operation__in=["charge_start", "charge_stop", "callback_log"])
    assert {row.order_no for row in rows} == {ORDER_NO}


def test_a_start_on_a_busy_port_is_refused(sim, client):
    client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300)

    with pytest.raises(WanzhuangDeviceUnavailable) as caught:
        client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID + 1, charge_mode=1, total_fee=300)

    assert caught.value.code == "1005"
    assert "端口忙碌" in caught.value.message


def test_a_start_in_an_unknown_mode_is_not_sent(sim, client):
    with pytest.raises(ValueError):
        client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=5, total_fee=300)

    assert sim.calls == []


def test_stopping_an_unknown_charge_id_is_not_found(client):
    with pytest.raises(WanzhuangNotFound) as caught:
        client.charge_stop(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID)

    assert caught.value.code == "1006"


def test_a_lost_finish_callback_is_sent_again_on_request(sim, client):
    client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300)
    sim.lose_finish(CHARGE_ID)
    client.charge_stop(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID)

    assert client.finish_callback_retry(charge_id=CHARGE_ID) == {"result": True}
    sim.drain()

    assert [entry["type"] for entry in client.callback_log(charge_id=CHARGE_ID)] == [
        "start_power",
        "finish_order",
        "finish_order",
    ]
    assert calls_to(sim, "/open/callback/retry/finish_order") == [{"charge_id": CHARGE_ID}]
    with pytest.raises(WanzhuangNotFound):
        client.finish_callback_retry(charge_id=CHARGE_ID + 1)


# Flow cards


def test_flow_card_renewal_from_list_to_done(sim, client):
    due = client.flow_card_renew_list(page=1, page_size=10)

    assert due["total"] == 1
    assert due["list"][0]["device_num"] == EBIKE_POWER
    order = client.flow_card_renew_order(device_nums=[EBIKE_POWER])
    assert order["order_no"]
    assert client.flow_card_renew_status(order_no=order["order_no"])["status"] == 0
    sim.advance(6 * 60)
    assert client.flow_card_renew_status(order_no=order["order_no"]) == {"order_no": order["order_no"], "status": 2}
    assert client.flow_card_renew_list()["total"] == 0
    with pytest.raises(WanzhuangNotFound):
        client.flow_card_renew_status(order_no="XF-none")


# Signing and refusals


def test_a_wrong_secret_is_refused_and_nothing_happens(sim):
    client = make_client(sim, app_secret="not-the-secret")

    with pytest.raises(WanzhuangAuthError) as caught:
        client.reboot(device_num=EBIKE)

    assert caught.value.code == "1001"
    assert caught.value.message == "万桩云：签名、应用或时间戳校验失败（错误码 1001）：签名错误"
    assert sim.device(EBIKE).reboots == 0


def test_an_unknown_app_id_is_refused(sim):
    with pytest.raises(WanzhuangAuthError) as caught:
        make_client(sim, app_id="other-app").device_detail(device_num=EBIKE)

    assert "other-app" in caught.value.message


def test_a_clock_far_from_wanzhuangs_is_refused(sim):
    client = make_client(sim, clock=lambda: time.time() - 1000)

    with pytest.raises(WanzhuangAuthError) as caught:
        client.device_detail(device_num=EBIKE)

    assert "timestamp" in caught.value.message


@pytest.mark.parametrize("method", ["hmac-sha256", "sha256"])
@pytest.mark.parametrize("operation", ["query", "json", "multipart"])
def test_both_sign_methods_are_accepted_by_a_cloud_of_that_method(method, operation):
    with WanzhuangSimulator(app_id=APP_ID, app_secret=SECRET, sign_method=method, devices=devices()) as sim:
        client = make_client(sim, sign_method=method)
        other = make_client(sim, sign_method="sha256" if method == "hmac-sha256" else "hmac-sha256")
        call = {
            "query": lambda cl: cl.port_status(device_num=EBIKE, port_fields=["state"]),
            "json": lambda cl: cl.port_fault_set(device_num=EBIKE, port=1, faulty=False),
            "multipart": lambda cl: cl.devices_detail(device_nums=[EBIKE]),
        }[operation]

        assert call(client)
        with pytest.raises(WanzhuangAuthError):
            call(other)


def test_an_unknown_sign_method_names_the_setting():
    with pytest.raises(ValueError, match="WANZHUANG_SIGN_METHOD"):
        WanzhuangClient(base_url="http://127.0.0.1:1", app_id="a", app_secret="s", sign_method="md5")


def test_a_refusal_queued_at_the_cloud_is_typed(sim, client):
    sim.fail_next("/open/charge/start", 0, "设备通讯超时")
    sim.fail_next("/open/charge/start", 4321, "新的错误")

    with pytest.raises(WanzhuangFailure) as generic:
        client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300)
    with pytest.raises(WanzhuangFailure) as unknown:
        client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300)

    assert generic.value.message == "万桩云：操作失败（错误码 0）：设备通讯超时"
    assert unknown.value.message == "万桩云：未知错误（错误码 4321）：新的错误"
    assert unknown.value.code == "4321"


# The call log


def test_every_call_has_one_log_row_without_its_sign_or_the_secret(sim, client):
    client.device_detail(device_num=EBIKE)  # query
    client.port_fault_set(device_num=EBIKE, port=1, faulty=False)  # JSON
    client.mode_save(device_num=EBIKE, fields=ENERGY_MODE)  # multipart
    with pytest.raises(WanzhuangNotFound):
        client.device_detail(device_num="0000")

    rows = list(ApiCallLog.objects.order_by("id"))
    assert [row.operation for row in rows] == ["device_detail", "port_fault_set", "mode_save", "device_detail"]
    assert [row.outcome for row in rows] == [CallOutcome.OK] * 3 + [CallOutcome.VENDOR_ERROR]
    assert {row.vendor for row in rows} == {"wanzhuang"}
    signs = {params["sign"] for _m, _p, params in sim.calls}
    assert len(signs) == 4
    for row in rows:
        text = " ".join(str(getattr(row, field.attname)) for field in ApiCallLog._meta.fields)
        assert SECRET not in text
        for sign in signs:
            assert sign not in text
    bodies = [json.loads(row.request_body) for row in rows]
    assert bodies[0]["query"]["sign"] == "***"
    assert bodies[0]["query"]["app_id"] == APP_ID
    assert bodies[1]["json"]["sign"] == "***"
    assert bodies[2]["multipart"]["sign"] == "***"
    assert rows[0].url == f"{sim.base_url}/open/device/findOne"


# Paths


def test_every_default_path_is_a_route_of_the_cloud():
    assert set(c.DEFAULT_PATHS.values()) == set(ROUTES)


def test_a_path_setting_overrides_the_default(sim, client, settings):
    settings.WANZHUANG_PATHS = {"reboot": "/open/device/restart"}

    assert c.path("reboot") == "/open/device/restart"
    assert c.path("device_detail") == "/open/device/findOne"
    with pytest.raises(WanzhuangInvalidRequest) as caught:  # the simulator has no such path
        client.reboot(device_num=EBIKE)
    assert "/open/device/restart" in caught.value.message
    assert ApiCallLog.objects.get(operation="reboot").url.endswith("/open/device/restart")


# Transport faults: only requests' transport is replaced


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        (requests.ReadTimeout("no answer"), CallOutcome.TIMEOUT),
        (requests.ConnectTimeout("dropped"), CallOutcome.TIMEOUT),
        (requests.ConnectionError("connection refused"), CallOutcome.TRANSPORT_ERROR),
    ],
)
def test_a_start_without_an_answer_is_unknown_and_never_repeated(sim, client, fault, outcome):
    with (
        mock.patch("requests.adapters.HTTPAdapter.send", side_effect=fault) as sent,
        pytest.raises(VendorUnavailable),
    ):
        client.charge_start(device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300)

    assert sent.call_count == 1
    assert ApiCallLog.objects.get(operation="charge_start").outcome == outcome


def test_a_mode_save_that_timed_out_is_not_repeated(sim, client):
    with (
        mock.patch("requests.adapters.HTTPAdapter.send", side_effect=requests.ReadTimeout("slow")) as sent,
        pytest.raises(VendorUnavailable),
    ):
        client.mode_save(device_num=EBIKE, fields=ENERGY_MODE)

    assert sent.call_count == 1


# Answers that are not the protocol, from a tiny loopback app


@pytest.fixture
def canned():
    """A loopback app answering every call with `answers[path]` (default: a 404 page)."""
    answers: dict[str, Response] = {}

    def app(request):
        return answers.get(request.path, Response(status=404, body=b"Not Found"))

    with LoopbackServer(app, name="wz-canned") as server:
        server.answers = answers
        yield server


def canned_client(server) -> WanzhuangClient:
    return WanzhuangClient(base_url=server.base_url, app_id=APP_ID, app_secret=SECRET, read_timeout=5.0)


@pytest.mark.parametrize(
    ("response", "error_class", "outcome"),
    [
        (Response(status=502, body=b"<html>Bad Gateway</html>"), VendorUnavailable, CallOutcome.HTTP_ERROR),
        (Response.json({"code": 1, "data": {"result": True}}, status=503), VendorUnavailable, CallOutcome.HTTP_ERROR),
        (Response(status=200, body=b"<html>login</html>"), BadResponse, CallOutcome.BAD_RESPONSE),
        (Response.json({"message": "ok", "data": {}}), BadResponse, CallOutcome.BAD_RESPONSE),
        (Response.json({"code": "abc", "data": {}}), BadResponse, CallOutcome.BAD_RESPONSE),
        (Response.json([1, 2]), BadResponse, CallOutcome.BAD_RESPONSE),
    ],
    ids=["502 page", "503 json", "not json", "no code", "code not a number", "not an object"],
)
def test_unknown_outcomes_and_unreadable_answers(canned, response, error_class, outcome):
    canned.answers["/open/charge/start"] = response

    with pytest.raises(error_class) as caught:
        canned_client(canned).charge_start(
            device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300
        )

    assert caught.value.response.status_code == response.status
    assert ApiCallLog.objects.get().outcome == outcome


def test_a_404_page_is_an_unreadable_answer(canned):
    with pytest.raises(BadResponse):
        canned_client(canned).device_detail(device_num=EBIKE)


@pytest.mark.parametrize(
    ("path", "call", "data"),
    [
        ("/open/charge/start", "start", {"result": False}),
        ("/open/charge/start", "start", None),
        ("/open/device/findOne", "detail", [{"device_num": EBIKE}]),
        ("/open/device/list", "list", {"total": 1}),
        ("/open/device/list", "list", {"total": "many", "list": []}),
        ("/open/device/state", "state", {"device_num": EBIKE, "ports": {}}),
        ("/open/callback/log", "log", {"type": "start_power"}),
        ("/open/callback/log", "log", ["start_power"]),
        ("/open/flowCard/renewOrder", "renew", {"order_no": ""}),
    ],
)
def test_an_answer_of_the_wrong_shape_is_unreadable(canned, path, call, data):
    canned.answers[path] = Response.json({"code": 1, "message": "SUCCESS", "data": data, "timestamp": 1})
    client = canned_client(canned)
    calls = {
        "start": lambda: client.charge_start(
            device_num=EBIKE, device_port=1, charge_id=CHARGE_ID, charge_mode=1, total_fee=300
        ),
        "detail": lambda: client.device_detail(device_num=EBIKE),
        "list": lambda: client.device_list(),
        "state": lambda: client.port_status(device_num=EBIKE),
        "log": lambda: client.callback_log(charge_id=CHARGE_ID),
        "renew": lambda: client.flow_card_renew_order(device_nums=[EBIKE]),
    }

    with pytest.raises(BadResponse):
        calls[call]()


def test_a_success_code_sent_as_text_is_success(canned):
    canned.answers["/open/device/state/reboot"] = Response.json({"code": "1", "data": {"result": True}})

    assert canned_client(canned).reboot(device_num=EBIKE) == {"result": True}


# Error codes and messages


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (0, WanzhuangFailure),
        (1001, WanzhuangAuthError),
        (1002, WanzhuangInvalidRequest),
        (1003, WanzhuangNotFound),
        (1004, WanzhuangDeviceUnavailable),
        (1005, WanzhuangDeviceUnavailable),
        (1006, WanzhuangNotFound),
        (1007, WanzhuangConflict),
        (1008, WanzhuangInvalidRequest),
        (9999, WanzhuangFailure),
        ("1003", WanzhuangNotFound),
        ("x", WanzhuangFailure),
    ],
)
def test_each_code_has_its_error_class(code, error_class):
    assert error_class_for(code) is error_class
    assert type(wanzhuang_error(code, "m")) is error_class


def test_every_documented_code_has_a_text():
    assert set(c.ERROR_TEXTS) == {0, 1, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008}


def test_the_operators_message_always_keeps_wanzhuangs_message():
    assert error_message(1003, "设备不存在") == "万桩云：设备不存在（错误码 1003）：设备不存在"
    assert error_message(1003, "  ") == "万桩云：设备不存在（错误码 1003）"
    assert error_message(77, "奇怪") == "万桩云：未知错误（错误码 77）：奇怪"


# charge_id and our order numbers


def test_charge_id_is_the_order_number_without_its_century():
    assert c.charge_id_of(ORDER_NO) == CHARGE_ID
    assert c.order_no_of(CHARGE_ID) == ORDER_NO
    assert c.order_no_of(str(CHARGE_ID)) == ORDER_NO
    assert c.order_no_of(c.charge_id_of("20270101000000000001")) == "20270101000000000001"
    assert c.charge_id_of("20991231235959999999") < 2**63


@pytest.mark.parametrize(
    "order_no", ["19991231235959000001", "2026120210301500012", "202612021030150001234", "20261202x03015000123", 2026]
)
def test_anything_but_our_order_number_has_no_charge_id(order_no):
    with pytest.raises(ValueError):
        c.charge_id_of(order_no)


@pytest.mark.parametrize("charge_id", [0, -5, 10**18, True, "12a", "", "１２", 1.5, None])
def test_anything_but_a_charge_id_of_ours_has_no_order_number(charge_id):
    with pytest.raises(ValueError):
        c.order_no_of(charge_id)


# Configuration


def test_from_settings_names_what_is_missing(settings):
    settings.WANZHUANG_BASE_URL = "https://dev-api-open.wanzhuangkj.com/"
    settings.WANZHUANG_APP_ID = ""
    settings.WANZHUANG_APP_SECRET = ""

    with pytest.raises(VendorNotConfigured) as caught:
        WanzhuangClient.from_settings()

    assert "WANZHUANG_APP_ID" in caught.value.message
    assert "WANZHUANG_APP_SECRET" in caught.value.message
    assert "WANZHUANG_BASE_URL" not in caught.value.message


@pytest.mark.parametrize("method", ["hmac-sha256", "sha256"])
def test_from_settings_builds_a_working_client(settings, method):
    with WanzhuangSimulator(app_id=APP_ID, app_secret=SECRET, sign_method=method, devices=devices()) as sim:
        settings.WANZHUANG_BASE_URL = sim.base_url
        settings.WANZHUANG_APP_ID = APP_ID
        settings.WANZHUANG_APP_SECRET = SECRET
        settings.WANZHUANG_SIGN_METHOD = method
        settings.WANZHUANG_CONNECT_TIMEOUT = 2.0
        settings.WANZHUANG_READ_TIMEOUT = 7.0

        client = WanzhuangClient.from_settings()

        assert client.timeout == (2.0, 7.0)
        assert client.sign_method == method
        assert client.device_detail(device_num=EBIKE)["device_num"] == EBIKE


def test_from_settings_refuses_an_unknown_sign_method(settings):
    settings.WANZHUANG_BASE_URL = "http://127.0.0.1:1"
    settings.WANZHUANG_APP_ID = APP_ID
    settings.WANZHUANG_APP_SECRET = SECRET
    settings.WANZHUANG_SIGN_METHOD = "md5"

    with pytest.raises(ValueError, match="WANZHUANG_SIGN_METHOD"):
        WanzhuangClient.from_settings()
