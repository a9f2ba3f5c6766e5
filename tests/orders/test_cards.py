"""Charging cards: what a swipe may spend, a session authorised against the balance less what live sessions hold,
its cost taken once at settlement (and only the difference at a correction), and balances moved by hand."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import override

from chargers.vendor import ChargeStrategy, VendorAdapter, VendorError, registry
from orders.models import (
    CardMovement,
    CardMovementKind,
    ChargingCard,
    CloseReason,
    ConflictKind,
    Order,
    OrderConflict,
    OrderStatus,
)
from orders.services import Settlement, card_balance_change, card_refusal, order_settle, order_start
from orders.services.cards import CARD_MOVEMENT_MAX_FEN, card_held_fen, card_session_due_fen
from orders.services.corrections import order_correct
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

VENDOR = "cardtest"  # a vendor of this test's own, behind a fake adapter
START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)


class FakeVendor(VendorAdapter):
    code = VENDOR

    def __init__(self):
        self.started = []
        self.refuse = None

    def session_start(self, *, command):
        if self.refuse:
            raise self.refuse
        self.started.append(command)


@pytest.fixture
def vendor(monkeypatch):
    fake = FakeVendor()
    monkeypatch.setitem(registry._factories, VENDOR, lambda: fake)
    return fake


@pytest.fixture
def charger(db):
    """A charger of three connectors at a station with the flat 0.65 + 0.40 yuan per kWh tariff."""
    version = TariffVersionFactory()
    station = StationFactory(tariff_template=version.template)
    charger = ChargerFactory(station=station, vendor=VENDOR, serial="CT0001")
    for number in (1, 2, 3):
        ConnectorFactory(charger=charger, number=number)
    return charger


def connector(charger, number=1):
    return charger.connectors.get(number=number)


@pytest.fixture
def card(db):
    return ChargingCard.objects.create(number="C0001", holder="张三", balance_fen=5000)


def card_order(charger, card, *, number=1, status=OrderStatus.CHARGING, authorized=5000, **fields):
    """A session of `card` on a connector, as order_start leaves it, priced with the station's tariff."""
    values = {"connector": connector(charger, number), "partner": None, "partner_order_no": "", "status": status,
              "card": card, "authorized_amount_fen": authorized, "started_at": START, "ended_at": None,
              "energy_wh": 0, "charge_seconds": 0, "park_seconds": 0, "electricity_fee_fen": 0, "service_fee_fen": 0,
              "total_fee_fen": 0, "close_reason": "",
              "tariff_version": charger.station.tariff_template.versions.get()}
    values.update(fields)
    return OrderFactory(**values)


def settlement(*, energy_wh=10_000, hours=2, vendor_total_fen=990):
    return Settlement(started_at=START, ended_at=START + dt.timedelta(hours=hours), energy_wh=energy_wh,
                      charge_seconds=hours * 3600, vendor_total_fen=vendor_total_fen, close_reason=CloseReason.FULL,
                      vendor_close_code="2", close_reason_text="2 充电完成")


def movements(card):
    return list(CardMovement.objects.filter(card=card).order_by("id").values_list("kind", "amount_fen",
                                                                                "balance_after_fen"))


def refusal_en(card, number="C0001", amount_fen=0):
    with override("en"):
        return card_refusal(card=card, number=number, amount_fen=amount_fen)


# --- card_refusal --------------------------------------------------------------------------------------


def test_a_card_we_do_not_have_is_refused():
    assert refusal_en(None, "C9999") == "Card C9999 is not one of ours."


def test_a_disabled_card_is_refused(card):
    card.enabled = False

    assert refusal_en(card) == "Card C0001 is disabled."


def test_a_card_without_balance_is_refused(card):
    card.balance_fen = 0

    assert refusal_en(card) == "Card C0001 has no balance left (0.00 yuan, 0.00 yuan held by live sessions)."


def test_a_card_whose_balance_live_sessions_hold_is_refused(charger, card):
    card_order(charger, card, number=1, authorized=3000)
    card_order(charger, card, number=2, status=OrderStatus.STARTING, authorized=2000)

    assert card_held_fen(card=card) == 5000
    assert refusal_en(card) == "Card C0001 has no balance left (50.00 yuan, 50.00 yuan held by live sessions)."


def test_a_swipe_asking_more_than_is_available_is_refused(charger, card):
    card_order(charger, card, authorized=3000)

    assert refusal_en(card, amount_fen=2001) == "Card C0001 can pay 20.00 yuan; the swipe asks for 20.01 yuan."
    assert refusal_en(card, amount_fen=2000) is None
    assert refusal_en(card, amount_fen=0) is None


