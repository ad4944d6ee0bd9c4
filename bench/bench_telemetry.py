"""Telemetry throughput: rows/s into the embedded TimescaleDB and a plain PostgreSQL 15, the
Recorder's per-emit cost, and query times over the stored calls.

    python bench/bench_telemetry.py [--rows 200000] [--plain-pg-port PORT]
Plain PostgreSQL is measured only when given (it has no timescaledb: plain tables from 001's
CREATE TABLE statements).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from rlm.events import LLMCallEvent  # noqa: E402
from rlm.telemetry import Recorder, connect, migrate, queries, start_embedded, stop_embedded
from rlm.telemetry.migrate import MIGRATIONS_DIR
from rlm.telemetry.writes import write_batch


def events(n: int, run_id: str) -> list[LLMCallEvent]:
    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    return [LLMCallEvent(time=t0 + timedelta(milliseconds=i), run_id=run_id, query_id=f"q{i // 50}",
                         call_id=f"{run_id}-{i}", parent_call_id=f"{run_id}-{i - i % 50}" if i % 50 else None,
                         depth=min(i % 50, 2), iteration=i % 12, role="sub" if i % 50 else "root", model="sim-small",
                         prompt_tokens=1000 + i % 997, cached_tokens=i % 500, completion_tokens=50,
                         latency_ms=float(i % 3000), cost_usd=1e-4) for i in range(n)]


def bench_emit(evs: list) -> float:
    """Seconds per emit() (the cost a run pays), with the queue large enough to hold them all."""
    rec = Recorder(dsn_embedded, Path(tempfile.mkdtemp()), batch_size=100, max_queue=len(evs) + 10)
    t = time.perf_counter()
    for e in evs:
        rec.emit(e)
    per_emit = (time.perf_counter() - t) / len(evs)
    t = time.perf_counter()
    rec.close()
    print(f"recorder: emit {per_emit * 1e6:.2f} us/event; drained {len(evs)} rows in {time.perf_counter() - t:.1f}s "
          f"= {len(evs) / (time.perf_counter() - t):,.0f} rows/s into the embedded TimescaleDB (batches of 100)")
    return per_emit


def bench_direct(dsn: str, evs: list, label: str, batch: int = 100) -> None:
    t = time.perf_counter()
    with connect(dsn) as conn:
        for s in range(0, len(evs), batch):
            write_batch(conn, evs[s:s + batch], page_size=batch)
            conn.commit()
    dt = time.perf_counter() - t
    print(f"{label}: {len(evs)} rows in {dt:.1f}s = {len(evs) / dt:,.0f} rows/s (execute_values, batches of {batch})")


def bench_queries(dsn: str, run_id: str) -> None:
    for name, fn in [("run_summary", lambda: queries.run_summary(dsn, run_id)),
                     ("latency_metrics", lambda: queries.latency_metrics(dsn, run_id)),
                     ("cache_summary", lambda: queries.cache_summary(dsn, run_id)),
                     ("slowest_calls", lambda: queries.slowest_calls(dsn, run_id, 10)),
                     ("calls(one query)", lambda: queries.calls(dsn, run_id, "q7"))]:
        t = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - plain PostgreSQL lacks the TimescaleDB views
            print(f"  query {name}: n/a ({type(exc).__name__})")
            continue
        print(f"  query {name}: {(time.perf_counter() - t) * 1000:.0f} ms")


def plain_tables(dsn: str) -> None:
    sql = (MIGRATIONS_DIR / "001_core.sql").read_text()
    with connect(dsn) as conn, conn.cursor() as cur:
        for stmt in sql.split(";\n"):
            if "timescaledb" not in stmt and "create_hypertable" not in stmt and stmt.strip():
                cur.execute(stmt)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--plain-pg-port", type=int)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rlm-bench-"))
    dsn_embedded = start_embedded(home)
    migrate(dsn_embedded)
    try:
        per_emit = bench_emit(events(args.rows // 4, "emit"))
        # An RLM call takes >= 100 ms; a run emits about 1.2 events per call (calls + cells).
        print(f"recorder share of a run with 100 ms calls: {per_emit * 1.2 / 0.1:.4%}")
        evs = events(args.rows, "bulk")
        bench_direct(dsn_embedded, evs, "embedded TimescaleDB")
        print(f"queries over {args.rows + args.rows // 4} call rows (embedded):")
        bench_queries(dsn_embedded, "bulk")
        if args.plain_pg_port:
            pg = f"postgresql://postgres:x@127.0.0.1:{args.plain_pg_port}/postgres?sslmode=disable"
            plain_tables(pg)
            bench_direct(pg, evs, "plain PostgreSQL 15")
            print("queries (plain PostgreSQL 15):")
            bench_queries(pg, "bulk")
    finally:
        stop_embedded(home)
