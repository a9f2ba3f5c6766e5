"""The partner loop over real HTTP: the partner simulator → our partner API → the Tomda simulator → its pushes →
our inbox → the outbox → the partner's callback receiver, and the day's reconciliation on both sides.

Tasks run inline (Q_CLUSTER sync), so a callback written in a transaction has been POSTed by the time that
transaction commits; a failed one waits for its backoff, and the tests make it due (`due_now`) and run the sweeper,
as the minute's schedule would. Each piece of news becomes a progress callback here
(PARTNER_CALLBACK_PROGRESS_SECONDS = 0): the throttle is real time, which a test does not wait for.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from backoffice.days import business_day_bounds, business_day_of
from chargers.models import Charger, Vendor
from chargers.services import charger_import_from_vendor
from integrations.inbox import inbox_drain
from integrations.models import DeliveryAttempt, DeliveryStatus, OutboundDelivery
from integrations.outbox import OUTBOX_BACKOFF_BASE, deliveries_sweep, delivery_attempt
from integrations.partner.simulator import PartnerClient, PartnerRecords
from integrations.tomda.simulator import SimCharger
from orders.models import LineState, Order, OrderStatus, StatementCategory
from orders.reconciliation.services import statement_build
from orders.reconciliation.sources import statement_sources
from tests.helpers import WireReceiver, tomda_cloud
from tests.integrations.partner.conftest import CITY
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.django_db(transaction=True)

EV = "1012300001"
WAIT = 10  # seconds a callback may take to reach the receiver; every wait ends as soon as it has


# --- the two simulators ------------------------------------------------------------------------------------------


def delivered(sim):
    """Every push the Tomda simulator queued has been answered, and the inbox worker has applied it (and so
    the outbox has tried the callbacks it wrote)."""
    sim.drain()
    inbox_drain()


@pytest.fixture
def sim(live_server, settings):
    push_url = f"{live_server.url}/integrations/tomda/push"
    with tomda_cloud(settings, [SimCharger(serial=EV, kind="ev", connectors=1)], push_url=push_url,
                     push_encoding="form") as simulator:
        delivered(simulator)
        yield simulator


@pytest.fixture
def tomda_charger(sim, station):
    """The Tomda simulator's EV charger (7 kW AC, one gun), imported into the partner's station, online."""
    charger_import_from_vendor(station=station, vendor=Vendor.TOMDA, serials=[EV])
    sim.set_online(EV, True)
    delivered(sim)
    return Charger.objects.get(serial=EV)


@pytest.fixture
def records():
    return PartnerRecords()


@pytest.fixture
def receiver(partner, records, settings):
    settings.PARTNER_CALLBACK_PROGRESS_SECONDS = 0
    with WireReceiver(on_callback=records.add) as running:
        access = partner.access
        access.callback_url = running.url
        access.save(update_fields=["callback_url"])
        yield running


@pytest.fixture
def client_of_partner(live_server, partner):
    return PartnerClient(live_server.url, partner.org_code, partner.secret, timeout=(3.05, 30.0))


# --- helpers -------------------------------------------------------------------------------------------------------


def kwh(wh: int) -> Decimal:
    return Decimal(wh) / 1000


def yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def kinds(receiver, order_no):
    return [callback.notify_type for callback in receiver.callbacks(order_no)]


def wait_kept(receiver, order_no, notify_type, count=1):
    """The callbacks of `notify_type` the receiver kept for the order, once there are `count` of them."""
    return receiver.wait_for(
        lambda kept: (found := [c for c in kept if c.order_id == order_no and c.notify_type == notify_type])
        and len(found) >= count and found, timeout=WAIT)


def charge(sim, order_no, rounds=1, seconds=600):
    """The pile charges `rounds` times `seconds` and reports each time; the news reaches us."""
    for _round in range(rounds):
        sim.advance(seconds)
        sim.tick()
        delivered(sim)
    return sim.sessions[order_no]


def due_now():
    """Every waiting delivery due now, oldest first (as their backoff would have made them by and by)."""
    now = timezone.now()
    waiting = list(OutboundDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("created_at", "id")
                   .values_list("pk", flat=True))
    for offset, pk in enumerate(waiting):
        OutboundDelivery.objects.filter(pk=pk).update(next_attempt_at=now - timedelta(seconds=len(waiting) - offset))
    return len(waiting)


def the_day(order):
    return business_day_of(order.created_at)


def day_window(order):
    return business_day_bounds(the_day(order))


def session(sim, client, receiver, out_order_id, *, rounds=2):
    """A whole session the partner starts, lets charge `rounds` × 10 minutes and stops; our order at the end."""
    started = client.start(out_order_id, f"driver-{out_order_id}", EV, "1")
    order_no = started["OrderId"]
    delivered(sim)
    charge(sim, order_no, rounds=rounds)
    client.stop(order_no)
    delivered(sim)
    return Order.objects.get(order_no=order_no)


# --- 1. a session from the partner's side ----------------------------------------------------------------------------


def test_a_partner_lists_its_stations_charges_on_a_tomda_pile_follows_the_callbacks_and_reconciles(
        sim, tomda_charger, station, partner, receiver, records, client_of_partner):
    client = client_of_partner
    # A station of another city given to the partner, and one of another city not given to it.
    given = StationFactory(code="GZ001", city_code="440100", tariff_template=station.tariff_template)
    partner.access.stations.add(given)
    StationFactory(code="BJ001", city_code="110100", tariff_template=station.tariff_template)

    # The partner lists the stations it sees: those of its city, and the one given to it; never the other
    assert [group["Id"] for group in client.stations(CITY)] == ["SZ001"]
    assert [group["Id"] for group in client.stations("440100")] == ["GZ001"]
    assert client.stations("110100") == []
    [group] = client.stations(CITY)
    assert (group["cityCode"], group["stubAcCnt"], group["stubDcCnt"]) == (CITY, 1, 0)

    # and reads the Tomda pile as the simulator described it: 7 kW AC, one idle gun, the station's prices
    info = client.stub_info("SZ001")
    [stub] = info["StubInfo"]
    assert (info["stubGroupId"], info["stubAcIdleCnt"], info["stubDcIdleCnt"]) == ("SZ001", 1, 0)
    assert (stub["Id"], stub["type"], stub["kw"], stub["status"], stub["existsGun"]) == (EV, 0, Decimal("7"), "0", 1)
    assert stub["guns"] == [{"gunId": "1", "status": "0"}]
    assert (stub["electricFee"], stub["serviceFee"], stub["totalFeeInfo"]) == (
        "0.6500元/度", "0.4000元/度", Decimal("1.05"))

    # When it starts a session there
    started = client.start("DD-0001", "driver-7", EV, "1")
    order_no = started["OrderId"]

    # Then the pile charges, and the start callback came with the order as chargeStart answered it
    assert len(order_no) == 20 and order_no.isdigit()
    assert (started["status"], started["outOrderId"], started["driverId"], started["stubId"]) == (
        1, "DD-0001", "driver-7", EV)
    assert sim.sessions[order_no].status == "CHARGE"
    [start] = wait_kept(receiver, order_no, "start")
    assert (start.org, start.data["status"], start.data["outOrderId"]) == ("DIDI", 1, "DD-0001")
    assert start.notify_id == start.header_notify_id == f"partner:DIDI:{order_no}:start"

    # and each report of the pile reaches the partner as a progress callback, its figures the pile's
    delivered(sim)
    [first] = wait_kept(receiver, order_no, "progress")
    assert first.data["power"] == 0
    for round_number in (1, 2, 3):
        vendor = charge(sim, order_no)
        progress = wait_kept(receiver, order_no, "progress", count=1 + round_number)[-1]
        assert progress.data["power"] == kwh(vendor.energy_wh) > 0
        assert (progress.data["status"], progress.data["timeCharge"]) == (1, vendor.charge_seconds)
    assert deliveries_sweep() == 0  # nothing waits in the outbox: every callback was acknowledged at once

    # and getOrderInfo states what the latest callback said
    assert client.order(order_no) == progress.data

    # When the partner stops it
    stopped = client.stop(order_no)
    assert stopped["OrderId"] == order_no
    delivered(sim)  # the pile's final reading and Tomda's settlement

    # Then the end callback states the settled order exactly: Wh as kWh, fen as yuan
    [end] = wait_kept(receiver, order_no, "end")
    order = Order.objects.get(order_no=order_no)
    vendor = sim.sessions[order_no]
    assert order.status == OrderStatus.SETTLED and order.energy_wh == vendor.energy_wh > 0
    data = end.data
    assert data["power"] == kwh(order.energy_wh)
    assert data["feeTotal"] == yuan(order.total_fee_fen) > 0
    assert (data["feeElectric"], data["feeService"]) == (yuan(order.electricity_fee_fen), yuan(order.service_fee_fen))
    assert data["feeTotal"] == data["feeElectric"] + data["feeService"]
    assert (data["status"], data["timeCharge"]) == (2, vendor.charge_seconds)
    assert data["timeEnd"] != ""
    assert end.notify_id == end.header_notify_id == f"partner:DIDI:{order_no}:end:1"
    assert client.order(order_no) == data
    record = records.get(order_no)
    assert record.ended and (record.power, record.fee) == (kwh(order.energy_wh), yuan(order.total_fee_fen))

    # and every callback arrived once, each well formed, in the order things happened
    kept = kinds(receiver, order_no)
    assert kept[0] == "start" and kept[-1] == "end" and set(kept[1:-1]) == {"progress"}
    keys = set(OutboundDelivery.objects.filter(order_no=order_no).values_list("key", flat=True))
    assert sorted(callback.notify_id for callback in receiver.callbacks(order_no)) == sorted(keys)
    assert all(not callback.problems for callback in receiver.callbacks())
    assert (receiver.duplicates, receiver.refused, receiver.invalid) == (0, 0, [])

    # and the day's reconciliation agrees with the partner's books to the fen
    start_at, end_at = day_window(order)
    result = records.reconcile(client, start_at, end_at)
    assert result.agrees, str(result)
    assert result.differences == [] and result.open_orders == []
    assert (result.check["orderCount"], result.check["orderList"]) == (1, [order_no])
    assert (result.check["totalOrderPower"], result.check["totoalOrderFee"]) == (
        kwh(order.energy_wh), yuan(order.total_fee_fen))


# --- 2. the partner down while a session runs ------------------------------------------------------------------------


def test_callbacks_survive_the_partner_being_down_each_arriving_once_under_one_notify_id(
        sim, tomda_charger, partner, receiver, records, client_of_partner):
    client = client_of_partner
    # Given the partner's callback endpoint is down for a whole session
    receiver.down()
    order = session(sim, client, receiver, "DD-0100")

    # Then the oldest callback was tried and failed, and the others wait behind it untried, in the order written:
    # nothing kept by the partner, nothing given up
    deliveries = list(OutboundDelivery.objects.filter(order_no=order.order_no).order_by("created_at", "id"))
    keys = [delivery.key for delivery in deliveries]
    prefix = f"partner:DIDI:{order.order_no}"
    assert keys[0] == f"{prefix}:start" and keys[-1] == f"{prefix}:end:1"
    assert {key.rsplit(":", 1)[0] for key in keys[1:-1]} == {f"{prefix}:progress"} and len(keys) >= 3
    first, waiting = deliveries[0], deliveries[1:]
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)
    assert {(d.status, d.attempts) for d in waiting} == {(DeliveryStatus.PENDING, 0)}
    attempt = DeliveryAttempt.objects.get(delivery=first)
    assert (attempt.succeeded, attempt.http_status) == (False, 503)
    assert first.next_attempt_at - attempt.started_at >= OUTBOX_BACKOFF_BASE / 2  # it waits for its backoff
    assert all(d.next_attempt_at > first.next_attempt_at for d in waiting)  # each after the one before
    assert not DeliveryAttempt.objects.filter(delivery__in=waiting).exists()
    assert receiver.callbacks() == [] and receiver.refused == 1
    assert order.status == OrderStatus.SETTLED  # the partner being down holds nothing of ours back

    # When the sweeper retries them while it is still down
    assert due_now() == len(deliveries)
    assert deliveries_sweep() == len(deliveries)

    # Then the oldest failed once more, and the others still wait untried
    assert OutboundDelivery.objects.get(pk=first.pk).attempts == 2
    assert set(OutboundDelivery.objects.filter(pk__in=[d.pk for d in waiting])
               .values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 0)}
    assert receiver.callbacks() == [] and receiver.refused == 2

    # When the partner is back and the retries come due
    receiver.up()
    due_now()
    assert deliveries_sweep() == len(deliveries)

    # Then every callback arrived exactly once, none lost, in the order they were written
    receiver.wait_for(lambda kept: len(kept) >= len(deliveries), timeout=WAIT)
    kept = receiver.callbacks(order.order_no)
    assert [callback.notify_id for callback in kept] == keys
    assert all(callback.header_notify_id == callback.notify_id for callback in kept)
    assert all(not callback.problems for callback in kept)
    assert set(OutboundDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
               .values_list("status")) == {(DeliveryStatus.DELIVERED,)}
    # and the one refused while the partner was down kept its notifyId on every try, body and header alike
    arrivals = receiver.arrivals
    assert [arrival for arrival in arrivals if arrival[0] == first.key] == [(first.key, first.key, "start")] * 3
    assert list(DeliveryAttempt.objects.filter(delivery=first).order_by("number")
                .values_list("number", "succeeded", "http_status")) == [(1, False, 503), (2, False, 503),
                                                                         (3, True, 200)]
    for delivery in waiting:
        assert [arrival for arrival in arrivals if arrival[0] == delivery.key] == [
            (delivery.key, delivery.key, delivery.payload["event"])]
    assert len(arrivals) == len(deliveries) + 2
    # and no refused try counts as a duplicate: the partner saw none twice
    assert receiver.duplicates == 0

    # and the partner's books hold the final figures
    record = records.get(order.order_no)
    assert record.ended and (record.power, record.fee) == (kwh(order.energy_wh), yuan(order.total_fee_fen))
    result = records.reconcile(client, *day_window(order))
    assert result.agrees, str(result)

    # When the end callback is sent once more though acknowledged (a worker died before recording its success)
    end = deliveries[-1]
    OutboundDelivery.objects.filter(pk=end.pk).update(status=DeliveryStatus.PENDING, delivered_at=None,
                                                      next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=end.pk).status == DeliveryStatus.DELIVERED

    # Then the partner counts that one re-send, and drops it under the same notifyId
    assert receiver.duplicates == 1
    assert [callback.notify_id for callback in receiver.callbacks(order.order_no)] == keys
    assert receiver.arrivals[-1] == (end.key, end.key, "end")


# --- 3. the partner's statement in the daily close -------------------------------------------------------------------


def _partner_statement(day):
    with translation.override("en"):
        return statement_build(source=statement_sources.get("partner"), day=day)


def _totals(statement):
    return ((statement.our_orders, statement.our_energy_wh, statement.our_amount_fen),
            (statement.their_orders, statement.their_energy_wh, statement.their_amount_fen))


def test_the_partner_statement_matches_to_the_fen_and_an_unacknowledged_end_is_missing_until_acknowledged(
        sim, tomda_charger, partner, receiver, records, client_of_partner):
    client = client_of_partner
    # Given a session whose end the partner acknowledged
    first = session(sim, client, receiver, "DD-0200", rounds=3)
    wait_kept(receiver, first.order_no, "end")
    day = the_day(first)

    # Then the day's partner statement has no difference, and both sides' totals are the order's to the fen
    statement = _partner_statement(day)
    assert list(statement.lines.values_list("category", "key")) == []
    figures = (1, first.energy_wh, first.total_fee_fen)
    assert _totals(statement) == (figures, figures)
    # which are the partner's own books
    books = records.day_totals()[day]
    assert (books.count, books.power, books.fee) == (1, kwh(first.energy_wh), yuan(first.total_fee_fen))

    # When a second session ends while the partner refuses its end callback
    receiver.refuse(notify_type="end")
    second = session(sim, client, receiver, "DD-0201", rounds=2)
    assert the_day(second) == day
    end = OutboundDelivery.objects.get(key=f"partner:DIDI:{second.order_no}:end:1")
    assert (end.status, end.attempts) == (DeliveryStatus.PENDING, 1)
    assert "end" not in kinds(receiver, second.order_no) and "start" in kinds(receiver, second.order_no)

    # Then the statement shows that order missing on the partner's side, with our figures; building again
    # (which repairs what it can: the end callback is still waiting) finds the same one line
    for _build in range(2):
        statement = _partner_statement(day)
        [line] = statement.lines.all()
        assert (line.category, line.key, line.state) == (
            StatementCategory.MISSING_THEIRS, second.order_no, LineState.OPEN)
        assert line.ours == {"energy_wh": second.energy_wh, "amount_fen": second.total_fee_fen, "status": "2"}
        assert _totals(statement) == (
            (2, first.energy_wh + second.energy_wh, first.total_fee_fen + second.total_fee_fen),
            (1, first.energy_wh, first.total_fee_fen))
    # and the partner, whose books lack that end, sees the order open in its reconciliation
    result = records.reconcile(client, *day_window(second))
    assert result.open_orders == [second.order_no] and not result.agrees

    # When the partner takes callbacks again and the waiting one is sent again
    receiver.up()
    due_now()
    assert deliveries_sweep() == 1
    [acknowledged] = wait_kept(receiver, second.order_no, "end")
    assert acknowledged.notify_id == end.key

    # Then building again drops the difference: both sides agree on both orders to the fen
    statement = _partner_statement(day)
    assert list(statement.lines.values_list("category", "key")) == []
    figures = (2, first.energy_wh + second.energy_wh, first.total_fee_fen + second.total_fee_fen)
    assert _totals(statement) == (figures, figures)
    # and so do the partner's books and checkChargeOrders
    result = records.reconcile(client, *day_window(second))
    assert result.agrees, str(result)
    assert (result.ours.count, result.ours.power, result.ours.fee) == (2, kwh(figures[1]), yuan(figures[2]))
    # and the summary counts both final callbacks acknowledged, and agrees with the answer just given
    statement = _partner_statement(day)
    [row] = statement.summary["rows"]
    assert (row[0], row[2], row[7], row[9]) == ("DIDI", 2, 2, "yes")
    assert row[6] == f"{yuan(figures[2]):.2f}"
