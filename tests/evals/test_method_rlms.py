"""method=rlms: the official RLM library against the simulator, every request it makes recorded by the proxy."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rlm.events import ListSink, TextEvent
from rlm.lm import LMConfig
from rlm.sim import ScriptedPolicy, SimServer
from rlm.sim.faults import FaultConfig
from rlm.sim.models import model_table
from rlm.sim.policy_auto import AutoPolicy

from evals.errors import EvalError
from evals.method_plugins.rlms import RlmsMethod, RlmsSettings
from evals.tasks import Sample, build_samples

from tests.evals.rlms_library import official_library_path

PRICES = {name: spec.price for name, spec in model_table(None).items()}


class UpstreamLog:
    """Wraps the simulator's engine to keep what it sent back: the upstream's own count and usage."""

    def __init__(self, sim: SimServer) -> None:
        engine = sim._httpd.engine  # the real engine; only observed, never replaced
        self.replies: list[tuple[str, dict | None]] = []
        self._lock = threading.Lock()
        original = engine.complete

        def complete(raw: bytes, fault_header: str | None = None):
            usage = None  # an error reply (raised) or a dropped connection (a Fault) has no usage
            try:
                result = original(raw, fault_header)
                usage = result.usage() if hasattr(result, "usage") else None
                return result
            finally:
                with self._lock:
                    self.replies.append((json.loads(raw)["model"], usage))

        engine.complete = complete


def _niah(tmp_path: Path, size: int = 16384) -> Sample:
    return build_samples("niah", size, 1, 0, {}, cache_dir=tmp_path / "tasks")[0]


def _method(sim: SimServer, **settings) -> RlmsMethod:
    method = RlmsMethod(RlmsSettings(rlms_path=official_library_path(), **settings))
    method.prepare(LMConfig("sim-large", base_url=sim.base_url, price=PRICES["sim-large"]),
                   LMConfig("sim-small", base_url=sim.base_url, price=PRICES["sim-small"]), run_id="run-rlms")
    return method


def test_every_request_of_the_official_library_is_one_recorded_call(tmp_path):
    sample = _niah(tmp_path)
    policy = ScriptedPolicy(AutoPolicy())  # the auto policy, with the requests it served counted
    with SimServer(seed=0, policy=policy) as sim:
        upstream = UpstreamLog(sim)
        method = _method(sim, max_iterations=6)
        sink = ListSink()
        try:
            outcome = method.solve(sample, "q-1", sink)
        finally:
            method.close()
    calls = sink.llm_calls
    assert outcome.error is None and outcome.stop_reason == "final" and outcome.iterations == 2
    assert outcome.answer == sample.expected[0]
    assert len(calls) == len(upstream.replies) == len(policy.calls) >= 3
    assert {c.role for c in calls} == {"root", "sub"}
    assert {(c.role, c.model, c.depth) for c in calls} == {("root", "sim-large", 0), ("sub", "sim-small", 1)}
    assert {(c.run_id, c.query_id) for c in calls} == {("run-rlms", "q-1")}
    recorded = sorted((c.model, c.prompt_tokens, c.cached_tokens, c.completion_tokens) for c in calls)
    sent = sorted((model, u["prompt_tokens"], u["prompt_tokens_details"]["cached_tokens"], u["completion_tokens"])
                  for model, u in upstream.replies if u is not None)
    assert recorded == sent
    assert any(c.cached_tokens > 0 for c in calls)  # the root's growing conversation hits the prefix cache
    for c in calls:
        assert c.cost_usd == pytest.approx(PRICES[c.model].cost(c.prompt_tokens, c.cached_tokens, c.completion_tokens))
    assert outcome.usage.calls == len(calls)
    assert outcome.usage.prompt_tokens == sum(c.prompt_tokens for c in calls)
    answers = [e for e in sink.events if isinstance(e, TextEvent) and e.field == "answer"]
    assert [(a.item_id, a.text) for a in answers] == [("q-1", sample.expected[0])]


def test_upstream_failures_and_retries_are_recorded_per_request(tmp_path):
    """Every request fails with a 500: its client retries, each attempt is a row, the sample records the error."""
    with SimServer(seed=0, faults=FaultConfig(rate_500=1.0)) as sim:
        upstream = UpstreamLog(sim)
        method = _method(sim, max_iterations=2)
        sink = ListSink()
        try:
            outcome = method.solve(_niah(tmp_path, 4096), "q-err", sink)
        finally:
            method.close()
    calls = sink.llm_calls
    assert outcome.stop_reason == "error" and "InternalServerError" in (outcome.error or "")
    assert len(calls) == len(upstream.replies) == 3  # one call and the openai client's two retries
    assert {(c.status, c.error_type, c.role) for c in calls} == {("error", "server_error", "root")}
    errors = [e for e in sink.events if isinstance(e, TextEvent) and e.field == "error"]
    assert len(errors) == 3 and all(e.text.startswith("HTTP 500:") for e in errors)


def test_scripted_replies_in_the_librarys_protocol_and_no_secrets_in_its_process(tmp_path, monkeypatch):
    """The library exec's model code in its own process: that process must not see any key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("RLM_TEST_SECRET_TOKEN", "tok-should-not-leak")
    code = ("```repl\nimport os\nleaks = sorted(v for v in os.environ.values() if 'should-not-leak' in v)\n"
            "answer['content'] = f'leaks={leaks} sub={llm_query(\"What is the magic number?\")}'\n"
            "answer['ready'] = True\n```")
    policy = ScriptedPolicy([code, "4821937"])
    with SimServer(seed=0, policy=policy) as sim:
        method = _method(sim, max_iterations=3, log_trajectory=True)
        sink = ListSink()
        try:
            outcome = method.solve(_niah(tmp_path, 4096), "q-s", sink)
        finally:
            method.close()
    assert outcome.answer == "leaks=[] sub=4821937" and outcome.stop_reason == "final"
    assert [c.role for c in sink.llm_calls] == ["root", "sub"] and len(policy.calls) == 2
    [trajectory] = [e for e in sink.events if isinstance(e, TextEvent) and e.field == "messages" and e.item_id == "q-s"]
    steps = json.loads(trajectory.text)["iterations"]
    assert len(steps) == 1 and "llm_query" in steps[0]["code_blocks"][0]["code"]
    assert "locals" not in steps[0]["code_blocks"][0]["result"]


