"""Telemetry ingest into both backends in one run: the embedded TimescaleDB and a native server.

    python bench/bench_telemetry.py [--rows 100000] [--native-dsn DSN]   (default: $RLM_TEST_NATIVE_DSN)

For each backend: rows/s through the Recorder (what a run pays), rows/s of write_batch directly
(multi-row INSERTs cut by bytes on the embedded server; COPY on the native one, with INSERTs for
comparison), 4 concurrent writers, and a few queries over the rows. Also the Recorder's per-emit
cost and its share of a run whose model calls take 100 ms. Ratios in one process, not targets.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from rlm.events import LLMCallEvent  # noqa: E402
from rlm.telemetry import Recorder, connect, migrate, queries, start_embedded, stop_embedded  # noqa: E402
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
          f"   emit {per_emit * 1e6:.1f} us")
    return per_emit


def bench_direct(dsn: str, label: str, evs: list, how: str, batch: int = 5000) -> None:
    start = time.perf_counter()
    with connect(dsn) as conn:
        path = "COPY" if how == "auto" and not writes.is_embedded(conn) else "INSERTs by bytes"
        for s in range(0, len(evs), batch):
            if how == "insert":
                rows = [writes._row("llm_call", e) for e in evs[s:s + batch]]
                with conn.cursor() as cur:
                    writes.insert_rows(cur, writes._SQL["llm_call"], rows, batch, writes.MAX_STATEMENT_BYTES)
            else:
                writes.write_batch(conn, evs[s:s + batch], page_size=batch)
            conn.commit()
    print(f"  {label:<10} write_batch, {path:<17} (batch {batch}): {rate(len(evs), time.perf_counter() - start)}")


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
    print(f"  {label:<10} {workers} concurrent writers:                {rate(share * workers, time.perf_counter() - start)}")


def bench_queries(dsn: str, label: str, run_id: str) -> None:
    times = []
    for name, fn in [("run_summary", lambda: queries.run_summary(dsn, run_id)),
                     ("latency_metrics", lambda: queries.latency_metrics(dsn, run_id)),
                     ("slowest_calls", lambda: queries.slowest_calls(dsn, run_id, 10))]:
        start = time.perf_counter()
        fn()
        times.append(f"{name} {(time.perf_counter() - start) * 1000:.0f} ms")
    print(f"  {label:<10} queries: " + ", ".join(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--recorder-batch", type=int, help="the Recorder's batch_size (default: its own)")
    ap.add_argument("--native-dsn", default=os.environ.get("RLM_TEST_NATIVE_DSN"))
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rlm-bench-"))
    backends = {"embedded": start_embedded(home)}
    if args.native_dsn:
        backends["native"] = args.native_dsn
    else:
        print("native: not measured (give --native-dsn or $RLM_TEST_NATIVE_DSN; .ci/native_tsdb.sh starts one)")
    stamp = int(time.time())
    try:
        print(f"ingest of {args.rows:,} llm_call rows per measurement")
        for label, dsn in backends.items():
            migrate(dsn)
            per_emit = bench_recorder(dsn, label, events(args.rows, f"rec-{stamp}-{label}"), args.recorder_batch)
            bench_direct(dsn, label, events(args.rows, f"direct-{stamp}-{label}"), "auto")
            if label == "native":
                bench_direct(dsn, label, events(args.rows, f"insert-{stamp}-{label}"), "insert")
            bench_writers(dsn, label, events(args.rows, f"writers-{stamp}-{label}"))
            bench_queries(dsn, label, f"direct-{stamp}-{label}")
            # An RLM call takes >= 100 ms; a run emits about 1.2 events per call (calls + cells).
            print(f"  {label:<10} recorder share of a run with 100 ms calls: {per_emit * 1.2 / 0.1:.4%}")
    finally:
        stop_embedded(home)


if __name__ == "__main__":
    main()
