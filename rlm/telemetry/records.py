"""Typed records of runs and samples, the two plain tables beside the event hypertables."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from rlm.events import utcnow


@dataclass
class RunRecord:
    """One run (one configuration of the harness); `label` is the user's, `simulated` flags simulator runs."""

    run_id: str
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = "running"
    config: dict[str, Any] = field(default_factory=dict)
    git_sha: str | None = None
    sweep_id: str | None = None
    label: str | None = None
    simulated: bool | None = None

    kind = "run"


@dataclass
class RunFinish:
    """The end of a run: sets its status (finished | interrupted | failed), finish time and error."""

    run_id: str
    status: str
    finished_at: datetime = field(default_factory=utcnow)
    error: str | None = None

    kind = "run_finish"


@dataclass
class SampleRecord:
    """One finished (method, sample); `expected` is stored as jsonb."""

    run_id: str
    query_id: str
    time: datetime = field(default_factory=utcnow)
    task: str | None = None
    family: str | None = None
    size_tokens: int | None = None
    method: str | None = None
    model: str | None = None
    sub_model: str | None = None
    depth: int | None = None
    sample_index: int | None = None
    score: float | None = None
    correct: bool | None = None
    answer: str | None = None
    expected: Any = None
    error: str | None = None
    stop_reason: str | None = None
    iterations: int | None = None
    latency_ms: float | None = None
    config_hash: str | None = None
    sample_id: str | None = None
    error_kind: str | None = None
    transient: bool | None = None
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    calls: int | None = None
    sub_calls: int | None = None

    kind = "sample"


@dataclass
class PriceRecord:
    """USD per 1M tokens of one model (rlm.usage.Price)."""

    model: str
    input: float
    cached_input: float
    output: float

    kind = "price"


Record = RunRecord | RunFinish | SampleRecord | PriceRecord
_DATETIMES = ("time", "started_at", "finished_at")
RECORD_TYPES = {cls.kind: cls for cls in (RunRecord, RunFinish, SampleRecord, PriceRecord)}


def pg_safe(value: Any) -> Any:
    """`value` storable in Postgres text/jsonb: NUL becomes the two characters `\\x00`, lone
    surrogates their `\\udcff` escape; everything else is untouched (nested lists and dicts too)."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\\x00")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [pg_safe(v) for v in value]
    if isinstance(value, dict):
        return {pg_safe(k): pg_safe(v) for k, v in value.items()}
    return value


def record_to_dict(record: Record) -> dict:
    data = asdict(record)
    data["kind"] = record.kind
    for key in _DATETIMES:
        if isinstance(data.get(key), datetime):
            data[key] = data[key].isoformat()
    return data


def record_from_dict(data: dict) -> Record:
    data = dict(data)
    cls = RECORD_TYPES[data.pop("kind")]
    for key in _DATETIMES:
        if isinstance(data.get(key), str):
            data[key] = datetime.fromisoformat(data[key])
    return cls(**data)
