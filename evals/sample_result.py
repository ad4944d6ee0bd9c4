"""`SampleResult`: how one (method, sample) ended, the one shape every reader uses.

The console, the run record, the DB's `samples` row, reports, sweep tables and the CI gate all
read this record. A failure is either *transient* (it may go away: a connection, timeout, rate
limit or 5xx after the client's retries; an interrupted sample) and is rerun by the next resume,
or *final* (context exceeded, a budget stop, a wrong or empty answer) and is kept.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from rlm.errors import TRANSIENT_KINDS, ContextLengthExceededError, LMError, SandboxError
from rlm.events import utcnow


@dataclass
class SampleResult:
    """One finished (method, sample). Usage totals are the method's own (the RLM counts its whole tree)."""

    run_id: str
    query_id: str
    sample_id: str
    sample_index: int
    task: str
    family: str
    size_tokens: int
    method: str
    model: str
    sub_model: str | None
    depth: int | None
    score: float
    correct: bool
    answer: str
    expected: list[str]
    stop_reason: str
    error: str | None = None
    error_kind: str | None = None     # an rlm.errors.ErrorKind, or sandbox | internal
    transient: bool = False           # rerun on resume (retry_errors=true)
    iterations: int = 0
    latency_ms: float = 0.0
    prompt_tokens: int = 0            # includes cached_tokens (OpenAI convention)
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = 0.0      # None = some call had no price
    cost_estimated: bool = False      # some call's tokens (so its cost) were counted locally: no usage in the reply
    calls: int = 0
    sub_calls: int = 0
    config_hash: str = ""
    time: datetime = field(default_factory=utcnow)
    metadata: dict[str, Any] = field(default_factory=dict)

    kind = "sample_result"

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.sample_id)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SampleResult":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("time"), str):
            values["time"] = datetime.fromisoformat(values["time"])
        return cls(**values)


def error_kind_of(exc: BaseException) -> str:
    """The kind of a sample-ending exception: the client's own `kind` when it has one, else by class/status."""
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str):
        return kind
    if isinstance(exc, ContextLengthExceededError):
        return "context_exceeded"
    if isinstance(exc, SandboxError):
        return "sandbox"
    if isinstance(exc, LMError):
        return _kind_of_lm_error(exc)
    return "internal"


def _kind_of_lm_error(exc: LMError) -> str:
    import openai

    cause = exc.__cause__
    if isinstance(cause, openai.APITimeoutError):
        return "timeout"
    if isinstance(cause, openai.APIConnectionError):
        return "connection"
    status = exc.status if exc.status is not None else getattr(cause, "status_code", None)
    if status == 429:
        return "rate_limited"
    if status is not None and status >= 500:
        return "server_error"
    if status in (401, 403):
        return "auth"
    if status is not None:
        return "bad_request"
    return "connection"  # no HTTP status at all: the server was never reached


def is_transient(error_kind: str | None) -> bool:
    return error_kind in TRANSIENT_KINDS
