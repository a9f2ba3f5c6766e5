"""Benchmark of the partner interface's polled reads on PostgreSQL. Run by hand; it asserts nothing, it prints figures.

    .venv/bin/python tests/benchmarks/partner_api.py [--stations 1000] [--seconds 15] [--concurrency 16 64] \\
        [--orders-per-station 5] [--workers 4] [--threads 4] [--client auto|wrk|python] [--sql] [--keep]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/charging_bench_partner) names the PostgreSQL server and
the database to create; anything but PostgreSQL is refused. The script drops and creates that database, migrates
it and fills it in two steps, 100 stations and then up to `--stations`: each station has 10 chargers (AC, DC and
AC/DC, Tomda and Wanzhuang) of two connectors in mixed states, a tariff template published through
`tariffs.services.tariff_version_publish` (time-of-use, flat with free minutes, or e-bike power tiers), and
`--orders-per-station` orders of the partner (settled, start failed, ended abnormally, and a fifth of them
charging for 5 to 120 minutes, with one progress sample a minute), by bulk_create and one INSERT ... SELECT.
One partner sees every station through its city codes and holds a token (partner_secret_issue +
partner_token_issue).

It prints:
- queries: the SQL queries one answer of syncStubInfo and of getOrderInfo (an ended order, a live one) costs
  (CaptureQueriesContext around the Django test Client, over random stations and orders), at 100 stations and
  at `--stations`, with the in-process time of an answer; the counts must not grow with the stations (`--sql`
  lists one answer's SQL);
- load: this project under gunicorn (production settings, `--workers` x `--threads` gthread, persistent
  database connections, PARTNER_RATES raised so the throttle never refuses) driven for `--seconds` per run at
  each `--concurrency` over real HTTP, syncStubInfo over random stations, getOrderInfo over random orders and
  over random live ones (the orders the spec has partners poll):
  answers/s, p50/p95/p99 latency and the count of answers that were not HTTP 200 with code 0 (must be 0).
  The client is wrk when it is installed (a Lua script written next to the server log), else a pool of Python
  processes with threads on requests.Session (`--client` forces one). Client and server share this machine.

The database is dropped and the server stopped at the end, on Ctrl-C and on SIGTERM too, unless --keep is given
(which keeps the database).
"""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks.pushkit import percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/charging_bench_partner"
API = "/api/partner/v1/"
FIRST_STEP = 100
CHARGERS_PER_STATION, CONNECTORS_PER_CHARGER = 10, 2
CITIES = ("440300", "440100", "110000")  # Shenzhen, Guangzhou, Beijing: the partner sees all three
ORG = "BENCHPARTNER"
SAMPLES = 30  # answers measured in-process per interface and step
WARM_UP_SECONDS = 2
# Far above any rate reached here, per second so that DRF's history of one partner's calls stays short.
RATES = {name: "1000000000/s" for name in ("syncStubInfo", "getOrderInfo")}


# --- the database -------------------------------------------------------------------------------------------


def recreate_database(url: str, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                         password=parts.password, dbname="postgres", autocommit=True) as admin:
        # FORCE: a connection left over (a server, an interrupted run) must not keep the database alive.
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def tariffs_build() -> dict:
    """Three templates, each published once through the tariffs service: {kind: [(template, version), ...]}."""
    from tariffs.models import TariffDetail, TariffTemplate, TimeInterval, VehicleKind
    from tariffs.services import tariff_version_publish

    def template_with(external_id, name, kind, rows, **settings):
        template = TariffTemplate.objects.create(external_id=external_id, name=name, kind=kind, **settings)
        TariffDetail.objects.bulk_create(TariffDetail(template=template, position=n, **row)
                                         for n, row in enumerate(rows, start=1))
        return template, tariff_version_publish(template=template, note="benchmark")

    def period(start, end, interval, electricity, service):
        return {"start_minute": start, "end_minute": end, "interval": interval,
                "electricity_price_e4": electricity, "service_price_e4": service}

    def tier(upper, unit, electricity, service):
        return {"power_upper_w": upper, "unit_seconds": unit, "interval": "", "electricity_price_e4": electricity,
                "service_price_e4": service}

    time_of_use = template_with("BENCH-TOU", "分时电价", VehicleKind.EV, [
        period(0, 480, TimeInterval.VALLEY, 3500, 4000),
        period(480, 600, TimeInterval.PLAIN, 6500, 5000),
        period(600, 720, TimeInterval.PEAK, 10500, 6000),
        period(720, 840, TimeInterval.CUSP, 12500, 6000),
        period(840, 1140, TimeInterval.PEAK, 10500, 6000),
        period(1140, 1440, TimeInterval.PLAIN, 6500, 5000),
    ])
    flat = template_with("BENCH-FLAT", "全天统一电价", VehicleKind.EV,
                         [period(0, 1440, TimeInterval.PLAIN, 6500, 4000)], free_charge_seconds=180)
    ebike = template_with("BENCH-EBIKE", "电单车功率计费", VehicleKind.EBIKE,
                          [tier(300, 3600, 5000, 0), tier(600, 3600, 8000, 0), tier(1000, 1800, 6000, 0)])
    return {VehicleKind.EV: [time_of_use, flat], VehicleKind.EBIKE: [ebike]}


