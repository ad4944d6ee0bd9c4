"""What the RULER generators share: a render of n haystack units, fitted like RULER.

A subclass renders its prompt for n units from a seed (`render`); `generate` finds the
largest n whose whole prompt plus the task's output budget fits the size, with the
tokenizer named by the `tokenizer` param (cl100k by default). Samples carry the prompt's
pieces, the output cap and the tokenizer's name.
"""
from __future__ import annotations

import random
from abc import abstractmethod
from typing import Any, ClassVar

from evals.tasks.base import Draft, TaskGenerator, stable_hash
from evals.tasks.ruler_fit import Rendered, fit
from evals.tasks.tokenizers import get_tokenizer


class RulerTask(TaskGenerator):
    """A RULER task: `output_tokens` is RULER's tokens_to_generate for it."""

    output_tokens: ClassVar[int]
    # Haystack units the smallest rendering holds.
    smallest_units: ClassVar[int] = 1

    @abstractmethod
    def render(self, seed: int, units: int, size_tokens: int, params: dict[str, Any], index: int) -> Rendered:
        """The sample drawn from `seed` with a haystack of `units` units."""

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any], index: int = 0) -> Draft:
        seed = rng.getrandbits(64)
        tokenizer = get_tokenizer(params.get("tokenizer"))
        key = (self.name, self.version, stable_hash(params), size_tokens, tokenizer.name)
        rendered, prompt_tokens = fit(lambda n: self.render(seed, n, size_tokens, params, index),
                                      size_tokens - self.output_tokens, tokenizer, key, self.smallest_units)
        return Draft(context=rendered.context, query=rendered.query, expected=rendered.expected,
                     actual_tokens=prompt_tokens + self.output_tokens, prompt_before=rendered.before,
                     prompt_after=rendered.after, max_output_tokens=self.output_tokens,
                     metadata={**rendered.metadata, "prompt_tokens": prompt_tokens, "tokenizer": tokenizer.name,
                               "output_tokens": self.output_tokens})
