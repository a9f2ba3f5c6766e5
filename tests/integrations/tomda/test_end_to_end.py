"""The whole Tomda loop over real HTTP: our services and client → the simulator → its pushes → our endpoint."""

import pytest

from chargers.models import Charger, ChargerTariffPush, ConnectorStatus, TariffPushResult, Vendor
from chargers.services import charger_import_from_vendor, station_push, tariff_version_push
from chargers.vendor import ChargeStrategy
from integrations.inbox import inbox_drain
from integrations.models import InboundMessage, InboundStatus
from integrations.tomda.simulator import SimCharger
from orders.models import CloseReason, Order, OrderStatus
from orders.services import order_start, order_stop
from tariffs.models import VehicleKind
from tests.helpers import tomda_cloud
from tests.stations.factories import StationFactory
from tests.tariffs.factories import PowerTierFactory, TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db(transaction=True)

EV, EBIKE = "1012300001", "1012300002"


@pytest.fixture(autouse=True)
def english():
    """Our own messages read in English here; Tomda is answered in Chinese whatever the language."""
    from django.utils import translation

    with translation.override("en"):
        yield


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
    # Before the import, the chargers' first questions (their tariff) came from chargers awaiting a station.
    assert InboundMessage.objects.filter(kind="QUERY_CHARGER_ELEC_FEE", status=InboundStatus.REJECTED).exists()


# --- chargers Tomda tells us of before an operator places them --------------------------------------------


def test_a_charger_tomda_reports_first_awaits_a_station_keeps_its_events_and_charges_once_assigned(
    sim, ev_station, admin_client
):
    from django.core.exceptions import ValidationError
    from django.urls import reverse

    # Given the simulator's chargers came online and reported themselves: Tomda was answered 200
    assert all(record.ok for record in sim.pushed("DEVICE_INFO"))
    ev = Charger.objects.get(serial=EV)
    assert ev.station is None
    assert (ev.kind, ev.rated_power_w, list(ev.connectors.values_list("number", flat=True))) == (
        VehicleKind.EV, 7000, [1]
    )
    # and a fault and its recovery reached us while it waited: both kept, and applied to the connector
    sim.advance(60)
    sim.fault(EV, 1)
    delivered(sim)
    assert ev.connectors.get().status == ConnectorStatus.FAULT
    sim.advance(60)
    sim.recover(EV, 1)
    delivered(sim)
    assert ev.connectors.get().status == ConnectorStatus.FREE
    assert ev.events.count() == 2

    # When a session is asked for before the charger has a station, nothing is sent
    with pytest.raises(ValidationError, match="awaits a station"):
        order_start(connector=ev.connectors.get())
    assert not [call for call in sim.calls if call[1] == "/api/sys/charger/start"]
    # and the charger's question for its tariff is refused, saying why
    assert "尚未分配电站" in sim.query_fee(EV)["errorDesc"]

    # When the operator assigns it through the import page
    response = admin_client.post(
        f"{reverse('admin:chargers_charger_import')}?vendor=tomda", {"serials": [EV], "station": ev_station.pk}
    )
    assert response.status_code == 302

    # Then it is the same charger, with its connector and its events, in the station, and it charges
    ev = Charger.objects.get(serial=EV)
    assert (ev.station, ev.events.count()) == (ev_station, 2)
    order = order_start(connector=ev.connectors.get())
    delivered(sim)
    order.refresh_from_db()
    assert (order.status, order.station) == (OrderStatus.CHARGING, ev_station)
    assert sim.sessions[order.order_no].status == "CHARGE"


# --- sessions: balances, progress answers, bookings, strategies, readings -----------------------------------


def billed_by_us(sim, serial):
    """The pile holds no tariff of its own, so it asks us for the driver's balance while it charges."""
    with sim.lock:
        sim.chargers[serial].fee_model = None


def test_a_session_with_no_authorised_amount_is_never_stopped_for_balance(sim, ev_station):
    charger = imported(sim, ev_station, EV)
    billed_by_us(sim, EV)
    order = order_start(connector=charger.connectors.get())
    delivered(sim)

    for _round in range(6):
        sim.advance(1800)
        sim.tick()
        delivered(sim)

    order.refresh_from_db()
    assert sim.sessions[order.order_no].status == "CHARGE"
    assert order.status == OrderStatus.CHARGING
    answers = [record.reply["data"]["balance"] for record in sim.pushed("QUERY_ORDER_BALANCE_INFO")]
    assert answers and set(answers) == {9_999_999}


