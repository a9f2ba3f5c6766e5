"""Which news becomes a 4pyun record, what it says, and how the outbox treats 4pyun's answers.

Orders are built with the factories and moved by the domain services; the records go to the 4pyun simulator over
real HTTP (tasks inline). Faults of the transport are the only mocks.
"""

from datetime import timedelta

import pytest
import requests
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from chargers.models import ConnectorStatus, CurrentType, Vendor
from integrations.fourpyun.client import FourpyunClient, FourpyunError, FourpyunRefused
from integrations.fourpyun.records import RECORD_KIND, order_record_final, order_record_progress, order_records_resend
from integrations.models import DeliveryStatus, OutboundDelivery
from orders.models import OrderStatus
from tests.chargers.factories import ChargerFactory, ConnectorFactory
from tests.orders.factories import OrderFactory
from tests.stations.factories import StationFactory

from .conftest import APP_ID, APP_SECRET, STATION_UUID

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fourpyun(settings):
    from integrations.fourpyun.simulator import FourpyunSimulator

    with FourpyunSimulator(APP_ID, APP_SECRET, stations=[STATION_UUID]) as sim:
        settings.FOURPYUN_BASE_URL = sim.base_url
        settings.FOURPYUN_APP_ID = APP_ID
        settings.FOURPYUN_APP_SECRET = APP_SECRET
        settings.FOURPYUN_RECORD_PROGRESS_SECONDS = 300
        yield sim


def an_order(*, uuid=STATION_UUID, status=OrderStatus.CHARGING, kind="ev", **fields):
    station = StationFactory(fourpyun_station_uuid=uuid)
    charger = ChargerFactory(station=station, vendor=Vendor.TOMDA, kind=kind, current_type=CurrentType.DC)
    connector = ConnectorFactory(charger=charger, number=2, status=ConnectorStatus.CHARGING)
    fields.setdefault("started_at", timezone.now() - timedelta(minutes=30))
    return OrderFactory(station=station, charger=charger, connector=connector, status=status, **fields)


def settle(order, *, energy_wh=12_345, electricity=800, service=200, plate=""):
    order.status, order.energy_wh, order.plate = OrderStatus.SETTLED, energy_wh, plate
    order.electricity_fee_fen, order.service_fee_fen, order.total_fee_fen = electricity, service, electricity + service
    order.ended_at = timezone.now()
    order.save()
    return order


def fresh(delivery):
    """The delivery as it stands once the transaction that wrote it committed (and the task sent it)."""
    if delivery is not None:
        delivery.refresh_from_db()
    return delivery


def final(order, **kwargs):
    with transaction.atomic():
        delivery = order_record_final(order=order, **kwargs)
    return fresh(delivery)


def progress(order, **kwargs):
    with transaction.atomic():
        delivery = order_record_progress(order=order, **kwargs)
    return fresh(delivery)


def test_a_settled_order_is_one_final_record_with_4pyuns_units_and_the_same_figures_are_never_sent_twice(fourpyun):
    order = settle(an_order(), plate="粤b 12345", energy_wh=12_345, electricity=800, service=205)
    delivery = final(order)

    body = fourpyun.final_of(order.order_no).body
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.key == f"4pyun:{order.order_no}:final:1"
    assert (body["quantity"], body["energy_value"], body["fee_value"], body["state"]) == (12_345, 800, 205, 3)
    assert (body["plate"], body["energy_code"], body["port_no"], body["device_type"]) == ("粤B12345", "CN_DC", "2", 0)
    assert delivery.payload["reduction_problem"] == ""
    # the same news again writes nothing; a correction is a second final record
    assert final(order) is None
    order.service_fee_fen, order.total_fee_fen = 200, 1000
    order.save()
    assert final(order).key == f"4pyun:{order.order_no}:final:2"
    assert fourpyun.final_of(order.order_no).body["fee_value"] == 200


def test_a_record_without_a_plate_is_sent_without_one_and_says_why_no_reduction_is_possible(fourpyun):
    order = settle(an_order(), plate="粤B1234")
    delivery = final(order)

    assert "plate" not in fourpyun.final_of(order.order_no).body
    assert delivery.status == DeliveryStatus.DELIVERED
    assert "粤B1234" in delivery.payload["reduction_problem"]
    # an e-bike's record never grants a reduction, and is not listed as lacking one
    ebike = settle(an_order(uuid="", kind="ebike"))
    ebike.station.fourpyun_station_uuid = "7c1e6a2b-0000-4000-8000-000000000002"
    ebike.station.save()
    fourpyun.stations.add(ebike.station.fourpyun_station_uuid)
    assert final(ebike).payload["reduction_problem"] == ""


