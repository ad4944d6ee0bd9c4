"""The proxy changes nothing the client receives: streamed and whole replies, errors, concurrency."""
from __future__ import annotations

import json
import threading
import time

from rlm.events import LLMCallEvent, TextEvent
from rlm.proxy import RecordingProxy, tag_headers

from tests.proxy.raw_http import ScriptedUpstream, raw_request

NEEDLE_PROMPT = "line one\nThe magic number is 4821937\nline three\n\nI'm looking for a magic number. What is it?"


def _chat(stream: bool, include_usage: bool | None = None, content: str = NEEDLE_PROMPT) -> dict:
    body: dict = {"model": "sim-large", "messages": [{"role": "user", "content": content}], "stream": stream}
    if include_usage is not None:
        body["stream_options"] = {"include_usage": include_usage}
    return body


def _last_usage(stream_body: bytes) -> dict:
    chunks = [json.loads(line[6:]) for line in stream_body.split(b"\n\n") if line.startswith(b"data: {")]
    return [c for c in chunks if c.get("usage")][-1]["usage"]


def _without_ids(stream_body: bytes) -> list:
    events = []
    for event in stream_body.split(b"\n\n"):
        if event.startswith(b"data: {"):
            chunk = json.loads(event[6:])
            chunk.pop("id"), chunk.pop("created")
            events.append(chunk)
        else:
            events.append(event)
    return events


def test_streamed_reply_reaches_the_client_byte_for_byte(proxy, twin_sim, sink):
    status, headers, via_proxy = raw_request(proxy.port, _chat(stream=True, include_usage=True))
    direct_status, _, direct = raw_request(twin_sim.port, _chat(stream=True, include_usage=True))
    assert (status, direct_status) == (200, 200)
    assert headers["content-type"].startswith("text/event-stream")
    assert via_proxy == direct
    assert b"4821937" in via_proxy
    [event] = [e for e in sink.events if isinstance(e, LLMCallEvent)]
    usage = _last_usage(direct)
    assert (event.prompt_tokens, event.completion_tokens, event.cached_tokens) == (
        usage["prompt_tokens"], usage["completion_tokens"], usage["prompt_tokens_details"]["cached_tokens"])
    assert event.status == "ok" and event.ttft_ms is not None and 0 < event.ttft_ms <= event.latency_ms
    assert headers["x-rlm-call-id"] == event.call_id


def test_usage_asked_by_the_proxy_is_recorded_but_not_passed_on(proxy, twin_sim, sink):
    """The client did not ask for usage: it gets the stream it would get directly, the event still has usage.

    The upstream saw a different request (with include_usage), and the simulator derives reply ids
    from the request's bytes, so ids are left out of the comparison; everything else is equal."""
    _, _, via_proxy = raw_request(proxy.port, _chat(stream=True))
    _, _, direct = raw_request(twin_sim.port, _chat(stream=True))
    assert _without_ids(via_proxy) == _without_ids(direct)
    assert b'"usage"' not in via_proxy and via_proxy.endswith(b"data: [DONE]\n\n")
    [event] = [e for e in sink.events if isinstance(e, LLMCallEvent)]
    assert event.prompt_tokens > 0 and event.completion_tokens > 0


def test_whole_reply_body_and_usage_with_cached_tokens(proxy, twin_sim, sink, prices):
    long_prompt = "filler words here\n" * 400 + "What is the magic number?"
    for _ in range(2):  # the second request hits the upstream's prefix cache
        status, _, via_proxy = raw_request(proxy.port, _chat(stream=False, content=long_prompt))
        _, _, direct = raw_request(twin_sim.port, _chat(stream=False, content=long_prompt))
        assert status == 200 and via_proxy == direct
    usage = json.loads(via_proxy)["usage"]
    second = [e for e in sink.events if isinstance(e, LLMCallEvent)][-1]
    assert usage["prompt_tokens_details"]["cached_tokens"] > 0
    assert second.cached_tokens == usage["prompt_tokens_details"]["cached_tokens"]
    assert second.prompt_tokens == usage["prompt_tokens"] and second.ttft_ms is None
    assert second.cost_usd == prices["sim-large"].cost(usage["prompt_tokens"], second.cached_tokens,
                                                       usage["completion_tokens"])


