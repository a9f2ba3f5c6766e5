"""The data steps of this release's migrations, run on rows written as the release before left them."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0006_session_permissions"), ("chargers", "0002_tariff_push")]
AFTER = [("orders", "0007_settlements_and_no_limit"), ("chargers", "0003_awaiting_station_and_faults")]
START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_no_authorised_amount_becomes_no_limit_and_orders_settled_from_progress_say_so(before):
    Station = before.get_model("stations", "Station")
    Charger = before.get_model("chargers", "Charger")
    Connector = before.get_model("chargers", "Connector")
    Order = before.get_model("orders", "Order")
    station = Station.objects.create(code="ST1", name="南山站", kind="ev")
    charger = Charger.objects.create(station=station, vendor="tomda", serial="1012300001", kind="ev",
                                     current_type="ac")
    connector = Connector.objects.create(charger=charger, number=1)

    def order(n, **fields):
        return Order.objects.create(order_no=f"2026112110000000000{n}", station=station, charger=charger,
                                    connector=connector, status="settled", started_at=START,
                                    ended_at=START + dt.timedelta(hours=1), **fields).pk

    unlimited = order(1, authorized_amount_fen=0, close_reason="full", vendor_close_code="EBIKE_SOCLIMITREACHED")
    limited = order(2, authorized_amount_fen=500, close_reason="other", vendor_close_code="EBIKE_LOCAL",
                    close_reason_text="插座被禁用,请选择空闲的插座开始您的充电服务")
    english = order(3, close_reason="other", vendor_close_code="",
                    close_reason_text="Settled from the vendor's progress answer; no settlement push arrived.")
    chinese = order(4, close_reason="other", vendor_close_code="",
                    close_reason_text="未收到结算推送，按厂商进度查询结果结算。")
    Event = before.get_model("chargers", "ChargerEvent")
    fault = Event.objects.create(charger=charger, source="plug", code="TOMDA_EBIKE_FAULT_ES", state="happening",
                                 device_time=START).pk
    note = Event.objects.create(charger=charger, source="plug", code="TOMDA_NOTICE", state="happening",
                                device_time=START).pk

    after = migrate(AFTER)

    Order = after.get_model("orders", "Order")
    rows = {row["pk"]: row for row in Order.objects.values("pk", "authorized_amount_fen", "settled_from")}
    assert (rows[unlimited]["authorized_amount_fen"], rows[limited]["authorized_amount_fen"]) == (None, 500)
    assert {pk: rows[pk]["settled_from"] for pk in (unlimited, limited, english, chinese)} == {
        unlimited: "", limited: "", english: "progress", chinese: "progress"
    }
    Event = after.get_model("chargers", "ChargerEvent")
    assert dict(Event.objects.values_list("pk", "is_fault")) == {fault: True, note: False}