def test_nothing_is_written_for_an_unmapped_station_nor_while_4pyun_is_not_configured(fourpyun, settings):
    assert final(settle(an_order(uuid=""))) is None
    settings.FOURPYUN_BASE_URL = ""
    assert final(settle(an_order(uuid="2a6f0d3e-0000-4000-8000-000000000003"))) is None
    assert not OutboundDelivery.objects.filter(kind=RECORD_KIND).exists()


def test_the_first_charging_news_is_the_start_then_progress_at_most_every_interval(fourpyun):
    order = an_order()
    now = timezone.now()
    assert progress(order, now=now).key == f"4pyun:{order.order_no}:start"
    # within the interval: nothing, and the gate keeps the database out of the next news
    assert progress(order, now=now + timedelta(seconds=10)) is None
    cache.clear()
    assert progress(order, now=now + timedelta(seconds=299)) is None
    cache.clear()
    assert progress(order, now=now + timedelta(seconds=301)).key == f"4pyun:{order.order_no}:progress:1"
    assert [record.state for record in fourpyun.records_of(order.order_no)] == [2, 2]


def test_a_start_failed_by_news_is_its_final_record_once(fourpyun):
    order = an_order(status=OrderStatus.START_FAILED, started_at=None, ended_at=None)
    assert progress(order).payload["state"] == -1
    assert progress(order) is None
    assert [record.state for record in fourpyun.records_of(order.order_no)] == [-1]


def test_a_refusal_for_good_is_given_up_at_once_with_4pyuns_hint_and_a_failure_is_retried(fourpyun):
    refused = settle(an_order())
    fourpyun.refuse(refused.order_no, code="400", hint="`mobile` 手机号码格式错误")
    delivery = final(refused)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 1)
    assert "`mobile` 手机号码格式错误" in delivery.last_error
    assert "手机号码格式错误" in delivery.attempt_rows.get().response_head

    fourpyun.fail_next(1, mode="1500")
    failed = final(settle(an_order(uuid=STATION_UUID.replace("49f0", "49f1"))))
    fourpyun.stations.add(STATION_UUID.replace("49f0", "49f1"))
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 1)  # 1500: 4pyun failed, try again


def test_resend_tries_the_newest_final_record_now_and_leaves_a_confirmed_one(fourpyun):
    order = settle(an_order())
    fourpyun.fail_next(1, mode="503")
    delivery = final(order)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING

    again = order_records_resend(order=order, by_name="operator")
    assert again.status == DeliveryStatus.DELIVERED and again.pk == delivery.pk
    assert order_records_resend(order=order, by_name="operator") is None
    assert len(fourpyun.records_of(order.order_no)) == 1


def test_a_call_is_signed_over_the_bytes_sent_with_a_fresh_timestamp_and_4pyuns_codes_are_typed(fourpyun):
    client = FourpyunClient.from_settings()
    record = {"station_uuid": STATION_UUID, "order": "20261201120000000001", "start_time": "2026-12-01T04:00:00.000Z",
              "end_time": "2026-12-01T05:00:00.000Z", "quantity": 1000, "energy_value": 80, "fee_value": 20,
              "state": 3, "state_desc": "充电完成", "device_no": "D1", "device_type": 0, "port_no": "1",
              "energy_code": "CN_AC", "mobile": "13800138001"}
    assert client.sync("/gate/1.0/energy/internal/replenish/sync", record, operation="record").status_code == 200

    with pytest.raises(FourpyunRefused) as refused:
        client.sync("/gate/1.0/energy/internal/replenish/sync", {**record, "quantity": "1000"}, operation="record")
    assert refused.value.code == "400" and "quantity" in refused.value.hint

    wrong = FourpyunClient(base_url=fourpyun.base_url, app_id=APP_ID, app_secret="not-the-secret")
    with pytest.raises(FourpyunRefused) as unsigned:
        wrong.sync("/gate/1.0/energy/internal/replenish/sync", record, operation="record")
    assert unsigned.value.code == "401" and "app_secret=***" in unsigned.value.hint

    with pytest.raises(FourpyunError) as unknown:
        client.sync("/gate/1.0/energy/internal/replenish/sync", {**record, "station_uuid": "nope"}, operation="record")
    assert unknown.value.code == "1002" and not isinstance(unknown.value, FourpyunRefused)


def test_a_transport_fault_leaves_the_record_waiting(fourpyun, monkeypatch):
    from chargers.vendor import VendorUnavailable

    order = settle(an_order())
    monkeypatch.setattr(requests.Session, "request", lambda *a, **k: (_ for _ in ()).throw(requests.ConnectTimeout()))
    delivery = final(order)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "no answer in time" in delivery.last_error
    assert issubclass(VendorUnavailable, Exception)
