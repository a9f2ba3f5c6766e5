"""Order callbacks to a partner: which news of an order becomes an outbox row, with which stable id, in the same
transaction; and the outbox delivering it to the partner simulator's receiver over real HTTP, retrying a refusal
under the same id."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from integrations.models import Counterparty, DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.outbox import delivery_attempt
from integrations.partner.payloads import order_detail
from integrations.partner.simulator import CallbackReceiver
from integrations.partner.simulator.protocol import loads
from integrations.partnerkit.callbacks import order_callback_end
from orders.models import CloseReason, OrderStatus, SettlementSource
from orders.services import Progress, Settlement, order_fail_start, order_settle, order_start, orders_progress_record
from tests.chargers.factories import ConnectorFactory
from tests.integrations.partner.conftest import vendor_starts
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def keys():
    return list(OutboundDelivery.objects.order_by("id").values_list("key", flat=True))


def body(delivery):
    """The callback's text as the partner receives it, read with its numbers exact."""
    return loads(delivery.payload["body"])


@pytest.fixture
def live_order(callback_partner, charger, station):
    """`live_order(partner=..., number=1, **fields)`: a charging session of the partner on gun `number` of the DC
    charger, priced by the station's flat 0.65 + 0.40 yuan/kWh, started ten minutes ago, nothing measured yet."""

    def make(partner=callback_partner, number=1, **fields):
        connector = charger.connectors.filter(number=number).first() or ConnectorFactory(charger=charger,
                                                                                          number=number)
        values = {"connector": connector, "partner": partner,
                  "status": OrderStatus.CHARGING, "started_at": timezone.now() - dt.timedelta(minutes=10),
                  "ended_at": None, "charge_seconds": 0, "park_seconds": 0, "energy_wh": 0,
                  "electricity_fee_fen": 0, "service_fee_fen": 0, "total_fee_fen": 0, "soc": None, "close_reason": "",
                  "tariff_version": station.tariff_template.versions.get(), **fields}
        return OrderFactory(**values)

    return make


def progress(order, energy_wh=1000, minutes=5):
    reading = Progress(at=order.started_at + dt.timedelta(minutes=minutes), status=OrderStatus.CHARGING,
                       vendor_status="CHARGE", energy_wh=energy_wh, charge_seconds=minutes * 60, soc=30)
    return orders_progress_record(readings=[(order.pk, reading)])[order.pk]


def settle(order, energy_wh=10_000, source=SettlementSource.VENDOR):
    return order_settle(order=order, source=source, settlement=Settlement(
        started_at=order.started_at, ended_at=order.started_at + dt.timedelta(hours=1), energy_wh=energy_wh,
        charge_seconds=3600, vendor_total_fen=None, close_reason=CloseReason.FULL, vendor_close_code="FULL",
        close_reason_text=""))


# --- which news, which id -------------------------------------------------------------------------------------


def test_a_started_order_writes_its_start_callback(callback_partner, charger, tomda_sim):
    order = order_start(connector=charger.connectors.get(number=1), driver_id="13800000000", partner=callback_partner,
                        partner_order_no="DD-0001")

    delivery = OutboundDelivery.objects.get()
    assert (delivery.key, delivery.vendor, delivery.kind, delivery.order_no, delivery.charger_serial) == (
        f"partner:DIDI:{order.order_no}:start", Counterparty.PARTNER, "partner_callback", order.order_no, "1012300001")
    assert delivery.status == DeliveryStatus.PENDING
    assert {key: delivery.payload[key] for key in ("event", "partner_id", "org")} == {
        "event": "start", "partner_id": callback_partner.pk, "org": "DIDI"}
    sent = body(delivery)
    assert (sent["notifyId"], sent["notifyType"], sent["org"]) == (delivery.key, "start", "DIDI")
    assert (sent["data"]["OrderId"], sent["data"]["outOrderId"], sent["data"]["status"]) == (
        order.order_no, "DD-0001", 1)
    assert len(vendor_starts(tomda_sim)) == 1


def written_ago(key_end, seconds, order):
    """As if the progress callback ending `key_end` had been written `seconds` ago, and its cache gate gone with the
    time (or lost: the deliveries written decide)."""
    OutboundDelivery.objects.filter(key__endswith=key_end).update(
        created_at=timezone.now() - dt.timedelta(seconds=seconds))
    cache.delete(f"partner-callbacks:progress:{order.order_no}")


