"""kill -9 of the runner at several points of a sweep, then the same command: nothing lost, nothing twice.

The killed sweep writes to the backend under test (the embedded TimescaleDB it starts itself, or the
native server by DSN); a clean run of the same sweep (database off) is the independent reference: its
own processes counted every model call as it was made.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlm.telemetry import connect

from evals.check import read_current
from evals.report import render_run, sample_rows_from_db
from evals.run_record import RunLog, load_results

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ["task=niah", "size=4K,8K", "samples=3", "concurrency=1", "sim.time_scale=0.3"]
pytestmark = [pytest.mark.db, pytest.mark.slow]


def _cmd(results: Path, cache: Path, db: str) -> list[str]:
    return [sys.executable, "-m", "evals.run", "-m", *SWEEP, f"db={db}", f"results_dir={results}",
            f"cache_dir={cache}"]


def _killed_sweep_env(tsdb_home: Path, tsdb_backend: str, dsn: str) -> tuple[dict[str, str], str]:
    """The environment and `db=` of the killed sweep: it writes into the backend under test."""
    env = {**os.environ, "RLM_EVALS_HOME": str(tsdb_home)}
    env.pop("RLM_TSDB_DSN", None)
    if tsdb_backend == "native":
        return {**env, "RLM_TSDB_DSN": dsn}, "dsn"
    return env, "embedded"


def _finished(results: Path) -> int:
    return sum(len(RunLog(p.parent).results()) for p in (results / "runs").glob("*/record.jsonl"))


def _no_latency(table: str) -> list[str]:
    return ["|".join(line.split("|")[:-3]) for line in table.splitlines() if line.startswith("| niah")]


def _last_sweep(results: Path) -> Path:
    """The sweep that ran to its end (each launch is a sweep of its own; killed ones never gathered)."""
    return sorted(p for p in (results / "sweeps").iterdir() if (p / "comparison.md").exists())[-1]


def _comparison(results: Path) -> list[str]:
    text = (_last_sweep(results) / "comparison.md").read_text()
    first_table = text.split("### every group")[0]
    return [line for line in first_table.splitlines() if line.startswith("| niah")]


def _gate_view(results: Path) -> list[dict]:
    sweep = _last_sweep(results)
    return [{k: v for k, v in g.items() if not k.startswith("latency")} for g in read_current([str(sweep)]).groups]


def test_kill_9_at_several_points_then_rerun_equals_a_clean_run(tsdb_home, tsdb_backend, dsn, tmp_path):
    env, db = _killed_sweep_env(tsdb_home, tsdb_backend, dsn)
    cache = tmp_path / "cache"
    clean = tmp_path / "clean"
    done = subprocess.run(_cmd(clean, cache, "off"), cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in env.items() if k != "RLM_TSDB_DSN"})
    assert done.returncode == 0, done.stderr[-3000:]

    crashed = tmp_path / "crashed"
    cmd = _cmd(crashed, cache, db)
    kills = 0
    for kill_after in (1, 4, 8):  # mid first job, mid second job's predecessor, mid second job
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and _finished(crashed) < kill_after:
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2, "the sweep ended before it could be killed"
    final = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert final.returncode == 0, final.stderr[-3000:]

    runs = sorted(p.name for p in (crashed / "runs").iterdir())
    assert runs == sorted(p.name for p in (clean / "runs").iterdir()) and len(runs) == 2
    for run_id in runs:
        reference = load_results(clean / "runs" / run_id)
        assert len(reference) == 6
        # The DB report of the killed run equals the clean run's report (latency aside).
        db_rows = sample_rows_from_db(dsn, run_id)
        assert len(db_rows) == 6
        db_table = render_run(db_rows, run_id, "markdown", simulated=True, label=None)
        assert _no_latency(db_table) == _no_latency((clean / "runs" / run_id / "report.md").read_text())
        # Every model call of the finished samples is in the database once: counted against the calls
        # the clean run's own process made, and against the killed run's record.
        latest = [r["query_id"] for r in db_rows]
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT call_id) FROM llm_calls WHERE query_id = ANY(%s)", (latest,))
            calls, distinct = cur.fetchone()
            cur.execute("SELECT count(*) FROM llm_calls WHERE run_id = %s", (run_id,))
            (all_calls,) = cur.fetchone()
        assert calls == distinct == sum(r.calls for r in reference)
        record = RunLog(crashed / "runs" / run_id).read()
        assert all_calls == sum(1 for e in record.finished_events() if e.kind == "llm_call")
    assert _comparison(crashed) == _comparison(clean)
    assert _gate_view(crashed) == _gate_view(clean)
