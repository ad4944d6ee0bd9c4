"""Policy work happens on both backends: run by `maintain` on the embedded server, by TimescaleDB's
own background workers on a native one."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg2.errors
import pytest

from rlm.events import LLMCallEvent
from rlm.telemetry import connect, migrate, refresh_aggregates, start_embedded, stop_embedded
from rlm.telemetry.maintenance import maintain
from rlm.telemetry.writes import write_batch
from tests.telemetry.helpers import set_policy_jobs_scheduled


def _calls(run_id: str, when: datetime, n: int = 60) -> list[LLMCallEvent]:
    return [LLMCallEvent(time=when + timedelta(seconds=i), run_id=run_id, query_id="q", call_id=f"{run_id}-{i}",
                         parent_call_id=None, depth=0, iteration=0, role="root", model="m", prompt_tokens=10,
                         latency_ms=float(i)) for i in range(n)]


@pytest.fixture(scope="module")
def own_embedded(tmp_path_factory):
    """An embedded database of its own: compression and retention here touch no other test's rows."""
    home = tmp_path_factory.mktemp("maintenance-home")
    dsn = start_embedded(home)
    migrate(dsn)
    yield dsn
    stop_embedded(home)


def test_maintain_runs_the_due_policies_on_the_embedded_server(own_embedded):
    dsn = own_embedded
    now = datetime.now(timezone.utc)
    with connect(dsn) as conn:
        write_batch(conn, _calls("ancient", now - timedelta(days=400)) + _calls("old", now - timedelta(days=60))
                    + _calls("fresh", now - timedelta(minutes=10)))
    runs = maintain(dsn)
    assert {r.proc_name for r in runs} == {"policy_refresh_continuous_aggregate", "policy_compression",
                                           "policy_retention"}
    assert [r for r in runs if r.error] == []
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, count(*) FROM llm_calls GROUP BY run_id ORDER BY run_id")
        assert cur.fetchall() == [("fresh", 60), ("old", 60)]  # past retention: dropped
        cur.execute("SELECT bool_or(is_compressed) FILTER (WHERE range_end < now() - interval '30 days'), "
                    "bool_or(is_compressed) FILTER (WHERE range_end > now()) "
                    "FROM timescaledb_information.chunks WHERE hypertable_name = 'llm_calls'")
        assert cur.fetchone() == (True, False)  # old chunks compressed, the current one not
        cur.execute("SELECT sum(calls) FROM llm_calls_1m WHERE run_id = 'fresh'")
        assert cur.fetchone() == (60,)
    assert maintain(dsn) == []  # nothing is due again before its schedule interval


def test_maintain_leaves_a_native_server_to_its_workers(native_dsn):
    assert maintain(native_dsn) == []


def test_native_policy_jobs_succeed_in_job_stats(native_dsn):
    jobs = set_policy_jobs_scheduled(native_dsn, True)  # due now, run by the server's own workers
    try:
        assert len(jobs) >= 10
        deadline = time.monotonic() + 180
        while True:
            with connect(native_dsn) as conn, conn.cursor() as cur:
                cur.execute("SELECT job_id, last_run_status, total_failures FROM timescaledb_information.job_stats "
                            "WHERE job_id = ANY(%s) AND last_run_started_at > now() - interval '10 minutes' "
                            "AND last_run_status IS NOT NULL ORDER BY job_id", (jobs,))
                stats = cur.fetchall()
            if len(stats) == len(jobs) or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        set_policy_jobs_scheduled(native_dsn, False)
    assert [(job, status) for job, status, _ in stats] == [(job, "Success") for job in sorted(jobs)]
    assert all(failures == 0 for _, _, failures in stats)


def test_a_refresh_waits_out_a_concurrent_policy_refresh_on_a_native_server(native_dsn):
    """TimescaleDB refuses a refresh whose window overlaps a refresh in progress (its policy jobs
    run every few minutes): refresh_aggregates waits for that one to end instead of failing.
    The refresh in progress is the server's own record of one, held by a live session here."""
    holder = connect(native_dsn)
    holder.autocommit = True
    cur = holder.cursor()
    cur.execute("SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg "
                "WHERE user_view_name = 'llm_calls_1m'")
    (mat_id,) = cur.fetchone()
    cur.execute("INSERT INTO _timescaledb_catalog.continuous_aggs_jobs_refresh_ranges "
                "VALUES (%s, %s, %s, pg_backend_pid(), 0, now())", (mat_id, -(2 ** 63), 2 ** 63 - 1))
    try:
        other = connect(native_dsn)  # no `with`: psycopg2 would open a transaction, where CALL cannot run
        try:
            other.autocommit = True
            with pytest.raises(psycopg2.errors.LockNotAvailable, match="concurrent refresh"):
                other.cursor().execute("CALL refresh_continuous_aggregate('llm_calls_1m', NULL, NULL)")
        finally:
            other.close()
        ended = threading.Timer(1.0, cur.execute, ("DELETE FROM _timescaledb_catalog.continuous_aggs_jobs_refresh_ranges "
                                                    "WHERE pid = pg_backend_pid()",))
        ended.start()
        started = time.monotonic()
        refresh_aggregates(native_dsn)
        assert time.monotonic() - started >= 0.9
        ended.join()
    finally:
        holder.close()
