"""RULER's variable tracking (scripts/data/synthetic/variable_tracking.py).

Chains `VAR ABCDE = 12345`, `VAR FGHIJ = VAR ABCDE `, ... in RULER's noise haystack (one
statement per line, each chain's statements in order at random lines); the answer is every
variable of the first chain. A one-shot example (a 500-token instance with 3-letter names
and its answer) comes before the task, as in RULER.
"""
from __future__ import annotations

import random
import string
from typing import Any

from evals.tasks import ruler_text as rt
from evals.tasks.base import depth_param, int_param
from evals.tasks.ruler_base import RulerTask
from evals.tasks.ruler_fit import Rendered, fit
from evals.tasks.tokenizers import get_tokenizer

EXAMPLE_TOKENS = 500  # RULER's one-shot example is fitted to 500 tokens with no output budget


def _names(rng: random.Random, count: int, letters: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = "".join(rng.choices(string.ascii_uppercase, k=letters))
        if name not in names:
            names.append(name)
    return names


def _chains(rng: random.Random, chains: int, hops: int, letters: int) -> tuple[list[list[str]], list[list[str]], str]:
    names = _names(rng, chains * (hops + 1), letters)
    groups = [names[c * (hops + 1):(c + 1) * (hops + 1)] for c in range(chains)]
    values = [str(rng.randint(10000, 99998)) for _ in range(chains)]
    statements = [[f"VAR {g[0]} = {v}"] + [f"VAR {b} = VAR {a} " for a, b in zip(g, g[1:])]
                  for g, v in zip(groups, values)]
    return groups, statements, values[0]


def _context(rng: random.Random, units: int, statements: list[list[str]], depth: float | None) -> str:
    lines = [rt.NOISE] * units
    for chain in statements:
        if depth is None:
            positions = sorted(rng.sample(range(len(lines)), len(chain)))
        else:
            positions = [min(len(lines), int(len(lines) * depth / 100))] * len(chain)
        for j, (pos, line) in enumerate(zip(positions, chain)):
            lines.insert(pos + j, line)
    return "\n".join(lines).replace(". \n", ".\n")


class VariableTrackingTask(RulerTask):
    name = "vt"
    family = "vt"
    metric = "string_match_all"
    version = 2
    output_tokens = rt.OUTPUT_TOKENS["vt"]
    smallest_units = 5
    defaults = {"num_chains": 1, "num_hops": 4, "depth_percent": None, "tokenizer": None}

    def validate(self, params: dict[str, Any]) -> None:
        int_param(self.name, params, "num_chains")
        int_param(self.name, params, "num_hops", minimum=0)
        depth_param(self.name, params)

    def variant(self, params: dict[str, Any]) -> str:
        return f"c{params['num_chains']}h{params['num_hops']}"

    def min_size(self, params: dict[str, Any]) -> int:
        return 1024 + 12 * params["num_chains"] * (params["num_hops"] + 1)

    def _instance(self, rng: random.Random, units: int, chains: int, hops: int, letters: int,
                  depth: float | None) -> tuple[str, str, str, list[str]]:
        groups, statements, value = _chains(rng, chains, hops, letters)
        before, after, question = rt.split_template(*rt.VT, query=value, num_v=hops + 1)
        return before, _context(rng, units, statements, depth), after, groups[0] + [question]

    def example(self, seed: int, params: dict[str, Any]) -> str:
        """RULER's one-shot example: an instance fitted to 500 tokens, then its answer."""
        hops = min(10, params["num_hops"])

        def render(units: int) -> Rendered:
            rng = random.Random(seed)
            before, context, after, answer = self._instance(rng, units, params["num_chains"], hops, 3, None)
            return Rendered(before, context, after, "", answer[:-1])

        tokenizer = get_tokenizer(params.get("tokenizer"))
        rendered, _ = fit(render, EXAMPLE_TOKENS, tokenizer, ("vt-example", tokenizer.name, hops), smallest=5)
        return rendered.prompt() + " " + " ".join(rendered.expected) + "\n"

    def render(self, seed: int, units: int, size_tokens: int, params: dict[str, Any], index: int) -> Rendered:
        rng = random.Random(seed)
        depth = params["depth_percent"]
        if isinstance(depth, list | tuple):
            depth = depth[index % len(depth)]
        example = self.example(seed ^ 0x5EED, params)
        before, context, after, answer = self._instance(rng, units, params["num_chains"], params["num_hops"], 5,
                                                        depth)
        return Rendered(before=example + "\n" + before, context=context, after=after, query=answer[-1],
                        expected=answer[:-1],
                        metadata={"units": units, "value": after.split("value ")[1].split(" ")[0]})


TASK = VariableTrackingTask()
