"""The HTTP API through the real openai client: usage, cache, window, streaming, errors."""
from __future__ import annotations

import json

import openai
import pytest

from rlm.sim import SimServer
from rlm.sim.tokenizer import render_message
from rlm import tokens
from tests.sim.http_raw import raw_post

LONG = "\n".join(f"line {i} of a shared prefix with some words" for i in range(600))


def ask(client, content, model="sim-small", **kw):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}], **kw)


def test_usage_fields_on_every_reply(client):
    r = ask(client, "hello there")
    u = r.usage
    assert u.prompt_tokens == tokens.count_tokens(render_message("user", "hello there"))
    assert u.completion_tokens == tokens.count_tokens(r.choices[0].message.content)
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details.cached_tokens == 0
    assert u.completion_tokens_details.reasoning_tokens == 0


def test_prefix_cache(client):
    first = ask(client, LONG + "\nfirst question")
    second = ask(client, LONG + "\nsecond question")
    assert first.usage.prompt_tokens >= 1024
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 1024 and cached % 128 == 0 and cached <= second.usage.prompt_tokens
    short = ask(client, "tiny")
    assert short.usage.prompt_tokens_details.cached_tokens == 0


def test_context_length_exceeded(client):
    text = "word " * 70_000
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, text)
    assert info.value.status_code == 400
    assert info.value.code == "context_length_exceeded"
    assert info.value.type == "invalid_request_error"
    assert "maximum context length is 65536 tokens" in info.value.message
    assert ask(client, "still serving").choices  # keeps serving


def test_streaming_with_usage(client):
    content = "I'm looking for a magic number. What is it?\n\nText:\nThe magic number is 7654321\n" + "filler words\n" * 50
    chunks = list(ask(client, content, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "7654321"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_max_tokens_truncates(client):
    reply = ask(client, "I'm looking for a magic number. What is it?\nThe magic number is 1234567123456712345671234567",
                max_tokens=2)
    assert reply.usage.completion_tokens == 2
    assert reply.choices[0].finish_reason == "length"


def test_same_seed_same_bytes():
    bodies = []
    for _ in range(2):
        with SimServer(seed=7) as sim:
            seen = []
            for content in (LONG + "\nq1", LONG + "\nq2", "The magic number is 1\nI'm looking for a magic number. What is it?"):
                for stream in (False, True):
                    body = {"model": "sim-large", "messages": [{"role": "user", "content": content}], "stream": stream}
                    seen.append(raw_post(sim.port, body)[2])
            bodies.append(seen)
    assert bodies[0] == bodies[1]
    with SimServer(seed=8) as sim:
        other = raw_post(sim.port, {"model": "sim-large", "messages": [{"role": "user", "content": LONG + "\nq1"}]})[2]
    assert other != bodies[0][0]


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, None),
    ({"model": "sim-small"}, 400, "missing_required_parameter"),
    ({"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]}, 404, "model_not_found"),
    ({"model": "sim-small", "messages": [{"role": "user", "content": "x"}], "max_tokens": -5}, 400,
     "integer_below_min_value"),
    ({"model": "sim-small", "messages": [{"role": "user", "content": "x"}], "max_tokens": "many"}, 400, "invalid_type"),
    ({"model": "sim-small", "messages": []}, 400, "invalid_value"),
])
def test_bad_input_gets_api_error_and_server_keeps_serving(sim, client, body, status, code):
    got_status, _, raw = raw_post(sim.port, body)
    assert got_status == status
    error = json.loads(raw)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["message"]
    assert ask(client, "ok?").choices[0].message.content


def test_unknown_model_via_client(client):
    with pytest.raises(openai.NotFoundError) as info:
        ask(client, "x", model="gpt-nope")
    assert info.value.code == "model_not_found"


def test_models_list(client):
    assert {m.id for m in client.models.list()} == {"sim-large", "sim-small"}


def test_latency_model_scales_ttft():
    import time

    with SimServer(time_scale=0.5) as sim:  # sim-small: 200 ms base TTFT -> 100 ms
        client = sim.openai_client(max_retries=0)
        start = time.perf_counter()
        chunks = list(ask(client, "hello", stream=True))
        assert 0.1 <= time.perf_counter() - start < 1.0
        assert chunks
