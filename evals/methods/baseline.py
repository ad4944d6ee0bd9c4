"""`baseline`: one plain call with the whole context; a context over the window is a final outcome."""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rlm.errors import ContextLengthExceededError, LMError
from rlm.events import EventSink
from rlm.trace import Tracer
from rlm.usage import Usage

from evals.methods import MethodOutcome, register
from evals.sample_result import error_kind_of

if TYPE_CHECKING:
    from evals.models import ModelPool
    from evals.plan import RunPlan
    from evals.tasks import Sample

CONTEXT_EXCEEDED = "context_exceeded"


def context_as_text(context: object) -> str:
    """The context as one prompt text, for the plain model."""
    if isinstance(context, str):
        return context
    if isinstance(context, list):
        return "\n\n".join(str(item) for item in context)
    return json.dumps(context, ensure_ascii=False, indent=1)


def baseline_prompt(sample: "Sample") -> str:
    return sample.baseline_prompt()


@register
class Baseline:
    name: ClassVar[str] = "baseline"
    uses_sub_model: ClassVar[bool] = False

    def prepare(self, plan: "RunPlan", models: "ModelPool") -> None:
        self.lm = models.lm(plan.model.name)

    def solve(self, sample: "Sample", *, run_id: str, query_id: str, sink: EventSink | None) -> MethodOutcome:
        started = time.perf_counter()
        try:
            tracer = Tracer(sink, run_id, query_id, context=sample.context if isinstance(sample.context, str) else None)
            completion = tracer.call(self.lm, baseline_prompt(sample), role="baseline", depth=0,
                                     max_tokens=sample.max_output_tokens)
        except ContextLengthExceededError:  # the paper's asterisk: recorded, never retried
            return MethodOutcome("", CONTEXT_EXCEEDED, _ms(started), usage=_refused_call(self.lm), error=CONTEXT_EXCEEDED,
                                 error_kind="context_exceeded")
        except LMError as exc:
            return MethodOutcome("", "error", _ms(started), usage=_refused_call(self.lm), error=f"{type(exc).__name__}: {exc}",
                                 error_kind=error_kind_of(exc))
        return MethodOutcome(completion.text.strip(), "answered", _ms(started), usage=completion.usage, iterations=1)

    def close(self) -> None:
        pass


def _refused_call(lm: Any) -> Usage:
    """A call that failed bills nothing, when the model has a price (else its cost is unknown)."""
    return Usage(calls=1, cost_usd=0.0 if lm.config.price is not None else None)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
