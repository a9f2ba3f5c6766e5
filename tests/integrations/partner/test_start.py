"""chargeStart and chargeStop: a partner's session on a vendor's charger, through the vendor's adapter and its cloud
simulator over real HTTP; every refusal with its code, and a repeat answered as the first."""

import json
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from chargers.models import ConnectorStatus, CurrentType, Vendor
from integrations.partnerkit import sessions
from integrations.partnerkit.models import AuthFailureReason, PartnerAuthFailure
from orders.models import Order, OrderStatus
from stations.models import StationStatus
from tariffs.models import VehicleKind
from tariffs.pricing import PowerTier
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.helpers import wanzhuang_cloud
from tests.integrations.partner.conftest import API, call, vendor_starts
from tests.orders.factories import OrderFactory, PartnerFactory
from tests.stations.factories import StationFactory
from tests.tariffs.builders import ebike_tiers
from tests.tariffs.factories import TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db

SERIAL = "1012300001"


def start(client, token, *, out="DD-0001", driver="13800000000", stub=SERIAL, gun="1", org="DIDI", at=None, **extra):
    params = {"token": token, "outOrderId": out, "driverId": driver, "stubId": stub, "gunId": gun, "org": org,
              "time": str(int(time.time()) if at is None else at), **extra}
    response = client.get(API + "chargeStart", params)
    return response.status_code, json.loads(response.content, parse_float=Decimal)


def stop(client, token, order_no):
    response = client.get(API + "chargeStop", {"token": token, "orderId": order_no})
    return response.status_code, json.loads(response.content, parse_float=Decimal)


def answered(result):
    status, envelope = result
    assert status == 200, envelope
    return envelope["code"], envelope["msg"]


# --- a start ----------------------------------------------------------------------------------------------------


def test_a_start_creates_the_partners_order_and_starts_the_charger_at_its_vendor(client, token, partner, charger,
                                                                                  tomda_sim):
    status, answer = start(client, token, out="DD-0001", driver="13800000000", gun="2")

    # Then one order, the partner's, under its number, on gun 2
    order = Order.objects.get()
    assert (order.partner, order.partner_order_no, order.driver_id, order.connector.number, order.status) == (
        partner, "DD-0001", "13800000000", 2, OrderStatus.STARTING)
    # And Tomda was asked over HTTP to start that order on that gun
    (asked,) = vendor_starts(tomda_sim)
    assert (asked["serialNum"], asked["connectorId"], asked["clientOrderId"]) == (SERIAL, "2", order.order_no)
    assert tomda_sim.sessions[order.order_no].status == "CHARGE"
    # And the partner reads the order as charging
    assert (status, answer["code"], answer["msg"]) == (200, 0, "成功")
    data = answer["data"]
    assert {key: data[key] for key in ("OrderId", "stubId", "outOrderId", "driverId", "status", "timeEnd", "power",
                                       "feeTotal", "chargeType", "endInfo", "cityCode")} == {
        "OrderId": order.order_no, "stubId": SERIAL, "outOrderId": "DD-0001", "driverId": "13800000000", "status": 1,
        "timeEnd": "", "power": Decimal("0.000"), "feeTotal": Decimal("0.00"), "chargeType": 1, "endInfo": "",
        "cityCode": "440300"}


def test_a_repeat_answers_the_same_order_and_starts_nothing_more(client, token, charger, tomda_sim):
    first = start(client, token, out="DD-0001")[1]

    again = start(client, token, out="DD-0001")[1]

    assert (again["code"], again["data"]["OrderId"]) == (0, first["data"]["OrderId"])
    assert Order.objects.count() == 1
    assert len(vendor_starts(tomda_sim)) == 1
    assert len(tomda_sim.sessions) == 1


