"""Sweeps through Hydra's joblib launcher: one sweep id, one table and plots, resume after a kill."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _sweep_cmd(results: Path, cache: Path, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "evals.run", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
            "task=niah", "db=off", "samples=2", "sim.time_scale=0", f"results_dir={results}",
            f"cache_dir={cache}", *overrides]


def _keys(record: Path) -> list[tuple[str, str, str]]:
    """(method, sample_id, query_id) of every sample line of a run record."""
    out = []
    for line in record.read_text().splitlines() if record.exists() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by the kill
        if row.get("kind") == "sample_result":
            out.append((row["method"], row["sample_id"], row["query_id"]))
    return out


def test_a_2x2x2_grid_with_joblib_gives_one_table_and_plots(tmp_path):
    results = tmp_path / "results"
    proc = subprocess.run(_sweep_cmd(results, tmp_path / "cache", "size=8K,16K", "depth=0,1", "method=rlm,baseline"),
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sweep,) = (results / "sweeps").iterdir()
    jobs = [json.loads(p.read_text()) for p in sorted((sweep / "jobs").glob("*.json"))]
    assert len(jobs) == 8 and {j["status"] for j in jobs} == {"COMPLETED"}
    assert len({j["run_id"] for j in jobs}) == 8
    for job in jobs:  # every job ran under the sweep's id (the runs table gets it from the config)
        assert f"sweep_id: {sweep.name}" in (results / "runs" / job["run_id"] / "config.yaml").read_text()
    assert proc.stdout.count(f"## sweep {sweep.name}") == 1
    table = (sweep / "comparison.md").read_text()
    assert "(sim: simulated models" in table
    header = next(line for line in table.splitlines() if line.startswith("| task"))
    for column in ("rlm sim-large d0", "rlm sim-large→sim-small d1", "baseline sim-large"):
        assert column in header
    assert sum(1 for line in table.splitlines() if line.startswith("| niah   | 8K ")) >= 1
    groups = json.loads((sweep / "groups.json").read_text())
    baseline = [g for g in groups if g["method"] == "baseline"]
    assert [g["n"] for g in baseline] == [2, 2]  # re-run per depth, counted once
    for name in ("accuracy_vs_size.png", "cost_vs_size.png", "niah_heatmap.png"):
        data = (sweep / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the joblib worker through /proc")
def test_killing_a_job_mid_sweep_then_rerunning_completes_only_what_is_missing(tmp_path):
    results, cache = tmp_path / "results", tmp_path / "cache"
    # Slow enough (sim latency on, one sample at a time) to kill a job between two samples.
    cmd = _sweep_cmd(results, cache, "size=8K,16K", "method=rlm", "samples=4", "concurrency=1",
                     "sim.time_scale=0.2")
    sweep = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            done = {p.parent.name: len(_keys(p)) for p in (results / "runs").glob("*/record.jsonl")}
            if any(0 < n < 4 for n in done.values()):
                break
            assert sweep.poll() is None, "the sweep ended before it could be interrupted"
            time.sleep(0.05)
        workers = [p for p in _descendants(sweep.pid) if "LokyProcess" in _cmdline(p)]
        assert workers, "no joblib worker process found"
        os.kill(workers[0], signal.SIGKILL)
        assert sweep.wait(timeout=120) != 0
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
    before = {p.parent.name: _keys(p) for p in (results / "runs").glob("*/record.jsonl")}
    assert sum(len(k) for k in before.values()) < 2 * 4, "the kill came too late: nothing left to resume"

    rerun = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = {p.parent.name: _keys(p) for p in (results / "runs").glob("*/record.jsonl")}
    assert len(after) == 2
    for run_id, keys in after.items():
        assert sorted(m for m, _, _ in keys) == ["rlm"] * 4
        assert len({(m, s) for m, s, _ in keys}) == 4, f"{run_id}: a finished sample ran twice"
        assert set(before.get(run_id, [])) <= set(keys), f"{run_id}: a finished sample was replaced"
    partial = [r for r, keys in before.items() if 0 < len(keys) < 4]
    for run_id in partial:
        assert f"resuming run {run_id}" in rerun.stderr.replace("\n", " ")


def test_jobs_of_a_joblib_sweep_share_the_embedded_database_under_one_sweep_id(tmp_path, monkeypatch):
    from evals.report import sample_rows_from_db
    from evals.sweep import gather
    from rlm.telemetry import connect, start_embedded, stop_embedded

    home = tmp_path / "home"
    dsn = start_embedded(home)  # one single-connection server for both workers
    monkeypatch.setenv("RLM_EVALS_HOME", str(home))
    monkeypatch.delenv("RLM_TSDB_DSN", raising=False)
    try:
        results = tmp_path / "results"
        cmd = [c for c in _sweep_cmd(results, tmp_path / "cache", "size=8K,16K", "method=baseline")
               if c != "db=off"] + ["db=embedded"]
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (sweep,) = (results / "sweeps").iterdir()
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT run_id, status FROM runs WHERE sweep_id = %s ORDER BY run_id", (sweep.name,))
            runs = cur.fetchall()
        assert [status for _, status in runs] == ["finished", "finished"]
        for run_id, _ in runs:
            assert len(sample_rows_from_db(dsn, run_id)) == 2
        # A run whose files are on another machine is read back from the database.
        (results / "runs" / runs[0][0] / "record.jsonl").unlink()
        groups = json.loads((gather(results, sweep.name).parent / "groups.json").read_text())
        assert sorted(g["size_tokens"] for g in groups) == [8192, 16384]
    finally:
        stop_embedded(home)
