"""RULER's frequent words extraction (scripts/data/synthetic/freq_words_extraction.py).

Coded words (random 6-letter strings) with counts from a zeta distribution: the word of
rank k appears int(N * k^-alpha / zeta(alpha)) times, shuffled, space-separated. Rank 1 is
`...`, noise the question says to ignore; the answer is ranks 2-4. The vocabulary has
(size - 50) // 50 words, as RULER. The haystack unit is N, the number of words drawn.
"""
from __future__ import annotations

import random
import string
from typing import Any

from evals.tasks import ruler_text as rt
from evals.tasks.base import int_param
from evals.tasks.ruler_base import RulerTask
from evals.tasks.ruler_fit import Rendered
from evals.tasks.sample import TaskError

NOISE_WORD = "..."


def _zeta(alpha: float, terms: int = 100_000) -> float:
    head = sum(k ** -alpha for k in range(1, terms))
    return head + terms ** (1 - alpha) / (alpha - 1)  # integral bound for the tail


class FrequentWordsTask(RulerTask):
    name = "fwe"
    family = "fwe"
    metric = "string_match_all"
    version = 2
    output_tokens = rt.OUTPUT_TOKENS["fwe"]
    smallest_units = 64
    defaults = {"vocab_size": None, "word_length": 6, "alpha": 2.0, "tokenizer": None}

    def validate(self, params: dict[str, Any]) -> None:
        if params["vocab_size"] is not None:
            int_param(self.name, params, "vocab_size", minimum=10)
        int_param(self.name, params, "word_length", minimum=3)
        alpha = params["alpha"]
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha <= 1:
            raise TaskError(f"task {self.name!r}: alpha={alpha!r} must be a number > 1")

    def variant(self, params: dict[str, Any]) -> str:
        return f"a{params['alpha']:g}"

    def min_size(self, params: dict[str, Any]) -> int:
        return 512

    def render(self, seed: int, units: int, size_tokens: int, params: dict[str, Any], index: int) -> Rendered:
        rng = random.Random(seed)
        vocab_size = params["vocab_size"] or max(10, (size_tokens - self.output_tokens) // 50)
        vocab_set: set[str] = set()
        while len(vocab_set) < vocab_size:
            vocab_set.add("".join(rng.choices(string.ascii_lowercase, k=params["word_length"])))
        vocab = sorted(vocab_set)
        rng.shuffle(vocab)
        vocab[0] = NOISE_WORD
        alpha, z = params["alpha"], _zeta(params["alpha"])
        words = [w for k, w in enumerate(vocab, start=1) for _ in range(int(units * k ** -alpha / z))]
        rng.shuffle(words)
        before, after, question = rt.split_template(*rt.FWE)
        return Rendered(before=before, context=" ".join(words), after=after, query=question, expected=vocab[1:4],
                        metadata={"words": len(words), "vocab_size": vocab_size, "units": units})


TASK = FrequentWordsTask()