@pytest.mark.parametrize("status", [OrderStatus.SETTLED, OrderStatus.START_FAILED, OrderStatus.CANCELLED])
def test_ended_sessions_hold_nothing(charger, card, status):
    card_order(charger, card, status=status, authorized=5000)

    assert card_held_fen(card=card) == 0
    assert refusal_en(card, amount_fen=5000) is None


@pytest.mark.parametrize("status", [OrderStatus.STARTING, OrderStatus.CHARGING, OrderStatus.STOPPING,
                                    OrderStatus.FINISHED])
def test_a_session_holds_its_authorisation_until_it_is_paid(charger, card, status):
    card_order(charger, card, status=status, authorized=1500)

    assert card_held_fen(card=card) == 1500


def test_another_cards_sessions_hold_nothing_of_this_one(charger, card):
    other = ChargingCard.objects.create(number="C0002", balance_fen=5000)
    card_order(charger, other, authorized=5000)

    assert refusal_en(card, amount_fen=5000) is None


def test_card_refusal_speaks_the_suites_language_naming_the_card(card):
    card.enabled = False

    assert "C0001" in card_refusal(card=card, number="C0001")


# --- order_start with a card ---------------------------------------------------------------------------


def test_a_card_start_authorises_the_whole_available_balance(charger, card, vendor):
    order = order_start(connector=connector(charger), card=card, now=NOW)

    assert (order.status, order.card, order.authorized_amount_fen) == (OrderStatus.STARTING, card, 5000)
    [command] = vendor.started
    assert (command.order_no, command.balance_fen) == (order.order_no, 5000)
    card.refresh_from_db()
    assert card.balance_fen == 5000  # held, not taken
    assert movements(card) == []


def test_a_card_start_authorises_the_balance_less_what_live_sessions_hold(charger, card, vendor):
    card_order(charger, card, number=1, authorized=1800)

    order = order_start(connector=connector(charger, 2), card=card, strategy=ChargeStrategy.AMOUNT, now=NOW)

    assert order.authorized_amount_fen == 3200
    assert (order.strategy, order.strategy_param) == (ChargeStrategy.AMOUNT, 3200)
    assert vendor.started[0].strategy_param == 3200


def test_a_card_start_for_an_amount_authorises_that_amount(charger, card, vendor):
    order = order_start(connector=connector(charger), card=card, authorized_amount_fen=1200,
                        strategy=ChargeStrategy.AMOUNT, now=NOW)

    assert (order.authorized_amount_fen, order.strategy_param) == (1200, 1200)


def test_a_card_start_is_refused_when_nothing_is_left_and_creates_nothing(charger, card, vendor):
    card_order(charger, card, number=1, authorized=5000)

    with override("en"), pytest.raises(ValidationError) as caught:
        order_start(connector=connector(charger, 2), card=card, now=NOW)

    assert caught.value.code == "card_refused"
    assert "no balance left" in caught.value.messages[0]
    assert Order.objects.count() == 1
    assert vendor.started == []


def test_a_card_start_asking_more_than_is_available_is_refused(charger, card, vendor):
    card_order(charger, card, number=1, authorized=4000)

    with pytest.raises(ValidationError) as caught:
        order_start(connector=connector(charger, 2), card=card, authorized_amount_fen=1001, now=NOW)

    assert caught.value.code == "card_refused"
    assert Order.objects.count() == 1


def test_a_disabled_card_starts_nothing(charger, card, vendor):
    ChargingCard.objects.filter(pk=card.pk).update(enabled=False)

    with pytest.raises(ValidationError):
        order_start(connector=connector(charger), card=card, now=NOW)  # the stale object says enabled

    assert not Order.objects.exists()


def test_two_card_sessions_cannot_overspend_one_balance(charger, card, vendor):
    first = order_start(connector=connector(charger, 1), card=card, authorized_amount_fen=3000, now=NOW)
    second = order_start(connector=connector(charger, 2), card=card, now=NOW)

    with pytest.raises(ValidationError):
        order_start(connector=connector(charger, 3), card=card, authorized_amount_fen=1, now=NOW)

    assert (first.authorized_amount_fen, second.authorized_amount_fen) == (3000, 2000)
    assert card_held_fen(card=card) == 5000


