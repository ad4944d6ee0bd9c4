"""Each server profile's manners, seen through rlm.LM with the real openai client over HTTP:
a too-long prompt is context_exceeded, an empty stream is an error, a stream without usage
stores estimated tokens (never 0), and the kind and HTTP status are what the server did."""
from __future__ import annotations

import concurrent.futures
import json

import httpx2
import pytest

from rlm.errors import (BadRequestError, ContextLengthExceededError, EmptyReplyError, LMConnectionError,
                        RateLimitedError, TruncatedReplyError)
from rlm.events import ListSink
from rlm.lm import LM, LMConfig
from rlm.sim import SimServer
from rlm.sim.models import SIM_SMALL
from rlm.sim.profiles import PROFILES
from rlm.trace import Tracer

from tests.conftest import make_haystack

PROFILE_NAMES = sorted(PROFILES)
TOO_LONG = make_haystack(12_000, "The magic number is 1234567")   # ~90K tokens > sim-small's 65,536
QUESTION = "I'm looking for a magic number. What is it?\n\nThe magic number is 7654321"


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def server(request):
    with SimServer(seed=0, profile=request.param) as sim:
        yield request.param, sim


def lm(sim: SimServer, stream: bool = True, **overrides) -> LM:
    params = dict(model="sim-small", base_url=sim.base_url, context_window=SIM_SMALL.context_window,
                  price=SIM_SMALL.price, stream=stream, max_retries=2)
    params.update(overrides)
    return LM(LMConfig(**params))


def traced(model: LM, prompt: str):
    """One call through the Tracer: (completion or exception, its event)."""
    sink = ListSink()
    try:
        out = Tracer(sink, "run", "q").call(model, prompt, role="sub", depth=1)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        out = exc
    (event,) = sink.llm_calls
    return out, event


@pytest.mark.parametrize("stream", [True, False])
def test_a_too_long_prompt_is_context_exceeded(server, stream):
    name, sim = server
    out, event = traced(lm(sim, stream), TOO_LONG + "\nQuestion: " + QUESTION)
    assert isinstance(out, ContextLengthExceededError), (name, out)
    assert out.attempts == 1
    assert (event.status, event.error_kind, event.error_type) == ("error", "context_exceeded",
                                                                   "ContextLengthExceededError")
    # llama.cpp's streamed overflow and Ollama's silent cut are 200s; the rest refuse with a 400.
    silent = (name == "llamacpp" and stream) or name == "ollama"
    assert event.http_status == (200 if silent else 400)


def test_an_empty_stream_is_an_error_and_retried(server):
    _, sim = server
    out, event = traced(lm(sim, default_headers={"X-Sim-Fault": "empty;times=5"}), QUESTION)
    assert isinstance(out, EmptyReplyError)
    assert out.attempts == 3          # retried twice, then given up
    assert (event.status, event.error_kind, event.http_status) == ("error", "empty_reply", 200)
    out, event = traced(lm(sim, default_headers={"X-Sim-Fault": "empty"}), QUESTION)
    assert "7654321" in out.text and out.attempts == 2
    assert (event.status, event.error_kind, event.http_status) == ("ok", "empty_reply", 200)


def test_a_stream_cut_before_its_end_is_truncated_not_an_answer(server):
    _, sim = server
    out, event = traced(lm(sim, default_headers={"X-Sim-Fault": "cut;times=5"}), QUESTION)
    assert isinstance(out, TruncatedReplyError) and out.text  # the partial text is kept on the error
    assert (event.error_kind, event.http_status) == ("truncated", 200)


def test_output_limit_on_an_answer_is_truncated(server):
    _, sim = server
    with pytest.raises(TruncatedReplyError) as info:
        lm(sim).complete("Say something long. " * 20, max_tokens=1)
    assert info.value.attempts == 1   # the same limit would cut it again: not retried


@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_without_usage_stores_estimated_tokens(server, stream):
    name, sim = server
    out, event = traced(lm(sim, stream, default_headers={"X-Sim-Fault": "nousage"}), QUESTION)
    assert out.usage_source == event.usage_source == "estimated"
    assert event.prompt_tokens > 10 and event.completion_tokens > 0
    assert event.cost_usd and event.cost_usd > 0
    assert out.usage.estimated_calls == 1


def test_usage_source_matches_what_the_server_sent(server):
    name, sim = server
    out, event = traced(lm(sim), QUESTION)
    expected = "estimated" if name == "llamacpp" else "reported"   # llama.cpp sends no usage in streams
    assert event.usage_source == expected and event.prompt_tokens > 0
    assert event.http_status == 200 and event.error_kind is None


def test_cached_tokens_where_the_server_reports_them(server):
    name, sim = server
    model = lm(sim, stream=False)
    text = make_haystack(600, "The magic number is 1111111", seed=11)
    model.complete(text + "\nQuestion: I'm looking for a magic number. What is it?")
    second = model.complete(text + "\nQuestion: which one? I'm looking for a magic number. What is it?")
    if PROFILES[name].report_cached:
        assert second.usage.cached_tokens >= 1024
    else:
        assert second.usage.cached_tokens == 0


