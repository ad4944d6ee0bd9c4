"""Token usage and cost, normalised to OpenAI's convention.

`prompt_tokens` includes `cached_tokens` (OpenAI's convention; counting them again
on top is the most common accounting bug). Cost comes from a price table so cache
savings are real money; a model with no price has unknown cost (None), not zero.
A reply that came without usage is counted locally and marked: `estimated_calls`
says how many of the summed calls (and so how much of the cost) are estimates.
`normalize_usage` reads the usage shapes of the servers the project talks to.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Mapping

UsageSource = Literal["reported", "estimated"]


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens."""

    input: float
    cached_input: float
    output: float

    def cost(self, prompt_tokens: int, cached_tokens: int, completion_tokens: int) -> float:
        uncached = prompt_tokens - cached_tokens
        return (uncached * self.input + cached_tokens * self.cached_input
                + completion_tokens * self.output) / 1_000_000


@dataclass
class Usage:
    """Usage of one call, or a sum of calls (`calls` counts them)."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = 0.0
    calls: int = 0
    estimated_calls: int = 0      # calls whose token counts were estimated locally (no usage in the reply)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "Usage") -> "Usage":
        cost = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost_usd=cost,
            calls=self.calls + other.calls,
            estimated_calls=self.estimated_calls + other.estimated_calls,
        )

    def to_dict(self) -> dict:
        return asdict(self)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def normalize_usage(usage: Mapping[str, Any] | None, timings: Mapping[str, Any] | None = None) -> Usage | None:
    """A server's usage (and llama.cpp's `timings`) in OpenAI's convention; None if it sent none.

    Cached tokens come from, in order: `prompt_tokens_details.cached_tokens` (OpenAI, vLLM,
    LiteLLM, recent llama.cpp), `cache_read_input_tokens` (Anthropic-style), DeepSeek's
    `prompt_cache_hit_tokens`, llama.cpp's `timings.cache_n`. OpenAI-style prompt_tokens
    already include the cached ones; Anthropic-style `input_tokens` do not, so there the
    cache reads (and writes) are added on top, once.
    """
    usage = dict(usage or {})
    timings = dict(timings or {})
    prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    cached: int | None
    input_tokens = _int(usage.get("input_tokens"))
    if prompt is None and input_tokens is not None:          # Anthropic's shape
        read = _int(usage.get("cache_read_input_tokens")) or 0
        write = _int(usage.get("cache_creation_input_tokens")) or 0
        prompt, cached = input_tokens + read + write, read
        completion = _int(usage.get("output_tokens"))
    else:
        details = usage.get("prompt_tokens_details") or {}
        cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else None
        cache_read = _int(usage.get("cache_read_input_tokens"))
        if cached is None and cache_read is not None:
            cached = cache_read
            if prompt is not None and cache_read > prompt:   # a gateway that left Anthropic's split as is
                prompt += cache_read
        if cached is None:
            cached = _int(usage.get("prompt_cache_hit_tokens"))
        if cached is None:
            cached = _int(timings.get("cache_n"))
    prompt_n = _int(timings.get("prompt_n"))
    if prompt is None and prompt_n is not None:        # llama.cpp, no usage block
        prompt = prompt_n + (_int(timings.get("cache_n")) or 0)
    if completion is None:
        completion = _int(timings.get("predicted_n"))
    if prompt is None and completion is None:
        return None
    details = usage.get("completion_tokens_details") or {}
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, Mapping) else None
    prompt = prompt or 0
    return Usage(prompt_tokens=prompt, cached_tokens=min(cached or 0, prompt), completion_tokens=completion or 0,
                 reasoning_tokens=reasoning or 0, calls=1)


@dataclass
class UsageBreakdown:
    """Totals of a whole RLM completion, and the same split per model and per depth."""

    total: Usage = field(default_factory=Usage)
    by_model: dict[str, Usage] = field(default_factory=dict)
    by_depth: dict[int, Usage] = field(default_factory=dict)

    def add(self, model: str, depth: int, usage: Usage) -> None:
        self.total = self.total + usage
        self.by_model[model] = self.by_model.get(model, Usage()) + usage
        self.by_depth[depth] = self.by_depth.get(depth, Usage()) + usage

    def merge(self, other: "UsageBreakdown") -> None:
        """Fold a child's breakdown into this one (children's usage counts for the parent)."""
        self.total = self.total + other.total
        for model, usage in other.by_model.items():
            self.by_model[model] = self.by_model.get(model, Usage()) + usage
        for depth, usage in other.by_depth.items():
            self.by_depth[depth] = self.by_depth.get(depth, Usage()) + usage