def partner_build():
    """The partner that sees every station of CITIES, and its token."""
    from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue
    from orders.models import Partner

    partner = Partner.objects.create(org_code=ORG, name="出行平台（基准）")
    access = partner_access_get(partner=partner)
    access.city_codes = ",".join(CITIES)
    access.save(update_fields=["city_codes", "updated_at"])
    secret = partner_secret_issue(partner=partner)
    token = partner_token_issue(org=ORG, secret=secret, caller=Caller("benchmark")).token
    return partner, token


def stations_fill(first: int, upto: int, *, tariffs: dict, partner, orders_per_station: int) -> None:
    """Stations first..upto-1 with their chargers, connectors and the partner's orders."""
    from chargers.models import Charger, Connector, ConnectorStatus, CurrentType, ParkingStatus, Vendor
    from orders.models import CloseReason, Order, OrderStatus
    from stations.models import Station, StationAccess, StationStatus
    from tariffs.models import VehicleKind

    rng = random.Random(first)
    accesses = (StationAccess.PUBLIC,) * 8 + (StationAccess.PRIVATE, StationAccess.DEDICATED)
    stations, versions = [], {}
    for i in range(first, upto):
        kind = VehicleKind.EBIKE if i % 10 == 9 else VehicleKind.EV
        template, version = tariffs[kind][i % len(tariffs[kind])]
        station = Station(
            code=f"BS{i:06d}", name=f"基准充电站{i}", kind=kind, status=StationStatus.WORKING,
            access=accesses[i % len(accesses)], city_code=CITIES[i % len(CITIES)],
            address=f"科技园南区{i}号", longitude=113.9342 + i / 100_000, latitude=22.5401 + i / 100_000,
            service_hours="00:00-24:00", guide="地下停车场 B2 层", parking_fee="充电免停车费 2 小时",
            tariff_template=template,
        )
        stations.append(station)
        versions[station.code] = version
    Station.objects.bulk_create(stations, batch_size=2000)

    current_types = (CurrentType.DC,) * 5 + (CurrentType.AC,) * 4 + (CurrentType.AC_DC,)
    chargers = []
    for station in stations:
        for n in range(CHARGERS_PER_STATION):
            ebike = station.kind == VehicleKind.EBIKE
            chargers.append(Charger(
                station=station, vendor=Vendor.TOMDA if n % 2 else Vendor.WANZHUANG,
                serial=f"{station.code[2:]}{n:02d}", name="" if n % 3 else f"{n + 1}号桩", kind=station.kind,
                current_type=CurrentType.AC if ebike else current_types[n],
                rated_power_w=1000 if ebike else (7000 if current_types[n] == CurrentType.AC else 120_000),
                online=rng.random() > 0.05, status=ConnectorStatus.FREE,
            ))
    Charger.objects.bulk_create(chargers, batch_size=5000)

    states = ((ConnectorStatus.FREE,) * 6 + (ConnectorStatus.CHARGING,) * 2
              + (ConnectorStatus.OCCUPIED, ConnectorStatus.FAULT, ConnectorStatus.OFFLINE, ConnectorStatus.UNKNOWN))
    parking = (ParkingStatus.UNKNOWN, ParkingStatus.FREE, ParkingStatus.FREE, ParkingStatus.OCCUPIED)
    connectors = [
        Connector(charger=charger, number=number, status=rng.choice(states), parking_status=rng.choice(parking))
        for charger in chargers for number in range(1, CONNECTORS_PER_CHARGER + 1)
    ]
    Connector.objects.bulk_create(connectors, batch_size=10_000)

    per_station = CHARGERS_PER_STATION * CONNECTORS_PER_CHARGER
    now = dt.datetime.now(dt.UTC)
    ended = (CloseReason.FULL, CloseReason.USER_STOP, CloseReason.AMOUNT_REACHED, CloseReason.UNPLUGGED,
             CloseReason.DEVICE_FAULT, CloseReason.REMOTE_STOP)
    orders = []
    for s, station in enumerate(stations):
        for j in range(orders_per_station):
            number = (first + s) * orders_per_station + j
            connector = connectors[s * per_station + j % per_station]
            started = now - dt.timedelta(minutes=10 + number % 600)
            energy = 1000 + (number * 7919) % 59_000
            electricity, service = energy * 65 // 100, energy * 40 // 100
            order = Order(
                order_no=f"20261201120000{number:06d}", partner=partner, partner_order_no=f"P{number:012d}",
                driver_id=f"D{number % 5000:06d}", station=station, charger=connector.charger, connector=connector,
                tariff_version=versions[station.code], authorized_amount_fen=20_000, started_at=started,
                soc=20 + number % 80, vendor_order_id=f"V{number:012d}",
            )
            if j < per_station and j % 5 == 0:  # a fifth live, one live session per connector at most
                # Charging for 5 to 120 minutes at nine tenths of the rated power; SAMPLES_INSERT adds its
                # readings, one a minute, which getOrderInfo prices the session so far by.
                minutes = 5 + number % 116
                order.status, order.started_at = OrderStatus.CHARGING, now - dt.timedelta(minutes=minutes)
                order.charge_seconds = minutes * 60
                order.energy_wh = minutes * (connector.charger.rated_power_w * 9 // 10) // 60
                order.electricity_fee_fen = order.energy_wh * 65 // 100
                order.service_fee_fen = order.energy_wh * 40 // 100
            elif number % 10 == 7:
                order.status, order.started_at = OrderStatus.START_FAILED, None
                order.close_reason_text = "桩未响应启动指令"
                order.soc = None
            else:
                order.status, order.close_reason = OrderStatus.SETTLED, ended[number % len(ended)]
                order.ended_at = started + dt.timedelta(seconds=energy // 10)
                order.charge_seconds = energy // 10
                order.energy_wh, order.electricity_fee_fen, order.service_fee_fen = energy, electricity, service
                # What a settlement stores beside a priced order (about 700 bytes), loaded by every read of it.
                order.price_lines, order.price_periods = price_stored(order)
            order.total_fee_fen = order.electricity_fee_fen + order.service_fee_fen
            orders.append(order)
    Order.objects.bulk_create(orders, batch_size=5000)

    from django.db import connection

    with connection.cursor() as cursor:
        live = [order.pk for order in orders if order.status == OrderStatus.CHARGING]
        cursor.execute(SAMPLES_INSERT, {"orders": live})
        cursor.execute("ANALYZE")


# One reading a minute of each live session since its start, the energy growing at nine tenths of the rated power.
SAMPLES_INSERT = """
INSERT INTO orders_ordersample (order_id, device_time, voltage_dv, current_da, power_w, energy_wh, cost_fen, soc,
                                left_out, received_at)
SELECT o.id, o.started_at + make_interval(mins => m), 3800, power / 380, power, power * m / 60, NULL,
       LEAST(99, 20 + m / 2), '', o.started_at + make_interval(mins => m, secs => 2)
FROM orders_order o
JOIN chargers_charger c ON c.id = o.charger_id,
     LATERAL (SELECT c.rated_power_w * 9 / 10 AS power, o.charge_seconds / 60 AS minutes) AS session,
     generate_series(1, session.minutes) AS m
WHERE o.id = ANY(%(orders)s)
"""


def price_stored(order) -> tuple[list, dict]:
    """Price lines and price by period as the settlement stores them: the session split in two halves."""
    middle = order.started_at + (order.ended_at - order.started_at) / 2
    first_wh = order.energy_wh * 6 // 10
    first_e, first_s = order.electricity_fee_fen * 6 // 10, order.service_fee_fen * 6 // 10
    halves = (("peak", order.started_at, middle, first_wh, first_e, first_s),
              ("plain", middle, order.ended_at, order.energy_wh - first_wh, order.electricity_fee_fen - first_e,
               order.service_fee_fen - first_s))
    lines = [{"kind": "period", "row": row, "interval": interval, "start": start.isoformat(), "end": end.isoformat(),
              "energy_wh": wh, "seconds": int((end - start).total_seconds()), "electricity_price_e4": 10500,
              "service_price_e4": 6000, "unit_seconds": None, "electricity_fen": electricity, "service_fen": service}
             for row, (interval, start, end, wh, electricity, service) in enumerate(halves, start=1)]
    periods = {interval: [wh, electricity, service] for interval, _start, _end, wh, electricity, service in halves}
    return lines, periods


def counts() -> dict:
    from chargers.models import Charger, Connector
    from orders.models import Order, OrderSample, OrderStatus
    from stations.models import Station

    return {"stations": Station.objects.count(), "chargers": Charger.objects.count(),
            "connectors": Connector.objects.count(), "orders": Order.objects.count(),
            "charging": Order.objects.filter(status=OrderStatus.CHARGING).count(),
            "samples": OrderSample.objects.count()}


def targets() -> dict:
    """{label: (interface, parameter, values)}: what a request may ask for, by the kind of answer."""
    from orders.models import Order, OrderStatus
    from stations.models import Station

    orders = Order.objects.filter(partner__org_code=ORG).order_by("order_no")
    live = orders.filter(status=OrderStatus.CHARGING)
    return {
        "syncStubInfo": ("syncStubInfo", "stubGroupId",
                         list(Station.objects.order_by("code").values_list("code", flat=True))),
        "getOrderInfo": ("getOrderInfo", "orderId", list(orders.values_list("order_no", flat=True))),
        "getOrderInfo ended": ("getOrderInfo", "orderId",
                               list(orders.exclude(status=OrderStatus.CHARGING).values_list("order_no", flat=True))),
        "getOrderInfo charging": ("getOrderInfo", "orderId", list(live.values_list("order_no", flat=True))),
    }


COUNTED = ("syncStubInfo", "getOrderInfo ended", "getOrderInfo charging")  # queries per answer, in-process
LOADED = ("syncStubInfo", "getOrderInfo", "getOrderInfo charging")  # over HTTP


# --- queries per answer, in-process -------------------------------------------------------------------------


def queries_measure(token: str, *, show_sql: bool) -> dict:
    """{label: Counted} over SAMPLES random targets of each label of COUNTED."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import OrderSample

    client = Client()
    rng = random.Random(7)
    found, every = {}, targets()
    for label in COUNTED:
        interface, parameter, values = every[label]
        client.get(API + interface, {"token": token, parameter: values[0]})  # warm-up: URL conf, first import
        numbers, beyond, times, sql = [], [], [], []
        for value in rng.sample(values, min(SAMPLES, len(values))):
            connection.queries_log.clear()  # a full log (9,000 queries) would make every capture look empty
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(API + interface, {"token": token, parameter: value})
                times.append((time.perf_counter() - began) * 1000)
            answer = json.loads(response.content)
            if response.status_code != 200 or answer["code"] != 0:
                sys.exit(f"{interface} {parameter}={value}: HTTP {response.status_code} {answer}")
            numbers.append(len(captured.captured_queries))
            if interface == "getOrderInfo":  # what a per-row query would grow with: the order's samples
                beyond.append(numbers[-1] - OrderSample.objects.filter(order__order_no=value).count())
            sql = [query["sql"] for query in captured.captured_queries]
        found[label] = Counted(min(numbers), max(numbers), statistics.median(times),
                               (min(beyond), max(beyond)) if beyond else None)
        if show_sql:
            print(f"  SQL of one {label} answer ({len(sql)} queries):")
            shown = sql if len(sql) <= 12 else [*sql[:7], f"... {len(sql) - 9} more ...", *sql[-2:]]
            for text in shown:
                print(f"    {text[:300]}")
    return found


@dataclass(frozen=True)
class Counted:
    low: int  # fewest queries of one answer
    high: int  # most
    median_ms: float
    beyond_samples: tuple[int, int] | None  # (min, max) of queries minus the order's samples, for an order

    @property
    def spread(self) -> str:
        return f"{self.low}" if self.low == self.high else f"{self.low}-{self.high}"


def verdict(counted: list[Counted]) -> str:
    """Whether the queries of an answer stay the same as the stations grow, or what they grow with."""
    if len({(c.low, c.high) for c in counted}) == 1 and counted[0].low == counted[0].high:
        return "constant" if len(counted) > 1 else ""
    beyond = {c.beyond_samples for c in counted}
    if len(beyond) == 1 and None not in beyond and min(beyond)[0] == min(beyond)[1]:
        return (f"N+1: {min(beyond)[0]} + one per sample of the order"
                + (", whatever the stations" if len(counted) > 1 else ""))
    if len({(c.low, c.high) for c in counted}) == 1:
        return "same spread at every size"
    return "DIFFERS between the sizes"


# --- the server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn in a process group of its own, so that it is ended with all its workers."""

    def __init__(self, env: dict, logs: Path, workers: int, threads: int):
        self.port = free_port()
        self.argv = [GUNICORN, "config.wsgi", "--workers", str(workers), "--threads", str(threads),
                     "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "--keep-alive", "30"]
        self.log_path = logs / "gunicorn.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(self.argv, env=env, cwd=ROOT, stdout=self.log,  # noqa: S603
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited on start:\n{self.log_path.read_text()}")
            try:
                urllib.request.urlopen(self.base + "/health/", timeout=2)  # noqa: S310
                return
            except urllib.error.HTTPError as exc:
                sys.exit(f"gunicorn answers /health/ with {exc.code}:\n{self.log_path.read_text()}")
            except OSError:
                time.sleep(0.2)
        sys.exit(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_path.read_text()}")

    def drain(self, timeout: float = 60) -> None:
        """Wait until the server has worked off what a run left queued (a closed connection's request is still
        answered): five probes in a row answered within 100 ms."""
        deadline, fast = time.monotonic() + timeout, 0
        while fast < 5 and time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                urllib.request.urlopen(self.base + "/health/", timeout=timeout)  # noqa: S310
            except OSError:
                fast = 0
                time.sleep(0.2)
                continue
            fast = fast + 1 if time.perf_counter() - began < 0.1 else 0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # gunicorn's quick shutdown; SIGTERM waits for requests
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# --- the load: wrk -----------------------------------------------------------------------------------------

WRK_LUA = r"""
-- Written by tests/benchmarks/partner_api.py: each request GETs one random line of BENCH_PATHS; an answer
-- counts as good when it is HTTP 200 with code 0.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  paths = {}
  for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
  math.randomseed(os.time() * 1000 + id)
  good, bad = 0, 0
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
function response(status, headers, body)
  if status == 200 and body:find('^%s*{%s*"code"%s*:%s*0%s*[,}]') then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, thread in ipairs(threads) do
    g = g + thread:get("good")
    b = b + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format("BENCH responses=%d good=%d bad=%d socket_errors=%d duration_us=%d "
      .. "p50_us=%d p95_us=%d p99_us=%d\n", summary.requests, g, b, e.connect + e.read + e.write + e.timeout,
      summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_run(wrk: str, base: str, paths_file: Path, script: Path, concurrency: int, seconds: float) -> dict:
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    argv = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script), base]
    done = subprocess.run(argv, env=dict(os.environ, BENCH_PATHS=str(paths_file)),  # noqa: S603
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"wrk failed ({' '.join(argv)}):\n{done.stdout}\n{done.stderr}")
    found = [text for text in done.stdout.splitlines() if text.startswith("BENCH ")]
    if not found:
        sys.exit(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    figures = {key: int(value) for key, value in (pair.split("=") for pair in found[0].split()[1:])}
    return {"answers": figures["good"], "seconds": figures["duration_us"] / 1e6,
            "p50": figures["p50_us"] / 1000, "p95": figures["p95_us"] / 1000, "p99": figures["p99_us"] / 1000,
            "bad": figures["bad"] + figures["socket_errors"]}


# --- the load: Python processes with threads ---------------------------------------------------------------


def python_client(paths: list[str], base: str, threads: int, start_at: float, end_at: float, seed: int, queue):
    """One client process: `threads` threads, each on its own requests.Session, GET random paths until end_at;
    only requests sent from start_at on are counted (the time before warms the server up)."""
    import requests

    latencies, bad = [], [0]
    lock = threading.Lock()

    def loop(number):
        rng = random.Random(seed * 1000 + number)
        session = requests.Session()
        mine, wrong = [], 0
        while True:
            sent = time.time()
            if sent >= end_at:
                break
            began = time.perf_counter()
            try:
                response = session.get(base + rng.choice(paths), timeout=30)
                good = response.status_code == 200 and (response.content.startswith(b'{"code":0,')
                                                        or response.json().get("code") == 0)
            except (requests.RequestException, ValueError):
                good = False
            took = time.perf_counter() - began
            if sent >= start_at:
                if good:
                    mine.append(took)
                else:
                    wrong += 1
        session.close()
        with lock:
            latencies.extend(mine)
            bad[0] += wrong

    running = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    queue.put((latencies, bad[0]))


def python_run(base: str, paths: list[str], concurrency: int, seconds: float, children: list) -> dict:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = max(1, min(concurrency, os.cpu_count() or 1))
    shares = [concurrency // processes + (1 if n < concurrency % processes else 0) for n in range(processes)]
    queue = context.Queue()
    start_at = time.time() + 1.5 + WARM_UP_SECONDS  # 1.5 s for the processes to start, then the warm-up
    end_at = start_at + seconds
    started = []
    for n, share in enumerate(shares):
        process = context.Process(target=python_client, args=(paths, base, share, start_at, end_at, n, queue),
                                  daemon=True)
        process.start()
        started.append(process)
        children.append(process)
    latencies, bad = [], 0
    for _ in started:
        mine, wrong = queue.get()
        latencies.extend(mine)
        bad += wrong
    for process in started:
        process.join()
        children.remove(process)
    latencies.sort()
    return {"answers": len(latencies), "seconds": seconds, "p50": percentile(latencies, 0.50) * 1000,
            "p95": percentile(latencies, 0.95) * 1000, "p99": percentile(latencies, 0.99) * 1000, "bad": bad}


# --- the run ------------------------------------------------------------------------------------------------


def paths_of(token: str) -> dict:
    every = targets()
    return {label: [f"{API}{interface}?{urlencode({'token': token, parameter: value})}" for value in values]
            for label, (interface, parameter, values) in ((label, every[label]) for label in LOADED)}


def load_all(args, server: Server, token: str, logs: Path, children: list) -> list[tuple]:
    paths = paths_of(token)
    wrk = None if args.client == "python" else shutil.which("wrk")
    if args.client == "wrk" and wrk is None:
        sys.exit("--client wrk: wrk is not installed (apt-get install -y wrk)")
    client = (f"wrk ({wrk}, {max(1, min(max(args.concurrency), os.cpu_count() or 1))} threads at most)" if wrk else
              f"Python: up to {os.cpu_count()} processes of threads on requests.Session")
    print(f"\nload over HTTP: gunicorn {' '.join(server.argv[1:])}")
    print(f"  client {client}; {args.seconds} s per run after a {WARM_UP_SECONDS} s warm-up; "
          f"{os.cpu_count()} CPUs shared by client, server and PostgreSQL")
    print("  getOrderInfo: any order of the partner; getOrderInfo charging: live sessions only (what the spec has "
          "partners poll)")
    print(f"  {'interface':<22} {'clients':>7} {'answers':>8} {'answers/s':>10} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'not code 0':>10}")
    results = []
    for label in LOADED:
        if wrk:
            paths_file = logs / f"{label.replace(' ', '_')}.paths"
            paths_file.write_text("\n".join(paths[label]) + "\n")
            script = logs / "partner_api.lua"
            script.write_text(WRK_LUA)
        # Warm-up, not counted: every worker's first request loads the URL conf and the views (most of a
        # second each), every thread's opens its database connection; then each run has a warm-up of its own.
        everyone = 2 * args.workers * args.threads
        if wrk:
            wrk_run(wrk, server.base, paths_file, script, everyone, 2 * WARM_UP_SECONDS)
        else:
            python_run(server.base, paths[label], everyone, WARM_UP_SECONDS, children)
        for concurrency in args.concurrency:
            server.drain()
            if wrk:
                wrk_run(wrk, server.base, paths_file, script, concurrency, WARM_UP_SECONDS)
                run = wrk_run(wrk, server.base, paths_file, script, concurrency, args.seconds)
            else:
                run = python_run(server.base, paths[label], concurrency, args.seconds, children)
            rate = run["answers"] / run["seconds"]
            print(f"  {label:<22} {concurrency:>7} {run['answers']:>8} {rate:>10.1f} {run['p50']:>8.1f} "
                  f"{run['p95']:>8.1f} {run['p99']:>8.1f} {run['bad']:>10}", flush=True)
            results.append((label, concurrency, rate, run))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000, help="stations at the second step (the first is 100)")
    parser.add_argument("--orders-per-station", type=int, default=5, help="the partner's orders per station")
    parser.add_argument("--seconds", type=int, default=15, help="length of one load run, whole seconds")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64], help="concurrent clients, per run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn --workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn --threads (gthread worker)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load client: wrk if installed (auto), or Python processes with threads")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one answer of each interface")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.stations < 1 or args.orders_per_station < 1:
        sys.exit("--stations and --orders-per-station are at least 1")
    if args.stations * args.orders_per_station > 1_000_000:
        sys.exit("at most 1,000,000 orders: order numbers end in six digits of the row number")

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"PostgreSQL only (DATABASE_URL={url}): the figures are meant for the production database.")
    # The production settings, as the server runs them; this process fills and counts with the same ones
    # ("testserver" is the test Client's host).
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.production", DATABASE_URL=url,
               SECRET_KEY="partner-api-benchmark-" + "x" * 40, ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
               SECURE_SSL_REDIRECT="false", DB_CONN_MAX_AGE="60", LOG_LEVEL="WARNING",
               PARTNER_RATES=json.dumps(RATES))
    env.pop("REDIS_URL", None)  # the throttle counts in each worker's memory; no Redis is needed
    os.environ.clear()
    os.environ.update(env)
    # An interrupt or a SIGTERM unwinds through the finally below, which stops the server and drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)

    logs = Path(tempfile.mkdtemp(prefix="partner_api_"))
    server, children = None, []
    recreate_database(url)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        began = time.perf_counter()
        call_command("migrate", verbosity=0)
        tariffs = tariffs_build()
        partner, token = partner_build()
        print(f"database {urlsplit(url).path.lstrip('/')}, migrated in {time.perf_counter() - began:.1f} s; "
              f"partner {ORG} sees cities {','.join(CITIES)}")

        steps = [min(FIRST_STEP, args.stations)] + ([args.stations] if args.stations > FIRST_STEP else [])
        measured, filled = {}, 0
        for step in steps:
            began = time.perf_counter()
            stations_fill(filled, step, tariffs=tariffs, partner=partner,
                          orders_per_station=args.orders_per_station)
            filled = step
            held = counts()
            print(f"\nfilled up to {held['stations']} stations in {time.perf_counter() - began:.1f} s: "
                  f"{held['chargers']} chargers, {held['connectors']} connectors, {held['orders']} orders")
            measured[step] = queries_measure(token, show_sql=args.sql and step == steps[-1])
            for label, counted in measured[step].items():
                extra = ""
                if counted.beyond_samples is not None and counted.low != counted.high:  # grows with the order
                    low, high = counted.beyond_samples
                    extra = f"; minus the order's samples: {low if low == high else f'{low}-{high}'}"
                print(f"  {label:<22} {counted.spread:>6} queries per answer   median {counted.median_ms:7.2f} ms "
                      f"in-process ({SAMPLES} answers{extra})")

        print("\nqueries per answer (min-max over random targets)")
        print(f"  {'interface':<22} " + " ".join(f"{f'{step} stations':>14}" for step in steps))
        for label in COUNTED:
            print(f"  {label:<22} " + " ".join(f"{measured[step][label].spread:>14}" for step in steps)
                  + f"   {verdict([measured[step][label] for step in steps])}")

        from django.db import connections

        connections.close_all()
        print(f"\nload average before the server starts: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        server = Server(env, logs, args.workers, args.threads)
        server.wait_ready()
        results = load_all(args, server, token, logs, children)

        print(f"load average after the load runs: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        print("\nsummary")
        for label in COUNTED:
            print(f"  {label:<22} {measured[steps[-1]][label].spread} queries per answer at {steps[-1]} stations   "
                  f"{verdict([measured[step][label] for step in steps])}")
        for label, concurrency, rate, run in results:
            print(f"  {label:<22} {concurrency:>3} clients {rate:8.1f} answers/s   p50 {run['p50']:6.1f} ms   "
                  f"p95 {run['p95']:6.1f} ms   p99 {run['p99']:6.1f} ms   not code 0: {run['bad']}")
        if any(run["bad"] for *_rest, run in results):
            print(f"WARNING: some answers were not HTTP 200 with code 0; see {server.log_path}")
    finally:
        for process in children:
            process.terminate()
        if server is not None:
            server.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept database {urlsplit(url).path.lstrip('/')}; server log in {logs}")
        else:
            recreate_database(url, drop_only=True)
            shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted")
