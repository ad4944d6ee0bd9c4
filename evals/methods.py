"""How a sample is answered: `rlm` (RLM_REPL) or `baseline` (one plain call with the whole context).

Both return a MethodOutcome; neither raises for a sample's own failure (that is data).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from rlm.budget import Budget
from rlm.errors import ContextLengthExceededError, LMError, RLMError
from rlm.events import EventSink
from rlm.repl import SandboxLimits
from rlm.rlm_repl import RLM_REPL
from rlm.trace import Tracer
from rlm.usage import Usage

from evals.models import ModelPool
from evals.tasks import Sample

CONTEXT_EXCEEDED = "context_exceeded"


@dataclass
class MethodOutcome:
    answer: str
    stop_reason: str
    latency_ms: float
    usage: Usage = field(default_factory=Usage)
    iterations: int = 0
    error: str | None = None


def context_as_text(context: object) -> str:
    """The context as one prompt text, for the plain model."""
    if isinstance(context, str):
        return context
    if isinstance(context, list):
        return "\n\n".join(str(item) for item in context)
    return json.dumps(context, ensure_ascii=False, indent=1)


def baseline_prompt(sample: Sample) -> str:
    return sample.baseline_prompt()


def run_baseline(sample: Sample, cfg: Any, pool: ModelPool, sink: EventSink | None,
                 run_id: str, query_id: str) -> MethodOutcome:
    """One call with the whole context; a context over the window is recorded, like the paper's asterisk."""
    tracer = Tracer(sink, run_id, query_id)
    started = time.perf_counter()
    try:
        completion = tracer.call(pool.lm(cfg.model.name), baseline_prompt(sample), role="baseline", depth=0,
                                 max_tokens=sample.max_output_tokens)
    except ContextLengthExceededError:
        return MethodOutcome("", CONTEXT_EXCEEDED, _ms(started), error=CONTEXT_EXCEEDED)
    except LMError as exc:
        return MethodOutcome("", "error", _ms(started), error=f"{type(exc).__name__}: {exc}")
    return MethodOutcome(completion.text.strip(), "answered", _ms(started), usage=completion.usage, iterations=1)


def run_rlm(sample: Sample, cfg: Any, pool: ModelPool, sink: EventSink | None,
            run_id: str, query_id: str) -> MethodOutcome:
    """RLM_REPL at the configured depth, the root on `model` and sub-calls on `sub_model`."""
    started = time.perf_counter()
    settings = cfg.rlm
    budget = Budget(max_tokens=settings.budget.max_tokens, max_cost_usd=settings.budget.max_cost_usd,
                    max_wall_s=settings.budget.max_wall_s)
    limits = SandboxLimits(cell_timeout_s=float(settings.cell_timeout_s), memory_mb=int(settings.memory_mb),
                           max_output_chars=int(settings.max_output_chars))
    console = None
    if cfg.console:
        from rlm.console import RLMConsole
        console = RLMConsole()
    sub_model = pool.lm(cfg.sub_model.name) if cfg.depth >= 1 else None
    rlm = RLM_REPL(pool.lm(cfg.model.name), sub_model=sub_model, depth=int(cfg.depth),
                   max_iterations=int(settings.max_iterations), budget=budget, limits=limits,
                   max_output_chars=int(settings.max_output_chars),
                   max_concurrent_subcalls=int(settings.max_concurrent_subcalls), sink=sink,
                   console=console, run_id=run_id)
    try:
        result = rlm.completion(sample.context, sample.query, query_id=query_id)
    except RLMError as exc:
        return MethodOutcome("", "error", _ms(started), error=f"{type(exc).__name__}: {exc}")
    return MethodOutcome(result.answer, result.stop_reason, _ms(started), usage=result.usage.total,
                         iterations=result.iterations, error=result.error)


def run_rlms(sample: Sample, cfg: Any, pool: ModelPool, sink: EventSink | None,
             run_id: str, query_id: str) -> MethodOutcome:
    """The official RLM library (evals/method_plugins/rlms.py), imported only when used."""
    from evals.method_plugins.rlms import run_rlms as run

    return run(sample, cfg, pool, sink, run_id, query_id)


METHODS = {"rlm": run_rlm, "baseline": run_baseline, "rlms": run_rlms}


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
