"""Simulated model specs: window, output cap, latency and price of each sim model.

Two defaults stand in for a frontier root model and a cheaper sub-model, so the
harness exercises the same size/price trade-offs it would with real models.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from rlm.usage import Price


@dataclass(frozen=True)
class SimModelSpec:
    """One simulated model. Latencies are in milliseconds at time scale 1."""

    name: str
    context_window: int
    max_output_tokens: int
    ttft_base_ms: float
    ttft_per_uncached_token_ms: float
    per_output_token_ms: float
    price: Price

    def ttft_s(self, uncached_tokens: int, time_scale: float) -> float:
        """Time to first token: only uncached prompt tokens cost prefill time."""
        ms = self.ttft_base_ms + self.ttft_per_uncached_token_ms * uncached_tokens
        return ms * time_scale / 1000.0

    def per_token_s(self, time_scale: float) -> float:
        return self.per_output_token_ms * time_scale / 1000.0


SIM_LARGE = SimModelSpec(
    name="sim-large", context_window=131072, max_output_tokens=8192,
    ttft_base_ms=400.0, ttft_per_uncached_token_ms=0.02, per_output_token_ms=15.0,
    price=Price(input=1.25, cached_input=0.125, output=10.0),
)
SIM_SMALL = SimModelSpec(
    name="sim-small", context_window=65536, max_output_tokens=4096,
    ttft_base_ms=200.0, ttft_per_uncached_token_ms=0.01, per_output_token_ms=5.0,
    price=Price(input=0.25, cached_input=0.025, output=2.0),
)
DEFAULT_MODELS: tuple[SimModelSpec, ...] = (SIM_LARGE, SIM_SMALL)


def model_table(models: Iterable[SimModelSpec] | Mapping[str, SimModelSpec] | None) -> dict[str, SimModelSpec]:
    """Normalise the `models` argument of SimServer to {name: spec}."""
    if models is None:
        return {spec.name: spec for spec in DEFAULT_MODELS}
    if isinstance(models, Mapping):
        return dict(models)
    return {spec.name: spec for spec in models}