def test_the_first_progress_is_sent_at_once_and_the_next_no_sooner_than_the_setting_allows(live_order, settings):
    order = live_order()
    prefix = f"partner:DIDI:{order.order_no}:progress"

    # The first news of the session: progress 1 at once, its figures digit for digit
    progress(order, energy_wh=1000, minutes=5)
    assert keys() == [f"{prefix}:1"]
    first = OutboundDelivery.objects.get()
    assert (body(first)["notifyType"], body(first)["data"]["power"]) == ("progress", Decimal("1.000"))
    assert '"power":1.000,' in first.payload["body"]

    # News right after it: none
    progress(order, energy_wh=2000, minutes=6)
    assert keys() == [f"{prefix}:1"]
    # Nor 299 s after it, though the cache forgot (PARTNER_CALLBACK_PROGRESS_SECONDS is 300)
    written_ago(":progress:1", 299, order)
    progress(order, energy_wh=2500, minutes=6)
    assert keys() == [f"{prefix}:1"]

    # Once 300 s have passed since the first was written: progress 2, with the figures now
    written_ago(":progress:1", 300, order)
    progress(order, energy_wh=3000, minutes=7)
    assert keys() == [f"{prefix}:1", f"{prefix}:2"]
    assert body(OutboundDelivery.objects.get(key=f"{prefix}:2"))["data"]["power"] == Decimal("3.000")

    # And the interval is the setting's
    settings.PARTNER_CALLBACK_PROGRESS_SECONDS = 60
    written_ago(":progress:2", 59, order)
    progress(order, energy_wh=4000, minutes=8)
    assert len(keys()) == 2
    written_ago(":progress:2", 60, order)
    progress(order, energy_wh=5000, minutes=9)
    assert keys()[-1] == f"{prefix}:3"


def test_a_starting_session_sends_no_progress_until_it_charges(live_order):
    order = live_order(status=OrderStatus.STARTING)

    orders_progress_record(readings=[(order.pk, Progress(at=timezone.now(), status=OrderStatus.STARTING,
                                                         vendor_status="START", energy_wh=0, charge_seconds=0))])
    assert keys() == []

    progress(order, energy_wh=100, minutes=1)
    assert keys() == [f"partner:DIDI:{order.order_no}:progress:1"]


def test_a_settled_order_writes_its_end_callback_with_the_final_figures(live_order):
    order = settle(live_order(), energy_wh=10_000)

    delivery = OutboundDelivery.objects.get()
    assert (delivery.key, delivery.payload["event"]) == (f"partner:DIDI:{order.order_no}:end:1", "end")
    data = body(delivery)["data"]
    assert (body(delivery)["notifyType"], data["status"], data["power"], data["feeElectric"], data["feeService"],
            data["feeTotal"], data["endInfo"]) == (
        "end", 2, Decimal("10.000"), Decimal("6.50"), Decimal("4.00"), Decimal("10.50"), "已充满")
    assert '"feeTotal":10.50,' in delivery.payload["body"]  # two decimals as written, not a float's 10.5
    # And news after the end (a late reading) sends no more progress
    progress(order, energy_wh=10_000, minutes=59)
    assert keys() == [delivery.key]


def test_a_failed_start_writes_its_end_callback_with_status_0(live_order):
    order = live_order(status=OrderStatus.STARTING)

    order_fail_start(order=order, code="2011", message="汤姆达云：充电口不为空闲（错误码 2011）")

    delivery = OutboundDelivery.objects.get()
    assert delivery.key == f"partner:DIDI:{order.order_no}:end:1"
    sent = body(delivery)
    assert (sent["notifyType"], sent["data"]["status"], sent["data"]["endInfo"]) == (
        "end", 0, "汤姆达云：充电口不为空闲（错误码 2011）")


def test_a_session_believed_failed_that_is_settled_later_has_a_second_end_callback(live_order):
    order = live_order(status=OrderStatus.STARTING)
    order_fail_start(order=order, code="", message="no answer")
    order.refresh_from_db()
    order.status = OrderStatus.CHARGING
    order.save()

    settle(order)

    assert keys() == [f"partner:DIDI:{order.order_no}:end:1", f"partner:DIDI:{order.order_no}:end:2"]
    assert [body(delivery)["data"]["status"] for delivery in OutboundDelivery.objects.order_by("id")] == [0, 2]


def test_an_end_callback_that_would_say_the_same_again_is_not_written(live_order):
    order = settle(live_order())

    # The same settlement sent again by the vendor, and the end asked for again, say nothing new
    settle(order)
    assert order_callback_end(order=order) is None
    assert keys() == [f"partner:DIDI:{order.order_no}:end:1"]


def test_a_partner_without_a_callback_url_and_an_order_without_a_partner_get_no_callback(
    live_order, partner, charger, tomda_sim
):
    access = partner.access
    access.callback_url = ""
    access.save()
    started = order_start(connector=charger.connectors.get(number=2), partner=partner, partner_order_no="DD-2")
    quiet = live_order(partner=partner, number=1)
    ours = live_order(partner=None, partner_order_no="", number=3)

    for order in (quiet, ours):
        progress(order)
        settle(order)
    order_fail_start(order=started, code="", message="refused")

    assert OutboundDelivery.objects.count() == 0