def test_upstream_errors_keep_status_headers_and_body(proxy, twin_sim, sink):
    for fault, kind in (("429", "rate_limited"), ("500", "server_error"), ("503", "server_error")):
        status, headers, body = raw_request(proxy.port, _chat(stream=True), {"X-Sim-Fault": fault})
        d_status, d_headers, d_body = raw_request(twin_sim.port, _chat(stream=True), {"X-Sim-Fault": fault})
        assert (status, body) == (d_status, d_body) and status == int(fault)
        assert headers.get("retry-after") == d_headers.get("retry-after")
        event = [e for e in sink.events if isinstance(e, LLMCallEvent)][-1]
        assert (event.status, event.error_type) == ("error", kind)
    assert proxy.wait_idle()  # texts follow the reply; the call rows were there before it ended
    errors = [e for e in sink.events if isinstance(e, TextEvent) and e.field == "error"]
    assert [e.text.split(":")[0] for e in errors] == ["HTTP 429", "HTTP 500", "HTTP 503"]


def test_context_window_overflow_is_a_400_with_its_code(proxy, sink):
    huge = "word " * 300_000
    status, _, body = raw_request(proxy.port, _chat(stream=False, content=huge))
    assert status == 400 and json.loads(body)["error"]["code"] == "context_length_exceeded"
    [event] = [e for e in sink.events if isinstance(e, LLMCallEvent)]
    assert event.error_type == "context_exceeded" and event.cost_usd == 0.0


def test_unreachable_upstream_is_a_502_recorded_as_connection(sink):
    with ScriptedUpstream([b"{}"]) as dead:
        url = dead.base_url
    with RecordingProxy(url, sink) as proxy:
        status, _, body = raw_request(proxy.port, _chat(stream=False))
    assert status == 502 and json.loads(body)["error"]["code"] == "upstream_unreachable"
    [event] = [e for e in sink.events if isinstance(e, LLMCallEvent)]
    assert (event.status, event.error_type) == ("error", "connection")


def test_events_split_across_writes_pass_unchanged(sink):
    """An upstream that splits events mid-line and uses CRLF: the client still gets its exact bytes."""
    stream = (b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\r\n\r\n'
              b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
              b'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2,'
              b'"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":1}}}\n\n'
              b"data: [DONE]\n\n")
    pieces = [stream[i:i + 7] for i in range(0, len(stream), 7)]
    with ScriptedUpstream(pieces) as upstream, RecordingProxy(upstream.base_url, sink, text_limit=100) as proxy:
        status, _, body = raw_request(proxy.port, _chat(stream=True, include_usage=True))
        assert proxy.wait_idle()
    assert status == 200 and body == stream
    [event] = [e for e in sink.events if isinstance(e, LLMCallEvent)]
    assert (event.prompt_tokens, event.cached_tokens, event.completion_tokens, event.reasoning_tokens) == (11, 8, 2, 1)
    [reply] = [e for e in sink.events if isinstance(e, TextEvent) and e.field == "reply"]
    assert reply.text == "Hello"


