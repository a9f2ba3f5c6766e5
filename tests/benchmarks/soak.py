"""Soak of the push path at twice the peak, with partners polling, over real HTTP. Run by hand; it prints figures.

    .venv/bin/python tests/benchmarks/soak.py [--minutes 10] [--rate 1660] [--pollers 4] [--poll-rate 2] \\
        [--database-url postgres://postgres@127.0.0.1:5432/charging_soak] [--sessions 20000] \\
        [--web-workers 4] [--inbox-workers 2] [--connections 64] [--keep]

An operator of 50,000 connectors sends about 830 pushes a second at its peak (README, Production); the soak
offers twice that, 1,660 unique Tomda WORK_DATA pushes a second by default, for `--minutes`. The database
`--database-url` names (PostgreSQL only) is dropped and created, migrated and seeded with `--sessions` charging
sessions on Tomda chargers in stations of ten, a tenth of them orders of the partners. This project serves under
gunicorn with its production settings (`--web-workers` sync workers, persistent database connections, as README's
Production runs it), `--inbox-workers` inbox workers apply what it stores, and wrk (push_ingest.lua, paced) sends
the pushes. Meanwhile `--pollers` partners, each with its own token, poll getOrderInfo (one of its orders) and
syncStubInfo (a station) in turn, `--poll-rate` calls a second each.

It prints:
- every 10 s, the inbox backlog: pushes stored and not yet applied, and the age of the oldest;
- pushes: offered and achieved rates (offered is what wrk sent; it falls short of `--rate` when answers are slow
  enough that its connections are all waiting), sent / answered / acknowledged, errors (answers that are not 2xx,
  2xx answers that are not Tomda's success, timeouts, other socket errors), and the acknowledgement latency
  p50 / p95 / p99, beside the target (p95 at most 100 ms, no error);
- the partners' polls: calls, errors (not HTTP 200 with code 0, timeouts), latency p50 / p95;
- after the pushes stop, the time until the backlog is empty (target: within a minute), and the outcomes of the
  stored pushes.

The database is dropped and every process stopped at the end, on Ctrl-C and on SIGTERM too, unless --keep is given
(which keeps the database and the server and worker logs).
"""