def test_a_session_with_an_authorised_amount_stops_when_it_is_spent(sim, ev_station):
    charger = imported(sim, ev_station, EV)
    billed_by_us(sim, EV)
    # 1.05 yuan per kWh at 7 kW: 2.00 yuan lasts a little over 16 minutes
    order = order_start(connector=charger.connectors.get(), authorized_amount_fen=200)
    delivered(sim)

    for _round in range(10):
        sim.advance(300)
        sim.tick()
        delivered(sim)

    order.refresh_from_db()
    answers = [record.reply["data"]["balance"] for record in sim.pushed("QUERY_ORDER_BALANCE_INFO")]
    # The amount itself while nothing is priced yet, then what is left of it, down to 0, never below
    assert (answers[0], answers[-1]) == (200, 0)
    assert all(a >= b for a, b in zip(answers, answers[1:], strict=False)) and len(set(answers)) > 2
    assert (order.status, order.close_reason, order.vendor_close_code) == (
        OrderStatus.SETTLED, CloseReason.INSUFFICIENT_BALANCE, "EBIKE_DEAUTHORIZED"
    )
    assert order.total_fee_fen >= 200


def lose_the_settlement(sim):
    """The simulator's ORDER_DATA reached nobody: its stored row is gone before the worker applies it.
    Returns its content, to send again later."""
    sim.drain()
    [record] = sim.pushed("ORDER_DATA")
    InboundMessage.objects.filter(kind="ORDER_DATA").delete()
    inbox_drain()
    return record.content


def test_a_progress_answer_ends_a_session_but_only_tomdas_settlement_settles_it(sim, ev_station, settings):
    from integrations.tomda.tasks import sessions_poll

    charger = imported(sim, ev_station, EV)
    order = order_start(connector=charger.connectors.get())
    delivered(sim)
    sim.advance(1200)
    sim.finish(order.order_no, "EBIKE_SOCLIMITREACHED")
    content = lose_the_settlement(sim)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CHARGING)  # as if the FINISH reading was lost too

    settings.TOMDA_POLL_AFTER_MINUTES = 0
    assert sessions_poll() == 1

    order.refresh_from_db()
    assert (order.status, order.energy_wh) == (OrderStatus.FINISHED, sim.sessions[order.order_no].energy_wh)
    assert not order.settlements.exists()

    sim.push("ORDER_DATA", content)
    inbox_drain()

    order.refresh_from_db()
    assert (order.status, order.settled_from, order.close_reason, order.vendor_close_code) == (
        OrderStatus.SETTLED, "vendor", CloseReason.FULL, "EBIKE_SOCLIMITREACHED"
    )


def test_a_late_settlement_completes_an_order_the_stuck_check_had_to_close_and_both_are_kept(
    sim, ev_station, settings
):
    from integrations.tomda.tasks import sessions_stuck_check

    charger = imported(sim, ev_station, EV)
    station_push(station=ev_station)  # the pile bills too, so its bill can be told from the progress answer's
    order = order_start(connector=charger.connectors.get())
    delivered(sim)
    sim.advance(1800)
    sim.finish(order.order_no, "EBIKE_EVDISCONNECTED")
    content = lose_the_settlement(sim)

    settings.TOMDA_STUCK_AFTER_MINUTES = 0
    assert sessions_stuck_check() == 1

    order.refresh_from_db()
    assert (order.status, order.settled_from, order.close_reason) == (OrderStatus.SETTLED, "progress", "other")

    reply = sim.push("ORDER_DATA", content)
    inbox_drain()

    assert reply["errorCode"] == "200"
    order.refresh_from_db()
    vendor = sim.sessions[order.order_no]
    assert (order.settled_from, order.close_reason, order.vendor_close_code) == (
        "vendor", CloseReason.UNPLUGGED, "EBIKE_EVDISCONNECTED"
    )
    assert order.vendor_total_fen == vendor.cost_fen > 0
    assert list(order.settlements.values_list("source", "vendor_close_code")) == [
        ("progress", ""), ("vendor", "EBIKE_EVDISCONNECTED")
    ]


