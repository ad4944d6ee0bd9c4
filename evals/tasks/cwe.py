"""RULER's common words extraction (scripts/data/synthetic/common_words_extraction.py).

A numbered list `1. word 2. word ...` on one line where `num_common` words appear
`common_repeats` times and the others `uncommon_repeats` times (30 / 3 from 4K tokens,
else 6 / 1, as RULER). A one-shot example (40 words, 10 / 3; under 4K: 20 words, 3 / 1)
with its answer comes first. The haystack unit is one distinct word.
"""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import ruler_text as rt
from evals.tasks.base import int_param
from evals.tasks.ruler_base import RulerTask
from evals.tasks.ruler_fit import Rendered
from evals.tasks.sample import TaskError
from evals.tasks.words import unique_pseudo_words


def _example(rng: random.Random, words: int, common: int, uncommon: int, n_common: int) -> tuple[str, list[str]]:
    vocab = unique_pseudo_words(rng, words)
    items = vocab[:n_common] * common + vocab[n_common:] * uncommon
    rng.shuffle(items)
    return " ".join(f"{i + 1}. {w}" for i, w in enumerate(items)), vocab[:n_common]


class CommonWordsTask(RulerTask):
    name = "cwe"
    family = "cwe"
    metric = "string_match_all"
    version = 4
    output_tokens = rt.OUTPUT_TOKENS["cwe"]
    defaults = {"num_common": 10, "common_repeats": None, "uncommon_repeats": None, "tokenizer": None}

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
        return max(1024, 12 * params["num_common"] * self.repeats(0, params)[0])

    @property
    def smallest_units(self) -> int:  # type: ignore[override]
        return self._smallest

    _smallest = 11

    def render(self, seed: int, units: int, size_tokens: int, params: dict[str, Any], index: int) -> Rendered:
        rng = random.Random(seed)
        n_common = params["num_common"]
        big = size_tokens >= 4096
        example_ctx, example_answer = _example(rng, 40 if big else 20, 10 if big else 3, 3 if big else 1, n_common)
        rc, ru = self.repeats(size_tokens, params)
        context, answer = _example(rng, max(units, n_common + 1), rc, ru, n_common)
        before, after, question = rt.split_template(*rt.CWE, num_cw=n_common)
        example = (before + example_ctx + after + " "
                   + " ".join(f"{i + 1}. {w}" for i, w in enumerate(example_answer)))
        return Rendered(before=example + "\n" + before, context=context, after=after, query=question,
                        expected=answer, metadata={"common_repeats": rc, "uncommon_repeats": ru, "units": units})


TASK = CommonWordsTask()