def test_a_start_the_vendor_refuses_releases_its_hold(charger, card, vendor):
    vendor.refuse = VendorError("port busy", vendor=VENDOR, code="1005")

    with pytest.raises(VendorError):
        order_start(connector=connector(charger), card=card, now=NOW)

    assert Order.objects.get().status == OrderStatus.START_FAILED
    assert card_held_fen(card=card) == 0


def test_a_card_cannot_start_on_a_booked_connector(charger, card, vendor):
    OrderFactory(connector=connector(charger), partner=None, partner_order_no="", status=OrderStatus.BOOKED,
                 started_at=None, ended_at=None)

    with override("en"), pytest.raises(ValidationError, match="booked"):
        order_start(connector=connector(charger), card=card, now=NOW)

    assert card_held_fen(card=card) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="proves the card's row lock across connections")
@pytest.mark.django_db(transaction=True)
def test_two_swipes_at_once_cannot_both_spend_one_balance(charger, card, vendor):
    barrier = threading.Barrier(2)
    results = []

    def swipe(number):
        try:
            barrier.wait(timeout=10)
            results.append(order_start(connector=connector(charger, number), card=card, authorized_amount_fen=3000,
                                       now=NOW).authorized_amount_fen)
        except ValidationError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=swipe, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results, key=str) == [3000, "card_refused"]
    assert card_held_fen(card=card) == 3000


# --- settlement ----------------------------------------------------------------------------------------


def test_settlement_takes_the_sessions_cost_once(charger, card):
    order = card_order(charger, card)

    order_settle(order=order, settlement=settlement(), now=NOW)

    order.refresh_from_db()
    assert order.total_fee_fen == 1050  # ours: 10 kWh at 0.65 + 0.40 yuan, not the vendor's 990
    card.refresh_from_db()
    assert card.balance_fen == 3950
    movement = CardMovement.objects.get()
    assert (movement.kind, movement.amount_fen, movement.balance_after_fen, movement.order, movement.at) == (
        CardMovementKind.SESSION, -1050, 3950, order, NOW)
    assert card_held_fen(card=card) == 0


def test_a_repeated_settlement_takes_nothing_more(charger, card):
    order = card_order(charger, card)
    order_settle(order=order, settlement=settlement(), now=NOW)

    order_settle(order=order, settlement=settlement(), now=NOW + dt.timedelta(minutes=5))
    order_settle(order=order, settlement=settlement(energy_wh=20_000, vendor_total_fen=2100),
                 now=NOW + dt.timedelta(minutes=9))  # a different one: kept beside, not applied

    card.refresh_from_db()
    assert card.balance_fen == 3950
    assert movements(card) == [("session", -1050, 3950)]


def test_the_cost_is_capped_at_the_authorised_amount(charger, card):
    order = card_order(charger, card, authorized=800)

    order_settle(order=order, settlement=settlement(), now=NOW)

    assert movements(card) == [("session", -800, 4200)]


def test_the_vendors_bill_is_taken_when_we_could_not_price_the_session(charger, card):
    order = card_order(charger, card, tariff_version=None)

    order_settle(order=order, settlement=settlement(vendor_total_fen=990), now=NOW)

    order.refresh_from_db()
    assert order.price_lines is None
    assert movements(card) == [("session", -990, 4010)]


def test_the_vendors_bill_is_taken_when_our_engine_refuses_the_session(charger, card, settings):
    order = card_order(charger, card)

    order_settle(order=order, settlement=settlement(hours=24 * 40, vendor_total_fen=4321), now=NOW)

    order.refresh_from_db()
    assert order.price_lines is None and order.conflicts.exists()
    assert movements(card) == [("session", -4321, 679)]


def test_a_session_without_our_price_or_a_bill_takes_nothing_but_is_recorded_paid(charger, card):
    order = card_order(charger, card, tariff_version=None)

    order_settle(order=order, settlement=settlement(vendor_total_fen=None), now=NOW)

    assert movements(card) == [("session", 0, 5000)]


def test_a_settlement_the_card_cannot_pay_takes_what_is_left_and_records_a_card_short_conflict(charger, card):
    order = card_order(charger, card)
    ChargingCard.objects.filter(pk=card.pk).update(balance_fen=300)  # less than the session's 10.50

    with override("en"):
        order_settle(order=order, settlement=settlement(), now=NOW)

    assert movements(card) == [("session", -300, 0)]
    assert CardMovement.objects.get().note == "7.50 yuan could not be taken: the balance was too low."
    [conflict] = OrderConflict.objects.filter(order=order, kind=ConflictKind.CARD_SHORT)
    assert conflict.figures == {"card": "C0001", "due_fen": 1050, "paid_before_fen": 0, "taken_fen": 300,
                                "short_fen": 750}
    assert conflict.recorded_at == NOW