def test_a_rolled_back_change_leaves_no_callback(live_order):
    order = live_order()

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        progress(order)
        settle(order)
        assert len(keys()) == 2  # written in the transaction
        1 / 0  # noqa: B018

    order.refresh_from_db()
    assert (order.status, OutboundDelivery.objects.count()) == (OrderStatus.CHARGING, 0)


def test_after_a_rolled_back_progress_the_next_news_is_still_the_first_and_sent_at_once(live_order):
    order = live_order()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        progress(order, energy_wh=1000, minutes=5)
        1 / 0  # noqa: B018

    progress(order, energy_wh=1100, minutes=6)

    assert keys() == [f"partner:DIDI:{order.order_no}:progress:1"]


# --- the outbox delivering them -------------------------------------------------------------------------------


class RecordingReceiver(CallbackReceiver):
    """The partner's receiver, also noting every POST as it came (the header's and the body's notifyId), whatever
    it answers."""

    def __init__(self, **kwargs):
        self.arrivals = []
        super().__init__(**kwargs)

    def app(self, request):
        if request.method == "POST":
            self.arrivals.append((request.headers.get("X-Notify-Id"), loads(request.body).get("notifyId")))
        return super().app(request)


@pytest.fixture
def recording(callback_partner):
    with RecordingReceiver() as receiver:
        access = callback_partner.access
        access.callback_url = receiver.url
        access.save()
        yield receiver


def due_again(delivery):
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_the_outbox_posts_the_callback_to_the_partner_who_acknowledges_it(live_order, recording):
    order = settle(live_order())
    delivery = OutboundDelivery.objects.get()

    after = delivery_attempt(delivery_id=delivery.pk)

    assert (after.status, after.attempts) == (DeliveryStatus.DELIVERED, 1)
    (callback,) = recording.callbacks()
    assert callback.problems == ()
    assert (callback.header_notify_id, callback.notify_id, callback.notify_type, callback.org) == (
        delivery.key, delivery.key, "end", "DIDI")
    order.refresh_from_db()
    assert callback.data == order_detail(order, now=timezone.now())  # the figures read as exact decimals
    assert isinstance(callback.data["power"], Decimal)
    assert callback.data["feeTotal"] == callback.data["feeService"] + callback.data["feeElectric"] == Decimal("10.5")
    assert callback.notify_time == body(delivery)["notifyTime"]
    assert callback.raw == delivery.payload["body"].encode()  # the very text the outbox kept
    (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert (attempt.succeeded, attempt.http_status) == (True, 200)


def test_a_partner_down_or_busy_leaves_the_callback_waiting_and_each_retry_has_the_same_id(live_order, recording):
    order = settle(live_order())
    delivery = OutboundDelivery.objects.get()

    # When the partner answers 503, then 200 with code 1
    recording.down()
    first = delivery_attempt(delivery_id=delivery.pk)
    due_again(delivery)
    recording.busy()
    second = delivery_attempt(delivery_id=delivery.pk)

    # Then the callback waits, each attempt kept with the answer
    assert (first.status, second.status, second.attempts) == (DeliveryStatus.PENDING, DeliveryStatus.PENDING, 2)
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(attempt.number, attempt.succeeded, attempt.http_status) for attempt in attempts] == [
        (1, False, 503), (2, False, 200)]
    assert "code 1" in attempts[1].error
    assert recording.callbacks() == []

    # When it is back up, the retry is taken
    recording.up()
    due_again(delivery)
    third = delivery_attempt(delivery_id=delivery.pk)
    assert (third.status, third.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [callback.notify_id for callback in recording.callbacks()] == [f"partner:DIDI:{order.order_no}:end:1"]
    # And every attempt carried the same id, in the header and in the body
    assert recording.arrivals == [(delivery.key, delivery.key)] * 3


def test_a_callback_to_a_partner_whose_url_was_removed_waits_with_the_reason(live_order, recording, partner):
    settle(live_order())
    delivery = OutboundDelivery.objects.get()
    access = partner.access
    access.callback_url = ""
    access.save()

    after = delivery_attempt(delivery_id=delivery.pk)

    assert after.status == DeliveryStatus.PENDING
    assert after.last_error == "partner DIDI: no callback URL is set; set it and retry the delivery."
    assert recording.arrivals == []


# --- stale callbacks are never sent after newer ones -------------------------------------------------------------


def send_due():
    """What the outbox's tasks do once the writing transaction commits (never, inside a test's transaction)."""
    waiting = OutboundDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("id")
    for pk in waiting.values_list("pk", flat=True):
        OutboundDelivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
        delivery_attempt(delivery_id=pk)


def test_an_orders_callbacks_reach_the_partner_in_the_order_written_so_it_ends_with_the_newest_figures(
    live_order, receiver
):
    # Given the partner down while the order is settled from the vendor's progress answer (end:1, 9 kWh)
    receiver.down()
    order = settle(live_order(), energy_wh=9_000, source=SettlementSource.PROGRESS)
    send_due()
    first = OutboundDelivery.objects.get(key=f"partner:DIDI:{order.order_no}:end:1")
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)

    # When the vendor's own settlement changes the figures (end:2, 10 kWh) and the partner is back
    receiver.up()
    order.refresh_from_db()
    settle(order, energy_wh=10_000)
    second = OutboundDelivery.objects.get(key=f"partner:DIDI:{order.order_no}:end:2")

    # Then the newer waits behind the older, untried, instead of overtaking it
    second = delivery_attempt(delivery_id=second.pk)
    first.refresh_from_db()
    assert (second.status, second.attempts) == (DeliveryStatus.PENDING, 0)
    assert second.next_attempt_at > first.next_attempt_at
    assert not DeliveryAttempt.objects.filter(delivery=second).exists()
    assert receiver.callbacks(order.order_no) == []

    # And once the older has gone, the newer is due at once: the partner read 9 kWh, then 10 kWh, last
    OutboundDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    delivery_attempt(delivery_id=first.pk)
    second.refresh_from_db()
    assert second.next_attempt_at <= timezone.now()
    delivery_attempt(delivery_id=second.pk)
    assert [(c.notify_id, c.data["power"]) for c in receiver.callbacks(order.order_no)] == [
        (first.key, Decimal("9.000")), (second.key, Decimal("10.000"))]


