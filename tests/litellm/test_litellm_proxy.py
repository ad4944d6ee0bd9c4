"""rlm.LM through LiteLLM's proxy: usage, cached tokens, a context overflow counted as
context_exceeded, retries on 429 and 5xx, and the same facts in the embedded TimescaleDB."""
from __future__ import annotations

import pytest

from rlm.errors import ContextLengthExceededError, RateLimitedError, ServerError
from rlm.events import FanoutSink, ListSink
from rlm.lm import LM, LMConfig
from rlm.telemetry import Recorder, queries
from rlm.trace import Tracer
from rlm.usage import Price

from tests.conftest import make_haystack

pytestmark = [pytest.mark.litellm, pytest.mark.timeout(900)]

PRICE = Price(input=1.0, cached_input=0.1, output=2.0)


def lm(url: str, key_env: str, model: str, stream: bool = True, **overrides) -> LM:
    params = dict(model=model, base_url=url, api_key_env=key_env, price=PRICE, stream=stream, max_retries=3,
                  max_rate_limit_retries=2)
    params.update(overrides)
    return LM(LMConfig(**params))


def call(model: LM, prompt: str, sink: ListSink):
    try:
        return Tracer(sink, "litellm-run", "q").call(model, prompt, role="sub", depth=1)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc


@pytest.mark.parametrize("stream", [True, False])
def test_usage_is_passed_through_and_recorded_as_reported(litellm_proxy, proxy_key, stream):
    sink = ListSink()
    out = call(lm(litellm_proxy, proxy_key, "mock-text", stream), "What is the magic number?", sink)
    assert out.text == "The magic number is 4242424"
    (event,) = sink.llm_calls
    assert event.usage_source == "reported" and event.prompt_tokens > 0 and event.completion_tokens > 0
    assert (event.status, event.http_status, event.error_kind) == ("ok", 200, None)


def test_cached_tokens_from_a_mock_reply(litellm_proxy, proxy_key):
    out = lm(litellm_proxy, proxy_key, "mock-cached", stream=False).complete("hello")
    assert (out.usage.prompt_tokens, out.usage.cached_tokens) == (2048, 1536)
    assert out.usage.cost_usd == pytest.approx(PRICE.cost(2048, 1536, 3))


def test_cached_tokens_forwarded_from_the_upstream_in_a_stream(litellm_proxy, proxy_key):
    model = lm(litellm_proxy, proxy_key, "sim-small", max_retries=8)
    text = make_haystack(600, "The magic number is 1111111", seed=21)
    model.complete(text + "\nQuestion: I'm looking for a magic number. What is it?")
    second = model.complete(text + "\nQuestion: again, I'm looking for a magic number. What is it?")
    assert second.usage_source == "reported" and second.usage.cached_tokens >= 1024


@pytest.mark.parametrize("model_name", ["mock-overflow", "sim-small"])
def test_a_context_overflow_is_context_exceeded(litellm_proxy, proxy_key, model_name):
    sink = ListSink()
    prompt = make_haystack(12_000, "The magic number is 1") if model_name == "sim-small" else "hello"
    out = call(lm(litellm_proxy, proxy_key, model_name), prompt, sink)
    assert isinstance(out, ContextLengthExceededError)
    if model_name == "mock-overflow":   # (the forwarded one may first meet one of the upstream's 500s)
        assert out.attempts == 1
    (event,) = sink.llm_calls
    assert (event.error_kind, event.http_status) == ("context_exceeded", 400)


def test_429_and_500_are_retried_then_recorded_by_kind(litellm_proxy, proxy_key):
    sink = ListSink()
    limited = call(lm(litellm_proxy, proxy_key, "mock-429"), "hello", sink)
    failing = call(lm(litellm_proxy, proxy_key, "mock-500", max_retries=2), "hello", sink)
    assert isinstance(limited, RateLimitedError) and limited.attempts == 3
    assert isinstance(failing, ServerError) and failing.attempts == 3
    assert [(e.error_kind, e.http_status) for e in sink.llm_calls] == [("rate_limited", 429), ("server_error", 500)]


def test_upstream_500s_recover_and_the_database_holds_what_the_server_did(litellm_proxy, proxy_key, dsn, tmp_path):
    memory = ListSink()
    recorder = Recorder(dsn, spool_dir=tmp_path / "spool")
    sink = FanoutSink(memory, recorder)
    model = lm(litellm_proxy, proxy_key, "sim-small", max_retries=8)
    outs = [call(model, f"I'm looking for a magic number. What is it?\nThe magic number is {i}", sink)
            for i in range(8)]
    call(lm(litellm_proxy, proxy_key, "mock-overflow"), "hello", sink)
    recorder.close()
    assert all(not isinstance(o, Exception) for o in outs)
    assert any(o.attempts > 1 for o in outs)           # the upstream's 500s were retried through the proxy
    rows = {r["call_id"]: r for r in queries.calls(dsn, "litellm-run", "q")}
    assert len(rows) == len(memory.llm_calls) == 9
    for event in memory.llm_calls:
        row = rows[event.call_id]
        assert (row["status"], row["error_kind"], row["http_status"], row["usage_source"], row["attempt"]) == \
            (event.status, event.error_kind, event.http_status, event.usage_source, event.attempt)
    assert sorted(r["error_kind"] or "" for r in rows.values() if r["status"] == "error") == ["context_exceeded"]
    assert {r["error_kind"] for r in rows.values() if r["status"] == "ok" and r["attempt"] > 1} == {"server_error"}
