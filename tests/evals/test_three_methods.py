"""The runner with our RLM, the official library and the plain LM on the same samples: one table."""
from __future__ import annotations

from evals.report import report_for_run
from evals.runner import run_eval

from tests.evals.rlms_library import official_library_path


def test_rlm_rlms_and_baseline_share_samples_and_one_table(make_plan):
    plan = make_plan("task=niah", "size=8K", "samples=1", "db=off", "methods=[rlm,rlms,baseline]",
                      f"rlms.path={official_library_path()}")
    outcome = run_eval(plan)
    by_method = {r.method: r for r in outcome.results}
    assert sorted(by_method) == ["baseline", "rlm", "rlms"]
    assert len({r.sample_id for r in outcome.results}) == 1
    rlms = by_method["rlms"]
    assert rlms.error is None and rlms.stop_reason == "final" and rlms.correct
    assert rlms.calls >= 3 and rlms.sub_calls >= 1 and rlms.cost_usd and rlms.cost_usd > 0
    assert (rlms.model, rlms.sub_model, rlms.depth) == ("sim-large", "sim-small", 1)
    assert rlms.iterations == 2 and rlms.prompt_tokens > rlms.completion_tokens > 0
    _, path = report_for_run(outcome)  # the screen gets the terminal table; report.md has every column
    rows = [line for line in path.read_text().splitlines() if line.startswith("| niah")]
    assert [row.split("|")[3].strip() for row in rows] == ["rlm", "baseline", "rlms"]
