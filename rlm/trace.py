"""Calling a model and recording it: every call becomes an LLMCallEvent, success or not."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from rlm.errors import LMError
from rlm.events import CodeExecEvent, EventSink, LLMCallEvent, Role, utcnow
from rlm.lm import LM, Completion, Message


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Tracer:
    """Carries the ids of one query and the sink its events go to."""

    sink: EventSink | None
    run_id: str
    query_id: str

    def call(self, lm: LM, messages: list[Message] | str, *, role: Role, depth: int,
             iteration: int | None = None, parent_call_id: str | None = None,
             call_id: str | None = None, max_tokens: int | None = None) -> Completion:
        """`lm.complete(...)`, emitting one event whether it succeeds or fails."""
        call_id = call_id or new_id()
        started = utcnow()
        event = LLMCallEvent(time=started, run_id=self.run_id, query_id=self.query_id, call_id=call_id,
                             parent_call_id=parent_call_id, depth=depth, iteration=iteration, role=role,
                             model=lm.name)
        try:
            completion = lm.complete(messages, max_tokens=max_tokens)
        except LMError as exc:
            event.status = "error"
            event.error_type = type(exc).__name__
            event.attempt = exc.attempts
            event.cost_usd = 0.0 if lm.config.price is not None else None  # a refused call bills nothing
            event.latency_ms = (utcnow() - started).total_seconds() * 1000
            self.emit(event)
            raise
        usage = completion.usage
        event.prompt_tokens = usage.prompt_tokens
        event.cached_tokens = usage.cached_tokens
        event.completion_tokens = usage.completion_tokens
        event.reasoning_tokens = usage.reasoning_tokens
        event.cost_usd = usage.cost_usd
        event.latency_ms = completion.latency_ms
        event.ttft_ms = completion.ttft_ms
        event.attempt = completion.attempts
        if completion.from_cache:
            event.status = "cached"
        self.emit(event)
        return completion

    def emit(self, event: LLMCallEvent | CodeExecEvent) -> None:
        if self.sink is not None:
            self.sink.emit(event)
