"""Benchmark of the order samples partitioned by day, at 100 million rows. Run by hand; it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charging_bench \\
        .venv/bin/python tests/benchmarks/samples_partitioned.py --samples 100000000 --days 14

It creates a fresh test database (the configured name with the usual `test_` prefix; PostgreSQL only), makes
the orders of `--days` days (`--per-order` samples each, one a minute, as a connector pushes them) and fills the
partitioned samples table with them in SQL, a day's partition holding `samples / days` rows. Then, as a
logged-in superuser, it times the pages that read the table: an order's page (its curve and its samples
inline), the samples' list, and the list searched by an order number; it prints each page's queries and time,
the partitions the order's samples are read from, and the time to drop the oldest day. `--keep` keeps the
database for another run, which then skips the filling.
"""

import argparse
import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

from tests.benchmarks import order_changelist  # noqa: E402
from tests.benchmarks.order_changelist import build_orders, build_places, time_page  # noqa: E402


def fill_samples(*, spec, days, per_order: int) -> int:
    """Every order's samples, one a minute from its start, received as they were read; in SQL, a day at a time.

    A day is written as a table of its own without indexes, then attached as its partition, which builds the
    partition's indexes in one sort each: the bulk load PostgreSQL advises, many times faster than 100 million
    inserts through four indexes, and the same table at the end. Returns the rows written.
    """
    from django.db import connection

    from backoffice.partitions import day_partitions, partition_literal

    qn = connection.ops.quote_name
    parent = qn(spec.table)
    written, started = 0, time.perf_counter()
    for day in days:
        name = qn(spec.partition_name(day))
        low, high = spec.bounds(day)
        with connection.cursor() as cursor:
            if day in day_partitions(spec):
                cursor.execute(f"ALTER TABLE {parent} DETACH PARTITION {name}")
                cursor.execute(f"DROP TABLE {name}")
            cursor.execute(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            cursor.execute(
                f"INSERT INTO {name} (order_id, device_time, voltage_dv, current_da, power_w, energy_wh,"  # noqa: S608
                " cost_fen, soc, left_out, received_at)"
                " SELECT o.id, o.started_at + make_interval(mins => g), 3800, 1500, 57000, 475 * g, 50 * g,"
                " least(100, 20 + g / 2), '', o.created_at + make_interval(mins => g)"
                " FROM orders_order o CROSS JOIN generate_series(0, %s) g"
                " WHERE o.created_at >= %s - make_interval(mins => %s) AND o.created_at < %s"
                " AND o.created_at + make_interval(mins => g) >= %s AND o.created_at + make_interval(mins => g) < %s",
                [per_order - 1, low, per_order, high, low, high],
            )
            written += cursor.rowcount
            cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES FROM"
                           f" ({partition_literal(low)}) TO ({partition_literal(high)})")
        elapsed = time.perf_counter() - started
        print(f"  {day}: {written:>12,} samples, {written / elapsed:>9,.0f} rows/s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_order SET samples_until = created_at + make_interval(mins => %s)",
                       [per_order - 1])
    return written


def partitions_read(queryset) -> list[str]:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return sorted(set(re.findall(r" on (orders_ordersample_(?:p\d{8}|default))", plan)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000_000, help="rows of the samples table")
    parser.add_argument("--days", type=int, default=14, help="days the orders (and their samples) are spread over")
    parser.add_argument("--per-order", type=int, default=120, help="samples of each order (one a minute)")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse a kept one)")
    args = parser.parse_args()

    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.urls import reverse

    from backoffice.days import business_day_of
    from backoffice.partitions import day_partitions, partition_create, partition_expire, partitioned_table
    from orders.models import Order, OrderSample
    from orders.selectors import order_samples

    if connection.vendor != "postgresql":
        raise SystemExit("partitioning is PostgreSQL's: set DATABASE_URL to a PostgreSQL database")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keep)
    spec = partitioned_table("orders.OrderSample")
    try:
        if not Order.objects.exists():
            started = time.perf_counter()
            order_changelist.DAYS = args.days
            connectors, partners = build_places()
            orders = args.samples // args.per_order
            build_orders(orders, connectors, partners)
            print(f"{orders:,} orders over {args.days} days in {time.perf_counter() - started:.0f} s")
            # The days the orders were created on, and a week ahead, as the maintenance task keeps them.
            today = business_day_of(dt.datetime.now(dt.UTC))
            days = [today + dt.timedelta(days=offset) for offset in range(-args.days - 1, 8)]
            for day in days:
                partition_create(spec=spec, day=day)
            started = time.perf_counter()
            written = fill_samples(spec=spec, days=days, per_order=args.per_order)
            print(f"{written:,} samples in {time.perf_counter() - started:.0f} s")
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute("VACUUM ANALYZE orders_ordersample")
                cursor.execute("ANALYZE orders_order")
                print(f"vacuum analyze in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits"
                           " WHERE inhparent = 'orders_ordersample'::regclass")
            size = cursor.fetchone()[0]
        total = OrderSample.objects.count() if args.samples <= 10_000_000 else None
        print(f"samples table: {len(day_partitions(spec))} day partitions, {size} with its indexes"
              + (f", {total:,} rows" if total is not None else ""))

        user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
            "bench", "bench@example.com", "bench-pw-1234")
        client = Client()
        client.force_login(user)
        shown = Order.objects.order_by("-created_at", "-id")[Order.objects.count() // 2]
        samples_list = reverse("admin:orders_ordersample_changelist")
        pages = [
            (f"order page ({args.per_order} samples)", reverse("admin:orders_order_change", args=[shown.pk])),
            ("samples list page 1", samples_list),
            ("samples list searched by order", f"{samples_list}?q={shown.order_no}"),
        ]
        print(f"order {shown.order_no}: its samples read from {', '.join(partitions_read(order_samples(order=shown)))}")
        print(f"{'page':<36} {'queries':>7} {'median ms':>10} {'min ms':>8}")
        for title, url in pages:
            queries, median, fastest, _last = time_page(client, url)
            counts = "/".join(str(q) for q in sorted(queries))
            print(f"{title:<36} {counts:>7} {median:>10.1f} {fastest:>8.1f}")

        # The oldest day that holds samples (the days before the first order's are empty).
        oldest, name = next((day, name) for day, name in sorted(day_partitions(spec).items())
                            if OrderSample.objects.filter(received_at__range=spec.bounds(day)).exists())
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [name])
            rows = cursor.fetchone()[0]
        started = time.perf_counter()
        partition_expire(spec=spec, day=oldest, action="drop")
        print(f"drop the day {oldest} ({max(rows, 0):,} rows): {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
