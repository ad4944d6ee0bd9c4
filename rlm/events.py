"""Events emitted by every model call and every code execution, and the sink protocol.

These records cross process boundaries and land in SQL (rlm.telemetry), so they are
plain dataclasses of primitive fields. Times are timezone-aware UTC datetimes.
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["root", "sub", "baseline"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class LLMCallEvent:
    """One model call (after its retries). `time` is when the call started."""

    time: datetime
    run_id: str
    query_id: str
    call_id: str
    parent_call_id: str | None
    depth: int
    iteration: int | None
    role: Role
    model: str
    prompt_tokens: int = 0          # includes cached_tokens
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    cost_usd: float | None = None
    status: Literal["ok", "error", "cached"] = "ok"
    error_type: str | None = None
    attempt: int = 1                # attempts made, 1 = no retry
    exec_id: str | None = None      # the REPL cell whose code made this call (sub-calls, child RLM roots)
    error_kind: str | None = None   # rlm.errors.ErrorKind of the failure; on an ok row, of the last retried attempt
    http_status: int | None = None  # of the last attempt; 200 for an unusable reply, None when none came
    usage_source: str | None = None  # "reported" by the server or "estimated" locally (then cost is an estimate)

    kind = "llm_call"


@dataclass
class CodeExecEvent:
    """One REPL cell. `parent_call_id` is the root call whose reply held the code."""

    time: datetime
    run_id: str
    query_id: str
    exec_id: str
    parent_call_id: str | None
    depth: int
    iteration: int
    cell_index: int
    duration_ms: float
    code_chars: int
    stdout_chars: int
    stderr_chars: int
    success: bool
    error_type: str | None = None
    sub_calls: int = 0

    kind = "code_execution"


TextField = Literal["messages", "reply", "prompt", "code", "output", "stderr", "error", "answer"]


@dataclass
class TextEvent:
    """The text of one trajectory item, kept apart from the numbers (its own table).

    `item_id` is the `call_id` of an LLMCallEvent (fields messages / prompt / reply) or the
    `exec_id` of a CodeExecEvent (fields code / output / stderr / error); `answer` is keyed by
    the query_id. `chars` is the length before any cut; `truncated` says a cut was made.
    """

    time: datetime
    run_id: str
    query_id: str
    item_id: str
    field: TextField
    text: str
    chars: int
    truncated: bool = False

    kind = "text"


Event = LLMCallEvent | CodeExecEvent | TextEvent


@runtime_checkable
class EventSink(Protocol):
    """Where events go. `emit` must be cheap and thread-safe; `close` flushes."""

    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


def event_to_dict(event: Event) -> dict[str, Any]:
    data = asdict(event)
    data["kind"] = event.kind
    data["time"] = event.time.isoformat()
    return data


_EVENT_CLASSES: dict[str, type[LLMCallEvent] | type[CodeExecEvent] | type[TextEvent]] = {
    "llm_call": LLMCallEvent, "code_execution": CodeExecEvent, "text": TextEvent}


def event_from_dict(data: dict[str, Any]) -> Event:
    data = dict(data)
    kind = data.pop("kind")
    data["time"] = datetime.fromisoformat(data["time"])
    event: Event = _EVENT_CLASSES[kind](**data)
    return event


class ListSink:
    """Keeps events in memory (tests, and the runner's own per-sample totals)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def close(self) -> None:
        pass

    @property
    def llm_calls(self) -> list[LLMCallEvent]:
        return [e for e in self.events if isinstance(e, LLMCallEvent)]

    @property
    def code_executions(self) -> list[CodeExecEvent]:
        return [e for e in self.events if isinstance(e, CodeExecEvent)]


class JsonlSink:
    """Appends one JSON object per event to a file, for debugging."""

    def __init__(self, path: str | Path) -> None:
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        line = json.dumps(event_to_dict(event))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class FanoutSink:
    """Sends every event to several sinks."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.emit(event)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
