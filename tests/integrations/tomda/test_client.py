"""The Tomda client against the Tomda simulator: token life, parameters on the wire, typed errors, the log."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
import requests
from django.utils import timezone

from chargers.vendor import VendorNotConfigured, VendorUnavailable
from integrations.http import BadResponse
from integrations.models import ApiCallLog, CallOutcome, VendorToken
from integrations.tomda import constants as c
from integrations.tomda.client import (
    TomdaChargerUnavailable,
    TomdaClient,
    TomdaConflict,
    TomdaError,
    TomdaFailure,
    TomdaInvalidRequest,
    TomdaNotFound,
    TomdaTokenExpired,
    error_class_for,
    error_message,
)
from integrations.tomda.simulator import SimCharger, TomdaSimulator

pytestmark = pytest.mark.django_db

EV = "1012300001"
EBIKE = "1012300002"
EV_TWIN = "1012300003"

EBIKE_FEE = {
    "clientElecFeeModelId": "T-EB-1",
    "modelName": "电单车标准",
    "modelType": 2,
    "freeChargeTime": 180,
    "modelDetailCount": 2,
    "elecFeeModelDetail": [
        {"endValueOne": 300, "elecFee": 40, "serviceFee": 0, "position": 1},
        {"endValueOne": 600, "elecFee": 60, "serviceFee": 0, "position": 2},
    ],
}
STATION = {
    "clientStationId": "ST-1",
    "stationName": "南山站",
    "stationStatus": "WORKING",
    "location": "深圳市南山区",
    "latitude": "22.53",
    "longitude": "113.93",
    "serialNums": EBIKE,
    "stationType": 2,
    "clientElecFeeModelId": "T-EB-1",
    "elecFeeModelInfo": EBIKE_FEE,
}


@pytest.fixture
def sim():
    simulator = TomdaSimulator(
        api_id="sim-id",
        api_key="sim-key",
        chargers=[
            SimCharger(serial=EV, kind="ev", connectors=1),
            SimCharger(serial=EBIKE, kind="ebike", connectors=10),
        ],
        token_ttl=7200,
    )
    with simulator:
        yield simulator


def make_client(sim, **overrides) -> TomdaClient:
    options = {"base_url": sim.base_url, "api_id": "sim-id", "api_key": "sim-key", "read_timeout": 5.0}
    return TomdaClient(**options | overrides)


@pytest.fixture
def client(sim):
    return make_client(sim)


def calls_to(sim, path: str) -> list[dict]:
    """The parameters of every call the simulator received on `path`, oldest first."""
    return [params for _method, called, params in sim.calls if called == path]


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def start_ebike(client, order_no: str = "O-1", connector_id: int = 3) -> None:
    client.start(
        charger_type=c.CHARGER_TYPE_EBIKE,
        serial=EBIKE,
        connector_id=connector_id,
        strategy=c.STRATEGY_TIME,
        strategy_param=120,
        order_no=order_no,
    )


# The token


def test_one_token_serves_several_calls_and_is_stored_for_every_process(sim, client):
    # When a session is started, queried and stopped
    start_ebike(client)
    client.progress(order_no="O-1")
    client.stop(order_no="O-1")

    # Then Tomda was asked for a token once, with our credentials, and every call carried it
    assert calls_to(sim, c.TOKEN_PATH) == [{"apiId": "sim-id", "apiKey": "sim-key"}]
    row = VendorToken.objects.get(vendor="tomda")
    used = {params["token"] for _m, path, params in sim.calls if path != c.TOKEN_PATH}
    assert used == {row.token}
    assert abs((row.expires_at - (timezone.now() + timedelta(seconds=7200))).total_seconds()) < 60


def test_another_client_reuses_the_stored_token(sim, client):
    client.charger_detail(serial=EV)

    make_client(sim).charger_detail(serial=EBIKE)

    assert len(calls_to(sim, c.TOKEN_PATH)) == 1


def test_a_token_within_the_margin_is_refreshed_before_the_call(sim, client):
    # Given a stored token that expires in 200 s, inside the 300 s margin
    client.charger_detail(serial=EV)
    old = VendorToken.objects.get(vendor="tomda")
    VendorToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() + timedelta(seconds=200))

    # When the next call is made
    client.charger_detail(serial=EV)

    # Then a new token was fetched first and used, and its expiry stored
    assert len(calls_to(sim, c.TOKEN_PATH)) == 2
    row = VendorToken.objects.get(vendor="tomda")
    assert row.token != old.token
    assert calls_to(sim, c.CHARGER_DETAIL_PATH)[-1]["token"] == row.token
    assert row.expires_at > timezone.now() + timedelta(seconds=7000)


def test_an_expired_token_is_refreshed_and_the_call_repeated_once(sim, client):
    # Given a running session, and Tomda forgetting every token it issued
    start_ebike(client)
    sim.expire_tokens()

    # When we stop it
    client.stop(order_no="O-1")

    # Then the stop answered 1300, a new token was fetched, and the repeated stop ended the session
    stops = calls_to(sim, c.STOP_PATH)
    assert len(stops) == 2
    assert stops[0]["token"] != stops[1]["token"] == VendorToken.objects.get().token
    assert len(calls_to(sim, c.TOKEN_PATH)) == 2
    assert sim.sessions["O-1"].status == "CLOSED"
    logged = list(ApiCallLog.objects.filter(operation="stop").order_by("id").values_list("outcome", "vendor_code"))
    assert logged == [(CallOutcome.VENDOR_ERROR, "1300"), (CallOutcome.OK, "")]


def test_a_second_1300_is_not_repeated_again(sim, client):
    start_ebike(client)
    sim.fail_next(c.STOP_PATH, "1300")
    sim.fail_next(c.STOP_PATH, "1300")

    with pytest.raises(TomdaTokenExpired):
        client.stop(order_no="O-1")

    assert len(calls_to(sim, c.STOP_PATH)) == 2
    assert sim.sessions["O-1"].status == "CHARGE"


def test_a_timeout_is_not_repeated(sim, client):
    # Given a valid token, and a start command whose answer never comes (injected transport fault)
    client.token()
    fault = requests.ReadTimeout("no answer")

    # When we start, the outcome is unknown and the command went out once
    with mock.patch.object(client.session, "request", side_effect=fault) as sent, pytest.raises(VendorUnavailable):
        start_ebike(client)

    assert sent.call_count == 1
    assert ApiCallLog.objects.get(operation="start").outcome == CallOutcome.TIMEOUT


def test_wrong_credentials_are_refused_without_storing_a_token(sim):
    client = make_client(sim, api_key="not-the-key")

    with pytest.raises(TomdaInvalidRequest) as caught:
        client.charger_detail(serial=EV)

    assert caught.value.code == "1401"
    assert not VendorToken.objects.exists()
    assert calls_to(sim, c.CHARGER_DETAIL_PATH) == []


# Commands and their parameters on the wire


def test_reserve_without_a_connector_leaves_it_out(sim, client):
    client.reserve(serial=EV, connector_id=None, order_no="R-1")

    token = VendorToken.objects.get().token
    assert calls_to(sim, c.RESERVE_PATH) == [{"serialNum": EV, "clientOrderId": "R-1", "token": token}]
    assert sim.sessions["R-1"].status == "BOOKED"


def test_reserve_with_a_connector_and_cancel(sim, client):
    sim.chargers[EV_TWIN] = SimCharger(serial=EV_TWIN, kind="ev", connectors=2, device_type="TOMDA_EV14K_T6")
    client.reserve(serial=EV_TWIN, connector_id=2, order_no="R-2")
    client.reservation_cancel(order_no="R-2")

    assert calls_to(sim, c.RESERVE_PATH)[0]["connectorId"] == "2"
    token = VendorToken.objects.get().token
    assert calls_to(sim, c.RESERVATION_CANCEL_PATH) == [{"clientOrderId": "R-2", "token": token}]
    assert sim.sessions["R-2"].status == "CLOSED"


def test_start_sends_every_parameter_form_encoded(sim, client):
    client.start(
        charger_type=c.CHARGER_TYPE_EBIKE,
        serial=EBIKE,
        connector_id=3,
        strategy=c.STRATEGY_TIME,
        strategy_param=120,
        order_no="O-7",
        user_balance_fen=500,
    )

    assert calls_to(sim, c.START_PATH) == [
        {
            "chargerType": "2",
            "serialNum": EBIKE,
            "connectorId": "3",
            "chargeStrategy": "1",
            "chargeStrategyParam": "120",
            "clientOrderId": "O-7",
            "userBalance": "500",
            "token": VendorToken.objects.get().token,
        }
    ]
    session = sim.sessions["O-7"]
    assert (session.status, session.serial, session.connector_id) == ("CHARGE", EBIKE, 3)
    row = ApiCallLog.objects.get(operation="start")
    assert (row.method, row.charger_serial, row.order_no) == ("POST", EBIKE, "O-7")


def test_start_without_a_balance_leaves_it_out(sim, client):
    client.start(
        charger_type=c.CHARGER_TYPE_EV,
        serial=EV,
        connector_id=1,
        strategy=c.STRATEGY_FULL,
        strategy_param=0,
        order_no="O-8",
    )

    sent = calls_to(sim, c.START_PATH)[0]
    assert "userBalance" not in sent
    assert (sent["chargerType"], sent["chargeStrategy"], sent["chargeStrategyParam"]) == ("1", "4", "0")
    assert sim.sessions["O-8"].status == "CHARGE"


def test_progress_returns_tomdas_data_and_stop_ends_the_session(sim, client):
    # Given a session that has charged for ten minutes
    start_ebike(client)
    sim.advance(600)

    # When we ask for its progress, stop it, and ask again
    running = client.progress(order_no="O-1")
    client.stop(order_no="O-1")
    ended = client.progress(order_no="O-1")

    # Then the data is Tomda's, untouched (energy in 0.001 kWh), and the session is over
    assert running["clientOrderId"] == "O-1"
    assert running["status"] == "CHARGE"
    assert (running["serialNum"], running["connectorId"]) == (EBIKE, 3)
    assert running["chargeEnergy"] == sim.sessions["O-1"].energy_wh > 0
    assert running["chargeTime"] == 600
    assert ended["status"] == "CLOSED"
    assert ended["chargeEndTime"]
    assert calls_to(sim, c.PROGRESS_PATH)[0].keys() == {"clientOrderId", "token"}
    assert calls_to(sim, c.STOP_PATH)[0].keys() == {"clientOrderId", "token"}


def test_fee_set_sends_the_template_as_compact_json_text(sim, client):
    client.fee_set(serial=EBIKE, fee_model=EBIKE_FEE)

    sent = calls_to(sim, c.FEE_SET_PATH)[0]
    assert sent.keys() == {"serialNum", "elecFeeModelInfo", "token"}
    assert sent["serialNum"] == EBIKE
    assert sent["elecFeeModelInfo"] == compact(EBIKE_FEE)
    assert "电单车标准" in sent["elecFeeModelInfo"]  # not \u-escaped
    assert sim.fee_templates["T-EB-1"] == EBIKE_FEE
    assert sim.chargers[EBIKE].fee_model == EBIKE_FEE


def test_station_sync_sends_the_station_as_json_text(sim, client):
    client.station_sync(station_info=STATION)

    sent = calls_to(sim, c.STATION_SYNC_PATH)[0]
    assert sent.keys() == {"stationInfo", "token"}
    assert sent["stationInfo"] == compact(STATION)
    assert sim.stations["ST-1"] == STATION


@pytest.mark.parametrize(("sync_chargers", "flag"), [(True, "1"), (False, "0")])
def test_fee_template_sync_uses_tomdas_spelling_of_the_flag(sim, client, sync_chargers, flag):
    client.fee_template_sync(fee_model=EBIKE_FEE, sync_chargers=sync_chargers)

    sent = calls_to(sim, c.FEE_TEMPLATE_SYNC_PATH)[0]
    assert sent.keys() == {"elecFeeModelInfo", "sycnCharger", "token"}
    assert sent["sycnCharger"] == flag
    assert sent["elecFeeModelInfo"] == compact(EBIKE_FEE)
    assert sim.fee_templates["T-EB-1"] == EBIKE_FEE


def test_a_template_synced_to_chargers_reaches_the_stations_chargers(sim, client):
    # Given a station that names its template without carrying it
    named_only = {key: value for key, value in STATION.items() if key != "elecFeeModelInfo"}
    client.station_sync(station_info=named_only)

    # When the template is synced with its chargers
    client.fee_template_sync(fee_model=EBIKE_FEE, sync_chargers=True)

    # Then the station's charger bills with it, and no other
    assert sim.chargers[EBIKE].fee_model == EBIKE_FEE
    assert sim.chargers[EV].fee_model is None


# The charger archive


def test_charger_list_pages_by_offset_and_limit(sim, client):
    everything = client.charger_list()
    second = client.charger_list(offset=1, limit=1)

    assert everything["total"] == 2
    assert [item["serialNum"] for item in everything["content"]] == [EV, EBIKE]
    assert second == {"total": 2, "content": [everything["content"][1]]}
    method, _path, sent = [call for call in sim.calls if call[1] == c.CHARGER_LIST_PATH][1]
    assert method == "POST"
    assert sent == {"offset": "1", "limit": "1", "countOnly": "false", "token": VendorToken.objects.get().token}


def test_charger_list_filters_are_sent_as_json_text(sim, client):
    filters = [{"key": "chargerDeviceType", "value": "EB10", "type": "like"}]

    page = client.charger_list(filters=filters)

    assert page["total"] == 1
    assert [item["serialNum"] for item in page["content"]] == [EBIKE]
    assert calls_to(sim, c.CHARGER_LIST_PATH)[0]["filters"] == compact(filters)


def test_charger_list_can_count_only(sim, client):
    result = client.charger_list(count_only=True)

    assert result == {"total": 2, "content": []}
    assert calls_to(sim, c.CHARGER_LIST_PATH)[0]["countOnly"] == "true"


def test_charger_list_all_walks_every_page(sim, client):
    serials = [item["serialNum"] for item in client.charger_list_all(page_size=1)]

    assert serials == [EV, EBIKE]
    assert [params["offset"] for params in calls_to(sim, c.CHARGER_LIST_PATH)] == ["0", "1"]


def test_charger_list_all_keeps_the_filters_on_every_page(sim, client):
    filters = [{"key": "serialNum", "value": EV, "type": "exact"}]

    serials = [item["serialNum"] for item in client.charger_list_all(page_size=1, filters=filters)]

    assert serials == [EV]
    assert [params["filters"] for params in calls_to(sim, c.CHARGER_LIST_PATH)] == [compact(filters)]


def test_charger_detail_returns_the_charger(sim, client):
    charger = client.charger_detail(serial=EBIKE)

    assert charger["serialNum"] == EBIKE
    assert charger["connectorCount"] == 10
    assert len(charger["connectorInfo"]) == 10
    method, _path, sent = [call for call in sim.calls if call[1] == c.CHARGER_DETAIL_PATH][0]
    assert method == "GET"
    assert sent == {"serialNum": EBIKE, "token": VendorToken.objects.get().token}
    assert ApiCallLog.objects.get(operation="charger_detail").charger_serial == EBIKE


# Errors


@pytest.mark.parametrize(
    ("path", "code", "error_class", "message"),
    [
        (c.START_PATH, "1423", TomdaChargerUnavailable, "汤姆达云：充电桩离线（错误码 1423）"),
        (
            c.START_PATH,
            "1419",
            TomdaChargerUnavailable,
            "汤姆达云：请求开始充电超时,充电桩未响应,请重试（错误码 1419）",
        ),
        (c.START_PATH, "2012", TomdaInvalidRequest, "汤姆达云：充电策略错误（错误码 2012）"),
        (c.START_PATH, "2008", TomdaConflict, "汤姆达云：外部订单号重复（错误码 2008）"),
        (c.START_PATH, "2003", TomdaNotFound, "汤姆达云：充电桩不存在（错误码 2003）"),
        (c.START_PATH, "1505", TomdaFailure, "汤姆达云：服务器控制充电桩失败（错误码 1505）"),
        (c.START_PATH, "9999", TomdaFailure, "汤姆达云：未知错误（错误码 9999）"),
    ],
)
def test_a_refusal_is_typed_with_the_operators_message(sim, client, path, code, error_class, message):
    # Given Tomda refuses the next start
    sim.fail_next(path, code)

    # When we start
    with pytest.raises(error_class) as caught:
        start_ebike(client)

    # Then the error says it in Chinese, keeps the code, and the command was not repeated
    error = caught.value
    assert isinstance(error, TomdaError)
    assert (error.message, error.code, error.vendor) == (message, code, "tomda")
    assert len(calls_to(sim, path)) == 1
    row = ApiCallLog.objects.get(operation="start")
    assert (row.outcome, row.vendor_code, row.vendor_message) == (CallOutcome.VENDOR_ERROR, code, message)


def test_tomdas_detail_follows_the_appendix_text_once(sim, client):
    # Given a call Tomda refuses with the appendix text followed by what exactly was wrong
    with pytest.raises(TomdaInvalidRequest) as caught:
        client.charger_list(offset=-1)

    # Then the operator reads the text once, then the detail
    message = caught.value.message
    assert message.startswith("汤姆达云：参数错误（错误码 1401）：")
    assert "offset" in message
    assert message.count("参数错误") == 1


@pytest.mark.parametrize(
    ("code", "desc", "message"),
    [
        ("1423", "", "汤姆达云：充电桩离线（错误码 1423）"),
        ("1423", "充电桩离线", "汤姆达云：充电桩离线（错误码 1423）"),
        ("1423", "设备已断开", "汤姆达云：充电桩离线（错误码 1423）：设备已断开"),
        ("1423", "充电桩离线：设备已断开", "汤姆达云：充电桩离线（错误码 1423）：设备已断开"),
        ("4242", "", "汤姆达云：未知错误（错误码 4242）"),
        ("4242", "系统维护", "汤姆达云：未知错误（错误码 4242）：系统维护"),
    ],
)
def test_error_message_adds_errordesc_only_when_it_says_more(code, desc, message):
    assert error_message(code, desc) == message


def test_every_appendix_code_has_its_text_and_one_error_class():
    groups = [
        c.NOT_FOUND_CODES,
        c.INVALID_REQUEST_CODES,
        c.CHARGER_UNAVAILABLE_CODES,
        c.CONFLICT_CODES,
        {c.TOKEN_EXPIRED_CODE},
    ]
    grouped = [code for group in groups for code in group]

    assert len(c.ERROR_TEXTS) == 35
    assert c.ERROR_TEXTS["1300"] == "Token 超时"
    assert c.ERROR_TEXTS["2006"] == "对接业务添加充电桩——充电桩已存在"
    assert len(grouped) == len(set(grouped))
    assert set(grouped) <= set(c.ERROR_TEXTS) - {c.SUCCESS_CODE}
    assert error_class_for("1300") is TomdaTokenExpired
    assert {error_class_for(code) for code in c.NOT_FOUND_CODES} == {TomdaNotFound}
    assert {error_class_for(code) for code in c.CONFLICT_CODES} == {TomdaConflict}
    assert {error_class_for(code) for code in ("1505", "1512", "2001", "2002", "2005")} == {TomdaFailure}


def answer(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    return response


def test_parse_accepts_a_numeric_success_code(client):
    assert client.parse(answer(200, b'{"errorCode": 200, "data": {"a": 1}}'), operation="x") == {"a": 1}


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (502, b"<html>Bad Gateway</html>", VendorUnavailable),
        (503, b'{"errorCode": "200"}', VendorUnavailable),
        (200, b"<html>login</html>", BadResponse),
        (200, b'{"data": {}}', BadResponse),
        (200, b"[1, 2]", BadResponse),
        (404, b"Not Found", BadResponse),
    ],
)
def test_parse_tells_unknown_outcomes_from_unreadable_answers(client, status, body, error_class):
    with pytest.raises(error_class):
        client.parse(answer(status, body), operation="x")


# The call log


def test_the_call_log_never_holds_the_api_key_or_a_token(sim, client):
    # Given a flow with a token refresh in the middle
    start_ebike(client)
    sim.expire_tokens()
    client.stop(order_no="O-1")
    client.progress(order_no="O-1")

    # Then no row holds the key or any token Tomda issued, in any field
    tokens = {params["token"] for _m, _p, params in sim.calls if "token" in params}
    assert len(tokens) == 2
    rows = list(ApiCallLog.objects.all())
    assert {row.operation for row in rows} >= {"token_refresh", "start", "stop", "progress"}
    for row in rows:
        text = " ".join(str(getattr(row, f.attname)) for f in ApiCallLog._meta.fields)
        assert "sim-key" not in text
        for token in tokens:
            assert token not in text
    refresh = ApiCallLog.objects.filter(operation="token_refresh").order_by("id").first()
    assert json.loads(refresh.response_body)["data"]["token"] == "***"
    assert json.loads(refresh.request_body) == {"query": {"apiId": "sim-id", "apiKey": "***"}}


# Configuration


def test_from_settings_names_what_is_missing(settings):
    settings.TOMDA_BASE_URL = "https://sp.tom-da.com/Manage"
    settings.TOMDA_API_ID = ""
    settings.TOMDA_API_KEY = ""

    with pytest.raises(VendorNotConfigured) as caught:
        TomdaClient.from_settings()

    assert "TOMDA_API_ID" in caught.value.message
    assert "TOMDA_API_KEY" in caught.value.message
    assert "TOMDA_BASE_URL" not in caught.value.message


def test_from_settings_builds_a_working_client(sim, settings):
    settings.TOMDA_BASE_URL = sim.base_url
    settings.TOMDA_API_ID = "sim-id"
    settings.TOMDA_API_KEY = "sim-key"
    settings.TOMDA_CONNECT_TIMEOUT = 2.0
    settings.TOMDA_READ_TIMEOUT = 7.0
    settings.TOMDA_TOKEN_REFRESH_MARGIN = 60

    client = TomdaClient.from_settings()

    assert client.timeout == (2.0, 7.0)
    assert client.refresh_margin == timedelta(seconds=60)
    assert client.charger_detail(serial=EV)["serialNum"] == EV
