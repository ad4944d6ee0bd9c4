"""Turning one proxied request into the events the project's own client emits.

One LLMCallEvent per request (retries by the client are separate requests, so separate
rows), optionally TextEvents for the prompt and the reply. Requests in flight are
counted per query so a caller can wait until every call of a sample is recorded.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from rlm.errors import ErrorKind
from rlm.events import EventSink, LLMCallEvent, TextEvent, utcnow
from rlm.parsing import truncate_middle
from rlm.proxy import _tags  # noqa: E402 (a sibling module)
from rlm.trace import new_id
from rlm.usage import Price, Usage


@dataclass
class CallRecord:
    """A request being served; `event` is filled in as the reply passes."""

    event: LLMCallEvent
    started: float
    messages: Any = None
    reply: str | None = None
    http_status: int | None = None
    error_message: str | None = None
    published: bool = field(default=False, repr=False)   # the call event has left; it never changes after
    finished: bool = field(default=False, repr=False)

    @property
    def call_id(self) -> str:
        return self.event.call_id


class CallRecorder:
    """Builds, prices and emits call events; counts requests in flight per query."""

    def __init__(self, sink: EventSink | None, *, prices: Mapping[str, Price] | None = None,
                 run_id: str = "proxy", query_id: str = "proxy", text_limit: int | None = None) -> None:
        self.sink = sink
        self.prices = dict(prices or {})
        self.run_id = run_id
        self.query_id = query_id
        self.text_limit = text_limit
        self.requests = 0
        self._in_flight: dict[str, int] = {}
        self._idle = threading.Condition()

    def begin(self, headers: Mapping[str, str] | Any, body: Mapping[str, Any] | None) -> CallRecord:
        role = _tags.resolve_role(headers.get(_tags.ROLE_HEADER), body)
        model = body.get("model") if isinstance(body, Mapping) else None
        event = LLMCallEvent(time=utcnow(), run_id=headers.get(_tags.RUN_HEADER) or self.run_id,
                             query_id=headers.get(_tags.QUERY_HEADER) or self.query_id, call_id=new_id(),
                             parent_call_id=None, depth=_tags.resolve_depth(headers.get(_tags.DEPTH_HEADER), role),
                             iteration=None, role=role, model=str(model or "unknown"))
        with self._idle:
            self.requests += 1
            self._in_flight[event.query_id] = self._in_flight.get(event.query_id, 0) + 1
        messages = body.get("messages") if isinstance(body, Mapping) and self.text_limit else None
        return CallRecord(event=event, started=time.perf_counter(), messages=messages)

    def succeed(self, record: CallRecord, usage: Usage | None, *, ttft_ms: float | None = None,
                reply: str | None = None) -> None:
        if record.published:  # an event is never changed after it left
            return
        event = record.event
        event.latency_ms = (time.perf_counter() - record.started) * 1000
        event.ttft_ms = ttft_ms
        if usage is not None:
            event.prompt_tokens, event.cached_tokens = usage.prompt_tokens, usage.cached_tokens
            event.completion_tokens, event.reasoning_tokens = usage.completion_tokens, usage.reasoning_tokens
        price = self.prices.get(event.model)
        event.cost_usd = None if price is None or usage is None else price.cost(
            usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens)
        record.reply = reply

    def fail(self, record: CallRecord, kind: ErrorKind, *, http_status: int | None, message: str) -> None:
        if record.published:
            return
        event = record.event
        event.latency_ms = (time.perf_counter() - record.started) * 1000
        event.status = "error"
        event.error_type = kind
        event.cost_usd = 0.0 if event.model in self.prices else None  # a refused call bills nothing
        record.http_status = http_status
        record.error_message = message

    def publish(self, record: CallRecord) -> None:
        """Emit the call event (once); the server does this before the reply's last bytes go out."""
        if record.published:
            return
        record.published = True
        if self.sink is not None:
            self.sink.emit(record.event)

    def end(self, record: CallRecord) -> None:
        """Emit the call event if not yet done, then its texts, and count the request as done."""
        if record.finished:
            return
        record.finished = True
        try:
            self.publish(record)
            self._emit_texts(record)
        finally:
            with self._idle:
                query_id = record.event.query_id
                self._in_flight[query_id] -= 1
                if not self._in_flight[query_id]:
                    del self._in_flight[query_id]
                self._idle.notify_all()

    def wait_idle(self, query_id: str | None = None, timeout: float = 30.0) -> bool:
        """Block until no request (of `query_id`, or at all) is in flight; False on timeout."""
        def idle() -> bool:
            return not self._in_flight if query_id is None else query_id not in self._in_flight
        with self._idle:
            return self._idle.wait_for(idle, timeout)

    def _emit_texts(self, record: CallRecord) -> None:
        """Prompt, reply and error texts: after the reply has gone out (dumping a long prompt takes time)."""
        sink = self.sink
        if sink is None:
            return
        event = record.event
        if record.http_status is not None or record.error_message:
            status = f"HTTP {record.http_status}: " if record.http_status else ""
            self._text(sink, event, "error", status + (record.error_message or ""))
        if self.text_limit:
            if record.messages is not None:
                self._text(sink, event, "messages", json.dumps(record.messages, ensure_ascii=False))
            if record.reply is not None:
                self._text(sink, event, "reply", record.reply)

    def _text(self, sink: EventSink, event: LLMCallEvent, field_name: str, text: str) -> None:
        cut = truncate_middle(text, self.text_limit or 2000)  # error messages are kept even without text_limit
        sink.emit(TextEvent(time=event.time, run_id=event.run_id, query_id=event.query_id, item_id=event.call_id,
                            field=field_name, text=cut, chars=len(text), truncated=cut != text))  # type: ignore[arg-type]
