"""Benchmark of finance's exports of a business day on PostgreSQL. Run by hand; it asserts nothing, it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charging_export_bench \\
        .venv/bin/python tests/benchmarks/export.py --orders 1000000 [--keep] [--reuse]

DATABASE_URL names the PostgreSQL server and the database to use; anything but PostgreSQL is refused. The
script drops and creates that database, migrates it and fills one business day with `--orders` orders over
20 stations, 200 chargers of both vendors, 400 connectors and 5 partners (a sixth of the orders without one),
nine in ten priced (by period, and with the price lines the settlement stores beside them, about 700 bytes
of JSON; --slim leaves the lines out), one in a hundred with a difference in the day's statement; inserted
by one INSERT ... SELECT over generate_series, then VACUUM ANALYZE. `--reuse` keeps a database filled by an
earlier `--keep` run with the same number of orders.

Then, each in a fresh child process (so that one measurement's memory does not inflate the next; peak RSS
is the child's VmHWM, Django and all):
- COPY: PostgreSQL's own `COPY (SELECT * FROM orders_order WHERE <the day>) TO STDOUT`, read through
  psycopg into a null sink: the floor;
- CSV: the product's export task (`orders.exports.export_run`), COPY of the export's query into a file,
  the file saved to storage;
- XLSX (product): the export task writing the workbook (XlsxWriter constant_memory, prepared rows);
- XLSX XlsxWriter write_row / openpyxl write_only: each library's own row API in its streaming mode, fed
  the same rows with numbers as Decimals, to compare the libraries (`--library-orders` caps their rows).

It prints a table of rows/s and peak RSS, the ratio CSV/COPY, and the targets (CSV >= 0.8 x COPY, XLSX >=
25,000 rows/s, peak RSS <= 200 MB each). The database is dropped at the end unless --keep is given.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/charging_export_bench"
DAY = dt.date(2026, 11, 30)
STATIONS, CHARGERS_PER_STATION, CONNECTORS_PER_CHARGER, PARTNERS = 20, 10, 2, 5
TARGET_CSV_RATIO, TARGET_XLSX_ROWS_S, TARGET_RSS_MB = 0.8, 25_000, 200
MEASUREMENTS = ("copy", "csv", "xlsx", "xlsx_xlsxwriter", "xlsx_openpyxl")
TITLES = {
    "copy": "PostgreSQL COPY (SELECT *) floor",
    "csv": "CSV export (COPY of our query)",
    "xlsx": "XLSX export (product)",
    "xlsx_xlsxwriter": "XLSX XlsxWriter write_row",
    "xlsx_openpyxl": "XLSX openpyxl write_only",
}


# --- the database -------------------------------------------------------------------------------------------


def _admin_dsn(url):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def database_recreate(url):
    import psycopg

    dsn, name = _admin_dsn(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url):
    import psycopg
    from django.db import connections

    connections.close_all()
    dsn, name = _admin_dsn(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def database_filled(url, orders, *, price_lines) -> bool:
    """Whether the database exists and holds this benchmark's day of `orders` orders, with price lines or not."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            count, lined = conn.execute("SELECT count(*), count(price_lines) FROM orders_order").fetchone()
    except psycopg.Error:
        return False
    return count == orders and (lined > 0) == price_lines


def places_build():
    from chargers.models import Charger, Connector, ConnectorStatus, CurrentType, Vendor
    from orders.models import Partner
    from stations.models import Station, StationStatus
    from tariffs.models import TariffTemplate, VehicleKind

    template = TariffTemplate.objects.create(external_id="BENCH", name="Bench", kind=VehicleKind.EV)
    stations = Station.objects.bulk_create(
        Station(code=f"BS{i:04d}", name=f"深圳南山第{i}充电站", kind=VehicleKind.EV, status=StationStatus.WORKING,
                city_code="440300", address="深圳市南山区科技园", tariff_template=template)
        for i in range(STATIONS)
    )
    chargers = Charger.objects.bulk_create(
        Charger(station=station, vendor=Vendor.TOMDA if i % 2 else Vendor.WANZHUANG, serial=f"10123{s:03d}{i:04d}",
                kind=VehicleKind.EV, current_type=CurrentType.DC, rated_power_w=60_000, online=True,
                status=ConnectorStatus.FREE)
        for s, station in enumerate(stations) for i in range(CHARGERS_PER_STATION)
    )
    connectors = Connector.objects.bulk_create(
        Connector(charger=charger, number=n + 1) for charger in chargers for n in range(CONNECTORS_PER_CHARGER)
    )
    partners = Partner.objects.bulk_create(
        Partner(org_code=f"MA{i:07d}", name=f"出行平台{i}") for i in range(PARTNERS)
    )
    return connectors, partners


