"""Models of a run: LM clients from the plan, and the simulator started when a model needs it."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

from rlm.lm import LM
from rlm.response_cache import CachedLM

if TYPE_CHECKING:
    from rlm.sim.models import SimModelSpec

    from evals.plan import ModelPlan


def sim_spec(model: "ModelPlan") -> "SimModelSpec":
    """A simulator model from its plan: window and prices from conf/model, latency from the sim's defaults."""
    from rlm.sim.models import DEFAULT_MODELS, model_table

    base = model_table(None).get(model.name, DEFAULT_MODELS[0])
    return replace(base, name=model.name,
                   context_window=model.lm.context_window or base.context_window,
                   max_output_tokens=model.lm.max_output_tokens or base.max_output_tokens,
                   price=model.lm.price or base.price)


class ModelPool(AbstractContextManager):
    """Builds one LM per configured model; starts the simulator if any model is simulated."""

    def __init__(self, models: Iterable["ModelPlan"], *, sim_time_scale: float = 0.0, sim_seed: int = 0,
                 response_cache: str | None = None) -> None:
        self.models = {m.name: m for m in models}
        self.response_cache = response_cache
        self.sim_time_scale = sim_time_scale
        self.sim_seed = sim_seed
        self._sim = None
        self._lms: dict[str, LM | CachedLM] = {}

    @property
    def simulated(self) -> bool:
        return any(m.simulated for m in self.models.values())

    def __enter__(self) -> "ModelPool":
        if self.simulated:
            from rlm.sim import SimServer

            specs = [sim_spec(m) for m in self.models.values() if m.simulated]
            self._sim = SimServer(models=specs, seed=self.sim_seed, time_scale=self.sim_time_scale)
            self._sim.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sim is not None:
            self._sim.__exit__(None, None, None)
            self._sim = None

    def lm(self, name: str) -> "LM | CachedLM":
        if name not in self._lms:
            model = self.models[name]
            config = replace(model.lm, base_url=self._sim.base_url) if model.simulated else model.lm
            lm: LM | CachedLM = LM(config)
            if self.response_cache and not model.simulated:  # the sim is instant and deterministic anyway
                lm = CachedLM(lm, self.response_cache)
            self._lms[name] = lm
        return self._lms[name]
