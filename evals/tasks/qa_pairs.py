"""OOLONG-Pairs-like: list every pair of people who share a hometown.

Most people have a hometown of their own; a few groups of two or three share one. The
pairs answer is quadratic in what must be compared, scored by set F1 over pairs.
"""
from __future__ import annotations

import random
from itertools import combinations
from typing import Any

from evals.scoring import PAIR_SEP
from evals.tasks import qa_docs
from evals.tasks.base import Draft, TaskGenerator, int_param
from evals.tasks.words import pseudo_word

QUERY = "List all pairs of people who have the same hometown. Give one pair per line as: Name & Name."


def _town(rng: random.Random, seen: set[str]) -> str:
    while True:
        town = pseudo_word(rng, 3).capitalize() + rng.choice(("ville", "ford", "burg", "haven", "field"))
        if town not in seen:
            seen.add(town)
            return town


def _body(rng: random.Random, name: str, town: str) -> str:
    facts = qa_docs.person_facts(rng, name, extra=rng.randint(0, 2)) + [f"The hometown of {name} is {town}."]
    rng.shuffle(facts)
    return " ".join(facts)


class QAPairsTask(TaskGenerator):
    name = "qa_pairs"
    family = "qa_pairs"
    metric = "f1"
    defaults = {"num_groups": 4, "max_group_size": 3}

    def validate(self, params: dict[str, Any]) -> None:
        int_param(self.name, params, "num_groups")
        int_param(self.name, params, "max_group_size", minimum=2)

    def variant(self, params: dict[str, Any]) -> str:
        return f"g{params['num_groups']}"

    def min_size(self, params: dict[str, Any]) -> int:
        return 64 + 72 * params["num_groups"] * params["max_group_size"]

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        names, towns = qa_docs.Names(rng), set()
        keys, pairs = [], []
        for _ in range(params["num_groups"]):
            town = _town(rng, towns)
            group = [names() for _ in range(rng.randint(2, params["max_group_size"]))]
            keys += [(rng.uniform(0, 100), _body(rng, name, town)) for name in group]
            pairs += [PAIR_SEP.join(sorted(pair)) for pair in combinations(group, 2)]
        docs, used, depths = qa_docs.build(rng, size_tokens, keys, lambda r: _body(r, names(), _town(r, towns)))
        return Draft(context=docs, query=QUERY, expected=sorted(pairs), actual_tokens=used,
                     metadata={"num_documents": len(docs), "depth_percent": depths})


TASK = QAPairsTask()