ORDERS_INSERT = """
INSERT INTO orders_order (
    order_no, vendor_order_id, partner_id, partner_order_no, driver_id, station_id, charger_id, connector_id,
    strategy, strategy_param, authorized_amount_fen, status, vendor_status, started_at, ended_at, charge_seconds,
    park_seconds, energy_wh, electricity_fee_fen, service_fee_fen, total_fee_fen, vendor_total_fen, soc, plate,
    vin, mobile, close_reason, vendor_close_code, close_reason_text, settled_from, tariff_version_id, price_lines,
    price_periods, last_data_at, created_at, updated_at)
SELECT
    to_char(created AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDDHH24MISS') || lpad((i %% 1000000)::text, 6, '0'),
    'V' || lpad(i::text, 12, '0'),
    CASE WHEN i %% 6 = 0 THEN NULL ELSE (%(partners)s::bigint[])[1 + i %% %(partner_count)s] END,
    CASE WHEN i %% 6 = 0 THEN '' ELSE 'P' || lpad(i::text, 12, '0') END,
    'D' || lpad((i %% 50000)::text, 6, '0'),
    (%(stations)s::bigint[])[c], (%(chargers)s::bigint[])[c], (%(connectors)s::bigint[])[c],
    'full', 0, NULL,
    CASE WHEN i %% 20 = 0 THEN 'cancelled' ELSE 'settled' END, '',
    created + interval '20 seconds', created + interval '20 seconds' + make_interval(secs => wh / 10),
    wh / 10, wh / 10 + 300, wh, pe + ve, ps + vs, pe + ve + ps + vs,
    CASE WHEN i %% 10 < 7 THEN pe + ve + ps + vs END, 80,
    '粤B' || lpad((i %% 100000)::text, 5, '0'), '', '',
    (ARRAY['full', 'user_stop', 'amount_reached', 'unplugged'])[1 + i %% 4], '', '', 'vendor', NULL,
    CASE WHEN i %% 10 <> 9 AND %(price_lines)s THEN jsonb_build_array(
        jsonb_build_object('kind', 'period', 'row', 1, 'interval', 'peak', 'start', started, 'end', middle,
                           'energy_wh', peak_wh, 'seconds', 1800, 'electricity_price_e4', 10500,
                           'service_price_e4', 6000, 'unit_seconds', NULL, 'electricity_fen', pe, 'service_fen', ps),
        jsonb_build_object('kind', 'period', 'row', 3, 'interval', 'valley', 'start', middle, 'end', ended,
                           'energy_wh', wh - peak_wh, 'seconds', 1800, 'electricity_price_e4', 3500,
                           'service_price_e4', 4000, 'unit_seconds', NULL, 'electricity_fen', ve, 'service_fen', vs))
    END,
    CASE WHEN i %% 10 <> 9 THEN jsonb_build_object('peak', jsonb_build_array(peak_wh, pe, ps),
                                                   'valley', jsonb_build_array(wh - peak_wh, ve, vs)) END,
    created + interval '1 hour', created, created
FROM generate_series(1::bigint, %(count)s) AS g(i),
     LATERAL (SELECT %(start)s::timestamptz + (i - 1) * interval '86399 seconds' / %(count)s AS created,
                     1 + i %% %(connector_count)s AS c,
                     1000 + (i * 7919) %% 59000 AS wh) AS base,
     LATERAL (SELECT (wh * 6) / 10 AS peak_wh) AS split,
     LATERAL (SELECT to_char(created + interval '20 seconds', 'YYYY-MM-DD"T"HH24:MI:SSOF:00') AS started,
                     to_char(created + interval '20 seconds' + make_interval(secs => wh / 20),
                             'YYYY-MM-DD"T"HH24:MI:SSOF:00') AS middle,
                     to_char(created + interval '20 seconds' + make_interval(secs => wh / 10),
                             'YYYY-MM-DD"T"HH24:MI:SSOF:00') AS ended) AS times,
     LATERAL (SELECT peak_wh * 10500 / 100000 AS pe, peak_wh * 6000 / 100000 AS ps,
                     (wh - peak_wh) * 3500 / 100000 AS ve, (wh - peak_wh) * 4000 / 100000 AS vs) AS fees
"""

