"""RULER's needle-in-a-haystack family (scripts/data/synthetic/niah.py).

Variants are RULER's niah configs: single_1 (noise haystack), single_2 and single_3 (essay),
multikey_1 (essay, 4 keys), multikey_2 and multikey_3 (every haystack line a distractor
needle), multivalue and multiquery (essay). The essay haystack is read from `haystack_file`; `haystack=noise`
builds any variant in RULER's noise haystack instead, which needs no file.
"""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import ruler_text as rt
from evals.tasks.base import choice_param, depth_param, int_param
from evals.tasks.ruler_base import RulerTask
from evals.tasks.ruler_fit import Rendered
from evals.tasks.sample import TaskError
from evals.tasks.words import MAKERS

TYPES = ("numbers", "words", "uuids")
HAYSTACKS = ("noise", "essay", "needle")
# variant -> (haystack, key type, value type, keys planted, values per key, keys queried), as RULER's synthetic.yaml.
VARIANTS = {
    "single_1": ("noise", "words", "numbers", 1, 1, 1),
    "single_2": ("essay", "words", "numbers", 1, 1, 1),
    "single_3": ("essay", "words", "uuids", 1, 1, 1),
    "multikey_1": ("essay", "words", "numbers", 4, 1, 1),
    "multikey_2": ("needle", "words", "numbers", 1, 1, 1),
    "multikey_3": ("needle", "uuids", "uuids", 1, 1, 1),
    "multivalue": ("essay", "words", "numbers", 1, 4, 1),
    "multiquery": ("essay", "words", "numbers", 4, 1, 4),
}


class RulerNiahTask(RulerTask):
    name = "ruler_niah"
    family = "ruler_niah"
    metric = "string_match_all"
    version = 2
    output_tokens = rt.OUTPUT_TOKENS["niah"]
    smallest_units = 5
    defaults = {"variant": "single_1", "value_type": None, "key_type": None, "haystack": None,
                "haystack_file": None, "depth_percent": None, "num_keys": None, "num_values": None,
                "num_queries": None, "tokenizer": None}

    def validate(self, params: dict[str, Any]) -> None:
        choice_param(self.name, params, "variant", tuple(VARIANTS))
        for key, options in (("value_type", TYPES), ("key_type", TYPES), ("haystack", HAYSTACKS)):
            if params[key] is not None:
                choice_param(self.name, params, key, options)
        depth_param(self.name, params)
        for key in ("num_keys", "num_values", "num_queries"):
            if params[key] is not None:
                int_param(self.name, params, key)
        haystack, *_ = self.config(params)
        if haystack == "essay" and not params["haystack_file"]:
            raise TaskError(f"task {self.name!r}: variant {params['variant']} uses RULER's essay haystack: set "
                            f"task.params.haystack_file to a text file (RULER uses Paul Graham's essays), "
                            f"or task.params.haystack=noise")
        if haystack == "essay":
            rt.essay_words(str(params["haystack_file"]))
        _, _, _, keys, _, queries = self.config(params)
        if queries > keys:
            raise TaskError(f"task {self.name!r}: num_queries={queries} exceeds num_keys={keys}")

    def config(self, params: dict[str, Any]) -> tuple[str, str, str, int, int, int]:
        haystack, key_type, value_type, keys, values, queries = VARIANTS[params["variant"]]
        queries = params["num_queries"] or queries
        return (params["haystack"] or haystack, params["key_type"] or key_type, params["value_type"] or value_type,
                max(params["num_keys"] or keys, queries), params["num_values"] or values, queries)

    def variant(self, params: dict[str, Any]) -> str:
        haystack, key_type, value_type, *_ = self.config(params)
        return f"{params['variant']}_{haystack}_{key_type}_{value_type}"

    def min_size(self, params: dict[str, Any]) -> int:
        *_, keys, values, _ = self.config(params)
        return 384 + 48 * keys * values

    def render(self, seed: int, units: int, size_tokens: int, params: dict[str, Any], index: int) -> Rendered:
        rng = random.Random(seed)
        haystack, key_type, value_type, n_keys, n_values, n_queries = self.config(params)
        make_key, make_value = MAKERS[key_type], MAKERS[value_type]
        keys, values, needles = [], [], []
        for _ in range(n_keys):
            keys.append(make_key(rng))
            values.append([make_value(rng) for _ in range(n_values)])
            needles += [rt.NEEDLE.format(type_needle_v=value_type, key=keys[-1], value=v) for v in values[-1]]
        rng.shuffle(needles)
        depth = params["depth_percent"]
        depths = None
        if depth is not None:
            depth = depth[index % len(depth)] if isinstance(depth, list | tuple) else depth
            depths = [float(depth)] * len(needles)
        if haystack == "essay":
            context = rt.essay_with_inserts(rt.essay_words(str(params["haystack_file"])), units, needles, rng)
        else:
            if haystack == "noise":
                lines = [rt.NOISE] * units
            else:
                planted = set(keys)  # a distractor never reuses a planted key: the answer stays unique
                lines = [rt.NEEDLE.format(type_needle_v=value_type, key=_other(make_key, rng, planted),
                                          value=make_value(rng)) for _ in range(units)]
            context = rt.lines_with_inserts(lines, needles, rng, depths)
        queried = rng.sample(range(n_keys), n_queries)
        template, prefix, type_word = rt.NIAH[0], rt.NIAH[1], value_type
        if n_queries * n_values == 1:
            template, prefix = rt.singular(template, prefix)
            type_word = value_type[:-1]
        query = rt.join_queries([keys[i] for i in queried])
        before, after, question = rt.split_template(template, prefix, type_needle_v=type_word, query=query)
        return Rendered(before=before, context=context, after=after, query=question,
                        expected=[v for i in queried for v in values[i]],
                        metadata={"haystack": haystack, "units": units, "keys": [keys[i] for i in queried],
                                  "num_needles": len(needles)})


def _other(make, rng: random.Random, taken: set[str]) -> str:
    while (value := make(rng)) in taken:
        pass
    return value


TASK = RulerNiahTask()
