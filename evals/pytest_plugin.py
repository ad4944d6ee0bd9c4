"""pytest-style evals: `run_eval("task=niah", "size=32K")` runs a real configuration and returns its results.

Registered as a pytest plugin (entry point `rlm_evals`), so a test suite asserts on accuracy,
tokens or cost like on any other value, and can gate on a committed baseline:

    def test_rlm_finds_the_needle(run_eval):
        result = run_eval("task=niah", "size=32K", "samples=2")
        assert result.group(method="rlm")["accuracy"] == 1.0

    def test_no_regression(eval_gate):
        assert eval_gate("results/baselines/ci.json").exit_code == 0

Runs are hermetic by default: results under the test's tmp_path, no database (db=off), the
simulator at time scale 0; any override given wins. Generated tasks share one session cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from evals.runner import RunOutcome

_HERMETIC = ("db=off", "sim.time_scale=0")


@dataclass
class EvalResult:
    """One run: the runner's outcome, its summary groups (evals.summary) and its plan."""

    outcome: RunOutcome
    groups: list[dict]
    plan: Any

    def group(self, **match: Any) -> dict:
        """The one summary group whose fields equal `match` (e.g. method="rlm")."""
        found = [g for g in self.groups if all(g.get(k) == v for k, v in match.items())]
        if len(found) != 1:
            raise LookupError(f"{len(found)} groups match {match}; groups: "
                              f"{[(g['method'], g['model'], g['depth'], g['size_tokens']) for g in self.groups]}")
        return found[0]

    def accuracy(self, method: str = "rlm") -> float:
        return float(self.group(method=method)["accuracy"])


@pytest.fixture(scope="session")
def rlm_evals_task_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated task samples, shared by every eval of the session (generation is the slow part)."""
    return tmp_path_factory.mktemp("rlm-evals-task-cache")


def _hermetic(tmp_path: Path, cache: Path) -> list[str]:
    return [*_HERMETIC, f"results_dir={tmp_path / 'results'}", f"cache_dir={cache}"]


@pytest.fixture
def run_eval(tmp_path: Path, rlm_evals_task_cache: Path) -> Callable[..., EvalResult]:
    """Compose the repo's Hydra config with overrides, run it in-process and summarize it."""
    from evals.plan import plan_for
    from evals.runner import run_eval as run
    from evals.summary import summarize

    def _run(*overrides: str) -> EvalResult:
        plan = plan_for([*_hermetic(tmp_path, rlm_evals_task_cache), *overrides])
        outcome = run(plan)
        return EvalResult(outcome, summarize(r.to_dict() for r in outcome.results), plan)

    return _run


@pytest.fixture
def eval_gate(tmp_path: Path, rlm_evals_task_cache: Path) -> Callable[..., Any]:
    """Run a baseline's grid fresh (plus overrides) and compare: returns an evals.check.GateReport."""
    import json

    from evals.check import compare, run_current

    def _gate(baseline: str | Path, *overrides: str, **tolerances: float) -> Any:
        data = json.loads(Path(baseline).read_text(encoding="utf-8"))
        current = run_current([*data["overrides"], *_hermetic(tmp_path, rlm_evals_task_cache), *overrides],
                              results_dir=str(tmp_path / "gate"))
        return compare(data, current.groups, simulated=current.simulated, tolerances=tolerances)

    return _gate
