"""Presets end to end through the runner and the simulator: tables name the dataset, the
baseline answers in the benchmark's format and scores 1, counts reach the run record."""
from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from evals.plan import plan_from_config, register_configs
from evals.runner import run_eval
from evals.summary import render, summarize

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "benchmarks"


@pytest.fixture
def compose_cfg(tmp_path):
    register_configs()

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            return plan_from_config(compose("config", overrides=[f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache",
                                                "sim.time_scale=0", "db=off", *overrides]))
    yield _compose
    GlobalHydra.instance().clear()


def test_babilong_preset_runs_and_the_table_names_it(compose_cfg):
    cfg = compose_cfg("task=babilong", f"task.params.path={FIX / 'babilong_qa1.parquet'}", "size=1K", "samples=2")
    outcome = run_eval(cfg)
    baseline = [r for r in outcome.results if r.method == "baseline"]
    assert len(baseline) == 2 and all(r.score == 1.0 for r in baseline), [r.answer for r in baseline]
    assert all(r.answer.startswith("The most recent location of Mary is") for r in baseline)
    assert baseline[0].metadata["rows_kept"] == 2 and baseline[0].metadata["rows_dropped"] == 0
    table = render(summarize([r.to_dict() for r in outcome.results]))
    assert "| babilong " in table and "hf_dataset" not in table


def test_ruler_baseline_gets_the_output_cap_and_fits_128k(compose_cfg):
    """At 128K against sim-large's 131,072-token window, RULER's sample fits: no context overflow."""
    outcome = run_eval(compose_cfg("task=vt", "size=128K", "samples=1", "methods=[baseline]"))
    (result,) = outcome.results
    # Answered (the simulator may misread near a full window, so the score is not asserted).
    assert result.stop_reason == "answered" and result.error is None and result.answer, result.stop_reason
    assert result.prompt_tokens + 30 <= 131072 + 8  # + the chat framing of one user message
