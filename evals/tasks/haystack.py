"""Line haystacks fitted to an exact cl100k budget without re-tokenising them.

A context is a sequence of lines, each ending in a newline. cl100k's pre-tokeniser never
joins text across a newline into the next line when that line starts with a non-space
character, so the context's token count is the sum of its lines' counts. Filler costs are
known by construction (single-token words) or measured once per distinct line, which is
what makes a 10M-token context cheap to build and to fit within a few tokens of its target.
"""
from __future__ import annotations

import bisect
import random
from functools import lru_cache
from itertools import accumulate

from rlm.tokens import count_tokens

from evals.tasks.words import FILLER_WORDS

# RULER's "noise" haystack, one sentence group per line.
NOISE_SENTENCES = ("The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.",
                   "There and back again.")
NOISE_LINE = " ".join(NOISE_SENTENCES)


@lru_cache(maxsize=4096)
def line_tokens(line: str) -> int:
    """Tokens of `line` plus its newline (memoised: haystacks repeat their lines)."""
    return count_tokens(line + "\n")


def join_lines(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def word_lines(rng: random.Random, budget: int, min_words: int = 3, max_words: int = 8) -> tuple[list[str], list[int]]:
    """Lines of `min_words`..`max_words` filler words costing exactly `budget` tokens
    (or up to `min_words` tokens less when the budget is too small for one more line)."""
    mean_cost = (min_words + max_words) / 2 + 1
    lengths = rng.choices(range(min_words, max_words + 1), k=int(budget / mean_cost * 1.01) + 8)
    costs = list(accumulate(k + 1 for k in lengths))
    cut = bisect.bisect_right(costs, budget)
    lengths = lengths[:cut]
    rest = budget - (costs[cut - 1] if cut else 0)
    # Close the gap exactly with lines whose lengths stay in range.
    while rest >= min_words + 1:
        cost = rest if rest <= max_words + 1 else min(max_words + 1, rest - (min_words + 1))
        lengths.append(cost - 1)
        rest -= cost
    words = rng.choices(FILLER_WORDS, k=sum(lengths))
    starts = accumulate(lengths, initial=0)
    lines = [" ".join(words[s:s + k]) for s, k in zip(starts, lengths)]
    return lines, [k + 1 for k in lengths]


def noise_lines(budget: int) -> tuple[list[str], list[int]]:
    """RULER noise lines costing at most `budget` tokens; whole groups, then single
    sentences to close the gap (the remainder is under one sentence's cost)."""
    group = line_tokens(NOISE_LINE)
    count = budget // group
    lines, costs = [NOISE_LINE] * count, [group] * count
    rest = budget - count * group
    for sentence in sorted(NOISE_SENTENCES, key=line_tokens, reverse=True) * 4:
        cost = line_tokens(sentence)
        if cost <= rest:
            lines.append(sentence)
            costs.append(cost)
            rest -= cost
    return lines, costs


def insert_lines(lines: list[str], costs: list[int], inserts: list[tuple[float, str]]) -> tuple[list[str], list[float]]:
    """Insert each `(depth_percent, line)` at the filler line boundary nearest that depth.

    Depth is measured in tokens over the final context. Inserts keep their given order when
    they land at the same boundary. Returns the new lines and each insert's actual depth.
    """
    cum = list(accumulate(costs, initial=0))
    filler_total = cum[-1]
    positions = [bisect.bisect_left(cum, depth / 100 * filler_total) for depth, _ in inserts]
    positions = [min(p, len(lines)) for p in positions]
    order = sorted(range(len(inserts)), key=lambda i: (positions[i], i))
    extra = [line_tokens(line) for _, line in inserts]
    total = filler_total + sum(extra)
    out: list[str] = []
    depths = [0.0] * len(inserts)
    prev, inserted_tokens = 0, 0
    for i in order:
        pos = positions[i]
        out.extend(lines[prev:pos])
        prev = pos
        depths[i] = round(100 * (cum[pos] + inserted_tokens) / total, 3) if total else 0.0
        out.append(inserts[i][1])
        inserted_tokens += extra[i]
    out.extend(lines[prev:])
    return out, depths


def build(rng: random.Random, size_tokens: int, inserts: list[tuple[float, str]],
          filler: str) -> tuple[str, int, list[float]]:
    """A context of `filler` ("words" or "noise") lines holding `inserts`, fitted under
    `size_tokens`. Returns (text, actual tokens, actual depth of each insert)."""
    budget = size_tokens - sum(line_tokens(line) for _, line in inserts)
    lines, costs = word_lines(rng, budget) if filler == "words" else noise_lines(budget)
    lines, depths = insert_lines(lines, costs, inserts)
    actual = sum(costs) + size_tokens - budget
    return join_lines(lines), actual, depths
