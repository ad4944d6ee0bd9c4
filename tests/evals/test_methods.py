"""The Method registry: a new method joins with one line; a crash marks the run failed with its error."""
from __future__ import annotations

import pytest

from rlm.usage import Usage

from evals.methods import MethodOutcome, get_method, method_names, register
from evals.run_record import RunLog
from evals.runner import run_eval


class Echo:
    """Answers every sample with its first expected value: a method from outside the package."""

    name = "echo"
    uses_sub_model = False

    def prepare(self, plan, models) -> None:
        self.closed = False

    def solve(self, sample, *, run_id, query_id, sink) -> MethodOutcome:
        return MethodOutcome(sample.expected[0], "answered", 1.0, usage=Usage(prompt_tokens=3, calls=1))

    def close(self) -> None:
        self.closed = True


class Broken(Echo):
    name = "broken"

    def prepare(self, plan, models) -> None:
        raise RuntimeError("cannot start")


def test_a_registered_method_runs_beside_the_builtin_ones(make_plan):
    register(Echo)
    assert {"rlm", "baseline", "echo"} <= set(method_names()) and get_method("echo") is Echo
    outcome = run_eval(make_plan("task=niah", "size=4K", "samples=2", "db=off", "methods=[echo,baseline]"))
    echo = [r for r in outcome.results if r.method == "echo"]
    assert [r.correct for r in echo] == [True, True] and [r.sample_index for r in echo] == [0, 1]
    assert echo[0].prompt_tokens == 3 and echo[0].depth is None


def test_a_crash_marks_the_run_failed_with_its_error(make_plan):
    register(Broken)
    plan = make_plan("task=niah", "size=4K", "samples=1", "db=off", "methods=[broken]")
    with pytest.raises(RuntimeError, match="cannot start"):
        run_eval(plan)
    (finish,) = [h for h in RunLog(plan.run_dir).read().header if h.kind == "run_finish"]
    assert finish.status == "failed" and finish.error == "RuntimeError: cannot start"
