"""Ingest benchmark of the Tomda push endpoint against a floor, over real HTTP. Run by hand; it prints figures.

    .venv/bin/python tests/benchmarks/push_ingest.py [--sessions 2000] [--rounds 3] [--seconds 10] \\
        [--connections 8] [--threads 2] [--batch-size 500] [--keep]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/charging_bench) names the PostgreSQL server
and the database to create; anything but PostgreSQL is refused. The script drops and creates that
database and `<name>_floor`, migrates both, seeds `--sessions` charging sessions on Tomda chargers, and
serves each under gunicorn (2 sync workers, persistent connections): this project with its production
settings, and the floor, a minimal Django project (tests/benchmarks/floor) that stores the raw body with
one INSERT and answers. wrk (tests/benchmarks/push_ingest.lua) then sends unique WORK_DATA pushes.

It prints:
- per ingest round, floor and ours alternately: acknowledged pushes/s, p50/p99 latency, errors; then the
  medians and the ratio ours/floor, and a warning if fewer rows were stored than acknowledged;
- worker throughput: one `inbox_worker --idle-exit` applying the backlog, rows applied/s and outcomes;
- lag: one more round against ours with two inbox workers running, its rate and the lag
  processed_at - received_at (p50/p95/p99/max);
- a summary table. Both databases are dropped at the end unless --keep is given.
"""

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
WRK = "/usr/bin/wrk"
LUA = str(BENCH / "push_ingest.lua")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/charging_bench"
# Two hours ago on the hour: the pushes' times must fall in the window around our clock.
START = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
# The Lua script prints Beijing wall-clock times with os.date("!..."), so it gets the start shifted by +8 h.
START_BEIJING_WALL = int(START.timestamp()) + 8 * 3600
OURS_PATH, FLOOR_PATH = "/integrations/tomda/push", "/push"
WARM_UP_SECONDS = 2


def build(sessions: int) -> list[tuple[str, str]]:
    """(charger serial, order number) of `sessions` charging sessions on Tomda chargers.

    The Lua script derives the same serials and order numbers from a session's index.
    """
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


def recreate_databases(url: str, names: list[str], drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                         password=parts.password, dbname="postgres", autocommit=True) as admin:
        for name in names:
            # FORCE: a connection left over from an interrupted run must not keep the database alive.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if not drop_only:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """Every long-running child, each in a process group of its own, so it is ended with all its children."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env: dict, cwd: Path) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - kept open for the child's lifetime
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                   start_new_session=True)
        process.name, process.log = name, self.logs / f"{name}.log"
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 15) -> str:
        """SIGTERM to the group (SIGKILL if it lingers); returns what the process printed."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.remove(process)
        return process.log.read_text()

    def stop_all(self):
        for process in list(self.running):
            self.stop(process, timeout=5)


def serve(processes: Processes, name: str, env: dict, cwd: Path, app: str, path: str) -> str:
    port = free_port()
    argv = [GUNICORN, app, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--chdir", str(cwd)]
    process = processes.start(name, argv, env, cwd)
    url = f"http://127.0.0.1:{port}{path}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited on start:\n{process.log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - a GET; the push view answers 405
            return url
        except urllib.error.HTTPError:
            return url  # any HTTP answer means it serves
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{name} did not answer within 30 s:\n{process.log.read_text()}")


def load(url: str, args, offset: int, seconds: float, rate: float = 0) -> dict:
    """One wrk run; returns the figures of its done() line, with `offset` for the next run."""
    env = dict(os.environ, PUSH_SESSIONS=str(args.sessions), PUSH_OFFSET=str(offset), PUSH_THREADS=str(args.threads),
               PUSH_START=str(START_BEIJING_WALL), PUSH_RATE=f"{rate:.3f}")
    argv = [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "30s", "-s", LUA, url]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    found = [text for text in done.stdout.splitlines() if text.startswith("PUSH_INGEST ")]
    if not found:
        sys.exit(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    raw = dict(pair.split("=") for pair in found[0].split()[1:])
    figures = {key: int(value) for key, value in raw.items()}
    return {
        "rate": figures["acked"] / (figures["duration_us"] / 1e6),
        "acked": figures["acked"],
        "p50": figures["p50_us"] / 1000,
        "p99": figures["p99_us"] / 1000,
        "errors": figures["responses"] - figures["acked"] + figures["socket_errors"],
        "offset": figures["next_offset"],
    }


def line(label: str, run: dict) -> str:
    return (f"{label:<18} {run['rate']:8.1f} acked/s   p50 {run['p50']:7.1f} ms   p99 {run['p99']:7.1f} ms"
            f"   errors {run['errors']}")


def stored() -> int:
    from integrations.models import InboundMessage

    return InboundMessage.objects.count()


def statuses() -> dict[str, int]:
    from django.db.models import Count

    from integrations.models import InboundMessage

    return dict(InboundMessage.objects.values_list("status").annotate(n=Count("id")).order_by())


def samples() -> int:
    from orders.models import OrderSample

    return OrderSample.objects.count()


def lag(since: dt.datetime, until: dt.datetime) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), count(processed_at),
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY lag_ms), max(lag_ms)
              FROM (SELECT processed_at, extract(epoch FROM processed_at - received_at) * 1000 AS lag_ms
                      FROM integrations_inboundmessage WHERE received_at >= %s AND received_at < %s) AS round
            """,
            [since, until],
        )
        rows, processed, percentiles, most = cursor.fetchone()
    p50, p95, p99 = percentiles or (None, None, None)
    return {"rows": rows, "processed": processed, "p50": p50, "p95": p95, "p99": p99, "max": most}


