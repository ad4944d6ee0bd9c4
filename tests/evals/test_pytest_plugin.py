"""The run_eval fixture: a real configuration, composed from conf/, run against the simulator."""
from __future__ import annotations


def test_run_eval_returns_outcome_and_groups(run_eval, tmp_path):
    result = run_eval("task=niah", "size=8K", "samples=2")
    assert result.outcome.run_id.startswith("niah-8K-")
    assert (tmp_path / "results" / "runs" / result.outcome.run_id / "record.jsonl").exists()
    rlm = result.group(method="rlm")
    assert rlm["n"] == 2 and rlm["depth"] == 1 and rlm["sub_model"] == "sim-small"
    assert result.accuracy("rlm") == 1.0
    assert result.group(method="baseline")["prompt_tokens"] > 8192 * 0.9


def test_run_eval_overrides_win_and_runs_resume(run_eval):
    first = run_eval("task=niah", "size=8K", "samples=2", "method=baseline")
    again = run_eval("task=niah", "size=8K", "samples=2", "method=baseline")
    assert [g["method"] for g in first.groups] == ["baseline"]
    assert again.outcome.run_id == first.outcome.run_id
    assert again.outcome.skipped == 2


def test_a_worse_model_shows_in_the_groups(run_eval):
    result = run_eval("task=niah", "size=8K", "samples=2", "method=baseline", "model.context_window=4096")
    group = result.group(method="baseline")
    assert group["accuracy"] == 0.0 and group["context_exceeded"] == 2