LINES_INSERT = """
INSERT INTO orders_statementline (statement_id, category, key, order_id, reference, ours, theirs, detail, state,
                                  found_at)
SELECT %(statement)s, 'amount', order_no, id, '', '{}', '{}', '',
       (ARRAY['open', 'sent_back', 'accepted', 'corrected'])[1 + (id / 100) %% 4], now()
FROM orders_order WHERE id %% 100 = 0
"""


def day_fill(count, *, price_lines=True):
    from django.db import connection
    from django.utils import timezone

    from backoffice.days import business_day_bounds
    from orders.models import Statement

    connectors, partners = places_build()
    start, _end = business_day_bounds(DAY)
    with connection.cursor() as cursor:
        cursor.execute(ORDERS_INSERT, {
            "count": count, "start": start, "price_lines": price_lines,
            "partners": [p.pk for p in partners], "partner_count": len(partners),
            "stations": [c.charger.station_id for c in connectors], "chargers": [c.charger_id for c in connectors],
            "connectors": [c.pk for c in connectors], "connector_count": len(connectors),
        })
        statement = Statement.objects.create(counterparty="bench", day=DAY, built_at=timezone.now())
        cursor.execute(LINES_INSERT, {"statement": statement.pk})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- the measurements, each in a child process --------------------------------------------------------------


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _export_task(fmt):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from orders.exports import export_run
    from orders.models import Export, ExportKind

    user, _created = get_user_model().objects.get_or_create(username="bench")
    export = Export.objects.create(kind=ExportKind.ORDERS, format=fmt, day_from=DAY, day_to=DAY, requested_by=user,
                                   requested_at=timezone.now())
    export = export_run(export_id=export.pk)
    if export.state != "done":
        raise SystemExit(f"export failed: {export.error}")
    size = export.file.size
    export.file.delete(save=False)
    return export.rows_done, size


def _prepared_rows(limit):
    """The export's rows, from the same COPY as the product's, with numbers as exact Decimals, as a library's
    own row API wants them."""
    from decimal import Decimal

    from orders.exports import ORDER_COLUMNS, export_rows
    from orders.exports.rows import Kind
    from orders.exports.writers import row_tuples
    from orders.selectors import orders_of_days

    numeric = [i for i, column in enumerate(ORDER_COLUMNS) if column.kind in (Kind.YUAN, Kind.KWH)]
    connector = [i for i, column in enumerate(ORDER_COLUMNS) if column.kind == Kind.INTEGER]
    rows = export_rows(orders=orders_of_days(day_from=DAY), days=(DAY, DAY))
    if limit:
        rows = rows[:limit]
    for row in row_tuples(rows=rows):
        row = list(row)
        for i in numeric:
            if row[i] is not None:
                row[i] = Decimal(row[i])
        for i in connector:
            row[i] = int(row[i])
        yield row


def _xlsxwriter_plain(path, limit):
    import xlsxwriter

    from orders.exports import ORDER_COLUMNS, export_headers
    from orders.exports.rows import Kind

    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet()
    yuan, kwh = book.add_format({"num_format": "0.00"}), book.add_format({"num_format": "0.000"})
    for i, column in enumerate(ORDER_COLUMNS):
        sheet.set_column(i, i, 12, {Kind.YUAN: yuan, Kind.KWH: kwh}.get(column.kind))
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, export_headers(), book.add_format({"bold": True}))
    done = 0
    for done, row in enumerate(_prepared_rows(limit), start=1):
        sheet.write_row(done, 0, row)
    book.close()
    return done, os.path.getsize(path)


def _openpyxl_write_only(path, limit):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from orders.exports import ORDER_COLUMNS, export_headers
    from orders.exports.rows import Kind

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for text in export_headers():
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = {i: {Kind.YUAN: "0.00", Kind.KWH: "0.000"}[column.kind] for i, column in enumerate(ORDER_COLUMNS)
               if column.kind in (Kind.YUAN, Kind.KWH)}
    done = 0
    for row in _prepared_rows(limit):
        done += 1
        for i, number_format in formats.items():
            if row[i] is not None:
                cell = WriteOnlyCell(sheet, value=row[i])
                cell.number_format = number_format
                row[i] = cell
        sheet.append(row)
    book.save(path)
    return done, os.path.getsize(path)


