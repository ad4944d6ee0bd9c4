"""How a sample is answered: the `Method` protocol and its registry.

A method is prepared once per run, then solves samples (from several threads at once) and is
closed at the end. Another implementation joins with one line, e.g. in its own module:

    register(MyMethod)        # MyMethod.name == "mine"; then `methods=[mine]` in a config

A method never raises for a sample's own failure: it returns a MethodOutcome with the error and
its kind (evals.sample_result.error_kind_of), and the runner decides whether it is transient.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from rlm.events import EventSink
from rlm.usage import Usage

if TYPE_CHECKING:
    from evals.models import ModelPool
    from evals.plan import RunPlan
    from evals.tasks import Sample


@dataclass
class MethodOutcome:
    """What a method returns for one sample; usage is its own total (every call it made)."""

    answer: str
    stop_reason: str
    latency_ms: float
    usage: Usage = field(default_factory=Usage)
    iterations: int = 0
    sub_calls: int = 0
    error: str | None = None
    error_kind: str | None = None


class Method(Protocol):
    """One way to answer a sample; `uses_sub_model` says whether `sub_model` is called at depth >= 1."""

    name: ClassVar[str]
    uses_sub_model: ClassVar[bool]

    def prepare(self, plan: "RunPlan", models: "ModelPool") -> None: ...

    def solve(self, sample: "Sample", *, run_id: str, query_id: str, sink: EventSink | None) -> MethodOutcome: ...

    def close(self) -> None: ...


_REGISTRY: dict[str, type[Method]] = {}


def register(method: type[Method]) -> type[Method]:
    """Add a method class under its `name` (usable as a decorator)."""
    _REGISTRY[method.name] = method
    return method


def get_method(name: str) -> type[Method]:
    _load_builtin()
    return _REGISTRY[name]


def method_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    from evals.methods import baseline, rlm, rlms  # noqa: F401 - registration on import


__all__ = ["Method", "MethodOutcome", "get_method", "method_names", "register"]
