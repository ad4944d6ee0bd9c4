"""Every task family end to end, RLM vs baseline, at two sizes, in one report."""
from __future__ import annotations

import pytest

from evals.runner import run_eval
from evals.summary import render, summarize

FAMILIES = ["niah", "ruler_niah", "vt", "cwe", "fwe", "qa_retrieval", "qa_multihop", "qa_aggregation",
            "qa_pairs", "hf_dataset"]


@pytest.mark.slow
def test_every_family_runs_both_methods_at_two_sizes_into_one_report(make_plan):
    rows = []
    for task in FAMILIES:
        for size in ("1K", "4K") if task == "hf_dataset" else ("8K", "64K"):  # sizes are buckets of its rows
            outcome = run_eval(make_plan(f"task={task}", f"size={size}", "samples=1", "db=off"))
            assert {r.method for r in outcome.results} == {"rlm", "baseline"}, task
            assert not [r.error for r in outcome.results if r.error], task
            rows += [r.to_dict() for r in outcome.results]
    groups = summarize(rows)
    assert {(g["task"], g["method"]) for g in groups} == {(t, m) for t in FAMILIES for m in ("rlm", "baseline")}
    assert len(groups) == len(FAMILIES) * 2 * 2
    table = render(groups)
    for task in FAMILIES:
        assert f"| {task} " in table
    # The synthetic families are readable by the simulator: the RLM gets most of them right.
    synthetic = [g for g in groups if g["method"] == "rlm" and g["task"] != "hf_dataset"]
    assert sum(g["accuracy"] for g in synthetic) / len(synthetic) > 0.6
