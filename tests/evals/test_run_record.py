"""The run record: whole batches, a torn tail cut by the next writer, any text stored exactly."""
from __future__ import annotations

import json
import stat

from rlm.events import LLMCallEvent, utcnow
from rlm.telemetry.records import RunFinish

from evals.run_record import RunLog, load_results
from evals.sample_result import SampleResult

WEIRD = "lone \udcff surrogate, NUL \x00 byte, " + "x" * (5 * 1024 * 1024)


def _result(sample_id: str, *, transient: bool = False, answer: str = "42", query: str | None = None) -> SampleResult:
    return SampleResult(run_id="run", query_id=query or f"rlm:{sample_id}:q", sample_id=sample_id, sample_index=0,
                        task="niah", family="niah", size_tokens=4096, method="rlm", model="m", sub_model=None,
                        depth=1, score=1.0, correct=True, answer=answer, expected=["42"], stop_reason="final",
                        transient=transient)


def _call(query_id: str) -> LLMCallEvent:
    return LLMCallEvent(time=utcnow(), run_id="run", query_id=query_id, call_id=f"c-{query_id}", parent_call_id=None,
                        depth=0, iteration=1, role="root", model="m")


def test_batches_are_read_back_and_the_latest_attempt_wins(tmp_path):
    log = RunLog(tmp_path / "run", writer=True)
    log.append([_call("q1"), _result("s1", transient=True, query="q1")])
    log.append([_call("q2"), _result("s1", query="q2")])
    log.append([RunFinish(run_id="run", status="finished")])
    assert [r.query_id for r in log.results().values()] == ["q2"]
    contents = log.read()
    assert [r.query_id for r in contents.attempts] == ["q1", "q2"]
    assert [e.call_id for e in contents.finished_events()] == ["c-q1", "c-q2"]
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_a_torn_tail_is_skipped_by_readers_and_cut_by_the_next_writer(tmp_path):
    log = RunLog(tmp_path / "run", writer=True)
    log.append([_call("q1"), _result("s1", query="q1")])
    whole = log.path.read_bytes()
    torn = whole + (json.dumps({"kind": "llm_call"}) + "\n").encode() + b'{"kind": "sample_result", "run_'
    log.path.write_bytes(torn)
    assert list(RunLog(tmp_path / "run").results()) == [("rlm", "s1")]  # a reader skips, never truncates
    assert log.path.read_bytes() == torn
    again = RunLog(tmp_path / "run", writer=True)
    assert again.repaired == len(b'{"kind": "sample_result", "run_')
    again.append([_result("s2", query="q2")])
    assert sorted(k[1] for k in again.results()) == ["s1", "s2"]  # the next record is not glued to the tear
    # The llm_call line of the torn batch belongs to no finished sample.
    assert [e.call_id for e in again.read().finished_events()] == ["c-q1"]


def test_any_text_is_stored_and_read_back_exactly(tmp_path):
    log = RunLog(tmp_path / "run", writer=True)
    log.append([_result("s1", answer=WEIRD)])
    log.path.read_bytes().decode("ascii")  # escaped on disk: no encoder can choke on it
    (result,) = load_results(tmp_path / "run")
    assert result.answer == WEIRD
