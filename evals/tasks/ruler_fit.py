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
# Full renderings tried after the probes; past it the best fit so far is kept (each one
# tokenises the whole prompt, ~1-2 s at 1M tokens).
MAX_STEPS = 4


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
        base = count(smallest)
        probe = smallest + 32
        slope = max((count(probe) - base) / (probe - smallest), 1e-3)
        estimate = smallest + int((budget - base) / slope)
        # A second probe at an eighth of the estimate: fixed text (examples) no longer skews the slope.
        probe = max(probe + 1, smallest + (estimate - smallest) // 8)
        if count(probe) <= budget:
            good = probe
        slope = max((count(probe) - base) / (probe - smallest), 1e-3)
        guess = smallest + int((budget - base) / slope)
    for _ in range(MAX_STEPS):
        guess = max(good + 1, guess if bad is None else min(guess, bad - 1))
        if count(guess) <= budget:
            good = guess
        else:
            bad = guess
        if bad is not None and bad - good <= 1:
            break
        lo_c = count(good)
        if bad is None and budget - lo_c < lo_c / max(good, 1):
            break  # less room left than one unit costs
        if bad is not None and budget - lo_c < (count(bad) - lo_c) / (bad - good):
            break  # less room left than one unit costs on average: RULER's fit is no finer
        if bad is None:  # extrapolate upwards from the best fit so far
            slope = max((lo_c - count(smallest)) / max(good - smallest, 1), 1e-3)
            guess = good + max(1, int((budget - lo_c) / slope))
        else:  # interpolate inside the bracket, then bisect if that stalls
            hi_c = count(bad)
            step = int((budget - lo_c) * (bad - good) / max(hi_c - lo_c, 1))
            guess = good + max(1, step)
            if guess >= bad - 1 and hi_c > budget:  # just under the overflow point: step back a little
                guess = bad - max(1, -(-(hi_c - budget) * (bad - good) // max(hi_c - lo_c, 1)))
            if guess >= bad:
                guess = (good + bad) // 2
    _LAST_FIT[key] = good
    return counts[good][1], counts[good][0]
