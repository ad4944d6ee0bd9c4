"""rlm.LM against the simulator over HTTP with the real openai client."""
from __future__ import annotations

import socket

import pytest

from rlm.errors import (BadRequestError, ContextLengthExceededError, LMConnectionError, LMError, LMTimeoutError,
                        MissingAPIKeyError)
from rlm.failures import classify_status
from rlm.lm import LM, LMConfig
from rlm.sim import SimServer
from rlm.tokens import count_messages, count_tokens
from rlm.usage import normalize_usage

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


# -- failure kinds ----------------------------------------------------------------------------

OVERFLOWS = [   # (server, status, code, message) as each server words a too-long prompt
    ("openai", 400, "context_length_exceeded", "This model's maximum context length is 128000 tokens. However, "
                                               "your messages resulted in 130000 tokens."),
    ("litellm", 400, "400", "litellm.ContextWindowExceededError: litellm.BadRequestError: ..."),
    ("vllm", 400, "400", "This model's maximum context length is 4096 tokens. However, your request has 5000 "
                         "input tokens. Please reduce the length of the input messages."),
    ("vllm", 400, None, "The decoder prompt (length 9000) is longer than the maximum model length of 8192."),
    ("llama.cpp", 400, "exceed_context_size_error", "the request exceeds the available context size, try increasing it"),
    ("llama.cpp", 400, "context_length_exceeded", "Requested tokens (3000) exceed context window of 2048"),
    ("ollama", 400, None, "input length exceeds maximum context length"),
    ("openrouter", 400, None, "This endpoint's maximum context length is 131072 tokens. However, you requested "
                              "about 140000 tokens."),
    ("anthropic", 400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    ("anthropic", 413, "request_too_large", "Request exceeds the maximum allowed number of bytes."),
]


@pytest.mark.parametrize("server, status, code, message", OVERFLOWS)
def test_every_known_overflow_shape_is_context_exceeded(server, status, code, message):
    failure = classify_status(status, message, code)
    assert failure.kind == "context_exceeded" and failure.status == status


@pytest.mark.parametrize("status, code, message, kind", [
    (429, "rate_limit_exceeded", "Rate limit reached", "rate_limited"),
    (429, "insufficient_quota", "You exceeded your current quota", "auth"),
    (401, "invalid_api_key", "Incorrect API key provided", "auth"),
    (403, None, "forbidden", "auth"),
    (404, "model_not_found", "The model `x` does not exist", "bad_request"),
    (400, "content_filter", "The response was filtered", "content_filter"),
    (500, None, "1 validation error for CreateChatCompletionRequest\nmax_tokens\n  Input should be >= 1", "bad_request"),
    (500, None, "The server had an error", "server_error"),
    (503, None, "The engine is currently overloaded", "server_error"),
    (529, "overloaded_error", "Overloaded", "server_error"),
    (408, None, "Request timeout", "timeout"),
])
def test_status_code_and_body_give_one_kind(status, code, message, kind):
    assert classify_status(status, message, code).kind == kind


def test_overload_replies_shrink_the_limiter():
    assert classify_status(429, "slow down").overload and classify_status(503, "overloaded").overload
    assert not classify_status(500, "oops").overload


def test_an_unreachable_server_is_a_connection_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]      # closed once the block ends: nothing listens there
    lm = LM(LMConfig(model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, max_retry_wait_s=2))
    with pytest.raises(LMConnectionError) as info:
        lm.complete("hello")
    assert info.value.kind == "connection" and info.value.status is None and info.value.attempts == 2


def test_a_hung_server_is_a_timeout(sim):
    lm = make_lm(sim, max_retries=0, timeout_s=0.3, default_headers={"X-Sim-Fault": "hang"})
    with pytest.raises(LMTimeoutError) as info:
        lm.complete("hello")
    assert info.value.kind == "timeout"


def test_a_500_that_is_a_rejected_request_is_not_retried():
    with SimServer(profile="llamacpp") as llamacpp:   # reports request validation errors as 500
        lm = make_lm(llamacpp, max_retries=4, extra_body={"max_completion_tokens": 0})
        with pytest.raises(BadRequestError) as info:
            lm.complete("hello")
    assert info.value.attempts == 1 and info.value.status == 500


# -- usage shapes -----------------------------------------------------------------------------

@pytest.mark.parametrize("usage, timings, expected", [
    # OpenAI / vLLM / LiteLLM: cached tokens are inside prompt_tokens
    ({"prompt_tokens": 2000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 1536}}, None,
     (2000, 1536, 5)),
    # Anthropic's own shape: input_tokens exclude cache reads and writes, which are added once
    ({"input_tokens": 100, "cache_read_input_tokens": 1900, "cache_creation_input_tokens": 50, "output_tokens": 7},
     None, (2050, 1900, 7)),
    # a gateway's OpenAI shape that also carries Anthropic's field: already inside prompt_tokens
    ({"prompt_tokens": 2000, "completion_tokens": 5, "cache_read_input_tokens": 1500}, None, (2000, 1500, 5)),
    # ... unless it cannot be (more cache reads than prompt tokens): then it was on top
    ({"prompt_tokens": 100, "completion_tokens": 5, "cache_read_input_tokens": 1500}, None, (1600, 1500, 5)),
    ({"prompt_tokens": 900, "completion_tokens": 3, "prompt_cache_hit_tokens": 640}, None, (900, 640, 3)),  # DeepSeek
    # llama.cpp's server: timings.cache_n, with or without a usage block
    ({"prompt_tokens": 1200, "completion_tokens": 9}, {"prompt_n": 200, "cache_n": 1000, "predicted_n": 9},
     (1200, 1000, 9)),
    (None, {"prompt_n": 200, "cache_n": 1000, "predicted_n": 9}, (1200, 1000, 9)),
])
def test_usage_shapes_are_normalised_without_double_counting(usage, timings, expected):
    u = normalize_usage(usage, timings)
    assert (u.prompt_tokens, u.cached_tokens, u.completion_tokens) == expected


def test_no_usage_is_none_not_zero():
    assert normalize_usage(None) is None and normalize_usage({}) is None


def test_estimated_usage_counts_with_a_configured_tokenizer_or_cl100k():
    messages = [{"role": "user", "content": "The magic number is 4242424"}]
    assert count_messages(messages) == count_tokens("The magic number is 4242424") + 4 + 3
    assert count_messages(messages, "gpt2") > 0                       # tiktoken's offline-loadable gpt2
    assert count_messages(messages, "/no/such/tokenizer.json") == count_messages(messages)  # falls back


@pytest.mark.parametrize("stream", [True, False])
def test_requests_are_byte_for_byte_what_the_sdks_typed_create_sends(sim, stream):
    """The LM posts plain dicts (cheaper than the typed method); the bytes must not change, since
    servers (the simulator among them) may key replies or caches on the exact request."""
    lm = make_lm(sim, "sim-small", stream=stream, max_output_tokens=64, temperature=0.0)
    sent: list[bytes] = []
    lm._client._client.event_hooks["request"].append(lambda request: sent.append(request.read()))
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "The magic number is 42"}]
    lm.complete(messages)
    options = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    reply = lm._client.chat.completions.create(model="sim-small", messages=messages, max_tokens=64,
                                               temperature=0.0, **options)
    if stream:
        list(reply)
    assert len(sent) == 2 and sent[0] == sent[1]
