"""Benchmark of the order admin on a large table. Run by hand; it asserts nothing, it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charging_bench \\
        .venv/bin/python tests/benchmarks/order_changelist.py --orders 100000
    .venv/bin/python tests/benchmarks/order_changelist.py --orders 20000      # SQLite

It creates a fresh test database (the configured name with the usual `test_` prefix), fills it with
orders spread over stations, chargers, partners and the last 90 days, then times the admin pages an
operator or finance clerk opens most, as a logged-in superuser, and destroys the database again.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

BATCH = 5_000
STATIONS = 20
CHARGERS_PER_STATION = 10
PARTNERS = 5
DAYS = 90
RUNS = 5


@contextmanager
def explicit_timestamps(model):
    """Lets bulk_create store the given created_at/updated_at instead of now (auto_now[_add])."""
    fields = [
        f for f in model._meta.concrete_fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def build_places():
    from chargers.models import Charger, Connector, ConnectorStatus, CurrentType, Vendor
    from orders.models import Partner
    from stations.models import Station, StationStatus
    from tariffs.models import TariffTemplate, VehicleKind

    template = TariffTemplate.objects.create(external_id="BENCH", name="Bench", kind=VehicleKind.EV)
    stations = Station.objects.bulk_create(
        Station(
            code=f"BS{i:04d}",
            name=f"Bench station {i}",
            kind=VehicleKind.EV if i % 4 else VehicleKind.EBIKE,
            status=StationStatus.WORKING,
            city_code="440300",
            address="Bench road",
            tariff_template=template,
        )
        for i in range(STATIONS)
    )
    chargers = Charger.objects.bulk_create(
        Charger(
            station=station,
            vendor=Vendor.TOMDA if i % 2 else Vendor.WANZHUANG,
            serial=f"B{s:03d}{i:04d}",
            kind=station.kind,
            current_type=CurrentType.DC,
            rated_power_w=60_000,
            online=True,
            status=ConnectorStatus.FREE,
        )
        for s, station in enumerate(stations)
        for i in range(CHARGERS_PER_STATION)
    )
    connectors = Connector.objects.bulk_create(Connector(charger=charger, number=1) for charger in chargers)
    partners = Partner.objects.bulk_create(Partner(org_code=f"BP{i:04d}", name=f"Partner {i}") for i in range(PARTNERS))
    return connectors, partners


def build_orders(count, connectors, partners):
    from chargers.vendor import ChargeStrategy
    from orders.models import CloseReason, Order, OrderStatus
    from orders.services import BEIJING

    assert count <= 1_000_000, "order numbers end in six digits of the row number"
    rng = random.Random(20_251_121)  # the same data on every run
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span = DAYS * 86_400
    statuses = [OrderStatus.SETTLED] * 6 + [OrderStatus.FINISHED] * 3 + [OrderStatus.CANCELLED]
    reasons = [CloseReason.FULL, CloseReason.USER_STOP, CloseReason.AMOUNT_REACHED, CloseReason.UNPLUGGED]
    with explicit_timestamps(Order):
        for start in range(0, count, BATCH):
            batch = []
            for i in range(start, min(start + BATCH, count)):
                created = now - dt.timedelta(seconds=rng.randrange(span))
                connector = connectors[rng.randrange(len(connectors))]
                energy_wh = rng.randrange(1_000, 60_000)
                electricity = energy_wh * 6_500 // 100_000
                service = energy_wh * 4_000 // 100_000
                started = created + dt.timedelta(seconds=20)
                batch.append(
                    Order(
                        order_no=f"{created.astimezone(BEIJING):%Y%m%d%H%M%S}{i:06d}",
                        vendor_order_id=f"V{i:012d}",
                        partner=partners[i % len(partners)],
                        partner_order_no=f"P{i:012d}",
                        driver_id=f"D{i % 50_000:06d}",
                        station_id=connector.charger.station_id,
                        charger_id=connector.charger_id,
                        connector=connector,
                        strategy=ChargeStrategy.FULL,
                        status=statuses[i % len(statuses)],
                        started_at=started,
                        ended_at=started + dt.timedelta(seconds=energy_wh // 10),
                        charge_seconds=energy_wh // 10,
                        energy_wh=energy_wh,
                        electricity_fee_fen=electricity,
                        service_fee_fen=service,
                        total_fee_fen=electricity + service,
                        plate=f"粤B{rng.randrange(100_000):05d}",
                        close_reason=reasons[i % len(reasons)],
                        created_at=created,
                        updated_at=created,
                    )
                )
            Order.objects.bulk_create(batch, batch_size=BATCH)


def build_samples(order, count):
    from orders.models import OrderSample

    OrderSample.objects.bulk_create(
        OrderSample(
            order=order,
            device_time=order.started_at + dt.timedelta(seconds=30 * i),
            voltage_dv=3_800,
            current_da=1_500,
            power_w=57_000,
            energy_wh=475 * i,
            cost_fen=50 * i,
            soc=min(100, 20 + i // 2),
        )
        for i in range(count)
    )


def time_page(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up: caches, connection, plans
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    timings, queries = [], set()
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        queries.add(len(captured.captured_queries))
    return queries, statistics.median(timings), min(timings), captured.captured_queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="number of orders to create")
    parser.add_argument("--samples", type=int, default=120, help="progress samples of the order shown")
    parser.add_argument("--show-sql", action="store_true", help="print the slowest queries of each page")
    args = parser.parse_args()

    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.urls import reverse
    from django.utils import timezone

    from orders.models import Order, OrderStatus

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        connectors, partners = build_places()
        build_orders(args.orders, connectors, partners)
        shown = Order.objects.order_by("-created_at", "-id")[args.orders // 2]
        build_samples(shown, args.samples)
        with connection.cursor() as cursor:
            # Planner statistics as autovacuum/autoanalyze would have them on a live database.
            cursor.execute("ANALYZE")
        print(
            f"{connection.vendor}: {args.orders} orders over {STATIONS} stations, "
            f"{STATIONS * CHARGERS_PER_STATION} chargers, {PARTNERS} partners, {DAYS} days; "
            f"built in {time.perf_counter() - started:.1f} s"
        )

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pw-1234")
        client = Client()
        client.force_login(user)
        changelist = reverse("admin:orders_order_changelist")
        month = timezone.localtime(shown.created_at)
        pages = [
            ("changelist page 1", changelist),
            ("filter status=finished", f"{changelist}?status__exact={OrderStatus.FINISHED}"),
            (
                "date drill-down year+month",
                f"{changelist}?created_at__year={month.year}&created_at__month={month.month}",
            ),
            ("search exact order_no", f"{changelist}?q={shown.order_no}"),
            ("changelist page 50", f"{changelist}?p=50"),
            (f"change page ({args.samples} samples)", reverse("admin:orders_order_change", args=[shown.pk])),
        ]

        print(f"{'page':<32} {'queries':>7} {'median ms':>10} {'min ms':>8}")
        for title, url in pages:
            queries, median, fastest, last = time_page(client, url)
            counts = "/".join(str(q) for q in sorted(queries))
            print(f"{title:<32} {counts:>7} {median:>10.1f} {fastest:>8.1f}")
            if args.show_sql:
                for query in sorted(last, key=lambda q: float(q["time"]), reverse=True)[:3]:
                    print(f"    {query['time']} s  {query['sql'][:300]}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