def ms(value) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def ingest(args, ours: str, floor: str, offsets: dict) -> dict:
    """Alternate rounds, floor then ours; returns the medians of each side."""
    print(f"\ningest: {args.rounds} rounds of {args.seconds} s per side, {args.connections} connections, "
          f"{args.threads} wrk threads")
    runs = {"floor": [], "ours": []}
    for number in range(1, args.rounds + 1):
        for side, target in (("floor", floor), ("ours", ours)):
            before = stored() if side == "ours" else 0
            run = load(target, args, offsets[target], args.seconds)
            offsets[target] = run["offset"]
            runs[side].append(run)
            print(line(f"round {number} {side}", run))
            if side == "ours" and stored() - before < run["acked"]:
                print(f"WARNING: {run['acked']} pushes acknowledged but only {stored() - before} rows stored")
    medians = {side: {key: statistics.median(run[key] for run in side_runs) for key in ("rate", "p50", "p99")}
               for side, side_runs in runs.items()}
    for side in ("floor", "ours"):
        print(f"median {side:<11} {medians[side]['rate']:8.1f} acked/s   p50 {medians[side]['p50']:7.1f} ms"
              f"   p99 {medians[side]['p99']:7.1f} ms")
    print(f"ratio ours/floor  {medians['ours']['rate'] / medians['floor']['rate']:.3f}")
    return medians


def worker_throughput(worker: list[str], env: dict) -> list[tuple[str, str]]:
    """One worker with --idle-exit over the backlog the ingest rounds left; returns summary rows."""
    before, samples_before = statuses(), samples()
    began = time.perf_counter()
    done = subprocess.run([*worker, "--idle-exit"], env=env, cwd=ROOT, capture_output=True,  # noqa: S603
                          text=True, check=True)
    wall = time.perf_counter() - began
    after, written = statuses(), samples() - samples_before
    applied = before.get("received", 0) - after.get("received", 0)
    outcomes = " / ".join(str(after.get(s, 0) - before.get(s, 0)) for s in ("processed", "rejected", "failed"))
    print(f"\nworker: one {' '.join(worker[2:])} --idle-exit over {before.get('received', 0)} received rows")
    for output in (done.stdout + done.stderr).strip().splitlines():
        print(f"  | {output}")
    print(f"applied           {applied} rows in {wall:.2f} s = {applied / wall:.1f} rows/s")
    print(f"outcomes          processed / rejected / failed {outcomes}; order samples written {written}")
    return [("worker rows applied/s", f"{applied / wall:.1f}"),
            ("worker processed / rejected / failed", outcomes),
            ("worker order samples written", str(written))]


