"""A sweep through submitit's local launcher: the same code path as SLURM, without a cluster."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evals.run_record import load_results

ROOT = Path(__file__).resolve().parents[2]


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


def test_ray_sweep_runs_every_job_as_a_local_ray_task(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the ray extra is not installed")
    proc = subprocess.run(
        [sys.executable, "-m", "evals.run", "-m", "hydra/launcher=ray", "task=niah", "size=8K", "samples=1",
         "depth=0,1", "db=off", f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache",
         "sim.time_scale=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = sorted((tmp_path / "results" / "runs").glob("*/record.jsonl"))
    assert len(runs) == 2 and all(len(load_results(p.parent)) == 2 for p in runs)
    assert "2 jobs (0 failed)" in proc.stdout