def _copy_floor():
    from django.db import connection

    from backoffice.days import business_day_bounds

    start, end = business_day_bounds(DAY)
    done = size = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
        "COPY (SELECT * FROM orders_order WHERE created_at >= %s AND created_at < %s) TO STDOUT", (start, end)
    ) as copy:
        for data in copy:  # the null sink
            done += 1
            size += len(data)
    return done, size


def child(name, limit):
    import django
    from django.conf import settings

    django.setup()
    with tempfile.TemporaryDirectory(prefix="export-bench-") as folder:
        settings.MEDIA_ROOT = folder
        started = time.perf_counter()
        if name == "copy":
            rows, size = _copy_floor()
        elif name == "csv":
            rows, size = _export_task("csv")
        elif name == "xlsx":
            rows, size = _export_task("xlsx")
        elif name == "xlsx_xlsxwriter":
            rows, size = _xlsxwriter_plain(os.path.join(folder, "plain.xlsx"), limit)
        else:
            rows, size = _openpyxl_write_only(os.path.join(folder, "openpyxl.xlsx"), limit)
        seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": seconds, "bytes": size, "rss_mb": peak_rss_mb()}))


def measure(name, limit):
    command = [sys.executable, __file__, "--child", name, "--library-orders", str(limit or 0)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)  # noqa: S603
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the business day")
    parser.add_argument("--library-orders", type=int, default=0,
                        help="rows given to the plain XlsxWriter and openpyxl runs (0: the whole day)")
    parser.add_argument("--only", choices=MEASUREMENTS, action="append", help="run only these measurements")
    parser.add_argument("--slim", action="store_true",
                        help="orders without their stored price lines (the export reads none of them; they make "
                             "the rows COPY (SELECT *) dumps as long as a settled order's are)")
    parser.add_argument("--keep", action="store_true", help="keep the database for a later --reuse")
    parser.add_argument("--reuse", action="store_true", help="use the database of an earlier --keep run")
    parser.add_argument("--child", choices=MEASUREMENTS, help=argparse.SUPPRESS)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"PostgreSQL only (DATABASE_URL={url}): the CSV is COPY's, and the figures are for production.")
    os.environ["DATABASE_URL"] = url
    if args.child:
        child(args.child, args.library_orders)
        return
    if args.orders > 1_000_000:
        sys.exit("at most 1,000,000 orders: order numbers end in six digits of the row number")

    import django

    reused = args.reuse and database_filled(url, args.orders, price_lines=not args.slim)
    if not reused:
        database_recreate(url)
    django.setup()
    from django.core.management import call_command

    try:
        if not reused:
            started = time.perf_counter()
            call_command("migrate", verbosity=0)
            day_fill(args.orders, price_lines=not args.slim)
            print(f"filled {args.orders} orders of {DAY} in {time.perf_counter() - started:.1f} s")
        measure("copy", 0)  # warm-up: the day's pages in the caches, as on a server that just wrote them
        results = {}
        for name in args.only or MEASUREMENTS:
            limit = args.library_orders if name in ("xlsx_xlsxwriter", "xlsx_openpyxl") else 0
            results[name] = measure(name, limit)
            result = results[name]
            print(f"  {TITLES[name]}: {result['rows']} rows in {result['seconds']:.2f} s", flush=True)

        print()
        print(f"{'measurement':<36} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'MB out':>8} {'peak RSS MB':>12}")
        for name, result in results.items():
            print(f"{TITLES[name]:<36} {result['rows']:>9} {result['seconds']:>8.2f} "
                  f"{result['rows'] / result['seconds']:>9.0f} {result['bytes'] / 2**20:>8.1f} "
                  f"{result['rss_mb']:>12.1f}")
        rate = {name: result["rows"] / result["seconds"] for name, result in results.items()}
        print()
        if "copy" in rate and "csv" in rate:
            ratio = rate["csv"] / rate["copy"]
            print(f"CSV / COPY rows/s: {ratio:.2f}  (target >= {TARGET_CSV_RATIO})")
        if "xlsx" in rate:
            print(f"XLSX rows/s: {rate['xlsx']:.0f}  (target >= {TARGET_XLSX_ROWS_S})")
        worst = max(result["rss_mb"] for result in results.values())
        print(f"largest peak RSS: {worst:.1f} MB  (target <= {TARGET_RSS_MB} each)")
    finally:
        if not args.keep:
            database_drop(url)


if __name__ == "__main__":
    main()
