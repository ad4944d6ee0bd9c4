"""The CI gate against the committed baseline: passes as is, fails (exit 1) on an injected regression."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.check import compare, make_baseline

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "results" / "baselines" / "ci.json"


def test_ci_baseline_is_a_simulated_grid():
    data = json.loads(CI.read_text())
    assert data["simulated"] is True and data["sim_time_scale"] == 0.0
    assert {g["method"] for g in data["groups"]} == {"rlm", "baseline"}
    assert len({g["size_tokens"] for g in data["groups"]}) >= 2


def test_gate_passes_on_the_committed_baseline(eval_gate):
    report = eval_gate(CI)
    assert report.exit_code == 0, report.table()
    assert {f.verdict for f in report.findings} <= {"ok", "skipped"}


def test_gate_fails_when_the_baseline_model_loses_its_window(eval_gate):
    report = eval_gate(CI, "model.context_window=4096")
    assert report.exit_code == 1
    failed = {(f.group, f.metric, f.verdict) for f in report.findings if f.failed}
    assert ("niah 8K baseline sim-large", "accuracy", "CHANGED") in failed


def test_gate_cli_exits_1_with_a_diff_table_on_a_tiny_sub_model_window(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "evals.check", "--baseline", str(CI), "sub_model.context_window=1024",
                           f"cache_dir={tmp_path / 'cache'}"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout and "REGRESSION" in proc.stdout
    assert "rlm sim-large→sim-small d1" in proc.stdout and "prompt_tokens" in proc.stdout


def test_gate_cli_update_writes_a_baseline_that_then_passes(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    base = tmp_path / "b.json"
    cmd = [sys.executable, "-m", "evals.check", "--baseline", str(base), "+experiment=ci", "size=8K",
           "depth=1", "method=baseline", f"cache_dir={tmp_path / 'cache'}"]
    assert subprocess.run([*cmd, "--update"], cwd=ROOT, env=env, capture_output=True, timeout=240).returncode == 0
    first = json.loads(base.read_text())
    assert [g["method"] for g in first["groups"]] == ["baseline"]
    assert subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=240).returncode == 0
    # Updating again from the same command keeps the same overrides: no key is appended twice.
    assert subprocess.run([*cmd, "--update"], cwd=ROOT, env=env, capture_output=True, timeout=240).returncode == 0
    second = json.loads(base.read_text())
    assert second["overrides"] == first["overrides"] == cmd[5:]
    assert [{k: v for k, v in g.items() if not k.startswith("latency")} for g in second["groups"]] == \
        [{k: v for k, v in g.items() if not k.startswith("latency")} for g in first["groups"]]


def _group(**over):
    group = {"task": "niah", "size_tokens": 8192, "method": "rlm", "model": "m", "sub_model": "s", "depth": 1,
             "variant": "", "n": 100, "accuracy": 0.9, "accuracy_se": 0.03, "prompt_tokens": 1000.0,
             "cached_tokens": 0.0, "completion_tokens": 100.0, "cost_mean": 0.01, "latency_p50": 2.0,
             "latency_p95": 3.0}
    return {**group, **over}


@pytest.mark.parametrize("current, verdict", [
    (_group(accuracy=0.88), "ok"),            # within noise for n=100
    (_group(accuracy=0.75), "REGRESSION"),    # z < -1.645
    (_group(accuracy=0.97), "ok"),            # better is never a regression for real models
])
def test_accuracy_z_test_for_real_models(current, verdict):
    baseline = make_baseline([_group()], overrides=[], simulated=False, sim_time_scale=1.0)
    finding = next(f for f in compare(baseline, [current], simulated=False).findings if f.metric == "accuracy")
    assert finding.verdict == verdict


def test_tolerances_bound_increases_only_and_are_configurable():
    baseline = make_baseline([_group()], overrides=[], simulated=False, sim_time_scale=1.0)
    report = compare(baseline, [_group(prompt_tokens=1040.0, cost_mean=0.02, latency_p50=1.0)], simulated=False)
    verdicts = {f.metric: f.verdict for f in report.findings}
    assert verdicts == {"accuracy": "ok", "prompt_tokens": "ok", "completion_tokens": "ok",
                        "cost_mean": "REGRESSION", "latency_p50": "ok"}
    looser = compare(baseline, [_group(cost_mean=0.02)], simulated=False, tolerances={"cost": 1.5})
    assert looser.exit_code == 0
    slow = compare(baseline, [_group(latency_p50=3.6)], simulated=False)
    assert [f.metric for f in slow.findings if f.failed] == ["latency_p50"]
