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


_LAST_FIT: dict[tuple, tuple[int, float]] = {}  # key -> (units that fitted, tokens per unit)
# Full renderings tried after the probes; past it the best fit so far is kept (each one
# tokenises the whole prompt, ~1-2 s at 1M tokens).
MAX_STEPS = 5


def tolerance(budget: int, slope: float) -> float:
    """Room under the budget that counts as fitted."""
    return max(slope, budget / 1000)


def fit(render: Callable[[int], Rendered], budget: int, tokenizer: TaskTokenizer, key: tuple,
        smallest: int = 1) -> tuple[Rendered, int]:
    """The rendering with the most units whose prompt fits `budget` tokens, and its tokens.

    A secant search: the slope (tokens per unit) comes from the two evaluated points nearest
    the budget, so after the probes one or two full renderings usually land on the answer.
    Random draws make the count wobble by a few tokens from one n to the next, so it stops
    once the room left is under `tolerance` (one unit, or 0.1% of the budget: RULER's own
    search steps down 25 noise lines or 500 essay words when a sample overflows).
    """
    counts: dict[int, tuple[int, Rendered]] = {}

    def count(n: int) -> int:
        if n not in counts:
            rendered = render(n)
            counts[n] = (tokenizer.count(rendered.prompt()), rendered)
        return counts[n][0]

    if count(smallest) > budget:
        raise TaskError(f"the prompt with the smallest haystack ({counts[smallest][0]} tokens) does not fit "
                        f"{budget} tokens; use a larger size")

    def slope_near() -> float:
        below = sorted(n for n in counts if counts[n][0] <= budget)[-2:]
        above = sorted(n for n in counts if counts[n][0] > budget)[:1]
        a, b = (below[-1], above[0]) if above else (below[0], below[-1]) if len(below) > 1 else (smallest, smallest)
        return max((count(b) - count(a)) / (b - a), 1e-3) if b != a else 1.0

    remembered = _LAST_FIT.get(key)
    if remembered is not None:  # a sibling sample's fit, less half the tolerance: usually one rendering
        n, slope = remembered
        guess = max(smallest + 1, n - int(tolerance(budget, slope) / 2 / slope))
    else:
        probe = smallest + 32
        count(probe)
        estimate = smallest + int((budget - count(smallest)) / slope_near())
        # Probes at a quarter and a half of the estimate; a parabola through them and the smallest
        # rendering follows what a straight line misses (fixed example text, numbering that grows
        # longer down a list), so the first full rendering usually lands within tolerance.
        quarter = max(probe + 1, smallest + (estimate - smallest) // 4)
        half = max(quarter + 1, smallest + (estimate - smallest) // 2)
        points = [(n, count(n)) for n in (smallest, quarter, half)]
        target = budget - tolerance(budget, slope_near()) / 2
        (_, _), (x1, y1), (x2, y2) = points
        linear = x2 + int((target - y2) * (x2 - x1) / max(y2 - y1, 1))
        # The parabola overshoots when small haystacks are sparser than large ones (FWE's rare
        # words round to zero at first), the line undershoots a growing cost (CWE's numbering):
        # their mean lands within tolerance for both.
        guess = (_solve_parabola(points, target, half) + linear) // 2
    for _ in range(MAX_STEPS):
        good = max(n for n in counts if counts[n][0] <= budget)
        bad = min((n for n in counts if counts[n][0] > budget), default=None)
        if bad is not None and bad - good <= 1:
            break
        if good in counts and good != smallest and budget - count(good) < tolerance(budget, slope_near()):
            break
        if guess in counts:  # converged on points already known: step from the best fit
            room = budget - count(good)
            if room < slope_near():
                break
            guess = good + max(1, int(room / slope_near()))
            if bad is not None and guess >= bad:
                guess = (good + bad) // 2
        count(guess)
        good = max(n for n in counts if counts[n][0] <= budget)
        bad = min((n for n in counts if counts[n][0] > budget), default=None)
        slope = slope_near()
        if bad is not None and count(bad) - budget < slope and good < bad - 1:
            guess = bad - 1  # just over by less than a unit: one unit less fits
        else:
            guess = good + max(1, int((budget - count(good) - tolerance(budget, slope) / 2) / slope))
            if bad is not None and guess >= bad:
                guess = max(good + 1, bad - max(1, int((count(bad) - budget) / slope)))
    good = max(n for n in counts if counts[n][0] <= budget)
    _LAST_FIT[key] = (good, slope_near())
    return counts[good][1], counts[good][0]


def _solve_parabola(points: list[tuple[int, int]], target: float, start: int) -> int:
    """The largest n >= start where the parabola through `points` stays <= target."""
    (x0, y0), (x1, y1), (x2, y2) = points

    def y(x: float) -> float:
        return (y0 * (x - x1) * (x - x2) / ((x0 - x1) * (x0 - x2)) + y1 * (x - x0) * (x - x2) / ((x1 - x0) * (x1 - x2))
                + y2 * (x - x0) * (x - x1) / ((x2 - x0) * (x2 - x1)))

    lo, hi = start, start * 2 + 16
    while y(hi) <= target and hi < start * 64:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if y(mid) <= target else (lo, mid)
    return lo
