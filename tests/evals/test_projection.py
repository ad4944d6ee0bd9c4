"""TimescaleDB as a projection of the run record: unreachable at the end, killed mid-run, shipped later."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from rlm.telemetry import connect, embedded_status, start_embedded, stop_embedded

from evals.run_record import RunLog

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict:
    env = {**os.environ, **extra}
    env.pop("RLM_TSDB_DSN", None)
    return env


def db_counts(dsn: str, run_id: str) -> dict[str, int]:
    with connect(dsn) as conn, conn.cursor() as cur:
        out = {}
        for table in ("samples", "llm_calls", "code_executions"):
            cur.execute(f"SELECT count(*) FROM {table} WHERE run_id = %s", (run_id,))
            out[table] = cur.fetchone()[0]
        return out


def record_counts(run_dir: Path) -> dict[str, int]:
    contents = RunLog(run_dir).read()
    kinds = Counter(e.kind for e in contents.finished_events())
    return {"samples": len(contents.attempts), "llm_calls": kinds["llm_call"],
            "code_executions": kinds["code_execution"]}


def test_a_dsn_to_a_closed_port_reports_from_the_record_and_ships_later(dsn, tmp_path):
    bad = f"postgresql://evals:pw@127.0.0.1:{_closed_port()}/postgres?sslmode=disable"
    proc = subprocess.run([sys.executable, "-m", "evals.run", "task=niah", "size=8K", "samples=2", "db=dsn",
                           f"db.dsn='{bad}'", "sim.time_scale=0", f"results_dir={tmp_path}/results",
                           f"cache_dir={tmp_path}/cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note: the telemetry database")]
    assert len(notes) == 1 and "python -m evals.db ship" in notes[0]
    assert "\nniah " in proc.stdout and " rlm " in proc.stdout and " baseline " in proc.stdout  # the terminal table
    (run_dir,) = (tmp_path / "results" / "runs").iterdir()
    expected = record_counts(run_dir)
    assert expected["samples"] == 4 and expected["llm_calls"] > 4

    def ship() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "evals.db", "--dsn", dsn, "ship", str(run_dir)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, env=_env())

    first = ship()
    assert first.returncode == 0, first.stderr
    events = sum(1 for _ in RunLog(run_dir).read().finished_events())  # trajectory texts included
    assert f"shipped 4 samples and {events} events" in first.stdout
    assert db_counts(dsn, run_dir.name) == expected
    second = ship()  # idempotent: nothing is sent twice
    assert "shipped 0 samples and 0 events (4 already in the database)" in second.stdout
    assert db_counts(dsn, run_dir.name) == expected
    report = subprocess.run([sys.executable, "-m", "evals.report", f"run={run_dir.name}", f"dsn={dsn}",
                             "format=markdown"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=_env())
    assert report.returncode == 0, report.stderr
    assert _table(report.stdout) == _table((run_dir / "report.md").read_text())


def _table(text: str) -> list[str]:
    """The table's rows without the latency columns (the last two)."""
    return ["|".join(line.split("|")[:-3]) for line in text.splitlines() if line.startswith("| niah")]


def test_the_database_killed_and_restarted_mid_run_gets_the_rows_during_the_run(tmp_path):
    home = tmp_path / "home"
    start_embedded(home)
    env = _env(RLM_EVALS_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "evals.run", "task=niah", "size=8K", "samples=8", "method=rlm",
                             "concurrency=1", "sim.time_scale=0.5", f"results_dir={tmp_path}/results",
                             f"cache_dir={tmp_path}/cache"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        run_dir = _wait_for(lambda: next((tmp_path / "results" / "runs").glob("*/record.jsonl"), None), 120).parent
        _wait_for(lambda: len(RunLog(run_dir).results()) >= 1, 120)
        stop_embedded(home)  # the database goes away while samples keep finishing
        _wait_for(lambda: len(RunLog(run_dir).results()) >= 3, 120)
        restarted_with = len(RunLog(run_dir).results())
        dsn = start_embedded(home)
        # Rows of samples finished while it was down arrive while the run is still going.
        _wait_for(lambda: proc.poll() is None and db_counts(dsn, run_dir.name)["samples"] >= restarted_with, 120)
        assert proc.poll() is None, "the run ended before the rows arrived"
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "note: the telemetry database" not in err
        assert db_counts(embedded_status(home).dsn, run_dir.name) == record_counts(run_dir)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        stop_embedded(home)


def _wait_for(check, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - the database may be down between polls
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")
