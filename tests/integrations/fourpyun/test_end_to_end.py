"""Our records reach 4pyun over real HTTP: a session at a mapped station on the Tomda simulator → its pushes → our
inbox → the outbox → the 4pyun simulator, which checks each signature, timestamp and field as 4pyun does; and 4pyun's
pushes back → our inbox; and the day's close against what 4pyun confirmed.

Tasks run inline (Q_CLUSTER sync), so a record written in a transaction has been POSTed by the time that transaction
commits; one that failed waits for its backoff, and the tests make it due (`due_now`) and run the sweeper, as the
minute's schedule would. Every reading becomes a record (FOURPYUN_RECORD_PROGRESS_SECONDS = 0).
"""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from backoffice.days import business_day_of
from integrations.fourpyun.devices import devices_sync
from integrations.fourpyun.models import StatusReport
from integrations.fourpyun.records import RECORD_KIND
from integrations.inbox import inbox_drain
from integrations.models import DeliveryStatus, InboundMessage, InboundStatus, OutboundDelivery
from integrations.outbox import deliveries_sweep
from orders.models import LineState, Order, OrderStatus, StatementCategory
from orders.reconciliation.services import statement_build
from orders.reconciliation.sources import statement_sources
from orders.services import order_start, order_stop, order_vehicle_set

from .conftest import EV, STATION_UUID, delivered

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10


def utc(moment) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def charge(tomda, order_no, rounds=1, seconds=600):
    for _round in range(rounds):
        tomda.advance(seconds)
        tomda.tick()
        delivered(tomda)


def due_now():
    """Every waiting delivery due now, oldest first (as their backoff would have made them by and by)."""
    now = timezone.now()
    waiting = list(OutboundDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("created_at", "id")
                   .values_list("pk", flat=True))
    for offset, pk in enumerate(waiting):
        OutboundDelivery.objects.filter(pk=pk).update(next_attempt_at=now - timedelta(seconds=len(waiting) - offset))
    return len(waiting)


def session(tomda, charger, *, plate="", rounds=2):
    """A whole session: started, charged `rounds` × 10 minutes (its plate read during it), stopped and settled."""
    order = order_start(connector=charger.connectors.get())
    delivered(tomda)
    charge(tomda, order.order_no)
    if plate:
        order_vehicle_set(order=order, plate=plate)
    charge(tomda, order.order_no, rounds=rounds - 1)
    order_stop(order=Order.objects.get(pk=order.pk))
    delivered(tomda)
    return Order.objects.get(pk=order.pk)


def states(fourpyun, order_no):
    return [record.state for record in fourpyun.records_of(order_no)]


def test_a_session_at_a_mapped_station_reaches_4pyun_as_start_progress_and_final_records(fourpyun, tomda, charger):
    order = session(tomda, charger, plate="川A660N2", rounds=3)

    # 4pyun took the start, the progress and the final record, in that order, each once, every one signed right
    assert order.status == OrderStatus.SETTLED and order.energy_wh > 0 and order.total_fee_fen > 0
    kept = states(fourpyun, order.order_no)
    assert kept[0] == 2 and kept[-1] == 3 and set(kept[:-1]) == {2} and len(kept) >= 3
    assert fourpyun.refused_calls == [] and fourpyun.duplicates() == {} and fourpyun.out_of_order() == []
    sent = OutboundDelivery.objects.filter(kind=RECORD_KIND, order_no=order.order_no).order_by("id")
    assert [delivery.key for delivery in sent][:2] == [f"4pyun:{order.order_no}:start",
                                                       f"4pyun:{order.order_no}:progress:1"]
    assert sent.last().key == f"4pyun:{order.order_no}:final:1"
    assert all(delivery.status == DeliveryStatus.DELIVERED for delivery in sent)

    # and the final record states the settled order in 4pyun's units: Wh as 0.001 kWh, fen, UTC with milliseconds
    final = fourpyun.final_of(order.order_no).body
    assert final["station_uuid"] == STATION_UUID and final["order"] == order.order_no
    assert (final["quantity"], final["energy_value"], final["fee_value"]) == (
        order.energy_wh, order.electricity_fee_fen, order.service_fee_fen)
    assert (final["start_time"], final["end_time"]) == (utc(order.started_at), utc(order.ended_at))
    assert (final["device_no"], final["port_no"], final["device_type"], final["energy_code"]) == (EV, "1", 0, "CN_AC")
    assert final["plate"] == "川A660N2" and final["state_desc"].startswith("充电完成")
    assert final["mobile"] == f"order:{order.order_no}"  # no mobile and no driver: our local id of the session

    # and each progress record's energy is the charger's at the time, never going back
    energies = [record.body["quantity"] for record in fourpyun.records_of(order.order_no)]
    assert energies == sorted(energies) and energies[-1] == order.energy_wh


