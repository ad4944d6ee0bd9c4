"""Token usage and cost, normalised to OpenAI's convention.

`prompt_tokens` includes `cached_tokens` (OpenAI's convention; counting them again
on top is the most common accounting bug). Cost comes from a price table so cache
savings are real money; a model with no price has unknown cost (None), not zero.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
        )

    def to_dict(self) -> dict:
        return asdict(self)


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