def test_a_settlement_the_card_can_pay_records_no_card_short_conflict(charger, card):
    order = card_order(charger, card)

    order_settle(order=order, settlement=settlement(), now=NOW)

    assert movements(card) == [("session", -1050, 3950)]
    assert CardMovement.objects.get().note == ""
    assert not OrderConflict.objects.filter(kind=ConflictKind.CARD_SHORT).exists()


def test_a_session_without_a_card_moves_no_balance(charger, card):
    order = card_order(charger, None, authorized=None)

    order_settle(order=order, settlement=settlement(), now=NOW)

    assert not CardMovement.objects.exists()


def test_card_session_due_fen_is_ours_or_the_vendors_capped(charger, card):
    order = card_order(charger, card, authorized=1000, electricity_fee_fen=700, service_fee_fen=500, total_fee_fen=1200,
                       price_lines=[], vendor_total_fen=900)
    assert card_session_due_fen(order) == 1000
    order.price_lines = None
    assert card_session_due_fen(order) == 900
    order.authorized_amount_fen = None
    order.price_lines = []
    assert card_session_due_fen(order) == 1200


# --- corrections ---------------------------------------------------------------------------------------


def settled(charger, card, **fields):
    order = card_order(charger, card, **fields)
    return order_settle(order=order, settlement=settlement(), now=NOW)


def test_a_correction_moves_only_the_difference(charger, card):
    order = settled(charger, card)

    order_correct(order=order, energy_wh=8000, electricity_fee_fen=520, service_fee_fen=320)

    card.refresh_from_db()
    assert card.balance_fen == 5000 - 840
    assert movements(card) == [("session", -1050, 3950), ("session_correction", 210, 4160)]
    correction = CardMovement.objects.get(kind=CardMovementKind.SESSION_CORRECTION)
    assert correction.order == order


def test_a_correction_upwards_takes_the_difference(charger, card):
    order = settled(charger, card)

    order_correct(order=order, energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)

    assert movements(card) == [("session", -1050, 3950), ("session_correction", -210, 3740)]


def test_the_same_correction_again_moves_nothing(charger, card):
    order = settled(charger, card)
    order_correct(order=order, energy_wh=8000, electricity_fee_fen=520, service_fee_fen=320)

    order_correct(order=order, energy_wh=8000, electricity_fee_fen=520, service_fee_fen=320)

    assert len(movements(card)) == 2


def test_a_correction_back_to_the_settled_price_returns_the_difference(charger, card):
    order = settled(charger, card)
    order_correct(order=order, energy_wh=8000, electricity_fee_fen=520, service_fee_fen=320)

    order_correct(order=order, energy_wh=10_000, electricity_fee_fen=650, service_fee_fen=400)

    assert movements(card) == [("session", -1050, 3950), ("session_correction", 210, 4160),
                               ("session_correction", -210, 3950)]


def test_a_correction_is_capped_at_the_authorised_amount(charger, card):
    order = settled(charger, card, authorized=1200)

    order_correct(order=order, energy_wh=20_000, electricity_fee_fen=1300, service_fee_fen=800)

    assert movements(card) == [("session", -1050, 3950), ("session_correction", -150, 3800)]


def test_a_correction_above_the_balance_takes_what_is_left_and_says_so(charger, card):
    order = settled(charger, card)
    card_balance_change(card=card, amount_fen=-3900, kind=CardMovementKind.ADJUSTMENT, note="退卡", by_name="ops")

    with override("en"):
        order_correct(order=order, energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)

    assert movements(card)[-1] == ("session_correction", -50, 0)
    note = CardMovement.objects.filter(kind=CardMovementKind.SESSION_CORRECTION).get().note
    assert note == "1.60 yuan could not be taken: the balance was too low."
    # Finance has the figures: 12.60 due, 10.50 paid before, 0.50 taken now, 1.60 short
    [conflict] = OrderConflict.objects.filter(order=order, kind=ConflictKind.CARD_SHORT)
    assert conflict.figures == {"card": "C0001", "due_fen": 1260, "paid_before_fen": 1050, "taken_fen": 50,
                                "short_fen": 160}


def test_a_correction_of_a_session_not_yet_settled_moves_nothing(charger, card):
    order = card_order(charger, card, status=OrderStatus.FINISHED)

    order_correct(order=order, energy_wh=8000, electricity_fee_fen=520, service_fee_fen=320)

    assert not CardMovement.objects.exists()


