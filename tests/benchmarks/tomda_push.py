"""Benchmark of the Tomda push endpoint under a burst of WORK_DATA. Run by hand; it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charging_bench \\
        .venv/bin/python tests/benchmarks/tomda_push.py --sessions 200 --pushes 4000 --concurrency 16
    .venv/bin/python tests/benchmarks/tomda_push.py --pushes 1000 --concurrency 4      # SQLite

It creates a fresh test database (the configured name with the usual `test_` prefix) holding one
station of `--sessions` Tomda chargers, each with a charging order, then sends `--pushes` WORK_DATA
pushes (each a new minute of one session, as Tomda sends them) from `--concurrency` threads over
HTTP to this project's WSGI application on a threaded loopback server. Every push is stored in the
inbox, processed and answered, exactly as in production. It prints pushes per second, latency
percentiles and the database queries each push cost, then destroys the database.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

START = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


def build(sessions: int) -> list[tuple[str, str]]:
    """(charger serial, order number) of `sessions` charging sessions on Tomda chargers."""
    from chargers.models import Charger, Connector, ConnectorStatus, CurrentType, Vendor
    from orders.models import Order, OrderStatus
    from stations.models import Station, StationStatus
    from tariffs.models import TariffTemplate, TariffVersion, VehicleKind
    from tariffs.pricing import Period, Tariff

    template = TariffTemplate.objects.create(external_id="BENCH", name="Bench", kind=VehicleKind.EV)
    version = TariffVersion.objects.create(
        template=template, number=1, name="Bench", effective_from=START - dt.timedelta(days=1),
        published_at=START - dt.timedelta(days=1),
        content=Tariff(kind="ev", periods=(Period(0, 1440, "plain", 6500, 4000),)).to_content(),
    )
    station = Station.objects.create(
        code="BENCH", name="Bench", kind=VehicleKind.EV, status=StationStatus.WORKING, city_code="440300",
        address="Bench road", tariff_template=template,
    )
    chargers = Charger.objects.bulk_create(
        Charger(station=station, vendor=Vendor.TOMDA, serial=f"B{i:09d}", kind=VehicleKind.EV,
                current_type=CurrentType.AC, rated_power_w=7000, online=True, status=ConnectorStatus.CHARGING)
        for i in range(sessions)
    )
    connectors = Connector.objects.bulk_create(
        Connector(charger=charger, number=1, status=ConnectorStatus.CHARGING) for charger in chargers
    )
    orders = Order.objects.bulk_create(
        Order(order_no=f"20261121100000{i:06d}", station=station, charger=connector.charger, connector=connector,
              status=OrderStatus.CHARGING, started_at=START, tariff_version=version, authorized_amount_fen=20_000)
        for i, connector in enumerate(connectors)
    )
    return [(order.charger.serial, order.order_no) for order in orders]


def bodies(sessions: list[tuple[str, str]], pushes: int) -> list[bytes]:
    """The pushes in arrival order: minute m of every session, then minute m + 1, ..."""
    from integrations.tomda.mappers import format_time

    out = []
    minute = 0
    while len(out) < pushes:
        minute += 1
        for serial, order_no in sessions:
            if len(out) == pushes:
                break
            at = START + dt.timedelta(minutes=minute)
            item = {
                "connectorId": 0, "clientOrderId": order_no, "deviceTime": format_time(at),
                "chargerRunStatus": "CHARGE", "chargeTime": minute, "chargeVoltage": 2200, "chargeCurrent": 318,
                "chargePower": 7000, "chargeEnergy": minute * 117, "chargeCost": 0, "soc": min(99, 20 + minute // 3),
            }
            envelope = {"type": "WORK_DATA", "time": format_time(at), "content": {"serialNum": serial,
                                                                                "workDataInfo": [item]}}
            out.append(json.dumps(envelope).encode())
    return out


class QueryCounter:
    """Counts the statements of every database connection, whichever thread opened it."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
        return execute(sql, params, many, context)

    def install(self):
        from django.db.backends.signals import connection_created

        connection_created.connect(self._attach, weak=False)

    def _attach(self, sender, connection, **kwargs):
        if self not in connection.execute_wrappers:  # a reconnect of the same wrapper fires again
            connection.execute_wrappers.append(self)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="charging sessions pushed about")
    parser.add_argument("--pushes", type=int, default=4000, help="WORK_DATA pushes to send")
    parser.add_argument("--concurrency", type=int, default=16, help="sending threads")
    args = parser.parse_args()

    import django

    django.setup()
    import requests
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    from integrations.models import InboundMessage, InboundStatus
    from orders.models import OrderSample
    from tests.helpers import wsgi_server

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        sessions = build(args.sessions)
        payloads = bodies(sessions, args.pushes)
        counter = QueryCounter()
        counter.install()
        local = threading.local()
        latencies = []

        def send(body):
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            began = time.perf_counter()
            response = session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=60)
            latencies.append(time.perf_counter() - began)
            return response.status_code == 200 and response.json()["errorCode"] == "200"

        with wsgi_server() as base:
            url = f"{base}/integrations/tomda/push"
            send(payloads[0])  # warm-up: imports, first connection, translations
            counter.count, latencies[:] = 0, []
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                results = list(pool.map(send, payloads[1:]))
            elapsed = time.perf_counter() - began
        sent = len(payloads) - 1
        processed = InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count()
        latencies.sort()
        print(f"database          {connection.vendor}")
        print(f"sessions          {args.sessions}")
        print(f"pushes sent       {sent} from {args.concurrency} threads, {sum(results)} answered 200/200")
        print(f"processed rows    {processed} (samples stored: {OrderSample.objects.count()})")
        print(f"elapsed           {elapsed:.2f} s")
        print(f"pushes per second {sent / elapsed:.0f}")
        p95, p99 = (latencies[int(len(latencies) * share)] * 1000 for share in (0.95, 0.99))
        print(f"latency p50/p95/p99  {statistics.median(latencies) * 1000:.1f} / {p95:.1f} / {p99:.1f} ms")
        print(f"queries per push  {counter.count / sent:.1f}")
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
