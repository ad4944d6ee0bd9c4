"""A finished run written by hand: samples.jsonl, the run's event log and its config (db off)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from rlm.events import Event, JsonlSink

from tests.evals.trajectory_builder import TrajectoryBuilder, depth2_rlm, niah_rlm

RUN_ID = "niah-1M-fixture"


def sample_result(run_id: str, query_id: str, *, method: str = "rlm", score: float = 1.0, answer: str = "6136177",
                  expected: tuple[str, ...] = ("6136177",), error: str | None = None, depth: int = 1,
                  index: int = 0, stop: str = "final_var") -> dict:
    """A finished sample's result, with the keys of the harness's sample results."""
    return dict(
        run_id=run_id, query_id=query_id, sample_id=query_id.split(":")[1], sample_index=index, task="niah",
        family="niah", size_tokens=1_048_576, method=method, model="sim-large",
        sub_model="sim-small" if method == "rlm" else None, depth=depth if method == "rlm" else None,
        score=score, correct=score >= 1, answer=answer, expected=list(expected), stop_reason=stop, error=error,
        iterations=2, latency_ms=1234.0, calls=7, sub_calls=5, cost_usd=0.01, prompt_tokens=679, cached_tokens=0,
        completion_tokens=109)


def fixture_samples(run_id: str = RUN_ID, big_output: str | None = None) -> tuple[list[dict], list[Event]]:
    """Four samples: depth-1 NIAH, depth 2, an errored one (a failing cell, a failed call), a baseline."""
    rows = [sample_result(run_id, "rlm:niah-1M-0:aaaa"),
            sample_result(run_id, "rlm:niah-1M-1:bbbb", answer="42", expected=("42",), depth=2, index=1),
            sample_result(run_id, "rlm:niah-1M-2:cccc", score=0.0, answer="", error="APIConnectionError: down",
                          stop="error", index=2),
            sample_result(run_id, "baseline:niah-1M-0:dddd", method="baseline", score=0.0, answer="I don't know",
                          stop="answered")]
    failing = TrajectoryBuilder(run_id, "rlm:niah-1M-2:cccc")
    turn = failing.turn("Let me look.\n```repl\nprint(context[:10])\nx = 1/0\n```")
    failing.cell(turn, "print(context[:10])\nx = 1/0", "lamp ocean\nZeroDivisionError: division by zero",
                 error="ZeroDivisionError: division by zero",
                 stderr="Traceback (most recent call last):\nZeroDivisionError: division by zero")
    if big_output is not None:
        failing.cell(turn, "print(big)", big_output, index=1)
    failing.turn("", iteration=2, status="error", error_type="APIConnectionError")
    baseline = TrajectoryBuilder(run_id, "baseline:niah-1M-0:dddd")
    baseline.baseline("filler " * 2000 + "\nQuestion: magic?\nAnswer:", "I don't know \udcff\x00")
    events = (niah_rlm(run_id, "rlm:niah-1M-0:aaaa").events + depth2_rlm(run_id, "rlm:niah-1M-1:bbbb").events
              + failing.events + baseline.events)
    return rows, events


def make_run(results: str | Path, run_id: str = RUN_ID, big_output: str | None = None) -> Path:
    """The run's directory under `results`/runs, as a run with `db=off` leaves it."""
    rows, events = fixture_samples(run_id, big_output)
    run_dir = Path(results) / "runs" / run_id
    run_dir.mkdir(parents=True)
    sink = JsonlSink(run_dir / "events.jsonl")
    for event in events:
        sink.emit(event)
    sink.close()
    (run_dir / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (run_dir / "config.yaml").write_text("db:\n  mode: 'off'\n", encoding="utf-8")
    return run_dir


if __name__ == "__main__":  # python tests/evals/run_fixture.py RESULTS_DIR: a run to look at
    print(make_run(sys.argv[1]))