def test_a_booking_tomda_closes_by_itself_is_cancelled_by_the_poll(sim, ev_station, settings):
    from integrations.tomda.tasks import sessions_poll
    from orders.services import order_reserve

    charger = imported(sim, ev_station, EV)
    order = order_reserve(connector=charger.connectors.get())
    # A single-gun charger is reserved without a connector number (§4.5.1); the simulator refuses one.
    [(_method, _path, params)] = [call for call in sim.calls if call[1] == "/api/sys/charger/order"]
    assert "connectorId" not in params
    assert sim.sessions[order.order_no].status == "BOOKED"

    sim.advance(900)
    sim.expire_booking(order.order_no)
    delivered(sim)
    settings.TOMDA_POLL_AFTER_MINUTES = 0
    sessions_poll()

    order.refresh_from_db()
    assert (order.status, order.vendor_status) == (OrderStatus.CANCELLED, "CLOSED")
    assert charger.connectors.get().status == ConnectorStatus.FREE


@pytest.mark.parametrize(
    ("serial", "kind", "strategy", "param"),
    [
        (EV, VehicleKind.EV, ChargeStrategy.TIME, 60),
        (EV, VehicleKind.EV, ChargeStrategy.AMOUNT, 500),
        (EBIKE, VehicleKind.EBIKE, ChargeStrategy.ENERGY, 1000),
    ],
)
def test_a_strategy_tomda_refuses_for_the_kind_of_charger_is_refused_before_calling(sim, serial, kind, strategy,
                                                                                     param):
    from django.core.exceptions import ValidationError

    station = StationFactory(kind=kind, tariff_template=None)
    charger = imported(sim, station, serial)

    with pytest.raises(ValidationError, match="take only these strategies"):
        order_start(connector=charger.connectors.first(), strategy=strategy, strategy_param=param)

    assert not Order.objects.exists()
    assert not [call for call in sim.calls if call[1] == "/api/sys/charger/start"]


def test_a_reading_of_a_session_not_ours_leaves_the_other_sockets_readings_applied(sim):
    ebike_station = StationFactory(kind=VehicleKind.EBIKE, tariff_template=None)
    charger = imported(sim, ebike_station, EBIKE)
    ours = order_start(connector=charger.connectors.get(number=1), strategy=ChargeStrategy.FULL)
    # Another platform started the second socket under its own order number
    token = sim.handle_api("GET", "/api/sys/token/get", {"apiId": "sim-id", "apiKey": "sim-key"})["data"]["token"]
    answer = sim.handle_api("POST", "/api/sys/charger/start", {
        "chargerType": "2", "serialNum": EBIKE, "connectorId": "2", "chargeStrategy": "4",
        "chargeStrategyParam": "0", "clientOrderId": "NOT-OURS-1", "token": token,
    })
    assert answer["errorCode"] == "200"
    delivered(sim)

    sim.advance(600)
    sim.tick()
    delivered(sim)

    record = [p for p in sim.pushed("WORK_DATA") if len(p.content["workDataInfo"]) == 2][-1]
    assert record.ok  # answered success, so the cloud sends our reading no second time
    assert [item["clientOrderId"] for item in record.reply["data"]["refused"]] == ["NOT-OURS-1"]
    ours.refresh_from_db()
    assert ours.energy_wh == sim.sessions[ours.order_no].energy_wh > 0


def test_a_station_without_coordinates_is_refused_before_tomda_is_called(sim):
    from django.core.exceptions import ValidationError

    station = StationFactory(latitude=None, longitude=None, tariff_template=TariffVersionFactory().template)
    imported(sim, station, EV)

    with pytest.raises(ValidationError, match="latitude and longitude"):
        station_push(station=station)

    assert not [call for call in sim.calls if call[1] == "/api/sys/station/sync"]


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


def test_a_tariff_sent_by_serial_to_a_charger_awaiting_a_station_is_refused_before_tomda_is_called(sim):
    from django.core.exceptions import ValidationError

    from integrations.tomda.adapter import TomdaAdapter

    assert Charger.objects.get(serial=EV).station is None  # reported by the simulator, not yet assigned
    version = TariffVersionFactory()

    with pytest.raises(ValidationError, match="awaits a station"):
        TomdaAdapter().tariff_push(version=version, serials=[EV])

    assert not [call for call in sim.calls if call[1] == "/api/sys/charger/fee"]
