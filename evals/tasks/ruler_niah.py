"""RULER's needle-in-a-haystack family in its noise haystack.

Variants follow RULER's niah_single / multikey / multivalue / multiquery: how many keys are
planted (the queried ones plus distractors), how many values each key has, and how many
keys the question asks about.
"""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import haystack
from evals.tasks.base import Draft, TaskGenerator, choice_param, depth_param, int_param
from evals.tasks.sample import TaskError
from evals.tasks.words import distinct

NEEDLE = "One of the special magic {value_type} for {key} is: {value}."
QUERY = "What are all the special magic {value_type} for {keys} mentioned in the provided text?"
TYPES = ("numbers", "words", "uuids")
# (keys planted, values per key, keys queried), as RULER's niah_* configs.
VARIANTS = {"single": (1, 1, 1), "multikey": (4, 1, 1), "multivalue": (1, 4, 1), "multiquery": (4, 1, 4)}


def join_keys(keys: list[str]) -> str:
    """"k1", "k1 and k2", "k1, k2 and k3"."""
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


class RulerNiahTask(TaskGenerator):
    name = "ruler_niah"
    family = "ruler_niah"
    metric = "string_match_all"
    defaults = {"variant": "single", "value_type": "numbers", "key_type": "words", "depth_percent": None,
                "num_keys": None, "num_values": None, "num_queries": None}

    def validate(self, params: dict[str, Any]) -> None:
        choice_param(self.name, params, "variant", tuple(VARIANTS))
        choice_param(self.name, params, "value_type", TYPES)
        choice_param(self.name, params, "key_type", TYPES)
        depth_param(self.name, params)
        for key in ("num_keys", "num_values", "num_queries"):
            if params[key] is not None:
                int_param(self.name, params, key)
        keys, _, queries = self.counts(params)
        if queries > keys:
            raise TaskError(f"task {self.name!r}: num_queries={queries} exceeds num_keys={keys}")

    def counts(self, params: dict[str, Any]) -> tuple[int, int, int]:
        base = VARIANTS[params["variant"]]
        return tuple(p if p is not None else b for p, b in  # type: ignore[return-value]
                     zip((params["num_keys"], params["num_values"], params["num_queries"]), base))

    def variant(self, params: dict[str, Any]) -> str:
        return f"{params['variant']}_{params['key_type']}_{params['value_type']}"

    def min_size(self, params: dict[str, Any]) -> int:
        keys, values, _ = self.counts(params)
        # A uuid needle is ~45 tokens; leave room for some haystack around the needles.
        return 128 + 48 * keys * values

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        n_keys, n_values, n_queries = self.counts(params)
        value_type = params["value_type"]
        keys = distinct(rng, params["key_type"], n_keys)
        values = distinct(rng, value_type, n_keys * n_values, exclude=set(keys))
        needles = [(key, values[i * n_values + j]) for i, key in enumerate(keys) for j in range(n_values)]
        rng.shuffle(needles)
        depth = params["depth_percent"]
        if isinstance(depth, list | tuple):
            depths = [float(depth[i % len(depth)]) for i in range(len(needles))]
        elif depth is None:
            depths = sorted(rng.uniform(0, 100) for _ in needles)
        else:
            depths = [float(depth)] * len(needles)
        lines = [NEEDLE.format(value_type=value_type, key=k, value=v) for k, v in needles]
        text, actual, actual_depths = haystack.build(rng, size_tokens, list(zip(depths, lines)), "noise")
        queried = keys[:n_queries]
        expected = [v for k in queried for kk, v in needles if kk == k]
        query = QUERY.format(value_type=value_type, keys=join_keys(queried))
        return Draft(context=text, query=query, expected=expected, actual_tokens=actual,
                     metadata={"depth_percent": actual_depths, "keys": queried, "num_needles": len(needles)})


TASK = RulerNiahTask()