import argparse
import datetime as dt
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: the repository on the path, for tests.benchmarks
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.pushkit import (  # noqa: E402
    OURS_PATH,
    PYTHON,
    ROOT,
    Processes,
    percentile,
    postgres_only,
    production_env,
    pushes_send,
    recreate_databases,
    serve,
    sessions_build,
    statuses,
    wrk,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/charging_soak"
PEAK_RATE = 830  # pushes a second of 50,000 connectors reporting once a minute (README, Production)
SAMPLE_SECONDS = 10
DRAIN_LIMIT_SECONDS = 600
PARTNER_SHARE = 10  # one session in this many is a partner's order
TARGET_P95_MS = 100
TARGET_DRAIN_SECONDS = 60
ORG = "SOAK{:02d}"


# --- the seeded database ---------------------------------------------------------------------------------------


def partners_build(orders: list, pollers: int) -> list[dict]:
    """One partner a poller, each seeing the stations' city, with a token and a share of the orders."""
    from integrations.partnerkit.access import Caller, partner_access_get, partner_secret_issue, partner_token_issue
    from orders.models import Order, Partner
    from stations.models import Station

    stations = list(Station.objects.values_list("code", flat=True))
    found = []
    for n in range(pollers):
        partner = Partner.objects.create(org_code=ORG.format(n + 1), name=f"Soak partner {n + 1}")
        access = partner_access_get(partner=partner)
        access.city_codes = "440300"
        # Progress callbacks are written as they are in production; no task cluster runs to send them.
        access.callback_url = "http://127.0.0.1:9/callback"
        access.save()
        mine = [order.pk for order in orders[n * PARTNER_SHARE::pollers * PARTNER_SHARE]]
        Order.objects.filter(pk__in=mine).update(partner=partner)
        secret = partner_secret_issue(partner=partner)
        token = partner_token_issue(org=partner.org_code, secret=secret, caller=Caller("soak")).token
        found.append({"org": partner.org_code, "token": token, "stations": stations,
                      "orders": list(Order.objects.filter(pk__in=mine).values_list("order_no", flat=True))})
    return found


# --- the inbox backlog -----------------------------------------------------------------------------------------


def backlog() -> tuple[int, float | None]:
    """Pushes stored and not yet applied, and the age of the oldest in seconds (README's monitoring probe)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), extract(epoch FROM now() - min(received_at)) "
                       "FROM integrations_inboundmessage WHERE status = 'received'")
        count, oldest = cursor.fetchone()
    return count, None if oldest is None else float(oldest)


class Sampler(threading.Thread):
    """The backlog every SAMPLE_SECONDS, printed as it is taken, until stopped."""

    def __init__(self, began: float):
        super().__init__(daemon=True)
        self.began, self.stopping, self.samples = began, threading.Event(), []

    def run(self):
        from django.db import connection

        try:
            while not self.stopping.wait(SAMPLE_SECONDS):
                count, oldest = backlog()
                at = time.monotonic() - self.began
                self.samples.append((at, count, oldest))
                print(f"  t={at:5.0f} s   backlog {count:7d}   oldest waiting {seconds(oldest)}", flush=True)
        finally:
            connection.close()


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


# --- the partners' polls ---------------------------------------------------------------------------------------


@dataclass
class Polls:
    latencies: list = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def poll(base: str, partner: dict, rate: float, stop: threading.Event, polls: Polls, seed: int) -> None:
    """getOrderInfo and syncStubInfo in turn at about `rate` calls a second, until `stop`."""
    rng = random.Random(seed)
    interval, due, turn = 1 / rate, time.monotonic(), 0
    while not stop.is_set():
        if turn % 2 == 0 and partner["orders"]:
            query = {"token": partner["token"], "orderId": rng.choice(partner["orders"])}
            interface = "getOrderInfo"
        else:
            query = {"token": partner["token"], "stubGroupId": rng.choice(partner["stations"])}
            interface = "syncStubInfo"
        turn += 1
        began = time.perf_counter()
        good, timed_out = False, False
        try:
            with urllib.request.urlopen(f"{base}/api/partner/v1/{interface}?{urlencode(query)}",  # noqa: S310
                                        timeout=10) as answer:
                body = answer.read()
                good = answer.status == 200 and body.startswith(b'{"code":0,')
        except TimeoutError:
            timed_out = True
        except (urllib.error.URLError, OSError):
            pass
        took = (time.perf_counter() - began) * 1000
        with polls.lock:
            polls.latencies.append(took)
            polls.errors += not good
            polls.timeouts += timed_out
        due += interval
        stop.wait(max(0.0, due - time.monotonic()))


# --- the run ---------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="how long the pushes are offered")
    parser.add_argument("--rate", type=float, default=2 * PEAK_RATE, help="pushes offered a second")
    parser.add_argument("--pollers", type=int, default=4, help="partners polling, one token each")
    parser.add_argument("--poll-rate", type=float, default=2, help="calls a second of each poller")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL),
                        help="the PostgreSQL database to create (dropped first)")
    parser.add_argument("--sessions", type=int, default=20_000, help="charging sessions pushed about")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn --workers (sync)")
    parser.add_argument("--inbox-workers", type=int, default=2, help="inbox_worker processes")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0 or args.pollers < 0 or args.poll_rate <= 0:
        sys.exit("--minutes, --rate and --poll-rate are more than 0; --pollers at least 0")
    wrk()

    url = args.database_url
    name = postgres_only(url)
    env = production_env(url)
    env.pop("REDIS_URL", None)  # the throttle counts in each web worker's memory; no Redis is needed
    os.environ.clear()
    os.environ.update(env)
    # An interrupt or a SIGTERM unwinds through the finally below, which ends every child and drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)

    logs = Path(tempfile.mkdtemp(prefix="soak_"))
    processes = Processes(logs)
    stop_polls, pollers, sampler = threading.Event(), [], None
    recreate_databases(url, [name])
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        began = time.perf_counter()
        call_command("migrate", verbosity=0)
        orders = sessions_build(args.sessions, chargers_per_station=10)
        partners = partners_build(orders, args.pollers)
        connection.close()
        print(f"database {name}: {args.sessions} sessions in {args.sessions // 10} stations, {len(partners)} "
              f"partners, seeded in {time.perf_counter() - began:.1f} s")

        push_url = serve(processes, "web", env, ROOT, "config.wsgi", OURS_PATH, workers=args.web_workers)
        base = push_url.removesuffix(OURS_PATH)
        for n in range(args.inbox_workers):
            processes.start(f"inbox{n + 1}", [PYTHON, "manage.py", "inbox_worker"], env, ROOT)
        print(f"server {base}: gunicorn config.wsgi, {args.web_workers} sync workers, production settings; "
              f"{args.inbox_workers} inbox workers; {os.cpu_count()} CPUs shared with PostgreSQL, wrk and the "
              "pollers")
        # Warm-up, not counted: each web worker's first requests load the URL conf and connect.
        offset = pushes_send(push_url, sessions=args.sessions, offset=0, seconds=2, connections=args.connections,
                             threads=args.threads, rate=args.rate)["offset"]

        polls = Polls()
        for n, partner in enumerate(partners):
            thread = threading.Thread(target=poll, args=(base, partner, args.poll_rate, stop_polls, polls, n),
                                      daemon=True)
            thread.start()
            pollers.append(thread)
        seconds_offered = int(args.minutes * 60)
        print(f"load average before the load: {load_average()}")
        print(f"\npushes: {args.rate:.0f}/s offered for {seconds_offered} s (twice the peak of {PEAK_RATE}/s is "
              f"{2 * PEAK_RATE}/s), {args.connections} connections; {len(partners)} pollers at "
              f"{args.poll_rate:g} calls/s each")
        print(f"backlog every {SAMPLE_SECONDS} s:", flush=True)
        load_began = time.monotonic()
        sampler = Sampler(load_began)
        sampler.start()
        run = pushes_send(push_url, sessions=args.sessions, offset=offset, seconds=seconds_offered,
                          connections=args.connections, threads=args.threads, rate=args.rate, timeout="10s")
        stopped = time.monotonic()
        loaded = load_average()
        stop_polls.set()
        for thread in pollers:
            thread.join()

        count, oldest = backlog()
        while count and time.monotonic() - stopped < DRAIN_LIMIT_SECONDS:
            time.sleep(0.5)
            count, oldest = backlog()
        drained = time.monotonic() - stopped
        sampler.stopping.set()
        sampler.join()

        print(f"\nload average as the load ended: {loaded}")
        print("\npushes")
        print(f"  offered            {run['offered']:8.1f}/s of {args.rate:.0f}/s asked ({run['sent']} sent in "
              f"{run['seconds']:.0f} s)")
        print(f"  achieved           {run['rate']:8.1f}/s acknowledged ({run['acked']} of {run['responses']} "
              "answers)")
        print(f"  errors             {run['errors']}: not 2xx {run['non_2xx']}, 2xx but not acknowledged "
              f"{run['responses'] - run['acked'] - run['non_2xx']}, timeouts {run['timeouts']}, other socket "
              f"errors {run['socket_errors'] - run['timeouts']}")
        met = run["p95"] <= TARGET_P95_MS and run["errors"] == 0
        print(f"  ack latency        p50 {run['p50']:.1f} ms   p95 {run['p95']:.1f} ms   p99 {run['p99']:.1f} ms   "
              f"(target p95 <= {TARGET_P95_MS} ms, no error: {'met' if met else 'MISSED'})")
        latencies = sorted(polls.latencies)
        print("\npartners' polls (getOrderInfo and syncStubInfo in turn)")
        print(f"  calls              {len(latencies)} ({len(latencies) / max(stopped - load_began, 1e-9):.1f}/s)")
        print(f"  errors             {polls.errors} (not HTTP 200 with code 0; timeouts {polls.timeouts})")
        print(f"  latency            p50 {percentile(latencies, 0.5):.1f} ms   "
              f"p95 {percentile(latencies, 0.95):.1f} ms")
        print("\ninbox backlog")
        if sampler.samples:
            most = max(sampler.samples, key=lambda sample: sample[1])
            oldest_seen = max((sample[2] or 0 for sample in sampler.samples), default=0)
            print(f"  largest sampled    {most[1]} at t={most[0]:.0f} s; oldest waiting at most "
                  f"{oldest_seen:.1f} s")
            print(f"  median sampled     {statistics.median(sample[1] for sample in sampler.samples):.0f}")
        if count:
            print(f"  after the load     NOT empty {DRAIN_LIMIT_SECONDS} s after the pushes stopped: {count} left, "
                  f"oldest {seconds(oldest)}")
        else:
            verdict = "met" if drained <= TARGET_DRAIN_SECONDS else "MISSED"
            print(f"  after the load     empty {drained:.1f} s after the pushes stopped (target within "
                  f"{TARGET_DRAIN_SECONDS} s: {verdict})")
        print(f"  stored pushes      {', '.join(f'{status} {n}' for status, n in sorted(statuses().items()))}")
        for process in list(processes.running):
            if process.poll() is not None:
                print(f"WARNING: {process.name} exited with {process.returncode}; see {process.log}")
    finally:
        stop_polls.set()
        if sampler is not None:
            sampler.stopping.set()
        processes.stop_all()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept database {name}; server and worker logs in {logs}")
        else:
            recreate_databases(url, [name], drop_only=True)
            shutil.rmtree(logs, ignore_errors=True)
        print(f"finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted")
