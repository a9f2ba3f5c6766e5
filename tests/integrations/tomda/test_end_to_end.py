"""The whole Tomda loop over real HTTP: our services and client → the simulator → its pushes → our endpoint."""

import pytest

from chargers.models import Charger, ChargerTariffPush, ConnectorStatus, TariffPushResult, Vendor
from chargers.services import charger_import_from_vendor, station_push, tariff_version_push
from chargers.vendor import ChargeStrategy
from integrations.inbox import inbox_drain
from integrations.models import InboundMessage, InboundStatus, RejectReason
from integrations.tomda.simulator import SimCharger
from orders.models import CloseReason, Order, OrderStatus
from orders.services import order_start, order_stop
from tariffs.models import VehicleKind
from tests.helpers import tomda_cloud
from tests.stations.factories import StationFactory
from tests.tariffs.factories import PowerTierFactory, TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db(transaction=True)

EV, EBIKE = "1012300001", "1012300002"


def delivered(sim):
    """Every push the simulator queued has been answered, and the inbox worker has applied it."""
    sim.drain()
    inbox_drain()


@pytest.fixture
def sim(live_server, settings):
    chargers = [SimCharger(serial=EV, kind="ev", connectors=1), SimCharger(serial=EBIKE, kind="ebike", connectors=2)]
    push_url = f"{live_server.url}/integrations/tomda/push"
    with tomda_cloud(settings, chargers, push_url=push_url, push_encoding="form") as simulator:
        delivered(simulator)
        yield simulator


@pytest.fixture
def ev_station():
    """A station priced 0.65 + 0.40 yuan/kWh all day (version 1 of its template)."""
    version = TariffVersionFactory()
    return StationFactory(tariff_template=version.template)


def imported(sim, station, serial):
    charger_import_from_vendor(station=station, vendor=Vendor.TOMDA, serials=[serial])
    sim.set_online(serial, True)  # the charger reconnects: DEVICE_INFO and its fee question reach us
    delivered(sim)
    return Charger.objects.get(serial=serial)


def test_chargers_imported_from_tomda_appear_with_their_connectors(sim, ev_station):
    ebike_station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)

    charger_import_from_vendor(station=ev_station, vendor=Vendor.TOMDA, serials=[EV])
    charger_import_from_vendor(station=ebike_station, vendor=Vendor.TOMDA, serials=[EBIKE])

    ev, ebike = Charger.objects.get(serial=EV), Charger.objects.get(serial=EBIKE)
    assert (ev.kind, ev.device_type_code, ev.online, ev.rated_power_w) == (VehicleKind.EV, "TOMDA_EV7K_T4", True, 7000)
    assert list(ev.connectors.values_list("number", "status")) == [(1, ConnectorStatus.FREE)]
    assert list(ebike.connectors.values_list("number", flat=True)) == [1, 2]
    # Before the import, the simulator's first pushes were about chargers we did not know: kept and listed.
    assert InboundMessage.objects.filter(reject_reason=RejectReason.UNKNOWN_CHARGER).exists()


def test_a_session_started_here_charges_reports_and_settles_with_both_prices(sim, ev_station):
    charger = imported(sim, ev_station, EV)
    station_push(station=ev_station)  # the pile learns our tariff and bills by it

    order = order_start(connector=charger.connectors.get(), strategy=ChargeStrategy.FULL,
                        authorized_amount_fen=10_000)
    delivered(sim)

    order.refresh_from_db()
    assert sim.sessions[order.order_no].status == "CHARGE"
    assert order.status == OrderStatus.CHARGING
    assert charger.connectors.get().status == ConnectorStatus.CHARGING

    for _minute in range(3):
        sim.advance(600)
        sim.tick()
    delivered(sim)
    order.refresh_from_db()
    assert order.samples.count() >= 4
    assert order.energy_wh == sim.sessions[order.order_no].energy_wh > 0

    order_stop(order=order)
    delivered(sim)

    order.refresh_from_db()
    vendor = sim.sessions[order.order_no]
    assert order.status == OrderStatus.SETTLED
    assert (order.energy_wh, order.close_reason, order.vendor_close_code) == (
        vendor.energy_wh, CloseReason.REMOTE_STOP, "EBIKE_REMOTE"
    )
    assert order.vendor_total_fen == vendor.cost_fen > 0
    # One flat price all day, so both sides agree to the fen: 1.05 yuan per kWh.
    assert order.total_fee_fen == order.electricity_fee_fen + order.service_fee_fen
    assert abs(order.total_fee_fen - vendor.cost_fen) <= 1
    assert charger.connectors.get().status == ConnectorStatus.FREE


