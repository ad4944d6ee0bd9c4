"""RULER's frequent words extraction: coded words drawn from a Zipf (zeta) distribution.

The most frequent token is `...`, noise the question says to ignore; the answer is the
next three. Lines of 12 coded words; per-word costs are measured once for the vocabulary,
so fitting needs no re-tokenisation of the text.
"""
from __future__ import annotations

import bisect
import random
import string
from collections import Counter
from itertools import accumulate
from typing import Any

from rlm.tokens import count_tokens

from evals.tasks.base import Draft, TaskGenerator, int_param
from evals.tasks.haystack import join_lines
from evals.tasks.sample import TaskError

QUERY = "What are the 3 most frequently appeared coded words in the above coded text?"
NOISE_WORD = "..."
WORDS_PER_LINE = 12


def _zeta(alpha: float, terms: int = 100_000) -> float:
    head = sum(k ** -alpha for k in range(1, terms))
    return head + terms ** (1 - alpha) / (alpha - 1)  # integral bound for the tail


class FrequentWordsTask(TaskGenerator):
    name = "fwe"
    family = "fwe"
    metric = "string_match_all"
    defaults = {"vocab_size": 2000, "word_length": 6, "alpha": 2.0}

    def validate(self, params: dict[str, Any]) -> None:
        int_param(self.name, params, "vocab_size", minimum=10)
        int_param(self.name, params, "word_length", minimum=3)
        alpha = params["alpha"]
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha <= 1:
            raise TaskError(f"task {self.name!r}: alpha={alpha!r} must be a number > 1")

    def variant(self, params: dict[str, Any]) -> str:
        return f"a{params['alpha']:g}"

    def min_size(self, params: dict[str, Any]) -> int:
        return 512

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        vocab_set: set[str] = set()
        while len(vocab_set) < params["vocab_size"]:
            vocab_set.add("".join(rng.choices(string.ascii_lowercase, k=params["word_length"])))
        vocab = sorted(vocab_set)
        rng.shuffle(vocab)
        vocab[0] = NOISE_WORD
        first = {w: count_tokens(w) for w in vocab}
        mid = {w: count_tokens(" " + w) for w in vocab}
        last = {w: count_tokens(" " + w + "\n") for w in vocab}
        only = {w: count_tokens(w + "\n") for w in vocab}
        alpha, z = params["alpha"], _zeta(params["alpha"])
        mean = sum(mid[w] * (k + 1) ** -alpha for k, w in enumerate(vocab)) / z
        num_words = int(size_tokens / (mean + 1 / WORDS_PER_LINE) * 1.1 / (1 - 1 / z / 20)) + 64
        words = [w for k, w in enumerate(vocab) for _ in range(int(num_words * (k + 1) ** -alpha / z))]
        rng.shuffle(words)
        lines = [words[i:i + WORDS_PER_LINE] for i in range(0, len(words), WORDS_PER_LINE)]

        def cost(line: list[str]) -> int:
            if len(line) == 1:
                return only[line[0]]
            return first[line[0]] + sum(mid[w] for w in line[1:-1]) + last[line[-1]]

        cum = list(accumulate(cost(line) for line in lines))
        keep = bisect.bisect_right(cum, size_tokens)
        kept, used = lines[:keep], cum[keep - 1] if keep else 0
        if keep < len(lines):  # close the gap with a prefix of the next line
            tail = lines[keep]
            while tail and cost(tail) > size_tokens - used:
                tail = tail[:-1]
            if tail:
                kept.append(tail)
                used += cost(tail)
        counts = Counter(w for line in kept for w in line if w != NOISE_WORD)
        ranked = counts.most_common(4)
        if len(ranked) < 4 or ranked[2][1] == ranked[3][1]:
            raise TaskError(f"task {self.name!r}: size {size_tokens} is too small for a clear top 3")
        return Draft(context=join_lines([" ".join(line) for line in kept]), query=QUERY,
                     expected=[w for w, _ in ranked[:3]], actual_tokens=used, metadata={"words": sum(map(len, kept))})


TASK = FrequentWordsTask()
