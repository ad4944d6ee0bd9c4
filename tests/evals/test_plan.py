"""The run plan: the only reader of the Hydra config, typed and frozen, with secrets masked."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from rlm.lm import LMConfig

from evals.errors import EvalError
from evals.plan import RunPlan

EVALS = Path(__file__).resolve().parents[2] / "evals"
# The plan, the command lines (evals.run, evals.report, evals.check, the sweep callback) and the
# helpers they share before Hydra parses arguments.
HYDRA_ALLOWED = {"plan.py", "cli.py", "run.py", "report.py", "check.py", "sweep.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_plan_and_the_command_lines_import_hydra_or_omegaconf():
    offenders = sorted(str(p.relative_to(EVALS)) for p in EVALS.rglob("*.py")
                       if p.name not in HYDRA_ALLOWED or p.parent != EVALS
                       if _imports(p) & {"hydra", "omegaconf"})
    assert offenders == []
    assert {"hydra", "omegaconf"} & _imports(EVALS / "plan.py")  # the rule is checked on real imports


def test_the_plan_is_frozen_and_typed(make_plan):
    plan = make_plan("task=niah", "size=16K", "model.timeout_s=30", "model.max_retries=1", "label=my-run")
    assert isinstance(plan, RunPlan) and isinstance(plan.model.lm, LMConfig)
    assert plan.model.lm.timeout_s == 30.0 and plan.model.lm.max_retries == 1
    assert plan.label == "my-run" and plan.simulated  # the user's label is kept; "sim" is its own flag
    assert plan.methods == ("rlm", "baseline") and plan.size_tokens == 16384
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.depth = 3  # type: ignore[misc]


def test_volatile_keys_keep_the_run_id_and_result_keys_change_it(make_plan):
    base = make_plan("task=niah", "size=16K")
    assert make_plan("task=niah", "size=16K", "concurrency=1", "label=x", "retry_errors=false").run_id == base.run_id
    assert make_plan("task=niah", "size=16K", "depth=2").run_id != base.run_id


def test_a_dsn_password_is_masked_in_what_is_saved(make_plan, monkeypatch):
    monkeypatch.delenv("RLM_TSDB_DSN", raising=False)
    plan = make_plan("db=dsn", "db.dsn='postgresql://u:hunter22@db.example:5432/x'")
    assert plan.db_dsn == "postgresql://u:hunter22@db.example:5432/x"
    assert plan.saved_config["db"]["dsn"] == "postgresql://u:***@db.example:5432/x"
    assert "hunter22" not in repr(plan)


@pytest.mark.parametrize("override, message", [
    ("model.max_retries=-1", "model.max_retries must be 0 or more"),
    ("method=rlm", None),
    ("samples=0", "samples must be at least 1"),
])
def test_bad_values_are_one_eval_error(make_plan, override, message):
    if message is None:
        assert make_plan(override).methods == ("rlm",)
        return
    with pytest.raises(EvalError, match=message):
        make_plan(override)