def test_a_session_that_fails_to_start_is_a_record_of_state_minus_one(fourpyun, tomda, charger):
    from chargers.vendor import VendorError

    tomda.fail_next("/api/sys/charger/start", "1423")
    with pytest.raises(VendorError):
        order_start(connector=charger.connectors.get())

    order = Order.objects.get()
    assert order.status == OrderStatus.START_FAILED
    [record] = fourpyun.records_of(order.order_no)
    assert (record.state, record.body["quantity"], record.body["energy_value"], record.body["fee_value"]) == (
        -1, 0, 0, 0)
    assert record.body["state_desc"].startswith("启动失败")
    assert record.body["start_time"] == record.body["end_time"] == utc(order.created_at)


def test_a_4pyun_outage_delays_the_records_and_loses_none(fourpyun, tomda, charger):
    order = order_start(connector=charger.connectors.get())
    delivered(tomda)
    charge(tomda, order.order_no)
    assert states(fourpyun, order.order_no) == [2, 2]

    # When 4pyun fails for a while (first its own failure code, then HTTP 503), the session goes on
    fourpyun.fail_for(3600, mode="1500")
    charge(tomda, order.order_no, rounds=2)
    fourpyun.fail_for(3600, mode="503")
    order_stop(order=Order.objects.get(pk=order.pk))
    delivered(tomda)
    waiting = OutboundDelivery.objects.filter(kind=RECORD_KIND, status=DeliveryStatus.PENDING)
    assert waiting.count() >= 3
    # only the oldest was tried: the rest wait behind it, untried, in order
    assert sorted(waiting.values_list("attempts", flat=True))[-1] >= 1
    assert list(waiting.order_by("id").values_list("attempts", flat=True))[1:] == [0] * (waiting.count() - 1)
    assert states(fourpyun, order.order_no) == [2, 2]

    # Then once 4pyun is back, every record arrives, once each, in the order written
    fourpyun.clear_faults()
    for _round in range(10):
        if not due_now():
            break
        deliveries_sweep()
    order.refresh_from_db()
    kept = states(fourpyun, order.order_no)
    assert kept[-1] == 3 and len(kept) == OutboundDelivery.objects.filter(kind=RECORD_KIND).count()
    assert fourpyun.duplicates() == {} and fourpyun.out_of_order() == []
    assert fourpyun.final_of(order.order_no).body["quantity"] == order.energy_wh
    assert not OutboundDelivery.objects.filter(kind=RECORD_KIND).exclude(status=DeliveryStatus.DELIVERED).exists()


def test_4pyuns_status_push_is_stored_verified_applied_and_answered_1001(fourpyun, tomda, charger):
    order = session(tomda, charger, plate="粤B12345")

    # 4pyun pushed back each record it took; our receiver answered every push 1001
    fourpyun.drain()
    pushes = fourpyun.pushes()
    assert pushes and all(push.ok for push in pushes)
    inbox_drain()
    stored = InboundMessage.objects.filter(vendor="fourpyun")
    assert stored.count() == len(pushes)
    assert set(stored.values_list("verification", flat=True)) == {"passed"}
    # (two progress records saying the same are the same news: the second push is a duplicate)
    assert set(stored.values_list("status", flat=True)) <= {InboundStatus.PROCESSED, InboundStatus.DUPLICATE}
    report = StatusReport.objects.filter(order=order, kind="order-info").get()
    assert (report.state, report.energy_wh, report.total_fee_fen, report.plate) == (
        3, order.energy_wh, order.total_fee_fen, "粤B12345")
    assert (report.electricity_fee_fen, report.service_fee_fen) == (order.electricity_fee_fen, order.service_fee_fen)

    # A malformed one is refused at once, naming the field, and kept as rejected
    status, answer = fourpyun.push("order-info", {
        "station_uuid": STATION_UUID, "order": order.order_no, "device_no": EV, "port_no": "1", "device_type": 0,
        "energy_code": "CN_AC", "start_time": "2026-11-30 10:00:00", "end_time": "2026-11-30 11:00:00",
        "replenish_time": 3600, "plate": "粤B12345", "quantity": "lots", "total_value": 100, "energy_value": 60,
        "fee_value": 40, "state": 3, "state_desc": "充电完成"})
    assert status == 400 and answer["code"] == "400" and "quantity" in answer["hint"]
    assert InboundMessage.objects.filter(vendor="fourpyun", status=InboundStatus.REJECTED).count() == 1

    # and a tampered one is refused as unsigned and never applied
    status, answer = fourpyun.push("charging-status", {
        "station_uuid": STATION_UUID, "order": order.order_no, "device_no": EV, "port_no": "1", "device_type": 0,
        "energy_code": "CN_AC", "start_time": "2026-11-30 10:00:00", "end_time": "2026-11-30 11:00:00",
        "replenish_time": 3600, "plate": "粤B12345", "quantity": 10, "total_value": 100, "energy_value": 60,
        "fee_value": 40, "state": 2, "state_desc": "充电中"}, tamper=True)
    assert status == 401 and answer["code"] == "401"
    assert StatusReport.objects.filter(order=order, kind="charging-status", energy_wh=10).count() == 0


