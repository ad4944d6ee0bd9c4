"""Models of a run: LM clients from config, and the simulator started when a model needs it."""
from __future__ import annotations

import os
from dataclasses import replace
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from rlm.lm import LM, LMConfig
from rlm.response_cache import CachedLM
from rlm.usage import Price

from evals.errors import EvalError

if TYPE_CHECKING:
    from rlm.sim.models import SimModelSpec


def price_of(model_cfg: Any) -> Price | None:
    price = model_cfg.price
    if price is None:
        return None
    return Price(input=float(price.input), cached_input=float(price.cached_input), output=float(price.output))


def models_used(cfg: Any) -> list[Any]:
    """The model configs this run calls: the sub-model only when the RLM makes sub-calls."""
    uses_sub = bool({"rlm", "rlms"} & set(cfg.methods)) and cfg.depth >= 1 and cfg.sub_model.name != cfg.model.name
    return [cfg.model, cfg.sub_model] if uses_sub else [cfg.model]


def any_simulated(model_cfgs: Any) -> bool:
    return any(mc.provider == "sim" for mc in model_cfgs)


def run_label(cfg: Any) -> str | None:
    """The label stored and printed with a run: "sim" whenever it calls the simulator."""
    return "sim" if any_simulated(models_used(cfg)) else (cfg.label or None)


def check_api_keys(model_cfgs: list[Any]) -> None:
    """Fail before any work when a real model's key variable is unset (the key itself is never read here)."""
    for mc in model_cfgs:
        if mc.provider != "sim" and mc.api_key_env and not os.environ.get(mc.api_key_env):
            raise EvalError(f"model {mc.name!r} needs an API key: set the environment variable {mc.api_key_env}")


def sim_spec(model_cfg: Any) -> "SimModelSpec":
    """A simulator model from config: window and prices from conf/model, latency from the sim's defaults."""
    from rlm.sim.models import DEFAULT_MODELS, model_table

    base = model_table(None).get(model_cfg.name, DEFAULT_MODELS[0])
    return replace(base, name=model_cfg.name,
                   context_window=model_cfg.context_window or base.context_window,
                   max_output_tokens=model_cfg.max_output_tokens or base.max_output_tokens,
                   price=price_of(model_cfg) or base.price)


class ModelPool(AbstractContextManager):
    """Builds one LM per configured model; starts the simulator if any model is simulated."""

    def __init__(self, model_cfgs: list[Any], *, sim_time_scale: float = 0.0, sim_seed: int = 0,
                 response_cache: str | None = None) -> None:
        self.model_cfgs = {mc.name: mc for mc in model_cfgs}
        self.response_cache = response_cache
        self.sim_time_scale = sim_time_scale
        self.sim_seed = sim_seed
        self._sim = None
        self._lms: dict[str, LM] = {}

    @property
    def simulated(self) -> bool:
        return any_simulated(self.model_cfgs.values())

    def __enter__(self) -> "ModelPool":
        if self.simulated:
            from rlm.sim import SimServer

            specs = [sim_spec(mc) for mc in self.model_cfgs.values() if mc.provider == "sim"]
            self._sim = SimServer(models=specs, seed=self.sim_seed, time_scale=self.sim_time_scale)
            self._sim.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sim is not None:
            self._sim.__exit__(None, None, None)
            self._sim = None

    def lm(self, name: str) -> "LM | CachedLM":
        if name not in self._lms:
            mc = self.model_cfgs[name]
            base_url = self._sim.base_url if mc.provider == "sim" else mc.base_url
            lm = LM(LMConfig(model=mc.name, base_url=base_url, api_key_env=mc.api_key_env,
                             price=price_of(mc), context_window=mc.context_window,
                             max_output_tokens=mc.max_output_tokens, stream=mc.stream))
            if self.response_cache and mc.provider != "sim":  # the sim is instant and deterministic anyway
                lm = CachedLM(lm, self.response_cache)
            self._lms[name] = lm
        return self._lms[name]