def test_a_correction_of_a_session_we_could_not_price_moves_the_difference_too(charger, card):
    order = settled(charger, card, tariff_version=None)  # the card paid the vendor's 990
    assert movements(card) == [("session", -990, 4010)]

    order_correct(order=order, energy_wh=10_000, electricity_fee_fen=500, service_fee_fen=300)

    order.refresh_from_db()
    assert order.total_fee_fen == 800
    assert movements(card)[-1] == ("session_correction", 190, 4200)


# --- balance changes by hand ---------------------------------------------------------------------------


def test_a_top_up_and_an_adjustment_are_movements_with_the_balance_after(card):
    top_up = card_balance_change(card=card, amount_fen=2000, kind=CardMovementKind.TOP_UP, note="现金充值",
                                 by_name="operator", now=NOW)
    card_balance_change(card=card, amount_fen=-1500, kind=CardMovementKind.ADJUSTMENT, note="误充退回",
                        by_name="finance", now=NOW + dt.timedelta(minutes=1))

    card.refresh_from_db()
    assert card.balance_fen == 5500
    assert movements(card) == [("top_up", 2000, 7000), ("adjustment", -1500, 5500)]
    assert (top_up.note, top_up.by_name, top_up.at, top_up.order) == ("现金充值", "operator", NOW, None)


def test_an_adjustment_may_take_the_balance_to_zero(card):
    card_balance_change(card=card, amount_fen=-5000, kind=CardMovementKind.ADJUSTMENT, note="注销", by_name="ops")

    card.refresh_from_db()
    assert card.balance_fen == 0


def test_an_adjustment_may_not_take_the_balance_below_what_live_sessions_hold(charger, card):
    card_order(charger, card, number=1, authorized=1800)
    card_order(charger, card, number=2, status=OrderStatus.STARTING, authorized=1200)

    with override("en"), pytest.raises(ValidationError) as caught:
        card_balance_change(card=card, amount_fen=-2001, kind=CardMovementKind.ADJUSTMENT, note="退款",
                            by_name="ops")

    assert caught.value.code == "invalid"
    assert caught.value.messages == [
        "The balance is 50.00 yuan, of which live sessions hold 30.00 yuan: it cannot go below what they hold."]
    card.refresh_from_db()
    assert card.balance_fen == 5000 and not CardMovement.objects.exists()
    # Down to what they hold is allowed: the sessions can still be paid
    card_balance_change(card=card, amount_fen=-2000, kind=CardMovementKind.ADJUSTMENT, note="退款", by_name="ops")
    card.refresh_from_db()
    assert (card.balance_fen, card_held_fen(card=card)) == (3000, 3000)


def test_ended_sessions_do_not_hold_a_balance_back_from_an_adjustment(charger, card):
    card_order(charger, card, status=OrderStatus.SETTLED, authorized=5000)

    card_balance_change(card=card, amount_fen=-5000, kind=CardMovementKind.ADJUSTMENT, note="注销", by_name="ops")

    card.refresh_from_db()
    assert card.balance_fen == 0


def test_the_largest_movement_is_taken(card):
    card_balance_change(card=card, amount_fen=CARD_MOVEMENT_MAX_FEN, kind=CardMovementKind.TOP_UP, note="大额",
                        by_name="ops")

    card.refresh_from_db()
    assert card.balance_fen == 5000 + CARD_MOVEMENT_MAX_FEN


def test_a_balance_change_reads_the_card_afresh(card):
    ChargingCard.objects.filter(pk=card.pk).update(balance_fen=100)  # a session paid meanwhile

    with override("en"), pytest.raises(ValidationError, match="The balance is 1.00 yuan"):
        card_balance_change(card=card, amount_fen=-101, kind=CardMovementKind.ADJUSTMENT, note="x", by_name="ops")


