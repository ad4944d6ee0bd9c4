"""ProxiedMethod: a few-line implementation behind the proxy; concurrent samples keep their own calls."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import openai

from rlm.events import ListSink, TextEvent
from rlm.lm import LMConfig
from rlm.sim import SimServer
from rlm.sim.models import model_table

from evals.method_plugins.proxied import Endpoint, ProxiedMethod, RunResult
from evals.tasks import Sample

PRICES = {name: spec.price for name, spec in model_table(None).items()}


class TwoStepMethod(ProxiedMethod):
    """A stand-in implementation: one root call, then one sub-call per half of the context."""

    name = "two-step"

    def run(self, sample: Sample, root: Endpoint, sub: Endpoint) -> RunResult:
        def client(e: Endpoint) -> openai.OpenAI:
            return openai.OpenAI(base_url=e.base_url, api_key="unused", default_headers=e.headers, max_retries=0)

        client(root).chat.completions.create(model=root.model, messages=[
            {"role": "system", "content": "plan"}, {"role": "user", "content": sample.query}])
        half = len(sample.context) // 2
        replies = [client(sub).chat.completions.create(model=sub.model, stream=True, messages=[
            {"role": "user", "content": f"{part}\n\nQuestion: {sample.query}\nAnswer:"}])
            for part in (sample.context[:half], sample.context[half:])]
        texts = ["".join(c.choices[0].delta.content or "" for c in stream if c.choices) for stream in replies]
        if sample.sample_id == "boom":
            raise RuntimeError("the implementation crashed")
        return RunResult(answer=next((t for t in texts if t != "NOT FOUND"), "NOT FOUND"), iterations=1)


def _sample(i: int, sample_id: str | None = None) -> Sample:
    number = 1_000_000 + i
    context = "\n".join(["filler words here"] * 50 + [f"The magic number is {number}"] + ["more filler"] * 50)
    return Sample(sample_id=sample_id or f"s{i}", task="niah", family="niah", context=context,
                  query="I'm looking for a magic number. What is it?", expected=[str(number)],
                  metric="string_match_all", size_tokens=0)


def test_concurrent_samples_get_their_own_calls_usage_and_answers():
    with SimServer(seed=0) as sim:
        method = TwoStepMethod()
        method.prepare(LMConfig("sim-large", base_url=sim.base_url, price=PRICES["sim-large"]),
                       LMConfig("sim-small", base_url=sim.base_url, price=PRICES["sim-small"]), run_id="run-p")
        sinks = {f"q{i}": ListSink() for i in range(6)}
        try:
            with ThreadPoolExecutor(6) as pool:
                outcomes = dict(zip(sinks, pool.map(lambda i: method.solve(_sample(i), f"q{i}", sinks[f"q{i}"]),
                                                    range(6)), strict=True))
        finally:
            method.close()
    for i, (query_id, sink) in enumerate(sinks.items()):
        calls, outcome = sink.llm_calls, outcomes[query_id]
        assert outcome.answer == str(1_000_000 + i) and outcome.error is None
        assert [c.role for c in sorted(calls, key=lambda c: c.time)] == ["root", "sub", "sub"]
        assert {c.query_id for c in calls} == {query_id} and all(c.ttft_ms for c in calls if c.role == "sub")
        assert outcome.usage.calls == 3 and outcome.usage.prompt_tokens == sum(c.prompt_tokens for c in calls)
        assert outcome.usage.cost_usd == sum(c.cost_usd for c in calls)
        [answer] = [e for e in sink.events if isinstance(e, TextEvent) and e.field == "answer"]
        assert answer.item_id == query_id and answer.text == outcome.answer


def test_an_implementation_that_raises_is_an_error_with_its_calls_kept():
    with SimServer(seed=0) as sim:
        method = TwoStepMethod(text_limit=None)
        method.prepare(LMConfig("sim-large", base_url=sim.base_url), None, run_id="run-p")
        sink = ListSink()
        try:
            outcome = method.solve(_sample(0, "boom"), "q-boom", sink)
        finally:
            method.close()
    assert outcome.stop_reason == "error" and outcome.error == "RuntimeError: the implementation crashed"
    assert [c.model for c in sink.llm_calls] == ["sim-large"] * 3  # no sub-model: sub-calls go to the root model
    assert outcome.usage.calls == 3 and outcome.usage.cost_usd is None  # no price known
    assert not [e for e in sink.events if isinstance(e, TextEvent)]  # text off
