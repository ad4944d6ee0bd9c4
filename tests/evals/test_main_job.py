"""The main job as a user runs it: `python -m evals.run task=niah size=1M`, with the embedded TimescaleDB."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from rlm.telemetry import connect, embedded_status

from tests.evals.tables import markdown_table, report_path, terminal_table

ROOT = Path(__file__).resolve().parents[2]


def main_job(home: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RLM_EVALS_HOME": str(home)}
    env.pop("RLM_TSDB_DSN", None)
    return subprocess.run([sys.executable, "-m", "evals.run", "task=niah", "size=1M",
                           f"results_dir={tmp}/results", f"cache_dir={tmp}/cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_main_job_rlm_finds_needles_baseline_exceeds_and_rerun_resumes(tsdb_home, tmp_path):
    first = main_job(tsdb_home, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "sim" in first.stdout.splitlines()[0]
    assert max(len(line) for line in first.stdout.splitlines()[:-1]) <= 120  # all but the report's path
    screen = terminal_table(first.stdout)
    assert screen["rlm"]["accuracy"].startswith("1.000") and screen["rlm"]["n"] == "5"
    assert screen["baseline"]["ctx exceeded"] == "5/5"
    assert screen["baseline"]["accuracy"].startswith("0.000")
    cells = markdown_table(report_path(first.stdout).read_text())  # every column
    assert len(cells["rlm"]) == 21 and cells["rlm"]["accuracy"] == screen["rlm"]["accuracy"]

    second = main_job(tsdb_home, tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "10 finished samples skipped, 0 to run" in second.stderr
    assert terminal_table(second.stdout) == screen
    assert markdown_table(report_path(second.stdout).read_text()) == cells

    # One cell recomputed from the raw llm_calls rows: mean prompt tokens per RLM sample.
    run_id = first.stdout.splitlines()[0].split()[2]
    dsn = embedded_status(tsdb_home).dsn
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT c.query_id, sum(c.prompt_tokens) FROM llm_calls c JOIN samples s "
                    "ON s.query_id = c.query_id WHERE c.run_id = %s AND s.method = 'rlm' GROUP BY c.query_id",
                    (run_id,))
        per_sample = [int(total) for _, total in cur.fetchall()]
    assert len(per_sample) == 5
    assert cells["rlm"]["prompt tok"] == f"{sum(per_sample) / 5:,.0f}"

    # The same table again from the database alone, and the query CLI over the same run.
    env = {**os.environ, "RLM_EVALS_HOME": str(tsdb_home)}
    env.pop("RLM_TSDB_DSN", None)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env=env)

    report = cli("evals.report", f"run={run_id}")
    assert report.returncode == 0, report.stderr
    assert terminal_table(report.stdout) == screen
    full = cli("evals.report", f"run={run_id}", "format=markdown")
    assert full.returncode == 0, full.stderr
    assert markdown_table(full.stdout) == cells
    summary = cli("evals.db", "summary", run_id)
    assert summary.returncode == 0 and run_id in summary.stdout, summary.stderr
    cache = cli("evals.db", "cache", run_id)
    assert cache.returncode == 0 and "hit_rate" in cache.stdout, cache.stdout + cache.stderr
    missing = cli("evals.report", "run=no-such-run")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: run 'no-such-run' has no finished samples in the database"


def test_the_report_falls_back_to_the_run_record_when_the_database_is_down(tmp_path):
    run = subprocess.run([sys.executable, "-m", "evals.run", "task=niah", "size=8K", "samples=2", "db=off",
                          "sim.time_scale=0", f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    run_id = run.stdout.splitlines()[0].split()[2]
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = f"postgresql://evals:pw@127.0.0.1:{closed}/postgres?sslmode=disable"
    for run_arg in (run_id, "latest"):
        report = subprocess.run([sys.executable, "-m", "evals.report", f"run={run_arg}", f"dsn={down}",
                                 f"results_dir={tmp_path}/results"], cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        assert report.returncode == 0, report.stderr
        (note,) = report.stderr.strip().splitlines()
        assert note.startswith("note: the telemetry database cannot be read") and "record.jsonl" in note
        assert "pw" not in note.split("(")[0]
        assert terminal_table(report.stdout) == terminal_table(run.stdout)
        assert report.stdout.splitlines()[:2] == run.stdout.splitlines()[:2]  # the title and the sim note
    missing = subprocess.run([sys.executable, "-m", "evals.report", "run=nope", f"dsn={down}",
                              f"results_dir={tmp_path}/results"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert missing.stderr.startswith("error: the telemetry database cannot be read")
