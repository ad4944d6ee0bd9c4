"""Telemetry ingest into both backends in one run: the embedded TimescaleDB and a native server.

    python bench/bench_telemetry.py [--rows 100000] [--native-dsn DSN]   (default: $RLM_TEST_NATIVE_DSN)
                                    [--job-size 1M --job-samples 5 | --no-job]

First the Python cost of encoding a row (COPY text, JSON) beside the multi-row INSERT path's.
Then for each backend: rows/s through the Recorder (what a run pays; targets 20k embedded, 50k
native), rows/s of write_batch directly (COPY, with multi-row INSERTs cut by bytes for comparison),
4 concurrent writers, and the per-run
queries over the rows. Last, the Recorder's share of the main job: `evals.run task=niah size=1M`
runs once without a database, then its events go through a Recorder into each backend; the
Python CPU time that takes (emit calls and the writer thread) over the job's wall (target < 1 %).
Ratios in one process; on a shared machine, read them beside the load printed with them.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from rlm.events import LLMCallEvent, ListSink  # noqa: E402
from rlm.telemetry import Recorder, connect, encoding, migrate, queries, start_embedded, stop_embedded  # noqa: E402
from rlm.telemetry import writes  # noqa: E402


def events(n: int, run_id: str) -> list[LLMCallEvent]:
    t0 = datetime.now(timezone.utc) - timedelta(hours=1)  # recent: old chunks may be compressed
    return [LLMCallEvent(time=t0 + timedelta(milliseconds=i), run_id=run_id, query_id=f"q{i // 50}",
                         call_id=f"{run_id}-{i}", parent_call_id=f"{run_id}-{i - i % 50}" if i % 50 else None,
                         depth=min(i % 50, 2), iteration=i % 12, role="sub" if i % 50 else "root", model="sim-small",
                         prompt_tokens=1000 + i % 997, cached_tokens=i % 500, completion_tokens=50,
                         latency_ms=float(i % 3000), cost_usd=1e-4) for i in range(n)]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>9,.0f} rows/s"


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def bench_encoding(evs: list) -> None:
    """Python time per row of each wire shape, measured here one after another."""
    def per_row(fn) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) / len(evs) * 1e6

    with connect(start_embedded(BENCH_HOME)) as conn, conn.cursor() as cur:
        template = b"(" + b",".join([b"%s"] * len(writes._LLM_COLS)) + b")"
        inserts = per_row(lambda: [cur.mogrify(template, writes._row("llm_call", e)) for e in evs])
    copy = per_row(lambda: encoding.copy_csv("llm_call", evs))
    json = per_row(lambda: encoding.json_rows("llm_call", evs))
    print(f"row encoding ({load()}): multi-row INSERT {inserts:.1f} us/row, COPY CSV {copy:.1f} us/row "
          f"({inserts / copy:.1f}x faster), JSON {json:.1f} us/row ({inserts / json:.1f}x faster)")


def bench_recorder(dsn: str, label: str, evs: list, batch: int | None) -> float:
    """Rows/s through a Recorder from first emit to close (everything written); returns s/emit."""
    extra = {"batch_size": batch} if batch else {}
    rec = Recorder(dsn, Path(tempfile.mkdtemp()), max_queue=len(evs) + 10, **extra)
    start = time.perf_counter()
    for e in evs:
        rec.emit(e)
    per_emit = (time.perf_counter() - start) / len(evs)
    rec.close()
    total = time.perf_counter() - start
    assert rec.spooled == 0, f"{rec.spooled} rows spooled"
    print(f"  {label:<10} Recorder (batch {rec.batch_size}):            {rate(len(evs), total)}"
          f"   emit {per_emit * 1e6:.1f} us   ({load()})")
    return per_emit


def bench_direct(dsn: str, label: str, evs: list, how: str, batch: int = 5000) -> None:
    start = time.perf_counter()
    with connect(dsn) as conn:
        path = "INSERTs by bytes" if how == "insert" else "COPY"
        for s in range(0, len(evs), batch):
            if how == "insert":
                rows = [writes._row("llm_call", e) for e in evs[s:s + batch]]
                with conn.cursor() as cur:
                    writes.insert_rows(cur, writes._SQL["llm_call"], rows, batch, writes.MAX_STATEMENT_BYTES)
            else:
                writes.write_batch(conn, evs[s:s + batch], page_size=batch)
            conn.commit()
    print(f"  {label:<10} write_batch, {path:<17} (batch {batch}): {rate(len(evs), time.perf_counter() - start)}"
          f"   ({load()})")


def bench_writers(dsn: str, label: str, evs: list, workers: int = 4) -> None:
    share = len(evs) // workers

    def write(k: int) -> None:
        mine = evs[k * share:(k + 1) * share]
        with connect(dsn, timeout_s=60) as conn:
            for s in range(0, len(mine), 5000):
                writes.write_batch(conn, mine[s:s + 5000], page_size=5000)
                conn.commit()

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(write, range(workers)))
    print(f"  {label:<10} {workers} concurrent writers:                {rate(share * workers, time.perf_counter() - start)}"
          f"   ({load()})")


def bench_queries(dsn: str, label: str, run_id: str) -> None:
    times = []
    for name, fn in [("run_summary", lambda: queries.run_summary(dsn, run_id)),
                     ("latency_metrics", lambda: queries.latency_metrics(dsn, run_id)),
                     ("slowest_calls", lambda: queries.slowest_calls(dsn, run_id, 10))]:
        start = time.perf_counter()
        fn()
        times.append(f"{name} {(time.perf_counter() - start) * 1000:.0f} ms")
    print(f"  {label:<10} queries: " + ", ".join(times))


def main_job(size: str, samples: int, tmp: Path) -> tuple[list, float]:
    """The events of `evals.run task=niah size=... samples=...` (no database) and its wall time."""
    from evals.plan import plan_for
    from evals.runner import run_eval

    plan = plan_for(["task=niah", f"size={size}", f"samples={samples}", "db=off",
                     f"results_dir={tmp}/results", f"cache_dir={tmp}/cache"])
    sink = ListSink()
    start = time.perf_counter()
    run_eval(plan, sink=sink)
    return sink.events, time.perf_counter() - start


def bench_job_share(dsn: str, label: str, job_events: list, job_wall: float, stamp: str) -> None:
    """Python CPU the Recorder spends on the job's events (emits and writer thread) over the job's wall."""
    evs = [dataclasses.replace(e, run_id=f"job-{stamp}-{label}") for e in job_events]
    rec = Recorder(dsn, Path(tempfile.mkdtemp()), max_queue=len(evs) + 10)
    cpu = time.process_time()
    for e in evs:
        rec.emit(e)
    rec.close()
    cpu = time.process_time() - cpu
    assert rec.spooled == 0, f"{rec.spooled} rows spooled"
    print(f"  {label:<10} recorder share of the main job: {cpu * 1000:.0f} ms of CPU for {len(evs):,} events "
          f"= {cpu / job_wall:.3%} of its {job_wall:.1f} s wall (target < 1 %)   ({load()})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--recorder-batch", type=int, help="the Recorder's batch_size (default: its own)")
    ap.add_argument("--native-dsn", default=os.environ.get("RLM_TEST_NATIVE_DSN"))
    ap.add_argument("--job-size", default="1M", help="size of the main job whose events are replayed")
    ap.add_argument("--job-samples", type=int, default=5)
    ap.add_argument("--no-job", action="store_true", help="skip the main job's share")
    args = ap.parse_args()
    home = BENCH_HOME
    backends = {"embedded": start_embedded(home)}
    if args.native_dsn:
        backends["native"] = args.native_dsn
    else:
        print("native: not measured (give --native-dsn or $RLM_TEST_NATIVE_DSN; .ci/native_tsdb.sh starts one)")
    stamp = int(time.time())
    try:
        bench_encoding(events(min(args.rows, 30_000), "encoding"))
        print(f"ingest of {args.rows:,} llm_call rows per measurement")
        for label, dsn in backends.items():
            migrate(dsn)
            bench_recorder(dsn, label, events(args.rows, f"rec-{stamp}-{label}"), args.recorder_batch)
            bench_direct(dsn, label, events(args.rows, f"direct-{stamp}-{label}"), "auto")
            bench_direct(dsn, label, events(args.rows, f"insert-{stamp}-{label}"), "insert")
            bench_writers(dsn, label, events(args.rows, f"writers-{stamp}-{label}"))
            bench_queries(dsn, label, f"direct-{stamp}-{label}")
        if not args.no_job:
            job_events, job_wall = main_job(args.job_size, args.job_samples, home / "job")
            print(f"main job: niah size={args.job_size} samples={args.job_samples}, {job_wall:.1f} s wall, "
                  f"{len(job_events):,} events")
            for label, dsn in backends.items():
                bench_job_share(dsn, label, job_events, job_wall, str(stamp))
    finally:
        stop_embedded(home)


BENCH_HOME = Path(tempfile.mkdtemp(prefix="rlm-bench-"))

if __name__ == "__main__":
    main()
