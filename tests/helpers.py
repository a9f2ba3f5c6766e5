import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.partner.simulator import CallbackReceiver, loads


def get_counting_queries(client, url):
    """GET url, assert it answered 200, and return the response with the number of queries it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured.captured_queries)


def assert_changelist_queries_constant(client, url, make_rows):
    """A changelist of 5 and then 30 rows (made by make_rows(count)) lists them all with the same queries.

    make_rows should spread the rows over distinct related objects, so an N+1 query would show.
    """
    make_rows(5)
    client.get(url)  # warm-up: content types, session, permissions

    few, few_queries = get_counting_queries(client, url)
    make_rows(25)
    many, many_queries = get_counting_queries(client, url)

    assert len(few.context["cl"].result_list) == 5
    assert len(many.context["cl"].result_list) == 30
    assert many_queries == few_queries


class _BusyServer(ThreadedWSGIServer):
    # Many senders connect at the same instant; the default backlog of 10 would reset the rest.
    request_queue_size = 256


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
        pass


@contextmanager
def wsgi_server():
    """This project's WSGI application on a threaded loopback server; yields its base URL.

    Each request runs in its own thread on its own database connection, as on a real server, so
    tests and benchmarks see the concurrency a vendor's burst of pushes causes.
    """
    server = _BusyServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class WireReceiver(CallbackReceiver):
    """The partner's receiver, also noting every POST as it came, refused ones included: (body's notifyId,
    X-Notify-Id header, notifyType). The receiver itself keeps only what it acknowledged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._wire_lock = threading.Lock()
        self._arrivals: list[tuple[str | None, str | None, str | None]] = []

    def app(self, request):
        try:
            body = loads(request.body)
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        with self._wire_lock:
            self._arrivals.append((body.get("notifyId"), request.headers.get("X-Notify-Id"), body.get("notifyType")))
        return super().app(request)

    @property
    def arrivals(self) -> list[tuple[str | None, str | None, str | None]]:
        with self._wire_lock:
            return list(self._arrivals)


@contextmanager
def tomda_cloud(settings, chargers, **options):
    """The Tomda simulator with `chargers` running, and our Tomda settings pointing at it."""
    from integrations.tomda.simulator import TomdaSimulator

    with TomdaSimulator(api_id="sim-id", api_key="sim-key", chargers=chargers, **options) as sim:
        settings.TOMDA_BASE_URL = sim.base_url
        settings.TOMDA_API_ID = "sim-id"
        settings.TOMDA_API_KEY = "sim-key"
        yield sim


@contextmanager
def wanzhuang_cloud(settings, devices, **options):
    """The Wanzhuang simulator with `devices` running, and our Wanzhuang settings pointing at it."""
    from integrations.wanzhuang.simulator import WanzhuangSimulator

    method = options.pop("sign_method", "hmac-sha256")
    with WanzhuangSimulator(app_id="sim-app", app_secret="sim-secret", sign_method=method, devices=devices,
                            **options) as sim:
        settings.WANZHUANG_BASE_URL = sim.base_url
        settings.WANZHUANG_APP_ID = "sim-app"
        settings.WANZHUANG_APP_SECRET = "sim-secret"
        settings.WANZHUANG_SIGN_METHOD = method
        yield sim


# --- Tomda sessions, and their pushes as the bytes Tomda sends -------------------------------------------------


