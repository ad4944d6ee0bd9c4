"""Synthetic events and small DB helpers shared by the telemetry tests."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from rlm.events import CodeExecEvent, LLMCallEvent
from rlm.telemetry import connect
from rlm.telemetry.maintenance import POLICIES


def admin(dsn: str, sql: str) -> None:
    """One statement outside any transaction (psycopg2's `with conn` would open one)."""
    conn = connect(dsn)
    try:
        conn.autocommit = True
        conn.cursor().execute(sql)
    finally:
        conn.close()


def set_policy_jobs_scheduled(dsn: str, scheduled: bool) -> list[int]:
    """Turn the policy jobs of a native server's database on or off; return their ids."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = ANY(%s) ORDER BY job_id",
                    (list(POLICIES),))
        jobs = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT alter_job(job_id, scheduled => %s, next_start => now()) FROM unnest(%s::int[]) AS job_id",
                    (scheduled, jobs))
    return jobs


def count(dsn: str, table: str, run_id: str) -> int:
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE run_id = %s", (run_id,))
        return cur.fetchone()[0]


def synthetic_events(run_id: str, n_queries: int = 5, seed: int = 0) -> list:
    """A call tree per query: root calls (depth 0) with sub-calls (1) and sub-sub-calls (2), plus cells."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events: list = []
    for q in range(n_queries):
        query_id = f"q{q}"
        for it in range(3):
            root = f"{run_id}-{q}-r{it}"
            events.append(_call(rng, t0, run_id, query_id, root, None, 0, it, "root", "root-model"))
            events.append(CodeExecEvent(time=t0 + timedelta(seconds=len(events)), run_id=run_id, query_id=query_id,
                                        exec_id=f"{root}-x", parent_call_id=root, depth=0, iteration=it,
                                        cell_index=0, duration_ms=rng.uniform(1, 500), code_chars=rng.randint(10, 900),
                                        stdout_chars=rng.randint(0, 5000), stderr_chars=0,
                                        success=rng.random() > 0.1, sub_calls=2))
            for s in range(2):
                sub = f"{root}-s{s}"
                events.append(_call(rng, t0 + timedelta(seconds=len(events)), run_id, query_id, sub, root, 1, it,
                                    "sub", "sub-model"))
                events.append(_call(rng, t0 + timedelta(seconds=len(events)), run_id, query_id, f"{sub}-d", sub, 2,
                                    0, "sub", "sub-model"))
    return events


def _call(rng, time, run_id, query_id, call_id, parent, depth, iteration, role, model) -> LLMCallEvent:
    prompt = rng.randint(100, 50_000)
    return LLMCallEvent(time=time, run_id=run_id, query_id=query_id, call_id=call_id, parent_call_id=parent,
                        depth=depth, iteration=iteration, role=role, model=model, prompt_tokens=prompt,
                        cached_tokens=rng.randint(0, prompt), completion_tokens=rng.randint(1, 2000),
                        reasoning_tokens=rng.randint(0, 100), latency_ms=rng.uniform(5, 5000),
                        ttft_ms=rng.uniform(1, 100), cost_usd=round(rng.uniform(0, 0.05), 6),
                        status="ok" if rng.random() > 0.05 else "error")
