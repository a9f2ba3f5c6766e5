"""The read interfaces of the 2017 partner API over the test client: what a partner sees of our stations, chargers
and orders, its reconciliation answers, its throttle, and that no answer is ever a bare server error."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.days import BEIJING
from chargers.models import ConnectorStatus, CurrentType, ParkingStatus
from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue
from integrations.partnerkit.models import PartnerCheck
from orders.models import CloseReason, Order, OrderStatus
from stations.models import StationAccess, StationStatus
from tariffs.pricing import Period, PowerTier
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.integrations.partner.conftest import API, CITY, call
from tests.orders.factories import OrderFactory, PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.builders import ebike_tiers, ev, hm
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

SHENZHEN, BEIJING_CITY, GUANGZHOU = CITY, "110000", "440100"


def ok(answer):
    status, envelope = answer
    assert (status, envelope["code"], envelope["msg"]) == (200, 0, "成功"), envelope
    return envelope["data"]


def refused(answer):
    status, envelope = answer
    assert status == 200, envelope
    assert envelope["data"] is None, envelope
    return envelope["code"], envelope["msg"]


def beijing(*args):
    return dt.datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def other_partner(db):
    other = PartnerFactory(org_code="CAOCAO")
    access = partner_access_get(partner=other)
    access.city_codes = SHENZHEN
    access.save()
    other.secret = partner_secret_issue(partner=other)
    other.token = partner_token_issue(org="CAOCAO", secret=other.secret, caller=Caller("test")).token
    return other


# --- syncStubGroupInfo ----------------------------------------------------------------------------------------


@pytest.fixture
def stations(partner, station, charger):
    """Shenzhen: SZ001 (the DC charger), SZ002 private with an AC and an AC/DC charger, a planned and a deactivated
    station; Beijing: BJ001 given to the partner by name, BJ002 not; Guangzhou: GZ001, not given."""
    sz2 = StationFactory(code="SZ002", city_code=SHENZHEN, access=StationAccess.PRIVATE, longitude=None, latitude=None)
    ChargerFactory(station=sz2, serial="4000000001", current_type=CurrentType.AC)
    ChargerFactory(station=sz2, serial="4000000002", current_type=CurrentType.AC_DC)
    StationFactory(code="SZ-PLAN", city_code=SHENZHEN, status=StationStatus.PLAN)
    StationFactory(code="SZ-GONE", city_code=SHENZHEN, status=StationStatus.DEACTIVATED)
    bj1 = StationFactory(code="BJ001", city_code=BEIJING_CITY, access=StationAccess.DEDICATED)
    StationFactory(code="BJ002", city_code=BEIJING_CITY)
    gz1 = StationFactory(code="GZ001", city_code=GUANGZHOU)
    gone = StationFactory(code="BJ-GONE", city_code=BEIJING_CITY, status=StationStatus.DEACTIVATED)
    partner.access.stations.add(bj1, gone)
    return {"SZ002": sz2, "BJ001": bj1, "GZ001": gz1}


def test_lists_the_stations_of_a_city_the_partner_sees_with_their_fields(client, token, stations, station):
    station.name, station.picture_url, station.guide = "科技园站", "https://img.example.com/sz001.jpg", "地下 B2 层"
    station.save()

    data = ok(call(client, "syncStubGroupInfo", token=token, cityCode=SHENZHEN))

    # Then only the operating stations of the city, not the planned nor the deactivated one
    assert [item["Id"] for item in data] == ["SZ001", "SZ002"]
    assert data[0] == {
        "Id": "SZ001", "stubGroupName": "科技园站", "cityCode": "440300", "imgUrl": "https://img.example.com/sz001.jpg",
        "stubAcCnt": 0, "stubDcCnt": 1, "serviceTime": "00:00-24:00", "address": "深圳市南山区科技园科发路 8 号",
        "lng": "113.953000", "lat": "22.543000", "stubGroupType": 0, "stubGroupInfo": "地下 B2 层",
    }
    # An AC/DC charger counts among both; a station without coordinates states them empty
    assert {key: data[1][key] for key in ("stubAcCnt", "stubDcCnt", "lng", "lat", "stubGroupType")} == {
        "stubAcCnt": 2, "stubDcCnt": 1, "lng": "", "lat": "", "stubGroupType": 1}


def test_a_station_given_by_name_is_listed_in_its_own_city_and_no_other_station_of_that_city(client, token, stations):
    assert [item["Id"] for item in ok(call(client, "syncStubGroupInfo", token=token, cityCode=BEIJING_CITY))] == [
        "BJ001"]
    assert ok(call(client, "syncStubGroupInfo", token=token, cityCode=GUANGZHOU)) == []


def test_lists_the_stations_of_one_type_when_asked(client, token, stations):
    def of_type(city, kind):
        return [item["Id"] for item in ok(call(client, "syncStubGroupInfo", token=token, cityCode=city,
                                               stubGroupType=kind))]

    assert of_type(SHENZHEN, "0") == ["SZ001"]
    assert of_type(SHENZHEN, "1") == ["SZ002"]
    assert of_type(SHENZHEN, "2") == []
    assert of_type(BEIJING_CITY, "2") == ["BJ001"]
    assert of_type(SHENZHEN, "") == ["SZ001", "SZ002"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (1001, "缺少参数 cityCode")),
        ({"cityCode": "4403"}, (1002, "参数 cityCode 无效：应为 6 位城市编码，如 440300")),
        ({"cityCode": "44030A"}, (1002, "参数 cityCode 无效：应为 6 位城市编码，如 440300")),
        ({"cityCode": "4403001"}, (1002, "参数 cityCode 无效：最长 6 个字符")),
        ({"cityCode": "４４０３００"}, (1002, "参数 cityCode 无效：应为 6 位城市编码，如 440300")),  # full-width digits
        ({"cityCode": SHENZHEN, "stubGroupType": "3"}, (1002, "参数 stubGroupType 无效：应为 0、1、2 之一，或不传")),
    ],
)
def test_a_missing_or_invalid_parameter_is_named(client, token, params, expected):
    assert refused(call(client, "syncStubGroupInfo", token=token, **params)) == expected


# --- syncStubInfo ---------------------------------------------------------------------------------------------


def charger_with(station, serial, *statuses, current_type=CurrentType.AC, online=True, parking=ParkingStatus.UNKNOWN,
                 rated_power_w=7000):
    charger = ChargerFactory(station=station, serial=serial, current_type=current_type, online=online,
                             rated_power_w=rated_power_w)
    for number, status in enumerate(statuses, start=1):
        ConnectorFactory(charger=charger, number=number, status=status, parking_status=parking)
    return charger


def test_states_each_charger_of_the_station_with_its_fees_and_status(client, token, station, charger):
    station.parking_fee = "前 2 小时免费，之后 5 元/小时"
    station.save()
    charger.name = "1 号直流桩"
    charger.save()
    free, charging, fault = ConnectorStatus.FREE, ConnectorStatus.CHARGING, ConnectorStatus.FAULT
    charger_with(station, "2000000001", free, online=False)                   # offline, whatever its gun says
    charger_with(station, "2000000002", fault)                                 # its only gun faulty
    charger_with(station, "2000000003", charging, current_type=CurrentType.DC)  # charging
    charger_with(station, "2000000004", free, parking=ParkingStatus.OCCUPIED)  # free, but a car in the space
    charger_with(station, "2000000005", charging, free)                        # one gun free: idle
    charger_with(station, "2000000006", free, current_type=CurrentType.AC_DC, rated_power_w=7360)

    data = ok(call(client, "syncStubInfo", token=token, stubGroupId="SZ001"))

    stubs = {stub["Id"]: stub for stub in data["StubInfo"]}
    assert list(stubs) == ["1012300001", *(f"200000000{n}" for n in range(1, 7))]
    assert stubs["1012300001"] == {
        "Id": "1012300001", "stubName": "1 号直流桩", "serviceFee": "0.4000元/度", "electricFee": "0.6500元/度",
        "totalFeeInfo": Decimal("1.0500"), "parkingFeeInfo": "前 2 小时免费，之后 5 元/小时", "status": "0",
        "existsGun": 1, "type": 1, "kw": Decimal("60.000"), "parkingStatus": 0,
        "guns": [{"gunId": "1", "status": "0"}, {"gunId": "2", "status": "0"}],
    }
    assert {serial: (stub["status"], [gun["status"] for gun in stub["guns"]]) for serial, stub in stubs.items()} == {
        "1012300001": ("0", ["0", "0"]),
        "2000000001": ("5", ["5"]),
        "2000000002": ("2", ["2"]),
        "2000000003": ("1", ["1"]),
        "2000000004": ("3", ["3"]),
        "2000000005": ("0", ["1", "0"]),
        "2000000006": ("0", ["0"]),
    }
    assert [stubs[serial]["type"] for serial in ("2000000001", "2000000003", "2000000006")] == [0, 1, 2]
    assert (stubs["2000000004"]["parkingStatus"], stubs["2000000006"]["kw"]) == (2, Decimal("7.360"))
    # Idle: the DC charger, the AC one with a free gun and the AC/DC one (counted on both sides)
    assert (data["stubGroupId"], data["stubAcIdleCnt"], data["stubDcIdleCnt"]) == ("SZ001", 2, 2)


def test_the_numbers_travel_as_json_numbers_of_exactly_their_digits(client, token, charger):
    response = client.get(API + "syncStubInfo", {"token": token, "stubGroupId": "SZ001"})

    text = response.content.decode()
    # Numbers, not strings, with the digits they have (four decimals of yuan per kWh, three of kW)
    assert '"totalFeeInfo":1.0500,' in text and '"kw":60.000,' in text


def test_the_chargers_of_a_station_under_construction_are_under_construction(client, token, station, charger):
    station.status = StationStatus.BUILD
    station.save()

    data = ok(call(client, "syncStubInfo", token=token, stubGroupId="SZ001"))

    assert [stub["status"] for stub in data["StubInfo"]] == ["6"]
    assert (data["stubAcIdleCnt"], data["stubDcIdleCnt"]) == (0, 0)


def test_a_time_of_use_tariff_is_described_period_by_period_and_priced_for_the_period_in_force(client, token):
    periods = [Period(hm(0), hm(8), "valley", 3500, 4000), Period(hm(8), hm(24), "peak", 10_000, 4000)]
    version = TariffVersionFactory(content=ev(periods).to_content())
    StationFactory(code="SZ009", tariff_template=version.template)
    now = timezone.now().astimezone(BEIJING)

    # A station with no charger yet lists none
    assert ok(call(client, "syncStubInfo", token=token, stubGroupId="SZ009"))["StubInfo"] == []
    charger_with(version.template.stations.get(), "3000000001", ConnectorStatus.FREE)
    (stub,) = ok(call(client, "syncStubInfo", token=token, stubGroupId="SZ009"))["StubInfo"]
    assert stub["electricFee"] == "00:00-08:00 谷 0.3500元/度；08:00-24:00 峰 1.0000元/度"
    assert stub["serviceFee"] == "0.4000元/度"
    assert stub["totalFeeInfo"] == (Decimal("0.75") if now.hour < 8 else Decimal("1.40"))


def test_a_tariff_by_power_tier_has_no_price_per_kwh_and_a_station_without_tariff_no_fees(client, token):
    tiers = ebike_tiers([PowerTier(power_upper_w=800, electricity_price_e4=3000, service_price_e4=2000)])
    tiered = StationFactory(code="SZ010", tariff_template=TariffVersionFactory(content=tiers.to_content()).template)
    untariffed = StationFactory(code="SZ011", tariff_template=None)
    charger_with(tiered, "3000000002", ConnectorStatus.FREE)
    charger_with(untariffed, "3000000003", ConnectorStatus.FREE)

    (by_tier,) = ok(call(client, "syncStubInfo", token=token, stubGroupId="SZ010"))["StubInfo"]
    (without,) = ok(call(client, "syncStubInfo", token=token, stubGroupId="SZ011"))["StubInfo"]

    assert (by_tier["electricFee"], by_tier["serviceFee"], by_tier["totalFeeInfo"]) == (
        "≤800W 0.3000元/小时", "≤800W 0.2000元/小时", None)
    assert (without["electricFee"], without["serviceFee"], without["totalFeeInfo"]) == ("", "", None)


@pytest.mark.parametrize("code", ["NOPE", "GZ001", "SZ-PLAN", "SZ-GONE", "BJ002"])
def test_an_unknown_or_unseen_station_is_refused(client, token, stations, code):
    assert refused(call(client, "syncStubInfo", token=token, stubGroupId=code)) == (
        3001, f"桩群不存在或未向贵方开放：{code}")


def test_a_station_given_by_name_in_another_city_is_stated(client, token, stations):
    assert ok(call(client, "syncStubInfo", token=token, stubGroupId="BJ001"))["stubGroupId"] == "BJ001"


# --- getOrderInfo ---------------------------------------------------------------------------------------------


@pytest.fixture
def settled(partner, charger):
    """12.345 kWh for 8.03 + 4.94 yuan on gun 2 of the DC charger, 10:00 to 11:00 on 21 November, battery full."""
    return OrderFactory(
        connector=charger.connectors.get(number=2), partner=partner, partner_order_no="DD-0001",
        driver_id="13800000000", status=OrderStatus.SETTLED, started_at=beijing(2026, 11, 21, 10),
        ended_at=beijing(2026, 11, 21, 11),
        charge_seconds=3540, energy_wh=12_345, electricity_fee_fen=803, service_fee_fen=494, total_fee_fen=1297,
        soc=96, close_reason=CloseReason.FULL, close_reason_text="",
    )


def test_states_the_partners_order_with_exact_yuan_and_kwh(client, token, settled):
    data = ok(call(client, "getOrderInfo", token=token, orderId=settled.order_no))

    assert data == {
        "OrderId": settled.order_no, "stubId": "1012300001", "outOrderId": "DD-0001", "driverId": "13800000000",
        "timeStart": "2026-11-21 10:00:00", "timeEnd": "2026-11-21 11:00:00", "timeCharge": 3540,
        "feeTotal": Decimal("12.97"), "chargeType": 1, "power": Decimal("12.345"), "soc": 96, "status": 2,
        "endInfo": "已充满", "feeService": Decimal("4.94"), "feeElectric": Decimal("8.03"), "cityCode": "440300",
    }
    assert data["feeTotal"] == data["feeService"] + data["feeElectric"]


def test_states_a_running_an_abnormally_ended_and_a_failed_order_in_the_specs_words(client, token, partner, station):
    ac = charger_with(station, "2000000009", ConnectorStatus.FREE, ConnectorStatus.FREE, ConnectorStatus.FREE)
    gun1, gun2, gun3 = ac.connectors.order_by("number")
    started = timezone.now() - dt.timedelta(minutes=10)
    running = OrderFactory(connector=gun1, partner=partner, status=OrderStatus.CHARGING, started_at=started,
                           ended_at=None, charge_seconds=0, energy_wh=1234, electricity_fee_fen=80,
                           service_fee_fen=49, total_fee_fen=129, soc=40, close_reason="")
    faulted = OrderFactory(connector=gun2, partner=partner, status=OrderStatus.SETTLED,
                           close_reason=CloseReason.DEVICE_FAULT, close_reason_text="急停")
    failed = OrderFactory(connector=gun3, partner=partner, status=OrderStatus.START_FAILED, started_at=started,
                          ended_at=None, charge_seconds=0, energy_wh=0, electricity_fee_fen=0, service_fee_fen=0,
                          total_fee_fen=0, soc=None, close_reason="",
                          close_reason_text="汤姆达云：充电桩离线（错误码 1423）")

    now = ok(call(client, "getOrderInfo", token=token, orderId=running.order_no))
    assert (now["status"], now["timeEnd"], now["soc"], now["chargeType"], now["endInfo"]) == (1, "", None, 0, "")
    assert 600 <= now["timeCharge"] <= 605  # no charging time reported yet: the time since the start
    assert (now["power"], now["feeTotal"]) == (Decimal("1.234"), Decimal("1.29"))
    ended = ok(call(client, "getOrderInfo", token=token, orderId=faulted.order_no))
    assert (ended["status"], ended["endInfo"]) == (9, "设备故障：急停")
    start_failed = ok(call(client, "getOrderInfo", token=token, orderId=failed.order_no))
    assert (start_failed["status"], start_failed["endInfo"], start_failed["timeStart"], start_failed["timeCharge"]) == (
        0, "汤姆达云：充电桩离线（错误码 1423）", started.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"), 0)


def test_another_partners_order_is_as_unknown_as_an_order_that_does_not_exist(client, token, settled, other_partner):
    assert refused(call(client, "getOrderInfo", token=other_partner.token, orderId=settled.order_no)) == (
        3004, f"订单不存在：{settled.order_no}")
    assert refused(call(client, "getOrderInfo", token=token, orderId="20261121100000999999")) == (
        3004, "订单不存在：20261121100000999999")
    assert refused(call(client, "getOrderInfo", token=token)) == (1001, "缺少参数 orderId")


def test_an_order_of_ours_without_a_partner_is_unknown_to_every_partner(client, token, charger):
    ours = OrderFactory(connector=charger.connectors.get(number=1), partner=None, partner_order_no="")

    assert refused(call(client, "getOrderInfo", token=token, orderId=ours.order_no))[0] == 3004


# --- checkChargeOrders ----------------------------------------------------------------------------------------


def created(order, moment):
    Order.objects.filter(pk=order.pk).update(created_at=moment)
    return order


@pytest.fixture
def window_orders(partner, other_partner, charger):
    """The partner's orders created on 1 and 2 December (Beijing) and one on 3 December at 00:00; another partner's
    on 1 December."""
    gun = charger.connectors.get(number=1)

    def order(moment, partner_=partner, **figures):
        return created(OrderFactory(connector=gun, partner=partner_, status=OrderStatus.SETTLED, **figures), moment)

    return [
        order(beijing(2026, 12, 1, 0, 0), energy_wh=10_001, electricity_fee_fen=651, service_fee_fen=400,
              total_fee_fen=1051),
        order(beijing(2026, 12, 2, 23, 59, 59), energy_wh=2_500, electricity_fee_fen=163, service_fee_fen=100,
              total_fee_fen=263),
        order(beijing(2026, 12, 3, 0, 0)),
        order(beijing(2026, 11, 30, 23, 59, 59)),
        order(beijing(2026, 12, 1, 12), partner_=other_partner),
    ]


def test_counts_and_sums_the_partners_orders_of_the_window_and_keeps_the_answer(client, token, partner, window_orders):
    data = ok(call(client, "checkChargeOrders", token=token, startTim="2026-12-01 00:00:00",
                   endTim="2026-12-03 00:00:00"))

    first, second = window_orders[:2]
    assert data == {"checkOrderNo": data["checkOrderNo"], "orderCount": 2, "totalOrderPower": Decimal("12.501"),
                    "totoalOrderFee": Decimal("13.14"), "orderList": sorted([first.order_no, second.order_no])}
    check = PartnerCheck.objects.get()
    assert (check.check_no, check.partner, check.order_count, check.energy_wh, check.amount_fen, check.order_nos) == (
        data["checkOrderNo"], partner, 2, 12_501, 1314, sorted([first.order_no, second.order_no]))
    assert (check.window_start, check.window_end) == (beijing(2026, 12, 1), beijing(2026, 12, 3))
    assert len(data["checkOrderNo"]) == 26 and data["checkOrderNo"].isdigit()


def test_a_window_without_orders_answers_zero(client, token, window_orders):
    data = ok(call(client, "checkChargeOrders", token=token, startTim="2026-10-01 00:00:00",
                   endTim="2026-10-02 00:00:00"))

    assert {key: data[key] for key in ("orderCount", "totalOrderPower", "totoalOrderFee", "orderList")} == {
        "orderCount": 0, "totalOrderPower": Decimal("0.000"), "totoalOrderFee": Decimal("0.00"), "orderList": []}


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-12-01T00:00:00", "2026-12-02 00:00:00",
         (1002, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-12-01 00:00:00", "2026-12-02", (1002, "参数 endTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-02-30 00:00:00", "2026-03-02 00:00:00",
         (1002, "参数 startTim 无效：格式应为 yyyy-MM-dd HH:mm:ss（北京时间）")),
        ("2026-12-02 00:00:00", "2026-12-01 00:00:00", (1002, "参数 endTim 无效：应晚于 startTim")),
        ("2026-12-01 00:00:00", "2026-12-01 00:00:00", (1002, "参数 endTim 无效：应晚于 startTim")),
        ("2026-12-01 00:00:00", "2027-01-01 00:00:01", (1002, "参数 endTim 无效：对账区间最长 31 天")),
        ("", "2026-12-02 00:00:00", (1001, "缺少参数 startTim")),
    ],
)
def test_a_malformed_or_wrong_window_is_refused_naming_the_parameter(client, token, start, end, expected):
    assert refused(call(client, "checkChargeOrders", token=token, startTim=start, endTim=end)) == expected
    assert PartnerCheck.objects.count() == 0


def test_a_window_of_exactly_the_longest_is_answered_and_the_longest_is_a_setting(client, token, settings):
    assert ok(call(client, "checkChargeOrders", token=token, startTim="2026-12-01 00:00:00",
                   endTim="2027-01-01 00:00:00"))["orderCount"] == 0

    settings.PARTNER_CHECK_MAX_DAYS = 1
    assert refused(call(client, "checkChargeOrders", token=token, startTim="2026-12-01 00:00:00",
                        endTim="2026-12-02 00:00:01")) == (1002, "参数 endTim 无效：对账区间最长 1 天")


# --- names, methods and errors --------------------------------------------------------------------------------


def test_an_unknown_interface_is_named_whatever_the_token(client, token):
    assert refused(call(client, "syncStubStatus", token=token)) == (1005, "接口不存在：syncStubStatus")
    assert refused(call(client, "syncStubStatus")) == (1005, "接口不存在：syncStubStatus")
    response = client.post(API + "nothing", {})
    assert (response.status_code, response.json()["code"]) == (200, 1005)


BAD_CALLS = [
    pytest.param("getToken", "post_json", {"org": 1234, "secret": "x" * 32}, id="getToken org a JSON number"),
    pytest.param("getToken", "post_json", {"org": "DIDI", "secret": 12_345_678_901_234_567},
                 id="getToken secret a JSON number"),
    pytest.param("getToken", "post_json", ["DIDI", "secret"], id="getToken body a JSON list"),
    pytest.param("getToken", "post_form", {"org": "滴滴", "secret": "x"}, id="getToken org not ASCII"),
    pytest.param("syncStubInfo", "get", {"stubGroupId": "x" * 65}, id="stubGroupId too long"),
    pytest.param("syncStubInfo", "get", {"stubGroupId": "SZ 001"}, id="stubGroupId with a space"),
    pytest.param("getOrderInfo", "get", {"orderId": "订单"}, id="orderId not ASCII"),
    pytest.param("getOrderInfo", "get", {"orderId": "1" * 64}, id="orderId of 64 digits"),
    pytest.param("checkChargeOrders", "get", {"startTim": "9999-12-30 00:00:00", "endTim": "9999-12-31 23:59:59"},
                 id="window in year 9999"),
    pytest.param("checkChargeOrders", "get", {"startTim": "0001-01-01 00:00:00", "endTim": "0001-01-02 00:00:00"},
                 id="window in year 1"),
    pytest.param("chargeStart", "get", {"outOrderId": "A1", "driverId": "d", "stubId": "1012300001", "gunId": "1",
                                        "org": "DIDI", "time": "99999999999"}, id="time of 11 digits"),
    pytest.param("chargeStart", "get", {"outOrderId": "A1", "driverId": "d", "stubId": "1012300001", "gunId": "一",
                                        "org": "DIDI", "time": "1764640000"}, id="gunId not ASCII"),
    pytest.param("chargeStop", "get", {"orderId": "-1"}, id="chargeStop of no order"),
]


@pytest.mark.parametrize(("name", "how", "params"), BAD_CALLS)
def test_no_malformed_call_is_answered_with_a_server_error(client, token, charger, name, how, params):
    if how == "get":
        response = client.get(API + name, {"token": token, **params})
    elif how == "post_json":
        response = client.post(API + name, json.dumps(params), content_type="application/json")
    else:
        response = client.post(API + name, params)

    answer = response.json()
    assert response.status_code == 200, answer
    assert answer["code"] < 5000, answer


@pytest.mark.parametrize(("content", "content_type"), [
    (b'{"org": "DIDI", ', "application/json"),
    (b"org=DIDI", "text/plain"),
], ids=["broken JSON", "a type we do not read"])
def test_an_unreadable_body_is_refused_in_the_envelope_with_http_200(client, partner, content, content_type):
    response = client.post(API + "getToken", content, content_type=content_type)

    answer = response.json()
    assert (response.status_code, answer["code"], answer["data"]) == (200, 1002, None), answer
    assert answer["msg"].startswith("参数 body 无效：")


# --- throttling -----------------------------------------------------------------------------------------------


def test_a_partner_over_its_rate_is_told_to_wait_and_another_partner_is_not(client, token, other_partner, charger,
                                                                             settings):
    settings.PARTNER_RATES = {"syncStubInfo": "2/m"}

    answers = [call(client, "syncStubInfo", token=token, stubGroupId="SZ001") for _ in range(2)]
    response = client.get(API + "syncStubInfo", {"token": token, "stubGroupId": "SZ001"})

    assert [envelope["code"] for _status, envelope in answers] == [0, 0]
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == {"code": 4290, "msg": "请求过于频繁：syncStubInfo 每分钟至多 2 次，请 60 秒后再试",
                               "data": None}
    # Another partner has its own count, and the partner's other interfaces are not counted
    assert call(client, "syncStubInfo", token=other_partner.token, stubGroupId="SZ001")[1]["code"] == 0
    assert call(client, "syncStubGroupInfo", token=token, cityCode=SHENZHEN)[1]["code"] == 0


def test_get_token_is_counted_per_address_so_a_secret_cannot_be_tried_at_speed(client, partner, settings):
    settings.PARTNER_RATES = {"getToken": "3/h"}

    codes = [client.post(API + "getToken", {"org": "DIDI", "secret": f"guess-{n}"}).json()["code"] for n in range(3)]
    blocked = client.post(API + "getToken", {"org": "DIDI", "secret": partner.secret})
    elsewhere = client.post(API + "getToken", {"org": "DIDI", "secret": partner.secret}, REMOTE_ADDR="198.51.100.7")

    assert codes == [2004, 2004, 2004]
    assert (blocked.status_code, blocked.json()["code"], blocked["Retry-After"]) == (429, 4290, "3600")
    assert blocked.json()["msg"] == "请求过于频繁：getToken 每小时至多 3 次，请 3600 秒后再试"
    assert elsewhere.json()["code"] == 0
