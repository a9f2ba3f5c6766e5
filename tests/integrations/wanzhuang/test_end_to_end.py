"""The whole Wanzhuang loop over real HTTP: our services, admin and client → the simulator → its signed callbacks
→ our endpoint → the inbox worker."""

import datetime as dt

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from backoffice.days import business_day_bounds, business_day_of
from chargers.models import Charger, ChargerTariffPush, ConnectorStatus, OfflineRevenueReading, TariffPushResult, Vendor
from chargers.selectors import offline_revenue_between
from chargers.services import charger_register, charger_sync, charger_tariff_read, tariff_version_push
from integrations.inbox import inbox_drain
from integrations.models import InboundMessage, InboundStatus, Verification
from integrations.wanzhuang import tasks
from integrations.wanzhuang.constants import charge_id_of
from integrations.wanzhuang.simulator import SimDevice
from integrations.wanzhuang.statement import WanzhuangStatementSource
from orders.models import CardMovement, CardMovementKind, CloseReason, LineState, Order, OrderStatus, StatementCategory
from orders.reconciliation.services import statement_build
from orders.services import order_settlement_resend, order_stop
from tariffs.models import VehicleKind
from tariffs.pricing import PowerTier
from tariffs.services import tariff_version_publish
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.helpers import wanzhuang_cloud
from tests.orders.factories import ChargingCardFactory
from tests.stations.factories import StationFactory
from tests.tariffs.builders import ebike_tiers
from tests.tariffs.factories import PowerTierFactory, TariffTemplateFactory, TariffVersionFactory

pytestmark = pytest.mark.django_db(transaction=True)

EBIKE, OTHER = "19285526", "19285527"
# 150 W at 0.40 yuan an hour, 600 W at 0.60: the simulator's ports draw 200 W, so both sides bill 0.60 an hour.
TIERS = (PowerTier(150, 4000, 0), PowerTier(600, 6000, 0))


def delivered(sim):
    """Every callback the simulator queued has been answered, and the inbox worker applied what was stored."""
    sim.drain()
    inbox_drain()


@pytest.fixture
def sim(live_server, settings):
    devices = [SimDevice(EBIKE, device_type=2, added=False), SimDevice(OTHER, device_type=2, added=True)]
    callback_url = f"{live_server.url}/integrations/wanzhuang/callback"
    with wanzhuang_cloud(settings, devices, callback_url=callback_url) as simulator:
        yield simulator


@pytest.fixture
def station():
    """An e-bike station priced by two power tiers (version 1 of its template, in force)."""
    template = TariffTemplateFactory(kind=VehicleKind.EBIKE, min_balance_fen=0)
    TariffVersionFactory(template=template, content=ebike_tiers(TIERS).to_content())
    return StationFactory(kind=VehicleKind.EBIKE, tariff_template=template)


@pytest.fixture
def charger(sim, station):
    """Device 19285526, typed in by an operator, added to our Wanzhuang account and synced."""
    charger = ChargerFactory(station=station, vendor=Vendor.WANZHUANG, serial=EBIKE, kind=VehicleKind.EBIKE,
                             device_type_code="", device_type_name="", online=False)
    charger_register(charger=charger)
    return charger_sync(charger=charger)


@pytest.fixture
def moded(charger):
    """The station's tariff saved on the device as its charge mode."""
    tariff_version_push(version=charger.station.tariff_template.versions.get())
    return charger


def start_from_admin(client, connector, amount_yuan=""):
    url = reverse("admin:orders_order_start", args=[connector.pk])
    response = client.post(url, {"start-strategy": "amount" if amount_yuan else "full", "start-parameter": amount_yuan,
                                 "start-authorized_amount": amount_yuan, "start-driver_id": "", "start": "Start"})
    assert response.status_code in (200, 302), response.content[:500]
    return Order.objects.filter(connector=connector).order_by("-id").first()


