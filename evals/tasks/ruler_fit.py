"""Fitting a RULER sample to its size the way RULER does: the whole input plus the output budget.

RULER renders the prompt (template, context, question, answer prefix) for a haystack of n
units and binary-searches the largest n with tokens(prompt) + tokens_to_generate <= size,
counting with the evaluated model's tokenizer. Here the search starts from a linear estimate
(two small probes), so a 1M-token sample takes two or three full tokenisations, and the n
found is remembered per (task, params, size, tokenizer) so later samples start from it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evals.tasks.sample import TaskError
from evals.tasks.tokenizers import TaskTokenizer


@dataclass
class Rendered:
    """One rendering of a RULER sample for a haystack of n units."""

    before: str
    context: str
    after: str
    query: str
    expected: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)

    def prompt(self) -> str:
        return self.before + self.context + self.after


_LAST_FIT: dict[tuple, int] = {}


def fit(render: Callable[[int], Rendered], budget: int, tokenizer: TaskTokenizer, key: tuple,
        smallest: int = 1) -> tuple[Rendered, int]:
    """The rendering with the most units whose prompt fits `budget` tokens, and its tokens."""
    counts: dict[int, tuple[int, Rendered]] = {}

    def count(n: int) -> int:
        if n not in counts:
            rendered = render(n)
            counts[n] = (tokenizer.count(rendered.prompt()), rendered)
        return counts[n][0]

    if count(smallest) > budget:
        raise TaskError(f"the prompt with the smallest haystack ({counts[smallest][0]} tokens) does not fit "
                        f"{budget} tokens; use a larger size")
    good, bad = smallest, None
    guess = _LAST_FIT.get(key)
    if guess is None:
        probe = smallest + 32
        slope = max((count(probe) - count(smallest)) / (probe - smallest), 1e-3)
        guess = smallest + int((budget - count(smallest)) / slope)
    while bad is None or bad - good > 1:
        guess = max(good + 1, guess if bad is None else min(guess, bad - 1))
        if count(guess) <= budget:
            good = guess
        else:
            bad = guess
        if bad is not None and bad - good <= 1:
            break
        lo_c = count(good)
        if bad is None:  # extrapolate upwards from the best fit so far
            slope = max((lo_c - count(smallest)) / max(good - smallest, 1), 1e-3)
            guess = good + max(1, int((budget - lo_c) / slope))
        else:  # interpolate inside the bracket, then bisect if that stalls
            hi_c = count(bad)
            step = int((budget - lo_c) * (bad - good) / max(hi_c - lo_c, 1))
            guess = good + max(1, step)
            if guess >= bad:
                guess = (good + bad) // 2
    _LAST_FIT[key] = good
    return counts[good][1], counts[good][0]
