"""Calling a model and recording it: every call becomes an LLMCallEvent, success or not,
followed by the text of what was sent and what came back (TextEvents, the trajectory)."""
from __future__ import annotations

import json
import uuid
import threading
from dataclasses import dataclass, field as dataclass_field

from rlm.context_refs import MIN_OUTPUT, with_output_references, with_references
from rlm.errors import LMError
from rlm.events import CodeExecEvent, Event, EventSink, LLMCallEvent, Role, TextEvent, TextField, utcnow
from rlm.lm import Completion, Message
from rlm.model_client import ModelClient
from rlm.parsing import truncate_middle

DEFAULT_TEXT_CAP = 1_000_000
_KEPT_OUTPUTS = 64  # recent cell outputs a turn's messages may refer to


def new_id() -> str:
    return uuid.uuid4().hex


def child_call_id(child_key: str, iteration: int) -> str:
    """The call id of a child RLM's turn: `<child_key>-<iteration>`, one key per child run."""
    return f"{child_key}-{iteration}"


def child_key_of(call_id: str) -> str | None:
    """The child run's key in a call id made by `child_call_id`, else None (a plain uuid)."""
    key, sep, iteration = call_id.rpartition("-")
    if not (sep and iteration.isdigit() and len(key) == 32 and key.isalnum()):
        return None
    return key


def safe_text(text: str) -> str:
    """Valid Unicode whatever came in: lone surrogates (undecodable bytes) become U+FFFD.

    Model replies and REPL output are data; a sink that encodes to UTF-8 (JSON, SQL)
    must never fail on them. Valid surrogate pairs are kept.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def messages_json(messages: list[Message]) -> str:
    """The messages of one turn as the JSON list the trajectory stores."""
    return json.dumps(messages, ensure_ascii=False)


@dataclass
class Tracer:
    """Carries the ids of one query, the sink its events go to, and the text cap per item.

    `context` (the sample's, when it is a string): prompts keep long slices of it as references
    (rlm.context_refs), so the context is not stored again with every sub-call; a turn's messages
    refer to the cell outputs stored before them the same way.
    """

    sink: EventSink | None
    run_id: str
    query_id: str
    text_cap: int = DEFAULT_TEXT_CAP
    context: str | None = None
    _outputs: dict[str, str] = dataclass_field(default_factory=dict, init=False, repr=False)  # output -> exec_id
    _lock: threading.Lock = dataclass_field(default_factory=threading.Lock, init=False, repr=False)

    def call(self, lm: ModelClient, messages: list[Message] | str, *, role: Role, depth: int,
             iteration: int | None = None, parent_call_id: str | None = None,
             call_id: str | None = None, max_tokens: int | None = None, exec_id: str | None = None,
             new_messages: list[Message] | None = None) -> Completion:
        """`lm.complete(...)`, emitting one event whether it succeeds or fails, then its texts.

        `new_messages` (a root turn) are the messages this turn adds to the conversation: they
        are kept as field "messages"; otherwise the prompt is kept as field "prompt".
        """
        call_id = call_id or new_id()
        started = utcnow()
        event = LLMCallEvent(time=started, run_id=self.run_id, query_id=self.query_id, call_id=call_id,
                             parent_call_id=parent_call_id, depth=depth, iteration=iteration, role=role,
                             model=lm.name, exec_id=exec_id)
        try:
            completion = lm.complete(messages, max_tokens=max_tokens)
        except LMError as exc:
            event.status = "error"
            event.error_type = type(exc).__name__
            event.error_kind = exc.kind
            event.http_status = exc.status
            event.attempt = exc.attempts
            event.cost_usd = 0.0 if lm.config.price is not None else None  # a refused call bills nothing
            event.latency_ms = (utcnow() - started).total_seconds() * 1000
            self.emit(event)
            self._sent_texts(call_id, messages, new_messages)
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
        event.http_status = None if completion.from_cache else completion.http_status
        event.usage_source = completion.usage_source
        event.error_kind = completion.retried[-1].kind if completion.retried else None
        if completion.from_cache:
            event.status = "cached"
        self.emit(event)
        self._sent_texts(call_id, messages, new_messages)
        self.text(call_id, "reply", completion.text)
        return completion

    def _sent_texts(self, call_id: str, messages: list[Message] | str,
                    new_messages: list[Message] | None) -> None:
        if self.sink is None:
            return
        if new_messages is not None:
            with self._lock:  # cells of concurrent child RLMs may add to it meanwhile
                outputs = dict(self._outputs)
            stored = [{**m, "content": with_output_references(m["content"], outputs)}
                      if isinstance(m.get("content"), str) else m for m in new_messages]
            self.text(call_id, "messages", messages_json(stored))
        else:
            self.text(call_id, "prompt", messages if isinstance(messages, str) else messages_json(messages))

    def text(self, item_id: str, field: TextField, text: str) -> None:
        """Emit one trajectory text, cut to `text_cap` characters (head and tail kept, cut marked)."""
        if self.sink is None:
            return
        text = safe_text(text if isinstance(text, str) else str(text))
        chars = len(text)
        if field == "prompt":
            text = with_references(text, self.context)
        elif field == "output" and len(text) >= MIN_OUTPUT and len(text) <= self.text_cap:
            with self._lock:
                if len(self._outputs) >= _KEPT_OUTPUTS:
                    self._outputs.pop(next(iter(self._outputs)))
                self._outputs[text] = item_id
        truncated = len(text) > self.text_cap
        if truncated:
            text = truncate_middle(text, self.text_cap)
        self.sink.emit(TextEvent(time=utcnow(), run_id=self.run_id, query_id=self.query_id, item_id=item_id,
                                 field=field, text=text, chars=chars, truncated=truncated))

    def emit(self, event: Event | CodeExecEvent) -> None:
        if self.sink is not None:
            self.sink.emit(event)
