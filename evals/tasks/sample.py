"""The record every task produces, and the one error bad task input raises."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class TaskError(ValueError):
    """Bad task name, params, size or dataset; the message is one line saying what to fix."""


@dataclass
class Sample:
    """One question over one context, with its references and how to score it.

    `sample_id` is stable across runs (task, variant, size, seed, index), so methods and
    repeated runs can be joined on it.
    """

    sample_id: str
    task: str
    family: str
    context: str | list | dict
    query: str
    expected: list[str]
    metric: str
    size_tokens: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sample":
        return cls(**data)
