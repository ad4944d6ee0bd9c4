"""rlm.LM against the simulator over HTTP with the real openai client."""
from __future__ import annotations

import pytest

from rlm.errors import ContextLengthExceededError, LMError, MissingAPIKeyError
from rlm.lm import LM, LMConfig

from tests.conftest import SPECS, make_haystack, make_lm


def test_usage_cost_and_ttft_from_a_streamed_call(sim):
    lm = make_lm(sim)
    out = lm.complete("I'm looking for a magic number. What is it?\nThe magic number is 4242424")
    assert "4242424" in out.text
    u = out.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0 and u.calls == 1
    assert u.cost_usd == pytest.approx(SPECS["sim-large"].price.cost(u.prompt_tokens, u.cached_tokens,
                                                                   u.completion_tokens))
    assert out.ttft_ms is not None and out.ttft_ms <= out.latency_ms
    assert out.attempts == 1


def test_cached_tokens_on_a_repeated_long_prefix(sim):
    lm = make_lm(sim, "sim-small", stream=False)
    text = make_haystack(600, "The magic number is 1111111", seed=7)
    first = lm.complete(text + "\nQuestion: I'm looking for a magic number. What is it?")
    second = lm.complete(text + "\nQuestion: what else? I'm looking for a magic number. What is it?")
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens >= 1024
    assert second.usage.cached_tokens <= second.usage.prompt_tokens
    assert second.usage.cost_usd < first.usage.cost_usd * 1.01  # cached input is cheaper
    assert first.ttft_ms is None  # no streaming, no time to first token


def test_unknown_price_means_unknown_cost(sim):
    out = make_lm(sim, price=None).complete("hello")
    assert out.usage.cost_usd is None


def test_context_length_exceeded_is_distinct_and_not_retried(sim):
    lm = make_lm(sim, "sim-small")
    with pytest.raises(ContextLengthExceededError) as info:
        lm.complete(make_haystack(20_000, "The magic number is 1"))
    assert info.value.attempts == 1


def test_429_with_retry_after_is_retried(sim):
    lm = make_lm(sim, default_headers={"X-Sim-Fault": "429;retry_after=0.2"})
    out = lm.complete("hello there")
    assert out.attempts == 2
    assert out.latency_ms >= 200


def test_persistent_server_errors_end_in_lm_error_after_retries(sim):
    lm = make_lm(sim, max_retries=2, default_headers={"X-Sim-Fault": "500;times=10"})
    with pytest.raises(LMError) as info:
        lm.complete("hello")
    assert info.value.attempts == 3
    assert info.value.status == 500


def test_missing_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("RLM_TEST_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="RLM_TEST_KEY"):
        LM(LMConfig(model="gpt-5", api_key_env="RLM_TEST_KEY"))


def test_sdk_environment_defaults_apply_without_base_url_or_key(sim, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    lm = LM(LMConfig(model="sim-large"))
    assert "sk-test" not in repr(lm)
    assert lm.complete("hello").usage.prompt_tokens > 0
