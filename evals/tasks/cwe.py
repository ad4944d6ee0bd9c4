"""RULER's common words extraction: a numbered word list where a few words repeat often.

One entry per line, `{i}. {word}`. The `num_common` common words appear `common_repeats`
times each, every other word `uncommon_repeats` times. Like RULER, small contexts use
fewer repeats so the list still holds enough distinct words (30/3 from 4K tokens, else 6/1).
"""
from __future__ import annotations

import bisect
import random
from collections import Counter
from itertools import accumulate
from typing import Any

from rlm.tokens import count_tokens

from evals.tasks.base import Draft, TaskGenerator, int_param
from evals.tasks.haystack import join_lines
from evals.tasks.sample import TaskError
from evals.tasks.words import unique_pseudo_words

QUERY = "What are the {n} most common words in the above list?"


def _number_tokens(i: int) -> int:
    # cl100k splits digit runs into groups of at most three, each one token.
    return -(-len(str(i)) // 3)


class CommonWordsTask(TaskGenerator):
    name = "cwe"
    family = "cwe"
    metric = "string_match_all"
    version = 2
    defaults = {"num_common": 10, "common_repeats": None, "uncommon_repeats": None}

    def validate(self, params: dict[str, Any]) -> None:
        int_param(self.name, params, "num_common")
        for key in ("common_repeats", "uncommon_repeats"):
            if params[key] is not None:
                int_param(self.name, params, key)
        if params["common_repeats"] is not None and params["uncommon_repeats"] is not None \
                and params["common_repeats"] <= params["uncommon_repeats"]:
            raise TaskError(f"task {self.name!r}: common_repeats must exceed uncommon_repeats")

    def repeats(self, size_tokens: int, params: dict[str, Any]) -> tuple[int, int]:
        big = size_tokens >= 4096
        return (params["common_repeats"] or (30 if big else 6), params["uncommon_repeats"] or (3 if big else 1))

    def min_size(self, params: dict[str, Any]) -> int:
        common, uncommon = self.repeats(0, params)
        return max(256, 2 * 8 * params["num_common"] * common)

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        n_common = params["num_common"]
        rc, ru = self.repeats(size_tokens, params)
        # ~3 tokens of number and dot, ~3 of word, 1 of newline per entry; over-generate, then cut.
        entries = int(size_tokens / 6.5 * 1.1) + 16
        n_uncommon = max(1, (entries - n_common * rc) // ru)
        words = unique_pseudo_words(rng, n_common + n_uncommon)
        common = words[:n_common]
        items = common * rc + words[n_common:] * ru
        rng.shuffle(items)
        word_cost = {w: count_tokens(" " + w) for w in words}
        costs = list(accumulate(_number_tokens(i + 1) + 2 + word_cost[w] for i, w in enumerate(items)))
        if costs[-1] < 0.99 * size_tokens:
            raise AssertionError("cwe under-generated entries")  # the 1.1 margin rules this out
        items = items[:bisect.bisect_right(costs, size_tokens)]
        counts = Counter(items)
        if min(counts[w] for w in common) <= max(c for w, c in counts.items() if w not in set(common)):
            raise TaskError(f"task {self.name!r}: size {size_tokens} is too small for distinct common words")
        lines = [f"{i + 1}. {w}" for i, w in enumerate(items)]
        return Draft(context=join_lines(lines), query=QUERY.format(n=n_common), expected=common,
                     actual_tokens=costs[len(items) - 1],
                     metadata={"common_repeats": rc, "uncommon_repeats": ru, "entries": len(items)})


TASK = CommonWordsTask()
