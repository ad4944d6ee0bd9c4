"""Policy work happens on both backends: run by `maintain` on the embedded server, by TimescaleDB's
own background workers on a native one."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from rlm.events import LLMCallEvent
from rlm.telemetry import connect, migrate, start_embedded, stop_embedded
from rlm.telemetry.maintenance import POLICIES, maintain
from rlm.telemetry.writes import write_batch


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
    with connect(native_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = ANY(%s)", (list(POLICIES),))
        jobs = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT alter_job(job_id, next_start => now()) FROM unnest(%s::int[]) AS job_id", (jobs,))
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
    assert [(job, status) for job, status, _ in stats] == [(job, "Success") for job in sorted(jobs)]
    assert all(failures == 0 for _, _, failures in stats)
