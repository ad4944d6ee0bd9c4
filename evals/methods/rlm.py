"""`rlm`: RLM_REPL at the configured depth, the root on `model` and sub-calls on `sub_model`."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rlm.errors import LMError, RLMError
from rlm.lm import LM
from rlm.events import EventSink, ListSink, FanoutSink
from rlm.repl import SandboxLimits
from rlm.rlm_repl import RLM_REPL

from evals.methods import MethodOutcome, register
from evals.sample_result import error_kind_of

if TYPE_CHECKING:
    from evals.models import ModelPool
    from evals.plan import RunPlan
    from evals.tasks import Sample


class _RootCalls:
    """The root model, remembering the exception that ended a completion (RLMResult keeps only its text)."""

    def __init__(self, lm: Any) -> None:
        self._lm = lm
        self.last_error: LMError | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lm, name)

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._lm.complete(*args, **kwargs)
        except LMError as exc:
            self.last_error = exc
            raise


@register
class RLMMethod:
    name: ClassVar[str] = "rlm"
    uses_sub_model: ClassVar[bool] = True

    def prepare(self, plan: "RunPlan", models: "ModelPool") -> None:
        self.plan = plan
        self.models = models

    def solve(self, sample: "Sample", *, run_id: str, query_id: str, sink: EventSink | None) -> MethodOutcome:
        plan, settings = self.plan, self.plan.rlm
        started = time.perf_counter()
        limits = SandboxLimits(cell_timeout_s=settings.cell_timeout_s, memory_mb=settings.memory_mb,
                               max_output_chars=settings.max_output_chars)
        console = None
        if plan.console:
            from rlm.console import RLMConsole
            console = RLMConsole()
        root = _RootCalls(self.models.lm(plan.model.name))
        sub_model = self.models.lm(plan.sub_model.name) if plan.depth >= 1 else None
        calls = ListSink()
        rlm = RLM_REPL(cast(LM, root), sub_model=cast(LM, sub_model), depth=plan.depth, max_iterations=settings.max_iterations,
                       budget=settings.budget, limits=limits, max_output_chars=settings.max_output_chars,
                       max_concurrent_subcalls=settings.max_concurrent_subcalls, sink=FanoutSink(calls, sink),  # type: ignore[arg-type]  # it drops a None sink
                       console=console, run_id=run_id)
        try:
            result = rlm.completion(sample.context, sample.query, query_id=query_id)
        except RLMError as exc:
            return MethodOutcome("", "error", _ms(started), error=f"{type(exc).__name__}: {exc}",
                                 error_kind=error_kind_of(exc))
        kind = None
        if result.stop_reason == "error":
            kind = error_kind_of(root.last_error) if root.last_error is not None else "internal"
        return MethodOutcome(result.answer, result.stop_reason, _ms(started), usage=result.usage.total,
                             iterations=result.iterations, error=result.error, error_kind=kind,
                             sub_calls=sum(1 for e in calls.llm_calls if e.role == "sub"))

    def close(self) -> None:
        pass


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