def charging_orders(count: int, *, serial_prefix: str = "10124"):
    """`count` Tomda chargers (serials `serial_prefix` + 5 digits) at one station, each with a session under way."""
    import datetime as dt

    from chargers.models import Vendor
    from orders.models import OrderStatus
    from tests.chargers.factories import ChargerFactory, ConnectorFactory
    from tests.integrations.tomda.conftest import SESSION_START
    from tests.orders.factories import OrderFactory
    from tests.stations.factories import StationFactory
    from tests.tariffs.factories import TariffVersionFactory

    version = TariffVersionFactory()
    station = StationFactory(tariff_template=version.template)
    orders = []
    for n in range(1, count + 1):
        charger = ChargerFactory(station=station, vendor=Vendor.TOMDA, serial=f"{serial_prefix}{n:05d}",
                                 last_seen_at=SESSION_START - dt.timedelta(hours=1))
        orders.append(
            OrderFactory(
                connector=ConnectorFactory(charger=charger, number=1), partner=None, partner_order_no="",
                status=OrderStatus.CHARGING, started_at=SESSION_START, ended_at=None, charge_seconds=0,
                park_seconds=0, energy_wh=0, electricity_fee_fen=0, service_fee_fen=0, total_fee_fen=0, soc=None,
                close_reason="", authorized_amount_fen=50_000, tariff_version=version,
            )
        )
    return orders


def tomda_body(kind: str, content: dict, *, time: str = "2026-11-21 10:00:00") -> str:
    """A Tomda push's JSON body (§5.2.2)."""
    return json.dumps({"type": kind, "time": time, "content": content}, ensure_ascii=False)


def work_data(order, *, minutes: int, energy_wh: int) -> str:
    """Tomda's reading of `order`'s session `minutes` into it, at `energy_wh`."""
    from tests.integrations.tomda.conftest import work_item

    return tomda_body("WORK_DATA", {"serialNum": order.charger.serial,
                                    "workDataInfo": [work_item(order, minutes=minutes, energy_wh=energy_wh)]})


# --- processes of ours beside the test ---------------------------------------------------------------------------


def database_url_of(settings_dict: dict | None = None) -> str:
    """DATABASE_URL of a database (by default the test database), for a process of our own to use."""
    db = settings_dict or connection.settings_dict
    if db.get("ENGINE") == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"  # the test database is a file (config.settings.test)
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


INBOX_WORKER_STOPPED = re.compile(r"inbox worker stopped after [\d.]+ s: (.*)")
_worker_numbers = itertools.count()


class InboxWorker:
    """`manage.py inbox_worker` in a process of its own, on the test database (or the one `database_url` names);
    its output goes to files (a pipe nobody reads could fill and stall it)."""

    def __init__(self, tmp_path: Path, *args: str, database_url: str | None = None):
        name = f"worker-{next(_worker_numbers)}"
        self.out = tmp_path / f"{name}.out"
        self.err = tmp_path / f"{name}.err"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
               "DATABASE_URL": database_url or database_url_of()}
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py)
                [sys.executable, "manage.py", "inbox_worker", *args],
                cwd=settings.BASE_DIR, env=env, stdout=out, stderr=err,
            )

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not stop within {timeout} s; its log:\n{self.log()}")

    def stopped_line(self) -> str:
        found = INBOX_WORKER_STOPPED.search(self.out.read_text())
        assert found, f"no stopped line; the worker's log:\n{self.log()}"
        return found.group(1)

    def processed(self) -> int:
        found = re.search(r"processed (\d+)", self.stopped_line())
        return int(found.group(1)) if found else 0

    def log(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def inbox_workers(tmp_path: Path, count: int, *args: str, database_url: str | None = None):
    """`count` inbox workers started with `args`; each is killed on the way out if it still runs."""
    started = []
    try:
        for _n in range(count):
            started.append(InboxWorker(tmp_path, *args, database_url=database_url))
        yield started
    finally:
        for worker in started:
            worker.kill()


class ProcessGroup:
    """A long-running command of ours (gunicorn, `manage.py qcluster`) in a process group of its own, its output
    in a file; `kill()` ends the whole group at once, as a machine losing power would, and is safe to repeat."""

    def __init__(self, log: Path, argv: list[str], *, env: dict):
        self.log_path = log
        with log.open("a") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and commands)
                argv, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def members(self) -> set[int]:
        """The pids of the group's processes now."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[2]) == self.pid:  # the process group id
                found.add(int(stat.parent.name))
        return found

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        # The group, whether or not its leader still runs: a child it forked may outlive it.
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def eventually(condition, *, timeout: float, interval: float = 0.02) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not so within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started