def test_a_device_added_to_our_account_is_synced_with_its_ports_and_an_unknown_one_awaits_a_station(sim, charger):
    # Given the operator's charger was added (device/add) and synced (findOne + state)
    assert sim.device(EBIKE).added
    assert (charger.device_type_code, charger.device_type_name, charger.online) == ("2", "电量慢充款", True)
    assert list(charger.connectors.values_list("number", flat=True)) == list(range(1, 11))
    assert set(charger.connectors.values_list("status", flat=True)) == {ConnectorStatus.FREE}

    # When the device list is read
    assert tasks.devices_sync() == 2

    # Then the device on our account that we did not know awaits a station
    other = Charger.objects.get(vendor=Vendor.WANZHUANG, serial=OTHER)
    assert other.station is None
    assert (other.kind, other.connectors.count()) == (VehicleKind.EBIKE, 10)


def test_a_tariff_version_is_saved_as_the_devices_charge_mode_and_read_back_equal(sim, charger):
    version = charger.station.tariff_template.versions.get()

    tariff_version_push(version=version)

    # Wanzhuang took power mode 2 (the device type's power mode for tiers), the prices per hour and the settings
    saved = sim.device(EBIKE).mode
    assert (saved["charge_mode"], saved["power_value"], saved["price_value"]) == ("2", "[150,600]", "[40,60]")
    assert saved["is_not_disturb"] == "0" and saved["not_disturb_start"] == "22:00"
    assert ChargerTariffPush.objects.get(charger=charger).result == TariffPushResult.ACCEPTED
    read = charger_tariff_read(charger=charger)
    assert read.same, read.differences

    # And a device whose mode was changed at Wanzhuang reads back with the fields that differ
    sim.device(EBIKE).mode["price_value"] = "[40,70]"
    assert charger_tariff_read(charger=charger).differences == ("price_value",)


def test_a_session_started_from_the_admin_charges_and_settles_through_the_callbacks(sim, moded, admin_client):
    connector = moded.connectors.get(number=3)

    # When an operator starts a session of 2.00 yuan on port 3
    order = start_from_admin(admin_client, connector, amount_yuan="2.00")
    delivered(sim)

    # Then the port charges under our order, and start_power (signed) moved the order on
    session = sim.session(charge_id_of(order.order_no))
    assert (session.port, session.total_fee) == (3, 200)
    order.refresh_from_db()
    assert order.status == OrderStatus.CHARGING
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.CHARGING
    started = InboundMessage.objects.get(kind="start_power")
    assert (started.status, started.verification) == (InboundStatus.PROCESSED, Verification.PASSED)

    # When it has charged an hour and the operator stops it
    sim.advance(3600)
    order_stop(order=order)
    delivered(sim)

    # Then finish_order settled it: stopped by the server, 200 Wh, our 0.60 yuan beside Wanzhuang's
    order.refresh_from_db()
    assert order.status == OrderStatus.SETTLED
    assert (order.close_reason, order.close_reason_text) == (CloseReason.REMOTE_STOP, "12 服务器下发")
    assert (order.energy_wh, order.charge_seconds) == (200, 3600)
    assert (order.total_fee_fen, order.vendor_total_fen) == (60, 60)
    connector.refresh_from_db()
    assert connector.status == ConnectorStatus.FREE


def test_a_port_that_waits_for_the_driver_refuses_the_start_before_it_is_sent(sim, moded, admin_client):
    sim.set_port_state(EBIKE, 4, 19)  # 充电完成等待断开
    connector = moded.connectors.get(number=4)

    order = start_from_admin(admin_client, connector, amount_yuan="2.00")

    order.refresh_from_db()
    assert order.status == OrderStatus.START_FAILED
    assert "19" in order.close_reason_text and "充电完成等待断开" in order.close_reason_text
    assert not any(path == "/open/charge/start" for _method, path, _params in sim.calls)