def test_429_is_retried_with_its_kind_and_status_recorded(server):
    name, sim = server
    out, event = traced(lm(sim, default_headers={"X-Sim-Fault": "429;retry_after=0.01"}), QUESTION)
    assert out.attempts == 2
    assert (event.status, event.error_kind, event.http_status) == ("ok", "rate_limited", 200)
    out, event = traced(lm(sim, max_rate_limit_retries=2, default_headers={"X-Sim-Fault": "429;retry_after=0;times=9"}),
                        QUESTION)
    assert isinstance(out, RateLimitedError) and out.attempts == 3
    assert (event.error_kind, event.http_status) == ("rate_limited", 429)


def test_a_rejected_request_is_bad_request_and_not_retried(server):
    name, sim = server
    # max_tokens=0 is invalid everywhere; llama-cpp-python reports it as a 500, still not retried.
    raw = httpx2.post(f"{sim.base_url}/chat/completions", json={"model": "sim-small", "max_tokens": 0,
                                                               "messages": [{"role": "user", "content": "hi"}]})
    assert raw.status_code == PROFILES[name].validation_status
    out, event = traced(lm(sim, extra_body={"max_completion_tokens": 0}), QUESTION)
    assert isinstance(out, BadRequestError) and out.attempts == 1
    assert (event.error_kind, event.http_status) == ("bad_request", PROFILES[name].validation_status)


def test_vllm_errors_are_top_level_and_litellm_codes_are_strings():
    with SimServer(profile="vllm") as sim:
        body = httpx2.post(f"{sim.base_url}/chat/completions", json={
            "model": "sim-small", "messages": [{"role": "user", "content": TOO_LONG}]}).json()
        assert body["object"] == "error" and body["code"] == 400 and "maximum context length" in body["message"]
    with SimServer(profile="litellm") as sim:
        body = httpx2.post(f"{sim.base_url}/chat/completions", json={
            "model": "sim-small", "messages": [{"role": "user", "content": TOO_LONG}]}).json()
        assert body["error"]["code"] == "400" and "ContextWindowExceededError" in body["error"]["message"]


def test_llamacpp_streamed_overflow_is_an_empty_200_stream():
    huge = TOO_LONG + TOO_LONG    # past sim-large's window too: llama.cpp serves any name with its one model
    with SimServer(profile="llamacpp") as sim:
        with httpx2.stream("POST", f"{sim.base_url}/chat/completions", json={
                "model": "any-name", "stream": True, "messages": [{"role": "user", "content": huge}]}) as r:
            assert r.status_code == 200
            assert r.read() == b""
        # ... and with no window configured the client can only call it an empty reply.
        out, event = traced(lm(sim, context_window=None, model="whatever"), huge)
        assert isinstance(out, EmptyReplyError) and event.http_status == 200


def test_ollama_silent_truncation_reports_fewer_prompt_tokens_than_sent():
    with SimServer(profile="ollama") as sim:
        body = httpx2.post(f"{sim.base_url}/chat/completions", json={
            "model": "sim-small", "messages": [{"role": "user", "content": TOO_LONG}]}).json()
        assert body["usage"]["prompt_tokens"] <= SIM_SMALL.context_window
        assert json.dumps(body).count("cached_tokens") == 0


def test_llamacpp_interrupts_a_running_stream_and_the_limiter_backs_off():
    """llama-cpp-python's interrupt_requests: a newer request ends a running stream with [DONE]
    and no finish_reason. Those cuts are recorded as failures (never as answers), retried, and
    shrink the endpoint's limiter until one stream at a time gets through."""
    with SimServer(profile="llamacpp", time_scale=0.2) as sim:
        model = lm(sim, max_retries=12, concurrency_start=8)
        sink = ListSink()
        tracer = Tracer(sink, "run", "q")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outs = list(pool.map(lambda i: tracer.call(model, f"{QUESTION} ({i})", role="sub", depth=1), range(8)))
    assert all("7654321" in o.text for o in outs)
    retried = [e for e in sink.llm_calls if e.attempt > 1]
    assert retried and {e.error_kind for e in retried} <= {"truncated", "empty_reply"}
    assert model.limiter.cuts >= 1 and model.limiter.limit < 8


def test_a_connection_reset_mid_stream_is_a_connection_failure_and_retried(server):
    _, sim = server
    out, event = traced(lm(sim, default_headers={"X-Sim-Fault": "reset"}), QUESTION)
    assert "7654321" in out.text and out.attempts == 2
    assert (event.status, event.error_kind) == ("ok", "connection")
    out, event = traced(lm(sim, max_retries=1, default_headers={"X-Sim-Fault": "reset;times=5"}), QUESTION)
    assert isinstance(out, LMConnectionError) and out.attempts == 2
    assert (event.status, event.error_kind, event.http_status) == ("error", "connection", None)
