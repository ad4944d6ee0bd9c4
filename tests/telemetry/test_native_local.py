"""A native server from a local build: found where .ci/native_tsdb.sh puts it, or a clear error; and
`db=native` end to end (start, a run, its report, stop) against the real build."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm.telemetry import EmbeddedServerError, connect
from rlm.telemetry.native import BIN_ENV, find_bin, native_status, stop_native

from evals.run_record import RunLog

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_build_is_named_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(BIN_ENV, raising=False)
    with pytest.raises(EmbeddedServerError, match="RLM_TSDB_NATIVE_BIN.*native_tsdb.sh build"):
        find_bin(tmp_path / "no-such-bin")


def test_a_home_without_a_native_server_reports_not_running(tmp_path):
    status = native_status(tmp_path)
    assert not status.running and status.dsn is None


def test_the_cli_names_a_missing_build_in_one_line_and_exits_2(tmp_path):
    env = {**os.environ, BIN_ENV: str(tmp_path / "nothing-here"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "evals.db", "--home", str(tmp_path), "start", "db=native"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no local TimescaleDB build found" in proc.stderr
    assert not (tmp_path / "native" / "server.json").exists()


@pytest.fixture
def native_build() -> Path:
    """The local build (.ci/native_tsdb.sh's cache or $RLM_TSDB_NATIVE_BIN); CI builds one, so never skip there."""
    try:
        return find_bin()
    except EmbeddedServerError as exc:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"under CI the native build must exist: {exc}", pytrace=False)
        pytest.skip(str(exc))


def test_a_cache_directory_of_builds_counts_as_a_build(native_build, monkeypatch):
    tree = native_build.parents[4]  # <cache>/<key>/usr/lib/postgresql/<major>/bin
    monkeypatch.setenv(BIN_ENV, str(tree.parent))
    assert find_bin() == native_build
    monkeypatch.setenv(BIN_ENV, str(tree))
    assert find_bin() == native_build


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.db
def test_db_native_starts_a_local_server_runs_and_reports_from_it(native_build, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "RLM_EVALS_HOME": str(home), BIN_ENV: str(native_build), "PYTHONPATH": str(ROOT)}
    env.pop("RLM_TSDB_DSN", None)
    results = tmp_path / "results"
    try:
        dsn = _cli("-m", "evals.db", "start", "db=native", env=env).stdout.strip()
        assert native_status(home).dsn == dsn
        _cli("-m", "evals.run", "task=niah", "size=8K", "samples=2", "db=native", "sim.time_scale=0",
             f"results_dir={results}", f"cache_dir={tmp_path / 'cache'}", env=env)
        (run_dir,) = (results / "runs").iterdir()
        report = _cli("-m", "evals.report", "db=native", "format=markdown", env=env).stdout
        assert f"## run {run_dir.name}" in report
        assert [line.split("|")[3].strip() for line in report.splitlines() if line.startswith("| niah")] == [
            "rlm", "baseline"]
        record = RunLog(run_dir).read()
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM samples WHERE run_id = %s", (run_dir.name,))
            assert cur.fetchone()[0] == len(record.attempts) == 4
            cur.execute("SELECT count(*) FROM llm_calls WHERE run_id = %s", (run_dir.name,))
            assert cur.fetchone()[0] == sum(1 for e in record.finished_events() if e.kind == "llm_call")
            cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
            assert cur.fetchone()[0].startswith("2.")
        shown = _cli("-m", "evals.show", "--results", str(results), env=env).stdout
        assert "from TimescaleDB" in shown
        # evals.db's data commands read the same server given db=native, wherever it stands
        assert run_dir.name in _cli("-m", "evals.db", "runs", "db=native", env=env).stdout
        summary = _cli("-m", "evals.db", "db=native", "summary", run_dir.name, env=env).stdout
        assert "sim-" in summary and run_dir.name in summary
        embedded = subprocess.run([sys.executable, "-m", "evals.db", "summary", run_dir.name, "db=elsewhere"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
        assert embedded.returncode == 2 and "db=elsewhere" in embedded.stderr
        assert _cli("-m", "evals.db", "stop", "db=native", env=env).stdout.strip() == "stopped"
        assert not native_status(home).running
    finally:
        stop_native(home, delete_data=True)
