"""Fixtures of the harness tests: the rlm-evals pytest plugin's, and `make_plan` (the real conf/, composed)."""
from __future__ import annotations

import pytest

from evals.pytest_plugin import eval_gate, rlm_evals_task_cache, run_eval  # noqa: F401


@pytest.fixture
def make_plan(tmp_path):
    """make_plan("task=niah", "size=16K") -> the RunPlan `python -m evals.run` would build, writing under tmp_path."""
    from hydra.core.global_hydra import GlobalHydra

    from evals.plan import plan_for

    def _make(*overrides: str):
        return plan_for([f"results_dir={tmp_path}/results", f"cache_dir={tmp_path}/cache", "sim.time_scale=0",
                         *overrides])
    yield _make
    GlobalHydra.instance().clear()
