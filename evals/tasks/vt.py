"""RULER's variable tracking: follow chains of assignments hidden in the noise haystack.

Chain: `VAR ABCDE = 12345`, then `VAR FGHIJ = VAR ABCDE`, ... each statement on its own
line, in order, at random depths. Other chains with other values are distractors.
"""
from __future__ import annotations

import random
import string
from typing import Any

from evals.tasks import haystack
from evals.tasks.base import Draft, TaskGenerator, depth_param, int_param

QUERY = "Find all variables that are assigned the value {value} in the text above."


def _names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = "".join(rng.choices(string.ascii_uppercase, k=5))
        if name not in names:
            names.append(name)
    return names


class VariableTrackingTask(TaskGenerator):
    name = "vt"
    family = "vt"
    metric = "string_match_all"
    defaults = {"num_chains": 1, "num_hops": 4, "depth_percent": None}

    def validate(self, params: dict[str, Any]) -> None:
        int_param(self.name, params, "num_chains")
        int_param(self.name, params, "num_hops", minimum=0)
        depth_param(self.name, params)

    def variant(self, params: dict[str, Any]) -> str:
        return f"c{params['num_chains']}h{params['num_hops']}"

    def min_size(self, params: dict[str, Any]) -> int:
        return 64 + 12 * params["num_chains"] * (params["num_hops"] + 1)

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        chains, hops = params["num_chains"], params["num_hops"]
        names = _names(rng, chains * (hops + 1))
        values = rng.sample(range(10000, 100000), chains)
        inserts: list[tuple[float, str]] = []
        depth = params["depth_percent"]
        for c in range(chains):
            chain = names[c * (hops + 1):(c + 1) * (hops + 1)]
            lines = [f"VAR {chain[0]} = {values[c]}"] + [f"VAR {b} = VAR {a}" for a, b in zip(chain, chain[1:])]
            if depth is None:
                depths = sorted(rng.uniform(0, 100) for _ in lines)
            elif isinstance(depth, list | tuple):
                depths = sorted(float(depth[i % len(depth)]) for i in range(len(lines)))
            else:
                depths = [float(depth)] * len(lines)
            inserts.extend(zip(depths, lines))
        text, actual, actual_depths = haystack.build(rng, size_tokens, inserts, "noise")
        return Draft(context=text, query=QUERY.format(value=values[0]), expected=names[:hops + 1],
                     actual_tokens=actual, metadata={"depth_percent": actual_depths[:hops + 1], "value": values[0]})


TASK = VariableTrackingTask()