def test_a_card_swipe_starts_a_session_and_the_card_pays_it_once(sim, moded):
    card = ChargingCardFactory(number="88000001", balance_fen=1000)

    # When the driver swipes the card on port 2 asking to pay 5.00 yuan
    swipe = sim.swipe_card(EBIKE, 2, "88000001", pay_amount=500)
    inbox_drain()  # the worker applies the swipe; the start goes to Wanzhuang once it commits
    delivered(sim)

    # Then the swipe was accepted and a session of ours charges on port 2, authorised 5.00 yuan of the card
    assert swipe.reply["code"] == 1
    order = Order.objects.get(card=card)
    assert (order.connector.number, order.status, order.authorized_amount_fen) == (2, OrderStatus.CHARGING, 500)
    assert sim.session(charge_id_of(order.order_no)).total_fee == 500

    # When it has charged two hours and ends by itself, and Wanzhuang sends the finish again
    sim.advance(7200)
    sim.finish(charge_id_of(order.order_no), stop_reason=2)
    delivered(sim)
    order.refresh_from_db()
    order_settlement_resend(order=order)  # Wanzhuang sends its finish_order again
    delivered(sim)

    # Then the card paid the session's 1.20 yuan once
    order.refresh_from_db()
    assert (order.status, order.total_fee_fen) == (OrderStatus.SETTLED, 120)
    card.refresh_from_db()
    assert card.balance_fen == 1000 - 120
    assert list(CardMovement.objects.filter(order=order).values_list("kind", "amount_fen")) == [
        (CardMovementKind.SESSION, -120)]


def test_a_swipe_of_a_card_that_cannot_pay_is_refused_with_the_reason(sim, moded):
    ChargingCardFactory(number="88000002", balance_fen=0)

    swipe = sim.swipe_card(EBIKE, 2, "88000002")

    assert swipe.reply["code"] != 1
    assert "88000002" in swipe.reply["message"]
    assert not Order.objects.exists()


def test_a_lost_finish_callback_is_recovered_from_the_callback_log(sim, moded, settings):
    order = start_from_admin_service(moded, number=5)
    delivered(sim)
    sim.lose_finish(charge_id_of(order.order_no))
    sim.advance(1800)
    order_stop(order=order)
    delivered(sim)
    order.refresh_from_db()
    assert order.status == OrderStatus.STOPPING  # the finish never came

    # When the reconciling task runs once the finish is overdue
    settings.WANZHUANG_FINISH_OVERDUE_MINUTES = 0
    assert tasks.finish_callbacks_reconcile() == 1

    # Then the callback log's finish_order settled it, as the callback would have
    order.refresh_from_db()
    assert (order.status, order.close_reason, order.energy_wh) == (OrderStatus.SETTLED, CloseReason.REMOTE_STOP, 100)
    assert order.settlements.count() == 1


def start_from_admin_service(charger, *, number, amount_fen=200):
    from orders.services import order_start

    return order_start(connector=charger.connectors.get(number=number), strategy="amount", strategy_param=amount_fen,
                       authorized_amount_fen=amount_fen)


def test_offline_revenue_totals_give_the_days_increments_across_a_reset(sim, charger):
    # Within today's business day, whatever the hour: from an hour ago, or from just after midnight
    day_start, _day_end = business_day_bounds(business_day_of(timezone.now()))
    base = max(int(timezone.now().timestamp()) - 3600, int(day_start.timestamp()) + 60)

    for seconds, coin, card in ((0, 1000, 500), (600, 1500, 700), (1200, 200, 100), (300, 1400, 600)):
        record = sim.send_offline_profit(EBIKE, coin, card, time=base + seconds)
        assert record.reply["code"] == 1
    inbox_drain()

    # The first is the baseline; +500/+200; a reset is a new baseline adding nothing (never its whole new totals);
    # the late one (older) is kept, not counted
    readings = OfflineRevenueReading.objects.filter(charger=charger).order_by("device_time", "id")
    assert [(r.coin_fen, r.card_fen, r.counted, r.reset) for r in readings] == [
        (0, 0, True, False), (0, 0, False, False), (500, 200, True, False), (0, 0, True, True)]
    start, end = business_day_bounds(business_day_of(timezone.now()))
    (day,) = offline_revenue_between(vendor=Vendor.WANZHUANG, start=start, end=end)
    assert (day["coin_fen"], day["card_fen"], day["readings"], day["resets"]) == (500, 200, 3, 1)