def test_a_tariff_push_is_acknowledged_charger_by_charger(sim):
    template = TariffTemplateFactory(kind=VehicleKind.EBIKE)
    PowerTierFactory(template=template, power_upper_w=300, electricity_price_e4=5000)
    PowerTierFactory(template=template, power_upper_w=600, electricity_price_e4=7000)
    from tariffs.services import tariff_version_publish

    version = tariff_version_publish(template=template)
    station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=template)
    online = imported(sim, station, EBIKE)

    pushes = tariff_version_push(version=version, by_name="值班员")
    delivered(sim)

    assert [push.charger_id for push in pushes] == [online.pk]
    push = ChargerTariffPush.objects.get(charger=online)
    assert push.result == TariffPushResult.ACCEPTED and push.answered_at is not None
    assert sim.fee_templates[template.external_id]["elecFeeModelDetail"][0]["elecFee"] == 50


def test_an_offline_charger_refuses_the_tariff(sim, ev_station):
    charger = imported(sim, ev_station, EV)
    sim.set_online(EV, False)
    delivered(sim)

    tariff_version_push(version=ev_station.tariff_template.versions.get())
    delivered(sim)

    assert ChargerTariffPush.objects.get(charger=charger).result == TariffPushResult.REFUSED
    assert not Charger.objects.get(pk=charger.pk).online


def test_an_expired_token_is_renewed_in_the_middle_of_a_session(sim, ev_station):
    charger = imported(sim, ev_station, EV)
    order = order_start(connector=charger.connectors.get())
    delivered(sim)

    sim.expire_tokens()
    order_stop(order=order)
    delivered(sim)

    order.refresh_from_db()
    assert order.status == OrderStatus.SETTLED
    token_calls = [path for _method, path, _params in sim.calls if path == "/api/sys/token/get"]
    assert len(token_calls) == 2
    stops = [path for _method, path, _params in sim.calls if path == "/api/sys/charger/stop"]
    assert len(stops) == 2  # refused once with 1300, repeated once with the new token


def test_the_simulators_questions_get_correct_answers(sim, ev_station):
    charger = imported(sim, ev_station, EV)
    order = order_start(connector=charger.connectors.get(), authorized_amount_fen=3000)
    delivered(sim)
    sim.advance(3600)
    sim.tick()
    delivered(sim)
    order.refresh_from_db()

    balance = sim.query_balance(order.order_no)
    fee = sim.query_fee(EV)

    spent = order.energy_wh * 10_500 // 100_000  # 1.05 yuan/kWh, in fen, rounded down
    assert balance["errorCode"] == "200"
    assert balance["data"]["balance"] in (3000 - spent, 3000 - spent - 1)
    model = fee["data"]["elecFeeModelInfo"]
    assert (model["clientElecFeeModelId"], model["elecFeeModelDetail"][0]["elecFee"]) == (
        ev_station.tariff_template.external_id, 65
    )
    assert not InboundMessage.objects.filter(status=InboundStatus.FAILED).exists()


def test_a_start_tomda_refuses_shows_its_chinese_reason_and_fails_the_order(sim, ev_station):
    from chargers.vendor import VendorError

    charger = imported(sim, ev_station, EV)
    sim.fail_next("/api/sys/charger/start", "1423")

    with pytest.raises(VendorError) as refused:
        order_start(connector=charger.connectors.get())

    assert refused.value.code == "1423"
    assert "充电桩离线" in str(refused.value)
    order = Order.objects.get()
    assert (order.status, order.vendor_close_code) == (OrderStatus.START_FAILED, "1423")