def test_a_missing_library_is_one_clear_error(tmp_path):
    method = RlmsMethod(RlmsSettings(rlms_path=str(tmp_path)))
    try:
        method.check_installed()
    except EvalError as exc:
        assert "pip install" in str(exc) and "RLMS_PATH" in str(exc)
    else:
        pytest.skip("the official library is installed in this environment itself")


def test_sub_calls_over_the_window_are_recorded_as_context_exceeded_then_halved(tmp_path):
    from dataclasses import replace

    table = model_table(None)
    small = replace(table["sim-small"], context_window=16384)  # the first 100,000-character chunks do not fit
    sample = _niah(tmp_path, 65536)
    with SimServer(models=[table["sim-large"], small], seed=0) as sim:
        upstream = UpstreamLog(sim)
        method = _method(sim, max_iterations=6)
        sink = ListSink()
        try:
            outcome = method.solve(sample, "q-win", sink)
        finally:
            method.close()
    # Whether the second batch reaches the answer is the library's business (rlms 0.1.3 reuses its
    # async client across event loops, and some replies of a second batch come back to it as
    # "Event loop is closed" errors); what must hold is that every request is one row.
    calls = sink.llm_calls
    assert outcome.iterations == 3 and outcome.error is None
    assert len(calls) == len(upstream.replies)
    too_long = [c for c in calls if c.error_type == "context_exceeded"]
    assert too_long and {(c.role, c.model, c.status) for c in too_long} == {("sub", "sim-small", "error")}
    answered = [c for c in calls if c.role == "sub" and c.status == "ok"]
    assert len(answered) > len(too_long)  # the halved chunks fit
    sent = sorted(u["prompt_tokens"] for _, u in upstream.replies if u is not None)
    assert sorted(c.prompt_tokens for c in calls if c.status == "ok") == sent
