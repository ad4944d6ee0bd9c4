"""Sweeps through real launchers: submitit's local one (SLURM's code path without a cluster), Ray, and
many workers writing into one store (joblib x4 and Ray x2, into the embedded server and a native one)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg2.extensions import parse_dsn

from rlm.telemetry import connect

from evals.run_record import RunLog, load_results

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.launchers


def test_submitit_local_sweep_runs_every_job_and_writes_one_table(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = subprocess.run(
        [sys.executable, "-m", "evals.run", "-m", "hydra/launcher=submitit_local", "task=niah", "size=8K",
         "samples=1", "depth=0,1", "db=off", f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache",
         "sim.time_scale=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = sorted((tmp_path / "results" / "runs").glob("*/record.jsonl"))
    assert len(runs) == 2 and all(len(load_results(p.parent)) == 2 for p in runs)
    (sweep,) = (tmp_path / "results" / "sweeps").iterdir()
    assert (sweep / "accuracy_vs_size.png").stat().st_size > 1000
    assert "\nniah " in proc.stdout  # the sweep's terminal table


def _store_args(tsdb_backend: str, dsn: str, tsdb_home: Path) -> tuple[list[str], dict[str, str]]:
    """`db=` overrides and environment that send every worker of a sweep to the backend under test."""
    env = {**os.environ, "RLM_EVALS_HOME": str(tsdb_home),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("RLM_TSDB_DSN", None)
    if tsdb_backend == "native":
        parts = parse_dsn(dsn)  # a URL: Hydra's override grammar takes no spaces
        url = f"postgresql://{parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}"
        return ["db=dsn", f"db.dsn={url}"], env
    return ["db=embedded"], env  # the session's embedded server, found through RLM_EVALS_HOME


def _assert_every_row_once(dsn: str, results: Path, jobs: int) -> None:
    """Per run: the DB's samples, model calls and cells are exactly the record's, each once."""
    run_dirs = sorted(p.parent for p in (results / "runs").glob("*/record.jsonl"))
    assert len(run_dirs) == jobs
    with connect(dsn) as conn, conn.cursor() as cur:
        for run_dir in run_dirs:
            record = RunLog(run_dir).read()
            events = list(record.finished_events())
            expected = {
                "samples": sorted(r.query_id for r in record.attempts),
                "llm_calls": sorted(e.call_id for e in events if e.kind == "llm_call"),
                "code_executions": sorted(e.exec_id for e in events if e.kind == "code_execution"),
            }
            assert len(expected["samples"]) == 4 and expected["llm_calls"]
            for table, key in (("samples", "query_id"), ("llm_calls", "call_id"), ("code_executions", "exec_id")):
                cur.execute(f"SELECT {key} FROM {table} WHERE run_id = %s ORDER BY {key}", (run_dir.name,))
                assert [row[0] for row in cur.fetchall()] == expected[table], (run_dir.name, table)
            cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_dir.name,))
            assert cur.fetchone() == ("finished",)


@pytest.mark.db
def test_a_4_worker_joblib_sweep_writes_every_row_once_into_one_store(tsdb_backend, dsn, tsdb_home, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    db_args, env = _store_args(tsdb_backend, dsn, tsdb_home)
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "evals.run", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4", "task=niah",
         "size=8K", "samples=2", "depth=0,1", "seed=4101,4102", "sim.time_scale=0", *db_args,
         f"results_dir={results}", f"cache_dir={tmp_path / 'cache'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "4 jobs (0 failed)" in proc.stdout
    _assert_every_row_once(dsn, results, jobs=4)


@pytest.mark.db
def test_a_2_worker_ray_sweep_writes_every_row_once_into_one_store(tsdb_backend, dsn, tsdb_home, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the ray extra is not installed")
    db_args, env = _store_args(tsdb_backend, dsn, tsdb_home)
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "evals.run", "-m", "hydra/launcher=ray", "task=niah", "size=8K", "samples=2",
         "depth=0,1", "seed=4103", "sim.time_scale=0", *db_args, f"results_dir={results}",
         f"cache_dir={tmp_path / 'cache'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 jobs (0 failed)" in proc.stdout  # each job a local Ray task
    _assert_every_row_once(dsn, results, jobs=2)