def test_a_repeat_that_arrives_as_a_concurrent_start_commits_is_answered_with_that_order(
    client, token, charger, tomda_sim, monkeypatch
):
    # Given the first start of DD-0001 has just committed its order
    first = start(client, token, out="DD-0001")[1]["data"]["OrderId"]
    # When a copy of it looked for the number a moment before that commit (it found none) and goes on
    looked = sessions.partner_order_started
    calls = []

    def before_the_commit(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else looked(**kwargs)

    monkeypatch.setattr(sessions, "partner_order_started", before_the_commit)
    again = start(client, token, out="DD-0001")[1]

    # Then it is the same order, not a busy gun; and nothing more was started
    assert (again["code"], again["data"] and again["data"]["OrderId"]) == (0, first), again
    assert (Order.objects.count(), len(vendor_starts(tomda_sim))) == (1, 1)


def test_the_same_out_order_id_on_another_gun_or_for_another_driver_is_refused(client, token, charger, tomda_sim):
    order_no = start(client, token, out="DD-0001", gun="1")[1]["data"]["OrderId"]

    assert answered(start(client, token, out="DD-0001", gun="2")) == (
        3005, "outOrderId DD-0001 已用于另一次充电（桩 1012300001 枪 1），请换用新的订单编号")
    assert answered(start(client, token, out="DD-0001", gun="1", driver="13900000000"))[0] == 3005
    assert list(Order.objects.values_list("order_no", flat=True)) == [order_no]
    assert len(vendor_starts(tomda_sim)) == 1


def test_the_same_out_order_id_of_another_partner_is_another_session(client, token, partner, charger, tomda_sim):
    from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue

    other = PartnerFactory(org_code="CAOCAO")
    access = partner_access_get(partner=other)
    access.city_codes = "440300"
    access.save()
    other_token = partner_token_issue(org="CAOCAO", secret=partner_secret_issue(partner=other),
                                      caller=Caller("test")).token

    ours = start(client, token, out="SAME-1", gun="1")[1]
    theirs = start(client, other_token, out="SAME-1", gun="2", org="CAOCAO")[1]

    assert (ours["code"], theirs["code"]) == (0, 0)
    assert ours["data"]["OrderId"] != theirs["data"]["OrderId"]
    assert sorted(Order.objects.values_list("partner__org_code", "partner_order_no")) == [
        ("CAOCAO", "SAME-1"), ("DIDI", "SAME-1")]


def test_a_start_whose_time_is_outside_the_window_is_refused_but_a_late_repeat_is_answered(
    client, token, charger, tomda_sim, settings
):
    now = int(time.time())

    stale = answered(start(client, token, out="DD-LATE", at=now - 400))
    ahead = answered(start(client, token, out="DD-LATE", at=now + 400))

    assert stale[0] == ahead[0] == 1003
    assert stale[1].startswith("参数 time 超出允许范围：与服务器时间相差 ") and stale[1].endswith("秒，允许 ±300 秒")
    assert Order.objects.count() == 0
    # Within the window it starts; a repeat of it long after is answered with its order
    first = start(client, token, out="DD-LATE", at=now - 250)[1]
    assert first["code"] == 0
    repeat = start(client, token, out="DD-LATE", at=now - 86_400)[1]
    assert (repeat["code"], repeat["data"]["OrderId"]) == (0, first["data"]["OrderId"])
    # And the window is the setting's
    settings.PARTNER_START_TIME_WINDOW_SECONDS = 60
    assert answered(start(client, token, out="DD-OTHER", gun="2", at=now - 120))[0] == 1003


def test_an_offline_charger_or_gun_is_refused_before_the_vendor_is_asked(client, token, charger, tomda_sim):
    charger.online = False
    charger.save()
    assert answered(start(client, token, out="DD-1")) == (4001, "桩 1012300001 离线，无法启动")

    charger.online = True
    charger.save()
    charger.connectors.filter(number=2).update(status=ConnectorStatus.OFFLINE)
    assert answered(start(client, token, out="DD-2", gun="2")) == (4001, "桩 1012300001 离线，无法启动")
    assert (Order.objects.count(), vendor_starts(tomda_sim)) == (0, [])


@pytest.mark.parametrize(("status", "word"), [(ConnectorStatus.FAULT, "故障"), (ConnectorStatus.MAINTENANCE, "维护中")])
def test_a_faulty_gun_or_one_under_maintenance_is_refused(client, token, charger, tomda_sim, status, word):
    charger.connectors.filter(number=1).update(status=status)

    assert answered(start(client, token)) == (4002, f"桩 1012300001 枪 1 {word}，无法启动")
    assert (Order.objects.count(), vendor_starts(tomda_sim)) == (0, [])


def test_a_charger_faulty_as_a_whole_is_refused_whatever_its_guns_say(client, token, charger, tomda_sim):
    charger.status = ConnectorStatus.FAULT
    charger.save()

    assert answered(start(client, token)) == (4002, "桩 1012300001 枪 1 故障，无法启动")
    assert vendor_starts(tomda_sim) == []


def test_a_serial_two_vendors_share_at_the_partners_stations_names_no_charger(client, token, station, charger,
                                                                             tomda_sim):
    twin = ChargerFactory(station=station, vendor=Vendor.WANZHUANG, serial=SERIAL)
    ConnectorFactory(charger=twin, number=1)

    assert answered(start(client, token))[0] == 3002
    assert vendor_starts(tomda_sim) == []


def test_the_fault_is_stated_in_chinese_whatever_language_the_partner_asks_in(client, token, charger, tomda_sim):
    charger.connectors.filter(number=1).update(status=ConnectorStatus.FAULT)

    response = client.get(API + "chargeStart", {"token": token, "outOrderId": "DD-1", "driverId": "d", "stubId": SERIAL,
                                                "gunId": "1", "org": "DIDI", "time": str(int(time.time()))},
                          HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["msg"] == "桩 1012300001 枪 1 故障，无法启动"


def test_a_charger_of_a_station_under_maintenance_is_refused(client, token, station, charger, tomda_sim):
    # Given syncStubInfo states the charger under maintenance (4) because its station is
    station.status = StationStatus.MAINTAIN
    station.save()
    assert call(client, "syncStubInfo", token=token, stubGroupId="SZ001")[1]["data"]["StubInfo"][0]["status"] == "4"

    # Then a start there is refused as one on a charger under maintenance, and nothing is sent
    assert answered(start(client, token)) == (4002, "桩 1012300001 枪 1 维护中，无法启动")
    assert (Order.objects.count(), vendor_starts(tomda_sim)) == (0, [])


@pytest.mark.parametrize("status", [StationStatus.BUILD, StationStatus.FAULT])
def test_a_charger_of_a_station_under_construction_or_faulty_is_refused(client, token, station, charger, tomda_sim,
                                                                         status):
    station.status = status
    station.save()

    assert answered(start(client, token))[0] == 4002
    assert (Order.objects.count(), vendor_starts(tomda_sim)) == (0, [])


def test_a_gun_busy_with_another_session_is_refused(client, token, charger, tomda_sim):
    # Given a session of ours on gun 1 that the charger has not reported yet (the gun still reads free)
    OrderFactory(connector=charger.connectors.get(number=1), partner=None, partner_order_no="",
                 status=OrderStatus.CHARGING, ended_at=None)

    assert answered(start(client, token, out="DD-1")) == (4003, "桩 1012300001 枪 1 已被占用")
    assert (Order.objects.filter(partner__isnull=False).count(), vendor_starts(tomda_sim)) == (0, [])


def test_a_charger_the_partner_does_not_see_or_that_does_not_exist_is_refused(client, token, charger, tomda_sim):
    elsewhere = StationFactory(code="GZ001", city_code="440100")
    hidden = ChargerFactory(station=elsewhere, serial="1012399999")
    ConnectorFactory(charger=hidden, number=1)
    planned = StationFactory(code="SZ-PLAN", status=StationStatus.PLAN)
    ConnectorFactory(charger=ChargerFactory(station=planned, serial="1012388888"), number=1)

    assert answered(start(client, token, stub="1012399999")) == (3002, "桩不存在或未向贵方开放：1012399999")
    assert answered(start(client, token, stub="1012388888"))[0] == 3002
    assert answered(start(client, token, stub="0000000000"))[0] == 3002
    assert answered(start(client, token, gun="9")) == (3003, "桩 1012300001 没有枪 9")
    assert (Order.objects.count(), vendor_starts(tomda_sim)) == (0, [])


def test_the_org_of_another_partner_is_refused_and_logged(client, token, partner, charger, tomda_sim):
    PartnerFactory(org_code="CAOCAO")

    assert answered(start(client, token, org="CAOCAO")) == (2006, "参数 org（CAOCAO）与 token 所属合作商不符")
    assert Order.objects.count() == 0
    assert list(PartnerAuthFailure.objects.values_list("reason", "org", "partner", "interface")) == [
        (AuthFailureReason.ORG_MISMATCH, "CAOCAO", partner.pk, "chargeStart")]


@pytest.mark.parametrize("missing", ["outOrderId", "driverId", "stubId", "gunId", "org", "time"])
def test_each_parameter_is_required(client, token, charger, missing):
    params = {"token": token, "outOrderId": "DD-1", "driverId": "d", "stubId": SERIAL, "gunId": "1", "org": "DIDI",
              "time": str(int(time.time()))}
    del params[missing]

    assert client.get(API + "chargeStart", params).json() == {"code": 1001, "msg": f"缺少参数 {missing}", "data": None}


def test_a_start_the_vendor_refuses_is_answered_with_its_reason_and_the_failed_order(client, token, charger, tomda_sim):
    # Given Tomda refuses the next start: the connector is not free, it says
    tomda_sim.fail_next("/api/sys/charger/start", "2011")

    status, answer = start(client, token, out="DD-0001")

    order = Order.objects.get()
    assert order.status == OrderStatus.START_FAILED
    reason = order.close_reason_text
    assert "2011" in reason and "充电口不为空闲" in reason
    assert (status, answer["code"], answer["msg"]) == (200, 4004, f"桩拒绝启动：{reason}")
    assert (answer["data"]["OrderId"], answer["data"]["status"], answer["data"]["endInfo"]) == (
        order.order_no, 0, reason)
    # And a repeat is answered as the first, without asking Tomda again
    again = start(client, token, out="DD-0001")[1]
    assert (again["code"], again["msg"], again["data"]["OrderId"]) == (4004, f"桩拒绝启动：{reason}", order.order_no)
    assert len(vendor_starts(tomda_sim)) == 1


# --- a stop -----------------------------------------------------------------------------------------------------


def test_a_stop_of_a_charging_order_asks_the_vendor_and_answers_the_order(client, token, charger, tomda_sim):
    order_no = start(client, token, out="DD-0001")[1]["data"]["OrderId"]
    Order.objects.filter(order_no=order_no).update(status=OrderStatus.CHARGING)

    status, answer = stop(client, token, order_no)

    assert (status, answer["code"], answer["data"]["OrderId"], answer["data"]["status"]) == (200, 0, order_no, 1)
    assert [params["clientOrderId"] for params in vendor_starts(tomda_sim, "/api/sys/charger/stop")] == [order_no]
    assert (tomda_sim.sessions[order_no].status, tomda_sim.sessions[order_no].close_type) == ("CLOSED", "EBIKE_REMOTE")
    assert Order.objects.get(order_no=order_no).status == OrderStatus.STOPPING
    # And a stop of an order already stopping asks nothing more
    assert stop(client, token, order_no)[1]["code"] == 0
    assert len(vendor_starts(tomda_sim, "/api/sys/charger/stop")) == 1


def test_a_stop_of_an_ended_order_answers_it_unchanged(client, token, partner, charger, tomda_sim):
    settled = OrderFactory(connector=charger.connectors.get(number=1), partner=partner, status=OrderStatus.SETTLED)
    before = call(client, "getOrderInfo", token=token, orderId=settled.order_no)[1]["data"]

    status, answer = stop(client, token, settled.order_no)

    assert (status, answer["code"], answer["data"]) == (200, 0, before)
    assert Order.objects.get(pk=settled.pk).status == OrderStatus.SETTLED
    assert vendor_starts(tomda_sim, "/api/sys/charger/stop") == []


def test_a_stop_the_vendor_refuses_is_answered_with_its_reason(client, token, charger, tomda_sim):
    order_no = start(client, token, out="DD-0001")[1]["data"]["OrderId"]
    Order.objects.filter(order_no=order_no).update(status=OrderStatus.CHARGING)
    tomda_sim.fail_next("/api/sys/charger/stop", "1405")

    _status, answer = stop(client, token, order_no)

    assert answer["code"] == 4005
    assert answer["msg"].startswith("桩拒绝停止：") and "1405" in answer["msg"]
    assert (answer["data"]["OrderId"], answer["data"]["status"]) == (order_no, 1)
    assert Order.objects.get(order_no=order_no).status == OrderStatus.CHARGING


def test_a_stop_of_another_partners_order_is_refused_as_unknown(client, token, charger, tomda_sim):
    other = OrderFactory(connector=charger.connectors.get(number=1), status=OrderStatus.CHARGING, ended_at=None)

    assert answered(stop(client, token, other.order_no)) == (3004, f"订单不存在：{other.order_no}")
    assert vendor_starts(tomda_sim, "/api/sys/charger/stop") == []


# --- another vendor through the same interface ------------------------------------------------------------------


def test_a_start_on_a_wanzhuang_charger_goes_through_its_adapter(client, token, partner, station, settings):
    from integrations.wanzhuang import constants as wz
    from integrations.wanzhuang.simulator import SimDevice

    template = TariffTemplateFactory(kind=VehicleKind.EBIKE, min_balance_fen=0)
    TariffVersionFactory(template=template, content=ebike_tiers([PowerTier(800, 3000, 2000)]).to_content())
    ebikes = StationFactory(code="SZ-EB", kind=VehicleKind.EBIKE, tariff_template=template)
    device = ChargerFactory(station=ebikes, vendor=Vendor.WANZHUANG, serial="19285526", kind=VehicleKind.EBIKE,
                            current_type=CurrentType.AC, rated_power_w=0, device_type_code="2",
                            device_type_name="电量慢充款", vendor_status="online", last_seen_at=timezone.now())
    for number in range(1, 11):
        ConnectorFactory(charger=device, number=number, status=ConnectorStatus.FREE, vendor_status="0")

    with wanzhuang_cloud(settings, [SimDevice("19285526", device_type=2, added=True)]) as sim:
        status, answer = start(client, token, out="DD-EB-1", stub="19285526", gun="3")

        order = Order.objects.get()
        assert (status, answer["code"], answer["data"]["OrderId"], answer["data"]["chargeType"]) == (
            200, 0, order.order_no, 0)
        assert (order.partner, order.partner_order_no, order.charger.vendor) == (partner, "DD-EB-1", Vendor.WANZHUANG)
        (asked,) = [params for _method, path, params in sim.calls if path == "/open/charge/start"]
        assert (asked["device_num"], str(asked["device_port"]), str(asked["charge_id"])) == (
            "19285526", "3", str(wz.charge_id_of(order.order_no)))
        assert sim.session(wz.charge_id_of(order.order_no)).port == 3
