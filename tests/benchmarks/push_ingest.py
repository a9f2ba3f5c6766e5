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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: the repository on the path, for tests.benchmarks
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.pushkit import (  # noqa: E402
    BENCH,
    OURS_PATH,
    PYTHON,
    ROOT,
    Processes,
    postgres_only,
    production_env,
    pushes_send,
    recreate_databases,
    serve,
    sessions_build,
    statuses,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/charging_bench"
FLOOR_PATH = "/push"
WARM_UP_SECONDS = 2


def load(url: str, args, offset: int, seconds: float, rate: float = 0) -> dict:
    """One wrk run; returns the figures of its done() line, with `offset` for the next run."""
    return pushes_send(url, sessions=args.sessions, offset=offset, seconds=seconds, connections=args.connections,
                       threads=args.threads, rate=rate)


def line(label: str, run: dict) -> str:
    return (f"{label:<18} {run['rate']:8.1f} acked/s   p50 {run['p50']:7.1f} ms   p99 {run['p99']:7.1f} ms"
            f"   errors {run['errors']}")


def stored() -> int:
    from integrations.models import InboundMessage

    return InboundMessage.objects.count()


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
    ours_db = postgres_only(url)
    floor_db = f"{ours_db}_floor"
    floor_url = urlsplit(url)._replace(path=f"/{floor_db}").geturl()

    ours_env = production_env(url)
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
        sessions_build(args.sessions)
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