def test_the_days_4pyun_statement_repairs_a_lost_record_and_lists_a_refused_one_with_4pyuns_hint(
        fourpyun, tomda, charger, settings):
    source = statement_sources.get("fourpyun")
    # An outage longer than the outbox's horizon: the first session's final record is given up
    settings.OUTBOX_HORIZON = timedelta(seconds=1)
    lost = session(tomda, charger, plate="京A12345", rounds=1)
    fourpyun.fail_for(3600, mode="503")
    OutboundDelivery.objects.filter(order_no=lost.order_no, payload__event="final").delete()
    from django.db import transaction

    from integrations.fourpyun.records import order_record_final
    with transaction.atomic():
        order_record_final(order=lost)
    final = OutboundDelivery.objects.get(order_no=lost.order_no, payload__event="final")
    assert final.status == DeliveryStatus.DEAD and "503" in final.last_error
    fourpyun.clear_faults()
    settings.OUTBOX_HORIZON = timedelta(days=3)

    # and 4pyun refuses the second session's final record for a reason of its own
    refused = session(tomda, charger, plate="京A54321", rounds=1)
    fourpyun.refuse(refused.order_no, code="400", hint="`plate` 车牌未在停车场登记")
    with transaction.atomic():
        Order.objects.filter(pk=refused.pk).update(plate="")
        order_vehicle_set(order=refused, plate="京A54322")
    newest = OutboundDelivery.objects.filter(order_no=refused.order_no, payload__event="final").latest("id")
    assert newest.status == DeliveryStatus.DEAD and newest.attempts == 1  # given up at once: a retry cannot help

    # When finance builds the day's statement
    statement = statement_build(source=source, day=business_day_of(lost.created_at))

    # Then the lost record was sent again before the comparison and 4pyun has it; the refused one is a difference
    # with 4pyun's hint
    assert fourpyun.final_of(lost.order_no).body["quantity"] == lost.energy_wh
    lines = {(line.category, line.key): line for line in statement.lines.all()}
    assert set(lines) == {(StatementCategory.MISSING_THEIRS, refused.order_no)}
    line = lines[(StatementCategory.MISSING_THEIRS, refused.order_no)]
    assert "车牌未在停车场登记" in line.detail and line.state == LineState.OPEN
    assert statement.repaired == 1
    assert (statement.our_orders, statement.their_orders) == (2, 1)
    [row] = statement.summary["rows"]
    assert row[1:4] == [2, 1, 1]


def test_each_mapped_charger_is_synced_with_its_ports_when_its_state_changes(fourpyun, tomda, charger):
    assert devices_sync() == 1
    device = fourpyun.wait_for(lambda sim: sim.device(EV), timeout=WAIT)
    assert (device.body["station_uuid"], device.body["type"], device.body["energy_code"]) == (STATION_UUID, 0, "CN_AC")
    assert device.body["state"] == 1 and [port["no"] for port in device.body["port"]] == ["1"]
    assert device.body["port"][0]["state"] == 1

    # Nothing changed: nothing is sent
    assert devices_sync() == 0

    # The pile goes offline in Tomda's pushes: the next sync tells 4pyun
    tomda.set_online(EV, False)
    delivered(tomda)
    assert devices_sync() == 1
    device = fourpyun.wait_for(lambda sim: sim.device(EV) if sim.device(EV).body["state"] == -2 else None,
                               timeout=WAIT)
    assert device.body["state_desc"] == "离线" and device.body["port"][0]["state"] == -1