def test_the_days_statement_repairs_a_lost_finish_from_the_log_and_reports_an_amount_difference(sim, moded):
    # Given the device's own takings reported today (before the clock moves on: near midnight, an hour or two later
    # is tomorrow's business day)
    some_offline = sim.send_offline_profit(EBIKE, 100, 0)
    assert some_offline.reply["code"] == 1
    # and one session whose finish callback was lost
    lost = start_from_admin_service(moded, number=6)
    delivered(sim)
    sim.lose_finish(charge_id_of(lost.order_no))
    sim.advance(3600)
    order_stop(order=lost)
    delivered(sim)
    # and one billed by Wanzhuang at the device's saved prices after we raised ours without sending them
    template = moded.station.tariff_template
    template.details.all().delete()
    for position, (upper, price) in enumerate(((150, 4000), (600, 9000)), start=1):
        PowerTierFactory(template=template, position=position, power_upper_w=upper, electricity_price_e4=price)
    tariff_version_publish(template=template, now=timezone.now() - dt.timedelta(minutes=1), note="上调")
    dearer = start_from_admin_service(moded, number=7)
    delivered(sim)
    sim.advance(3600)
    order_stop(order=dearer)
    delivered(sim)
    inbox_drain()

    # When the day's Wanzhuang statement is built
    statement = statement_build(source=WanzhuangStatementSource(), day=business_day_of(timezone.now()))

    # Then the lost finish was fetched from the callback log first, and compares equal
    lost.refresh_from_db()
    assert (statement.repaired, lost.status) == (1, OrderStatus.SETTLED)
    lines = {(line.category, line.order_id): line for line in statement.lines.all()}
    assert not [line for (category, order_id), line in lines.items() if order_id == lost.pk]
    # and the dearer session differs in amount, with both figures: ours 0.90, Wanzhuang's 0.60
    line = lines[(StatementCategory.PRICE, dearer.pk)]
    assert line.state == LineState.OPEN
    assert (line.ours["amount_fen"], line.theirs["amount_fen"]) == (90, 60)
    assert (statement.our_orders, statement.their_orders) == (2, 2)
    # and the device's own revenue of the day is on the statement's summary
    assert [row[0] for row in statement.summary["rows"]] == [EBIKE]


def test_the_port_poll_brings_a_quiet_session_up_to_date_and_fails_a_start_the_port_never_took(sim, moded, settings):
    running = start_from_admin_service(moded, number=8)
    delivered(sim)
    sim.advance(1800)
    # A start whose request was lost on the way (a transport fault): its outcome unknown, the order waits
    real_request = requests.Session.request

    def lose_the_start(session, method, url, **kwargs):
        if url.endswith("/open/charge/start"):
            raise requests.ConnectTimeout("connect timeout")
        return real_request(session, method, url, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "request", lose_the_start)
        lost = start_from_admin_service(moded, number=9)
    assert lost.status == OrderStatus.STARTING
    # and a session on a port Wanzhuang no longer lists (the device was swapped for a smaller one)
    ConnectorFactory(charger=moded, number=11)
    gone = Order.objects.create(order_no="20261202000000000011", station=moded.station, charger=moded,
                                connector=moded.connectors.get(number=11), status=OrderStatus.STARTING,
                                started_at=timezone.now())
    settings.WANZHUANG_POLL_AFTER_MINUTES = 0
    Order.objects.update(last_data_at=timezone.now() - dt.timedelta(minutes=1))

    # The first asked about (the oldest) does not stop the others being asked
    Order.objects.filter(pk=gone.pk).update(last_data_at=timezone.now() - dt.timedelta(minutes=2))
    assert tasks.sessions_poll() == 3
    gone.refresh_from_db()
    assert (gone.status, gone.vendor_close_code) == (OrderStatus.START_FAILED, "1006")

    running.refresh_from_db()
    assert (running.status, running.energy_wh, running.charge_seconds) == (OrderStatus.CHARGING, 100, 1800)
    lost.refresh_from_db()
    assert (lost.status, lost.vendor_close_code) == (OrderStatus.START_FAILED, "1006")
