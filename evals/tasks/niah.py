"""The seed's needle in a haystack: a magic number in lines of random filler words."""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import haystack
from evals.tasks.base import Draft, TaskGenerator, depth_param
from evals.tasks.words import seven_digit

NEEDLE = "The magic number is {number}"
QUERY = "I'm looking for a magic number. What is it?"
# The seed puts the needle at a random line between 40% and 60% of the context.
RANDOM_DEPTH = (40.0, 60.0)


class NiahTask(TaskGenerator):
    name = "niah"
    family = "niah"
    metric = "string_match_all"
    version = 2
    defaults = {"depth_percent": None}

    def validate(self, params: dict[str, Any]) -> None:
        depth_param(self.name, params)

    def variant(self, params: dict[str, Any]) -> str:
        depth = params["depth_percent"]
        if depth is None:
            return "random"
        return "d" + "-".join(f"{d:g}" for d in (depth if isinstance(depth, list | tuple) else [depth]))

    def min_size(self, params: dict[str, Any]) -> int:
        return 64

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        depth = params["depth_percent"]
        if isinstance(depth, list | tuple):
            # A list of depths is spread over the samples in turn, for depth x length grids.
            depth = depth[index % len(depth)]
        if depth is None:
            depth = rng.uniform(*RANDOM_DEPTH)
        number = seven_digit(rng)
        text, actual, depths = haystack.build(rng, size_tokens, [(depth, NEEDLE.format(number=number))], "words")
        return Draft(context=text, query=QUERY, expected=[number], actual_tokens=actual,
                     metadata={"depth_percent": depths[0], "target_depth_percent": round(depth, 3)})


TASK = NiahTask()
