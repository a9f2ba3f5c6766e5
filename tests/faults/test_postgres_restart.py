"""PostgreSQL restarted in the middle of a burst of Tomda pushes (a failover, a minor-version upgrade, an operator's
`systemctl restart`).

The database is a private cluster of the test's own (initdb in a temporary directory, a free port), so the
machine's shared server is never touched. Our web server (gunicorn, persistent database connections as in
production) and an inbox worker run on it as separate processes; Tomda's cloud is played by threads that send
each push until it is acknowledged, as Tomda does with a push that got no success reply. The cluster is stopped
and started again while they send.

What must hold: a push is acknowledged only once it is stored, so what the outage costs is replies of 503 or
refused connections, which the sender answers by sending again; every acknowledged push is stored once and
applied once (one sample per reading, none twice); and the web server and the worker carry on by themselves,
the same processes, reconnecting (the worker's listening connection too).
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from integrations.models import InboundMessage, InboundStatus
from orders.models import Order, OrderSample
from tests.helpers import (
    ProcessGroup,
    charging_orders,
    database_url_of,
    eventually,
    free_port,
    inbox_workers,
    work_data,
)

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="restarts a PostgreSQL cluster under our processes"),
    pytest.mark.django_db(transaction=True),
]


def _postgres_bin() -> Path:
    """PostgreSQL's programs: FAULTS_PG_BIN, or the newest of Debian's installed versions (its pg_dump reads the
    shared server's test database, so it must not be older than that server)."""
    if os.environ.get("FAULTS_PG_BIN"):
        return Path(os.environ["FAULTS_PG_BIN"])
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda found: int(found.parts[-3]))
    return installed[-1].parent if installed else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()
SESSIONS = 12
READINGS = 60  # a session's readings, one a minute; 720 pushes in all
OUTAGE_SECONDS = 2.0
SEND_DEADLINE = 90  # seconds a push may take to be acknowledged, retries included


