"""Benchmark of the pricing engine. Run by hand; it asserts nothing, it prints figures.

    .venv/bin/python tests/benchmarks/pricing.py --sessions 100000 --readings 120
    .venv/bin/python tests/benchmarks/pricing.py --sessions 20000 --local      # readings in Beijing time
    .venv/bin/python tests/benchmarks/pricing.py --sessions 10000 --profile    # where the time goes

It needs no database. It builds a 9-period 尖峰平谷 tariff and generates the sessions deterministically
(the same on every run with the same arguments): each starts at a random minute of a week, has the given
number of cumulative energy readings 20–90 s apart at a power of 3–120 kW that wanders, with times in UTC
as stored (in Beijing time with --local); some cross midnight. It prices them with `price_session` in
batches, timing only the pricing, and prints sessions per second, readings per second, the pricing time,
the process's peak memory (RSS, generation included) and a checksum of the fees to compare runs by.
"""

import argparse
import cProfile
import datetime as dt
import pstats
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tariffs.pricing import LOCAL_ZONE, Interval, Period, Tariff, price_session  # noqa: E402

BATCH = 1_000
SEED = 20_251_121
WEEK_START = dt.datetime(2025, 3, 10, tzinfo=LOCAL_ZONE)  # a Monday, 00:00 in Beijing


def build_tariff():
    """A 尖峰平谷 day of 9 periods as Guangdong publishes them (prices in 0.0001 yuan per kWh)."""
    cusp, peak, plain, valley = (14_196, 8_000), (11_830, 8_000), (7_098, 6_000), (2_839, 4_000)
    day = [
        (0, 480, Interval.VALLEY, valley),
        (480, 600, Interval.PLAIN, plain),
        (600, 660, Interval.PEAK, peak),
        (660, 720, Interval.CUSP, cusp),
        (720, 840, Interval.PLAIN, plain),
        (840, 1140, Interval.PEAK, peak),
        (1140, 1260, Interval.CUSP, cusp),
        (1260, 1320, Interval.PEAK, peak),
        (1320, 1440, Interval.VALLEY, valley),
    ]
    return Tariff(
        kind="ev",
        periods=tuple(Period(start, end, interval, *prices) for start, end, interval, prices in day),
        free_charge_seconds=0,
    )


GAPS = range(20, 91)
DRIFTS = range(-2_000, 2_001, 100)


def build_sessions(rng, count, readings, offsets, zone):
    sessions = []
    for _ in range(count):
        start = (WEEK_START + dt.timedelta(minutes=rng.randrange(7 * 1440))).astimezone(zone)
        power_w = rng.randint(3_000, 120_000)
        energy_wh = rng.randrange(1_000_000)
        offset = 0
        series = [(start, energy_wh)]
        # One draw of all gaps and drifts: generating must not take much longer than pricing.
        for gap, drift in zip(rng.choices(GAPS, k=readings - 1), rng.choices(DRIFTS, k=readings - 1), strict=True):
            offset += gap
            power_w = max(1_000, min(120_000, power_w + drift))
            energy_wh += power_w * gap // 3600
            series.append((start + offsets[offset], energy_wh))
        sessions.append(series)
    return sessions


def crosses_midnight(series):
    return series[0][0].astimezone(LOCAL_ZONE).date() != series[-1][0].astimezone(LOCAL_ZONE).date()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="number of sessions to price")
    parser.add_argument("--readings", type=int, default=120, help="energy readings per session")
    parser.add_argument("--local", action="store_true", help="readings in Beijing time instead of UTC as stored")
    parser.add_argument("--profile", action="store_true", help="profile the pricing and print the top functions")
    args = parser.parse_args()

    tariff = build_tariff()
    rng = random.Random(SEED)
    offsets = [dt.timedelta(seconds=second) for second in range(GAPS[-1] * args.readings + 1)]
    profiler = cProfile.Profile() if args.profile else None
    priced = pricing_seconds = lines = crossing = session_seconds = 0
    total_fen = energy_wh = 0
    started = time.perf_counter()
    while priced < args.sessions:
        batch = build_sessions(
            rng, min(BATCH, args.sessions - priced), args.readings, offsets, LOCAL_ZONE if args.local else dt.UTC
        )
        crossing += sum(crosses_midnight(series) for series in batch)
        if profiler:
            profiler.enable()
        batch_started = time.perf_counter()
        breakdowns = [price_session(tariff, readings=series) for series in batch]
        pricing_seconds += time.perf_counter() - batch_started
        if profiler:
            profiler.disable()
        for breakdown in breakdowns:
            lines += len(breakdown.lines)
            total_fen += breakdown.total_fen
            energy_wh += breakdown.energy_wh
            session_seconds += breakdown.seconds
        priced += len(batch)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    print(
        f"{priced} sessions of {args.readings} readings, {session_seconds / max(priced, 1) / 3600:.2f} h on average, "
        f"{crossing} crossing midnight; {lines / max(priced, 1):.2f} lines a session"
    )
    print(f"pricing time        {pricing_seconds:10.2f} s   (with generating the sessions: {elapsed:.2f} s)")
    print(f"sessions per second {priced / pricing_seconds:10,.0f}")
    print(f"readings per second {priced * args.readings / pricing_seconds:10,.0f}")
    print(f"per session         {pricing_seconds / priced * 1e6:10.1f} µs")
    print(f"peak memory (RSS)   {peak_kib / 1024:10.1f} MiB")
    print(f"checksum            {total_fen} fen, {energy_wh} Wh")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
