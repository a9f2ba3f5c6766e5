"""What the push benchmarks share (push_ingest.py, soak.py): their databases, their charging sessions, the servers
and workers they run, and wrk sending unique Tomda WORK_DATA pushes (push_ingest.lua).

Nothing here runs by itself; each benchmark is a script run by hand that prints its figures.
"""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LUA = str(BENCH / "push_ingest.lua")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OURS_PATH = "/integrations/tomda/push"
# Two hours ago on the hour: the pushes' times must fall in the window around our clock.
START = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
# The Lua script prints Beijing wall-clock times with os.date("!..."), so it gets the start shifted by +8 h.
START_BEIJING_WALL = int(START.timestamp()) + 8 * 3600
# Session i is charger B<i:09d> with order 20261121100000<i:06d>, in push_ingest.lua too.
MAX_SESSIONS = 1_000_000


def postgres_only(url: str) -> str:
    """The database name of `url`; exits unless it is PostgreSQL, which the figures are meant for."""
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"PostgreSQL only ({url}): the figures are meant for the production database.")
    return urlsplit(url).path.lstrip("/")


def production_env(url: str, **more: str) -> dict:
    """The environment of this project under its production settings on `url`, served on loopback over HTTP."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.production", DATABASE_URL=url,
               SECRET_KEY="push-benchmark-" + "x" * 40, ALLOWED_HOSTS="127.0.0.1",
               SECURE_SSL_REDIRECT="false", DB_CONN_MAX_AGE="60", LOG_LEVEL="WARNING", **more)
    env.pop("TOMDA_PUSH_VERIFIER", None)
    return env


def sessions_build(sessions: int, *, chargers_per_station: int = 0) -> list:
    """`sessions` charging sessions on Tomda chargers (one connector each); returns their orders.

    The chargers are in stations of `chargers_per_station` (0: all in one station, BENCH). The Lua script
    derives the same serials and order numbers from a session's index.
    """
    from chargers.models import Charger, Connector, ConnectorStatus, CurrentType, Vendor
    from orders.models import Order, OrderStatus
    from stations.models import Station, StationStatus
    from tariffs.models import TariffTemplate, TariffVersion, VehicleKind
    from tariffs.pricing import Period, Tariff

    if sessions > MAX_SESSIONS:
        sys.exit(f"at most {MAX_SESSIONS} sessions: order numbers end in six digits of the session's index")
    template = TariffTemplate.objects.create(external_id="BENCH", name="Bench", kind=VehicleKind.EV)
    version = TariffVersion.objects.create(
        template=template, number=1, name="Bench", effective_from=START - dt.timedelta(days=1),
        published_at=START - dt.timedelta(days=1),
        content=Tariff(kind="ev", periods=(Period(0, 1440, "plain", 6500, 4000),)).to_content(),
    )
    size = chargers_per_station or sessions
    stations = Station.objects.bulk_create(
        Station(code="BENCH" if size >= sessions else f"BENCH{n:05d}", name=f"Bench {n}", kind=VehicleKind.EV,
                status=StationStatus.WORKING, city_code="440300", address="Bench road", tariff_template=template)
        for n in range((sessions + size - 1) // size)
    )
    chargers = Charger.objects.bulk_create(
        (Charger(station=stations[i // size], vendor=Vendor.TOMDA, serial=f"B{i:09d}", kind=VehicleKind.EV,
                 current_type=CurrentType.AC, rated_power_w=7000, online=True, status=ConnectorStatus.CHARGING)
         for i in range(sessions)),
        batch_size=5000,
    )
    connectors = Connector.objects.bulk_create(
        (Connector(charger=charger, number=1, status=ConnectorStatus.CHARGING) for charger in chargers),
        batch_size=5000,
    )
    return Order.objects.bulk_create(
        (Order(order_no=f"20261121100000{i:06d}", station=connector.charger.station, charger=connector.charger,
               connector=connector, status=OrderStatus.CHARGING, started_at=START, tariff_version=version,
               authorized_amount_fen=20_000)
         for i, connector in enumerate(connectors)),
        batch_size=5000,
    )


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


def percentile(ordered: list[float], fraction: float) -> float:
    """The value at `fraction` of `ordered` (sorted); NaN when there is none."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def statuses() -> dict[str, int]:
    """How many stored pushes are in each status (Django set up)."""
    from django.db.models import Count

    from integrations.models import InboundMessage

    return dict(InboundMessage.objects.values_list("status").annotate(n=Count("id")).order_by())


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


def serve(processes: Processes, name: str, env: dict, cwd: Path, app: str, path: str, *, workers: int = 2) -> str:
    """`app` under gunicorn (`workers` sync workers) on a free loopback port, once it answers `path`; its URL."""
    port = free_port()
    argv = [GUNICORN, app, "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--chdir", str(cwd)]
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


def wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    return found


def pushes_send(url: str, *, sessions: int, offset: int, seconds: float, connections: int, threads: int,
                rate: float = 0, timeout: str = "30s") -> dict:
    """One wrk run of unique WORK_DATA pushes from reading `offset` on, paced to about `rate` a second when it is
    more than 0; the figures of push_ingest.lua's done() line, latencies in ms and `offset` for the next run."""
    env = dict(os.environ, PUSH_SESSIONS=str(sessions), PUSH_OFFSET=str(offset), PUSH_THREADS=str(threads),
               PUSH_START=str(START_BEIJING_WALL), PUSH_RATE=f"{rate:.3f}")
    argv = [wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", timeout, "-s", LUA, url]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    found = [text for text in done.stdout.splitlines() if text.startswith("PUSH_INGEST ")]
    if not found:
        sys.exit(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    figures = {key: int(value) for key, value in (pair.split("=") for pair in found[0].split()[1:])}
    seconds_run = figures["duration_us"] / 1e6
    return {
        "seconds": seconds_run,
        "sent": figures["sent"],
        "responses": figures["responses"],
        "acked": figures["acked"],
        "rate": figures["acked"] / seconds_run,
        "offered": figures["sent"] / seconds_run,
        "p50": figures["p50_us"] / 1000,
        "p95": figures["p95_us"] / 1000,
        "p99": figures["p99_us"] / 1000,
        "non_2xx": figures["status_errors"],
        "timeouts": figures["timeouts"],
        "errors": figures["responses"] - figures["acked"] + figures["socket_errors"],
        "socket_errors": figures["socket_errors"],
        "offset": figures["next_offset"],
    }