def test_a_callback_behind_one_given_up_on_is_not_held_back_by_it(live_order, receiver):
    order = live_order()
    progress(order, energy_wh=1000, minutes=5)
    OutboundDelivery.objects.update(status=DeliveryStatus.DEAD)

    order.refresh_from_db()
    settle(order)
    send_due()

    assert [c.notify_type for c in receiver.callbacks(order.order_no)] == ["end"]


def test_readings_after_a_failed_start_write_no_more_end_callbacks(live_order):
    # Given a start the vendor's news ended as failed
    order = live_order(status=OrderStatus.STARTING)
    failed = Progress(at=timezone.now(), status=OrderStatus.START_FAILED, vendor_status="FAIL", energy_wh=0,
                      charge_seconds=0)
    orders_progress_record(readings=[(order.pk, failed)])
    assert keys() == [f"partner:DIDI:{order.order_no}:end:1"]

    # When readings that do not say it charges keep coming
    for minutes in range(1, 5):
        late = Progress(at=timezone.now() + dt.timedelta(minutes=minutes), status=OrderStatus.FINISHED,
                        vendor_status="END", energy_wh=100 * minutes, charge_seconds=60 * minutes)
        orders_progress_record(readings=[(order.pk, late)])

    # Then the partner was told the end once
    assert keys() == [f"partner:DIDI:{order.order_no}:end:1"]


def test_a_renamed_station_sends_no_new_end_callback(live_order, station):
    order = settle(live_order())
    station.city_code = "440100"
    station.name = "改名后的电站"
    station.save()

    assert order_callback_end(order=order) is None
    assert keys() == [f"partner:DIDI:{order.order_no}:end:1"]


def test_an_ended_session_awaiting_its_settlement_is_still_charging_to_the_partner(live_order):
    order = live_order(status=OrderStatus.FINISHED, ended_at=timezone.now(), energy_wh=2000, charge_seconds=600)

    detail = order_detail(order, now=timezone.now())

    assert (detail["status"], detail["timeEnd"]) == (1, "")
    # its fees are our price so far: 2 kWh at 0.65 + 0.40 yuan
    assert (detail["feeElectric"], detail["feeService"], detail["feeTotal"]) == (
        Decimal("1.30"), Decimal("0.80"), Decimal("2.10"))


def test_a_final_callback_given_up_on_is_sent_again_by_the_daily_redrive(live_order, receiver, settings):
    from integrations.partner.tasks import final_callbacks_redrive

    receiver.down()
    order = settle(live_order())
    OutboundDelivery.objects.filter(order_no=order.order_no).update(status=DeliveryStatus.DEAD)
    receiver.up()

    assert final_callbacks_redrive() == 1
    send_due()

    assert OutboundDelivery.objects.get(key__endswith=":end:1").status == DeliveryStatus.DELIVERED
    assert [c.notify_type for c in receiver.callbacks(order.order_no)] == ["end"]
    # an order older than PARTNER_FINAL_CALLBACK_REDRIVE_DAYS is left to a person
    settings.PARTNER_FINAL_CALLBACK_REDRIVE_DAYS = 0
    OutboundDelivery.objects.filter(order_no=order.order_no).update(status=DeliveryStatus.DEAD)
    assert final_callbacks_redrive() == 0