@pytest.mark.parametrize(
    ("amount", "kind", "note", "words"),
    [
        (0, CardMovementKind.TOP_UP, "n", "other than 0"),
        (CARD_MOVEMENT_MAX_FEN + 1, CardMovementKind.TOP_UP, "n", "at most 10000.00 yuan"),
        (-CARD_MOVEMENT_MAX_FEN - 1, CardMovementKind.ADJUSTMENT, "n", "at most 10000.00 yuan"),
        (True, CardMovementKind.TOP_UP, "n", "whole number"),
        (10.5, CardMovementKind.TOP_UP, "n", "whole number"),
        ("100", CardMovementKind.TOP_UP, "n", "whole number"),
        (-100, CardMovementKind.TOP_UP, "n", "take money off with an adjustment"),
        (100, CardMovementKind.TOP_UP, "", "Say why"),
        (100, CardMovementKind.ADJUSTMENT, "   ", "Say why"),
        (-5001, CardMovementKind.ADJUSTMENT, "n", "cannot go below what they hold"),
        (100, CardMovementKind.SESSION, "n", "Only top-ups and adjustments"),
        (100, CardMovementKind.SESSION_CORRECTION, "n", "Only top-ups and adjustments"),
    ],
)
def test_a_balance_change_that_cannot_be_made_is_refused_and_moves_nothing(card, amount, kind, note, words):
    with override("en"), pytest.raises(ValidationError) as caught:
        card_balance_change(card=card, amount_fen=amount, kind=kind, note=note, by_name="ops")

    assert caught.value.code == "invalid"
    assert words in caught.value.messages[0]
    card.refresh_from_db()
    assert card.balance_fen == 5000
    assert not CardMovement.objects.exists()


def test_the_movements_of_a_card_tell_its_whole_story(charger, card):
    card_balance_change(card=card, amount_fen=1000, kind=CardMovementKind.TOP_UP, note="充值", by_name="ops", now=NOW)
    order = settled(charger, card)
    order_correct(order=order, energy_wh=8000, electricity_fee_fen=520, service_fee_fen=320)

    rows = movements(card)
    card.refresh_from_db()
    assert rows == [("top_up", 1000, 6000), ("session", -1050, 4950), ("session_correction", 210, 5160)]
    assert card.balance_fen == rows[-1][2] == 5000 + sum(amount for _kind, amount, _after in rows)


def test_a_short_settlement_settled_again_with_the_same_figures_moves_nothing_and_records_no_second_conflict(
        charger, card):
    # Given a correction the card could pay only in part (12.60 due, 10.50 paid, 0.50 taken: 1.60 short)
    order = settled(charger, card)
    card_balance_change(card=card, amount_fen=-3900, kind=CardMovementKind.ADJUSTMENT, note="退卡", by_name="ops")
    order_correct(order=order, energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)
    before = movements(card)

    # When the same figures are settled again, after the card was topped up
    card_balance_change(card=card, amount_fen=1000, kind=CardMovementKind.TOP_UP, note="充值", by_name="ops")
    order_correct(order=order, energy_wh=12_000, electricity_fee_fen=780, service_fee_fen=480)

    # Then the top-up is the only movement since, and the one conflict waits for finance
    assert movements(card) == [*before, ("top_up", 1000, 1000)]
    assert OrderConflict.objects.filter(order=order, kind=ConflictKind.CARD_SHORT).count() == 1


def test_a_top_up_is_taken_even_when_the_balance_is_below_what_live_sessions_hold(charger, card):
    # Given a live session holding 40.00 yuan of a card whose balance fell to 35.00 (a session it paid short)
    card_order(charger, card, authorized=4000)
    card.balance_fen = 3500
    card.save()

    card_balance_change(card=card, amount_fen=300, kind=CardMovementKind.TOP_UP, note="充值", by_name="ops")

    card.refresh_from_db()
    assert card.balance_fen == 3800


def test_a_deferred_start_past_its_deadline_is_not_sent_and_ends_as_start_failed(charger, card, vendor):
    from orders.services import order_start_send

    order = order_start(connector=connector(charger), strategy=ChargeStrategy.AMOUNT, strategy_param=500,
                        authorized_amount_fen=500, card=card, deferred=True, start_by=START)

    order_start_send(order=order, start_by=START, now=START + dt.timedelta(seconds=1))

    order.refresh_from_db()
    assert order.status == OrderStatus.START_FAILED
    assert vendor.started == []
    assert card_held_fen(card=card) == 0


def test_a_deferred_start_in_time_is_sent_once(charger, card, vendor):
    from orders.services import order_start_send

    order = order_start(connector=connector(charger), strategy=ChargeStrategy.AMOUNT, strategy_param=500,
                        authorized_amount_fen=500, card=card, deferred=True, start_by=START + dt.timedelta(minutes=5))

    order_start_send(order=order, start_by=START + dt.timedelta(minutes=5), now=START)
    order_start_send(order=order, start_by=START + dt.timedelta(minutes=5), now=START)  # a repeated task

    assert [command.order_no for command in vendor.started] == [order.order_no]