def lag_round(args, processes: Processes, worker: list[str], env: dict, ours: str, offsets: dict,
              medians: dict) -> list[tuple[str, str]]:
    """One more round against ours while two workers apply the pushes; returns summary rows."""
    # When our receiver out-ran the floor in the ingest rounds, the offer is held at the floor's median:
    # that is the rate the lag is quoted for, and a faster offer would only measure a backlog.
    throttle = medians["floor"]["rate"] if medians["ours"]["rate"] > medians["floor"]["rate"] else 0
    workers = [processes.start(f"worker{n}", worker, env, ROOT) for n in (1, 2)]
    since = dt.datetime.now(dt.UTC)
    run = load(ours, args, offsets[ours], args.seconds, rate=throttle)
    until = dt.datetime.now(dt.UTC)
    offsets[ours] = run["offset"]
    deadline = time.monotonic() + 60
    while statuses().get("received", 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = statuses().get("received", 0)
    print("\nlag: one round against ours with two inbox workers running"
          + (f", offered at about {throttle:.0f}/s" if throttle else ", unthrottled"))
    for process in workers:
        for output in processes.stop(process).strip().splitlines():
            print(f"  | {process.name}: {output}")
    print(line("lag round ours", run))
    if left:
        print(f"WARNING: {left} rows still received 60 s after the round")
    figures = lag(since, until)
    print(f"rows of the round {figures['rows']} ({figures['processed']} with processed_at)")
    print(f"lag ms            p50 {ms(figures['p50'])}   p95 {ms(figures['p95'])}   p99 {ms(figures['p99'])}"
          f"   max {ms(figures['max'])}")
    return [("lag round acked/s", f"{run['rate']:.1f}"),
            ("lag p50 / p95 / p99 / max ms", " / ".join(ms(figures[k]) for k in ("p50", "p95", "p99", "max")))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000, help="charging sessions seeded and pushed about")
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds per side")
    parser.add_argument("--seconds", type=int, default=10, help="length of a round")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--batch-size", type=int, default=500, help="inbox_worker --batch-size")
    parser.add_argument("--keep", action="store_true", help="keep both databases")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"PostgreSQL only (DATABASE_URL={url}): the figures are meant for the production database.")
    ours_db = urlsplit(url).path.lstrip("/")
    floor_db = f"{ours_db}_floor"
    floor_url = urlsplit(url)._replace(path=f"/{floor_db}").geturl()

    ours_env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.production", DATABASE_URL=url,
                    SECRET_KEY="push-ingest-benchmark-" + "x" * 40, ALLOWED_HOSTS="127.0.0.1",
                    SECURE_SSL_REDIRECT="false", DB_CONN_MAX_AGE="60", LOG_LEVEL="WARNING")
    ours_env.pop("TOMDA_PUSH_VERIFIER", None)
    floor_env = dict(os.environ, DJANGO_SETTINGS_MODULE="floor.settings", DATABASE_URL=floor_url,
                     DB_CONN_MAX_AGE="60")
    worker = [PYTHON, "manage.py", "inbox_worker", "--batch-size", str(args.batch_size)]
    # An interrupt or a SIGTERM unwinds through the finally below, which ends every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    logs = Path(tempfile.mkdtemp(prefix="push_ingest_"))
    processes = Processes(logs)
    recreate_databases(url, [ours_db, floor_db])
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "--verbosity", "0"], env=ours_env, cwd=ROOT,  # noqa: S603
                       check=True)
        subprocess.run([PYTHON, "-m", "django", "migrate", "--verbosity", "0"], env=floor_env,  # noqa: S603
                       cwd=BENCH, check=True)
        # This process seeds and counts through the ORM, on our database with our settings.
        os.environ.clear()
        os.environ.update(ours_env)
        import django

        django.setup()
        build(args.sessions)
        print(f"databases         {ours_db} (ours, {args.sessions} sessions), {floor_db} (floor)")

        ours = serve(processes, "ours", ours_env, ROOT, "config.wsgi", OURS_PATH)
        floor = serve(processes, "floor", floor_env, BENCH, "floor.wsgi", FLOOR_PATH)
        offsets = {ours: 0, floor: 0}  # each side's next reading; a body is never sent twice to one side
        # Warm-up, not counted: each gunicorn worker's first requests load the URL conf and connect.
        for target in (floor, ours):
            offsets[target] = load(target, args, offsets[target], WARM_UP_SECONDS)["offset"]

        medians = ingest(args, ours, floor, offsets)
        summary = [
            (f"{side} acked/s, p50 / p99 ms (medians)",
             f"{medians[side]['rate']:.1f}, {medians[side]['p50']:.1f} / {medians[side]['p99']:.1f}")
            for side in ("floor", "ours")
        ]
        summary.append(("ratio ours/floor", f"{medians['ours']['rate'] / medians['floor']['rate']:.3f}"))
        has_worker = subprocess.run([PYTHON, "manage.py", "help", "inbox_worker"], env=ours_env,  # noqa: S603
                                    cwd=ROOT, capture_output=True).returncode == 0
        if has_worker:
            summary += worker_throughput(worker, ours_env)
            summary += lag_round(args, processes, worker, ours_env, ours, offsets, medians)
        else:
            print("\nworker and lag: skipped, `manage.py inbox_worker` does not exist yet")
            summary.append(("worker and lag", "skipped (no inbox_worker command)"))

        print("\nsummary")
        for label, value in summary:
            print(f"  {label:<40} {value}")
    finally:
        processes.stop_all()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept databases {ours_db} and {floor_db}; server and worker logs in {logs}")
        else:
            recreate_databases(url, [ours_db, floor_db], drop_only=True)
            shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted")