# --- a PostgreSQL cluster of the test's own ------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory on a free loopback port: restarting it disturbs nobody."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.running = False
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: its directory and its processes are the postgres account's.
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        else:
            self.as_owner = []
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self.as_owner, str(PG_BIN / program), *args],  # noqa: S603 (PostgreSQL's own tools)
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}\n{done.stderr}\n{self.log()}"

    def log(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def start(self) -> None:
        # fsync off: the cluster lives for one test, and an operating system crash is not the fault tried here.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `fast` ends every session, as a restart does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def settings_dict(self, name: str) -> dict:
        return {"HOST": "127.0.0.1", "PORT": str(self.port), "USER": "postgres", "PASSWORD": "", "NAME": name}

    def create_database(self, name: str) -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        if self.running:
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    cluster = PrivatePostgres()
    try:
        cluster.start()
        cluster.create_database("charging")
        yield cluster
    finally:
        cluster.destroy()


@contextmanager
def orm_on(database: dict):
    """Point the test's own ORM at another database meanwhile, on a new connection; back to the test database
    after (whose flush at the end of the test must find it there)."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(database)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


# --- our processes on it -------------------------------------------------------------------------------------------


def copy_test_database(cluster: PrivatePostgres, name: str) -> None:
    """The test database as the suite's migrations made it, copied into `name` on the private cluster: the same
    schema as migrating it there, in a second instead of ten."""
    source = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
    dump = subprocess.Popen(  # noqa: S603 (PostgreSQL's own tools)
        [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
         "-p", str(source["PORT"] or 5432), "-U", source["USER"], "-d", source["NAME"]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    restore = subprocess.run(  # noqa: S603
        [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(cluster.port),
         "-U", "postgres", "-d", name],
        stdin=dump.stdout, capture_output=True, text=True, timeout=120, check=False,
    )
    dump.stdout.close()
    assert dump.wait(timeout=60) == 0, dump.stderr.read().decode()
    assert restore.returncode == 0, restore.stderr


@contextmanager
def web_server(url: str, tmp_path: Path):
    """gunicorn with two workers on the database at `url`, each keeping its connection (DB_CONN_MAX_AGE, as in
    production); yields the process group and its base URL once /health/ answers 200."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url,
           "DB_CONN_MAX_AGE": "60"}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    web = ProcessGroup(tmp_path / "gunicorn.log",
                       [gunicorn, "config.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(f"{base}/health/") == 200 or not web.running(), timeout=30, interval=0.1)
        assert web.running(), web.log()
        yield web, base
    finally:
        web.kill()


def _answers(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None


# --- Tomda's cloud: each push sent until it is acknowledged --------------------------------------------------------


@dataclass
class Push:
    body: str
    failures: list = field(default_factory=list)  # per failed try: the HTTP status, or the error's class name
    acknowledged_at: float | None = None


def send_until_acknowledged(url: str, push: Push, *, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            reply = requests.post(url, data=push.body.encode(), headers={"Content-Type": "application/json"},
                                  timeout=10)
        except requests.RequestException as exc:
            push.failures.append(type(exc).__name__)
        else:
            if reply.status_code == 200 and reply.json().get("errorCode") == "200":
                push.acknowledged_at = time.monotonic()
                return
            push.failures.append(reply.status_code)
        time.sleep(0.05)  # Tomda sends a push again after a moment


def send_in_order(url: str, pushes: list[Push]) -> None:
    """One charger's pushes, one after the other, each until acknowledged."""
    deadline = time.monotonic() + SEND_DEADLINE
    for push in pushes:
        send_until_acknowledged(url, push, deadline=deadline)


def listening_workers(cluster: PrivatePostgres) -> int:
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="charging",
                         autocommit=True) as probe:
        (count,) = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'inbox_worker'"
                                 " AND query = 'LISTEN inbox'").fetchone()
    return count


def waiting_pushes(cluster: PrivatePostgres) -> int:
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="charging",
                         autocommit=True) as probe:
        (count,) = probe.execute("SELECT count(*) FROM integrations_inboundmessage"
                                 " WHERE status = 'received'").fetchone()
    return count


# --- the fault -------------------------------------------------------------------------------------------------------


def test_a_postgres_restart_mid_burst_loses_no_acknowledged_push_and_applies_none_twice(private_postgres, tmp_path):
    cluster = private_postgres
    database = cluster.settings_dict("charging")
    url = database_url_of(database)

    # Given our database on the private cluster, with 12 Tomda chargers each charging a session
    copy_test_database(cluster, "charging")
    with orm_on(database):
        orders = charging_orders(SESSIONS, serial_prefix="10126")
    pushes = {order.pk: [Push(work_data(order, minutes=minute, energy_wh=minute * 100))
                         for minute in range(1, READINGS + 1)] for order in orders}
    every_push = [push for sent in pushes.values() for push in sent]

    # ... and our web server and an inbox worker running on it
    with web_server(url, tmp_path) as (web, base), inbox_workers(tmp_path, 1, database_url=url) as (worker,):
        eventually(lambda: listening_workers(cluster) == 1, timeout=30)
        web_processes = web.members()
        assert len(web_processes) == 3, web.log()  # the master and its two workers

        # When Tomda sends a burst of readings, one sender per charger, and PostgreSQL is restarted (stopped for
        # two seconds, then started) once a third of them has been acknowledged
        push_url = f"{base}/integrations/tomda/push"
        with ThreadPoolExecutor(SESSIONS) as senders:
            sending = [senders.submit(send_in_order, push_url, sent) for sent in pushes.values()]
            eventually(lambda: sum(push.acknowledged_at is not None for push in every_push) >= len(every_push) // 3,
                       timeout=60)
            cluster.stop()
            down_at = time.monotonic()
            acknowledged_before = sum(push.acknowledged_at is not None for push in every_push)
            time.sleep(OUTAGE_SECONDS)
            starting_at = time.monotonic()
            cluster.start()
            up_at = time.monotonic()
            for sender in sending:
                sender.result(timeout=SEND_DEADLINE + 10)

        # Then the restart fell mid-burst: pushes were acknowledged after it, and while the database was away
        # pushes failed, each with a 503 or a refused connection, never an acknowledgement
        assert acknowledged_before < len(every_push)
        assert all(push.acknowledged_at is not None for push in every_push), "a push was never acknowledged"
        failures = Counter(failure for push in every_push for failure in push.failures)
        assert failures, "no push met the outage"
        assert set(failures) <= {503, "ConnectionError"}, failures
        assert not [push for push in every_push if down_at < (push.acknowledged_at or 0) < starting_at]
        assert sum(push.acknowledged_at > up_at for push in every_push) > 0

        # ... the worker applies everything stored, and the web server and the worker are the same processes,
        # connected again (the worker listening for new pushes again too)
        eventually(lambda: waiting_pushes(cluster) == 0, timeout=60, interval=0.2)
        eventually(lambda: listening_workers(cluster) == 1, timeout=30, interval=0.2)
        assert worker.process.poll() is None, worker.log()
        assert web.members() == web_processes, web.log()
        assert _answers(f"{base}/health/") == 200

    with orm_on(database):
        # ... every push acknowledged is stored once as news and applied once; copies of it sent again after a
        # reply that was lost are kept as its duplicates
        news = InboundMessage.objects.exclude(status=InboundStatus.DUPLICATE)
        stored = Counter(news.values_list("body", flat=True))
        assert stored == Counter(push.body for push in every_push)
        assert set(news.values_list("status", "attempts").distinct()) == {(InboundStatus.PROCESSED, 1)}
        copies = InboundMessage.objects.filter(status=InboundStatus.DUPLICATE)
        assert set(copies.values_list("duplicate_of__body", flat=True)) <= set(stored)

        # ... and each reading is one sample of its session, none twice, and each session stands at its last
        for order in Order.objects.filter(pk__in=pushes):
            energies = list(OrderSample.objects.filter(order=order).order_by("energy_wh")
                            .values_list("energy_wh", flat=True))
            assert energies == [minute * 100 for minute in range(1, READINGS + 1)], order.order_no
            assert order.energy_wh == READINGS * 100
