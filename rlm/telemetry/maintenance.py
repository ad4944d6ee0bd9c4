"""Policy work where no background worker does it: aggregate refresh, compression, retention.

A TimescaleDB server runs its policy jobs in background workers. The embedded server (PGlite)
has none, so `maintain` runs the due ones itself with `run_job`, then moves each job's next start
one schedule interval on, as the scheduler would. The harness calls it at the end of every run,
and `python -m evals.db maintain` on demand. Reports do not wait for it: the aggregates are
real-time (migration 008), so rows not yet materialised are read from the raw tables.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg2

from rlm.telemetry.connection import connect, is_embedded

log = logging.getLogger(__name__)

POLICIES = ("policy_refresh_continuous_aggregate", "policy_compression", "policy_retention")
_DUE_SQL = """
SELECT job_id, proc_name, coalesce(hypertable_name, '') AS target
FROM timescaledb_information.jobs
WHERE scheduled AND proc_name = ANY(%s) AND (%s OR next_start IS NULL OR next_start <= now())
ORDER BY CASE proc_name WHEN 'policy_refresh_continuous_aggregate' THEN 0 ELSE 1 END, job_id
"""


@dataclass(frozen=True)
class JobRun:
    job_id: int
    proc_name: str
    target: str
    seconds: float
    error: str | None = None


def maintain(dsn: str, *, force: bool = False) -> list[JobRun]:
    """Run the due policy jobs where no background worker runs them (every job if `force`).

    On a TimescaleDB server with background workers nothing is run unless `force`. A failing
    job is reported in its JobRun and does not stop the others.
    """
    conn = connect(dsn)
    try:
        conn.autocommit = True  # run_job commits inside; it cannot run in a transaction block
        if not force and not is_embedded(conn):
            return []
        with conn.cursor() as cur:
            cur.execute(_DUE_SQL, (list(POLICIES), force))
            jobs = cur.fetchall()
        return [_run(conn, *job) for job in jobs]
    finally:
        conn.close()


def _run(conn, job_id: int, proc_name: str, target: str) -> JobRun:
    start = time.perf_counter()
    error = None
    with conn.cursor() as cur:
        try:
            cur.execute("CALL run_job(%s)", (job_id,))
        except psycopg2.Error as exc:
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("policy job %s (%s on %s) failed: %s", job_id, proc_name, target, error)
        cur.execute("SELECT alter_job(j.job_id, next_start => now() + j.schedule_interval) "
                    "FROM timescaledb_information.jobs j WHERE j.job_id = %s", (job_id,))
    return JobRun(job_id, proc_name, target, time.perf_counter() - start, error)
