"""What a task generator is: defaults, validation, a minimum size and one seeded draw."""
from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evals.tasks.sample import TaskError


@dataclass
class Draft:
    """A generated sample before the registry stamps ids and sizes on it."""

    context: str | list | dict
    query: str
    expected: list[str]
    actual_tokens: int
    metadata: dict[str, Any] = field(default_factory=dict)
    # The benchmark's own prompt pieces and budgets; see Sample.
    prompt_before: str | None = None
    prompt_after: str | None = None
    max_output_tokens: int | None = None
    prompt_budget: int | None = None
    metric_args: dict[str, Any] = field(default_factory=dict)


def stable_hash(*parts: Any) -> str:
    """sha256 of a canonical JSON rendering: stable across processes, unlike hash()."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def plain(value: Any) -> Any:
    """Nested mappings and sequences as dicts and lists (Hydra passes DictConfig/ListConfig),
    so validation, hashing and caching see ordinary values."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    return value


class TaskGenerator(ABC):
    """One task family. Subclasses set the class attributes and implement `generate`.

    `version` is part of every cache key: bump it whenever the output for a given
    (params, size, seed, index) changes, so stale cached samples are never reused.
    """

    name: ClassVar[str]
    family: ClassVar[str]
    metric: ClassVar[str]
    version: ClassVar[int] = 1
    defaults: ClassVar[dict[str, Any]] = {}

    def resolve(self, params: Mapping | None) -> dict[str, Any]:
        """Defaults merged with `params`; unknown keys and bad values raise TaskError."""
        params = plain(params or {})
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise TaskError(f"task {self.name!r}: unknown param(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(self.defaults)) or 'none'}")
        resolved = {**self.defaults, **params}
        self.validate(resolved)
        return resolved

    def validate(self, params: dict[str, Any]) -> None:
        """Raise TaskError for a bad value (the base accepts everything)."""

    def scoring(self, params: dict[str, Any]) -> tuple[str, str]:
        """(family, metric) of the samples; fixed per task except for datasets."""
        return self.family, self.metric

    def dataset_name(self, params: dict[str, Any]) -> str:
        """The dataset's name in tables (the task's own name unless a dataset says otherwise)."""
        return self.name

    def variant(self, params: dict[str, Any]) -> str:
        """Short label of the params for sample ids and reports."""
        return str(params.get("variant", "default"))

    @abstractmethod
    def min_size(self, params: dict[str, Any]) -> int:
        """Smallest size in tokens this task can be fitted to with these params."""

    def generate_all(self, size_tokens: int, num_samples: int, seed: int,
                     params: dict[str, Any]) -> list[Draft] | None:
        """Drafts for tasks that read all samples at once (datasets); None means generated
        tasks, built one seeded, cached sample at a time."""
        return None

    @abstractmethod
    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        """Sample `index` of at most `size_tokens` tokens, drawn only from `rng` (the index
        only spreads a list of settings over samples)."""


def choice_param(task: str, params: dict, key: str, options: tuple) -> None:
    if params[key] not in options:
        raise TaskError(f"task {task!r}: {key}={params[key]!r} is not one of {', '.join(map(str, options))}")


def int_param(task: str, params: dict, key: str, minimum: int = 1) -> None:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TaskError(f"task {task!r}: {key}={value!r} must be an integer >= {minimum}")


def depth_param(task: str, params: dict, key: str = "depth_percent") -> None:
    """None (random), one percent, or a list of percents, each in [0, 100]."""
    value = params[key]
    values = value if isinstance(value, list | tuple) else [value] if value is not None else []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
            raise TaskError(f"task {task!r}: {key}={value!r} must be None, a percent in [0, 100] or a list of them")
