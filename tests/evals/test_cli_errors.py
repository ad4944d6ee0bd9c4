"""Bad input to `python -m evals.run`: one clear line (or Hydra's list of options), non-zero exit, no work done."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*overrides: str, tmp_path: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "evals.run", *overrides, f"results_dir={tmp_path}/results",
            f"cache_dir={tmp_path}/cache", "db=off"]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("override, options", [
    ("task=nope", "niah"),
    ("size=3K", "1M"),
    ("model=gpt-9", "sim-large"),
])
def test_unknown_group_option_is_one_line_listing_the_choices(override, options, tmp_path):
    proc = run_cli(override, tmp_path=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Available options" in line and options in line


@pytest.mark.parametrize("override, message", [
    ("samples=-1", "samples must be at least 1, got -1"),
    ("size.tokens=32", "below the smallest size task 'niah' can be fitted to"),
    ("depth=-2", "depth must be 0 or more"),
])
def test_bad_values_give_one_line_before_any_work(override, message, tmp_path):
    proc = run_cli("task=niah", override, tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {proc.stderr.strip()[7:]}"]
    assert message in proc.stderr
    assert not (tmp_path / "cache").exists()  # no sample was generated


def test_real_model_without_its_key_fails_before_any_work(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "evals.run", "model=gpt-5", f"results_dir={tmp_path}/r",
                           f"cache_dir={tmp_path}/cache", "db=off"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: model 'gpt-5' needs an API key: set the environment variable OPENAI_API_KEY"
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("override", ["samples=many", "samples=[1", "nosuchkey=1"])
def test_a_value_or_override_hydra_refuses_is_one_line_and_exit_2(override, tmp_path):
    proc = run_cli(override, tmp_path=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and override.split("=")[0] in line


def test_the_gate_s_usage_errors_are_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "evals.check", "--no-such-flag"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_an_unused_sub_model_needs_no_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "evals.run", "model@sub_model=gpt-5-mini", "method=baseline",
                           "size=4K", "samples=1", "sim.time_scale=0", f"results_dir={tmp_path}/r",
                           f"cache_dir={tmp_path}/cache", "db=off"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert " baseline " in proc.stdout and "sim" in proc.stdout.splitlines()[0]
