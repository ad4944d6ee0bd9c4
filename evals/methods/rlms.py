"""`rlms`: the official RLM library (evals/method_plugins/rlms.py) behind the Method protocol.

Its limits are the ones method=rlm gets (iterations, wall time, tokens, concurrency); the
`rlms:` config group adds the library's own options. The library is imported only when used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rlm.events import EventSink

from evals.methods import MethodOutcome, register

if TYPE_CHECKING:
    from evals.models import ModelPool
    from evals.plan import RunPlan
    from evals.tasks import Sample


@register
class RLMSMethod:
    name: ClassVar[str] = "rlms"
    uses_sub_model: ClassVar[bool] = True

    def prepare(self, plan: "RunPlan", models: "ModelPool") -> None:
        from evals.method_plugins.rlms import RlmsMethod, RlmsSettings

        self.plan, self.models = plan, models
        budget, extra = plan.rlm.budget, plan.method_options.get("rlms", {})
        self.settings = RlmsSettings(
            max_iterations=plan.rlm.max_iterations, max_depth=max(1, plan.depth), max_timeout_s=budget.max_wall_s,
            max_tokens=budget.max_tokens, max_concurrent_subcalls=plan.rlm.max_concurrent_subcalls,
            environment=str(extra.get("environment") or "local"),
            log_trajectory=bool(extra.get("log_trajectory", False)),
            text_limit=extra.get("text_limit", 20_000), rlms_path=extra.get("path"),
            # its own timeout is checked between iterations only; a hung call is cut here
            wall_timeout_s=float(budget.max_wall_s) * 1.5 + 60 if budget.max_wall_s else 3600.0)
        RlmsMethod(self.settings).check_installed()
        self._factory: Any = RlmsMethod

    def solve(self, sample: "Sample", *, run_id: str, query_id: str, sink: EventSink | None) -> MethodOutcome:
        """A library method (and its recording proxy) per sample: it starts in about a millisecond."""
        method = self._factory(self.settings)
        sub = self.models.lm(self.plan.sub_model.name).config if self.plan.depth >= 1 else None
        method.prepare(self.models.lm(self.plan.model.name).config, sub, run_id=run_id, check=False)
        try:
            outcome: MethodOutcome = method.solve(sample, query_id, sink)
            return outcome
        finally:
            method.close()

    def close(self) -> None:
        pass
