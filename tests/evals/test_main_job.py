"""The main job as a user runs it: `python -m evals.run task=niah size=1M`, with the embedded TimescaleDB."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rlm.telemetry import connect, embedded_status

ROOT = Path(__file__).resolve().parents[2]


def main_job(home: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RLM_EVALS_HOME": str(home)}
    env.pop("RLM_TSDB_DSN", None)
    return subprocess.run([sys.executable, "-m", "evals.run", "task=niah", "size=1M",
                           f"results_dir={tmp}/results", f"cache_dir={tmp}/cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def table(stdout: str) -> dict[str, dict[str, str]]:
    """The printed markdown table as {method: {header: cell}}."""
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    headers = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [dict(zip(headers, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    return {row["method"]: row for row in rows}


def test_main_job_rlm_finds_needles_baseline_exceeds_and_rerun_resumes(tsdb_home, tmp_path):
    first = main_job(tsdb_home, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "sim" in first.stdout.splitlines()[0]
    cells = table(first.stdout)
    assert cells["rlm"]["accuracy"].startswith("1.000") and cells["rlm"]["n"] == "5"
    assert cells["baseline"]["ctx exceeded"] == "5/5"
    assert cells["baseline"]["accuracy"].startswith("0.000")

    second = main_job(tsdb_home, tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "10 finished samples skipped, 0 to run" in second.stderr
    assert table(second.stdout) == cells

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
    assert table(report.stdout) == cells
    summary = cli("evals.db", "summary", run_id)
    assert summary.returncode == 0 and run_id in summary.stdout, summary.stderr
    cache = cli("evals.db", "cache", run_id)
    assert cache.returncode == 0 and "hit_rate" in cache.stdout, cache.stdout + cache.stderr
    missing = cli("evals.report", "run=no-such-run")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: run 'no-such-run' has no finished samples in the database"