def test_keys_and_tags_stay_on_their_side(sink, monkeypatch, caplog):
    monkeypatch.setenv("RLM_TEST_UPSTREAM_KEY", "sk-upstream-secret")
    caplog.set_level("DEBUG")
    with ScriptedUpstream([b'{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}'],
                          content_type="application/json", chunked=False) as upstream:
        with RecordingProxy(upstream.base_url, sink, api_key_env="RLM_TEST_UPSTREAM_KEY") as proxy:
            headers = {"Authorization": "Bearer sk-client-anything",
                       **tag_headers(run_id="r9", query_id="q9", role="sub", depth=2)}
            status, _, _ = raw_request(proxy.port, _chat(stream=False), headers)
            assert repr(proxy.upstream).count("secret") == 0
    assert status == 200
    [(seen, _)] = upstream.requests
    assert seen["authorization"] == "Bearer sk-upstream-secret"
    assert not [h for h in seen if h.startswith("x-rlm-")]
    [event] = sink.events
    assert (event.run_id, event.query_id, event.role, event.depth) == ("r9", "q9", "sub", 2)
    assert "secret" not in caplog.text and "secret" not in repr(sink.events)


def test_missing_upstream_key_is_a_clear_error(monkeypatch):
    import pytest

    from rlm.errors import MissingAPIKeyError

    monkeypatch.delenv("RLM_TEST_UNSET_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="RLM_TEST_UNSET_KEY"):
        RecordingProxy("http://127.0.0.1:9/v1", api_key_env="RLM_TEST_UNSET_KEY")


def test_role_from_header_or_from_the_request_shape(proxy, sink):
    system = {"role": "system", "content": "You have a REPL."}
    user = {"role": "user", "content": NEEDLE_PROMPT}
    raw_request(proxy.port, {"model": "sim-large", "messages": [system, user]})
    raw_request(proxy.port, {"model": "sim-small", "messages": [user]})
    raw_request(proxy.port, {"model": "sim-large", "messages": [user]}, tag_headers(role="baseline"))
    roles = [(e.role, e.depth, e.model) for e in sink.events]
    assert roles == [("root", 0, "sim-large"), ("sub", 1, "sim-small"), ("baseline", 0, "sim-large")]


def test_concurrent_streams_pass_through_at_once(sink):
    from rlm.sim import SimServer

    with SimServer(seed=0, time_scale=0.25) as slow, RecordingProxy(slow.base_url, sink) as proxy:
        results: dict[int, bytes] = {}

        def call(i: int) -> None:
            body = _chat(stream=True, content=f"request {i}\n\n{NEEDLE_PROMPT}")
            results[i] = raw_request(proxy.port, body, tag_headers(query_id=f"q{i}"))[2]

        single_started = time.perf_counter()
        call(99)
        single = time.perf_counter() - single_started
        threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        together = time.perf_counter() - started
    assert all(b"[DONE]" in body for body in results.values())
    assert together < 4.5 * single  # six overlapping streams, not six in a row (that takes 6x; load spikes ~2x)
    assert sorted(e.query_id for e in sink.events) == sorted(["q99"] + [f"q{i}" for i in range(6)])


def test_the_openai_client_streams_through_and_other_routes_pass_unrecorded(proxy, sink):
    import openai

    client = openai.OpenAI(base_url=proxy.base_url, api_key="anything", max_retries=0,
                           default_headers=tag_headers(query_id="q-sdk", role="root"))
    assert sorted(m.id for m in client.models.list()) == ["sim-large", "sim-small"]
    chunks = list(client.chat.completions.create(model="sim-large", stream=True,
                                                 messages=[{"role": "user", "content": NEEDLE_PROMPT}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "4821937" and all(c.usage is None for c in chunks)
    [event] = sink.events  # the models listing is forwarded, not recorded
    assert (event.query_id, event.role, event.completion_tokens) == ("q-sdk", "root", 3)
    assert event.ttft_ms is not None


def test_stream_usage_can_be_left_alone_for_servers_that_reject_it(sim, twin_sim, sink):
    with RecordingProxy(sim.base_url, sink, stream_usage=False) as proxy:
        _, _, via_proxy = raw_request(proxy.port, _chat(stream=True))
    _, _, direct = raw_request(twin_sim.port, _chat(stream=True))
    assert via_proxy == direct  # the very request the client sent, so even the ids agree
    [event] = sink.events
    assert event.prompt_tokens == 0 and event.status == "ok" and event.ttft_ms is not None
