"""Synthetic document collections for the long-context QA tasks.

A context is a list of strings `Document {i}: {body}`. Its size is the sum of its
documents' cl100k counts; a document costs its header's tokens plus its body's with a
leading space (the colon ends the header's last piece), so documents are fitted one at a
time without re-tokenising the list. Key documents go in at token depths; the rest are
distractors about other, uniquely named entities.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache

from rlm.tokens import count_tokens

from evals.tasks.words import pseudo_word

CITIES = ("Lisbon Oslo Nairobi Lima Hanoi Denver Porto Dublin Quito Cairo Bergen Perth Austin Kyoto Turin "
          "Seville Krakow Tallinn Havana Dakar Bogota Munich Lyon Zagreb Manila Osaka Geneva Halifax Accra "
          "Tbilisi").split()
OCCUPATIONS = ("baker carpenter surgeon pilot librarian chemist plumber architect florist jeweler sculptor "
               "tailor nurse geologist translator beekeeper locksmith cartographer").split()
COLORS = "teal crimson amber violet indigo olive maroon ochre lilac cobalt scarlet ivory".split()
ATTRIBUTES = {"city": CITIES, "occupation": OCCUPATIONS, "favorite color": COLORS}
NEUTRAL = ("{n} enjoys long walks in the evening.", "{n} keeps a small garden behind the house.",
           "{n} once travelled by train across the country.", "{n} collects old maps.",
           "{n} reads the newspaper every morning.", "{n} has two older siblings.",
           "{n} learned to swim as a child.", "{n} prefers tea to coffee.", "{n} rarely watches television.",
           "{n} volunteers at a local library on weekends.", "{n} writes letters by hand.",
           "{n} owns a bicycle.")

Body = Callable[[random.Random], str]


class Names:
    """Unique made-up person names ("Kelo Varimun") for one sample."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.seen = rng, set()

    def __call__(self) -> str:
        while True:
            name = f"{pseudo_word(self.rng, 2).capitalize()} {pseudo_word(self.rng, 3).capitalize()}"
            if name not in self.seen:
                self.seen.add(name)
                return name


def person_facts(rng: random.Random, name: str, extra: int = 2) -> list[str]:
    """Attribute sentences `The {attr} of {name} is {value}.` plus neutral sentences."""
    facts = [f"The {attr} of {name} is {rng.choice(values)}." for attr, values in ATTRIBUTES.items()]
    facts += [s.format(n=name) for s in rng.sample(NEUTRAL, extra)]
    rng.shuffle(facts)
    return facts


@lru_cache(maxsize=64)
def _header_tokens(digits: int) -> int:
    # cl100k splits digit runs into groups of three, so the cost depends only on the length.
    return count_tokens(f"Document {'1' * digits}:")


def doc_tokens(index: int, body: str) -> int:
    return _header_tokens(len(str(index))) + count_tokens(" " + body)


def build(rng: random.Random, size_tokens: int, keys: list[tuple[float, str]], filler: Body,
          ) -> tuple[list[str], int, list[float]]:
    """Documents holding the `(depth_percent, body)` keys, padded with `filler()` bodies,
    at most `size_tokens` tokens. A filler that does not fit is cut sentence by sentence.
    Returns (documents, tokens, actual key depths)."""
    keys = sorted(enumerate(keys), key=lambda item: item[1][0])
    reserved = [count_tokens(" " + body) + 6 for _, (_, body) in keys]  # 6: a header up to 9999999
    reserve = sum(reserved)
    docs: list[str] = []
    depths = [0.0] * len(keys)
    used, k = 0, 0
    while True:
        if k < len(keys) and used >= keys[k][1][0] / 100 * size_tokens:
            original, (_, body) = keys[k]
            depths[original] = used
            used += doc_tokens(len(docs) + 1, body)
            docs.append(f"Document {len(docs) + 1}: {body}")
            reserve -= reserved[k]
            k += 1
            continue
        body = filler(rng)
        cost = doc_tokens(len(docs) + 1, body)
        while used + cost + reserve > size_tokens and ". " in body:
            body = body.rsplit(". ", 1)[0] + "."
            cost = doc_tokens(len(docs) + 1, body)
        if used + cost + reserve > size_tokens:
            break
        used += cost
        docs.append(f"Document {len(docs) + 1}: {body}")
    while k < len(keys):  # keys at depths past the last filler
        original, (_, body) = keys[k]
        depths[original] = used
        used += doc_tokens(len(docs) + 1, body)
        docs.append(f"Document {len(docs) + 1}: {body}")
        k += 1
    return docs, used, [round(100 * d / used, 3) for d in depths]


def key_depths(rng: random.Random, count: int, depth: float | list | None) -> list[float]:
    """Depths for `count` key documents: random, one fixed percent, or cycling a list."""
    if depth is None:
        return [rng.uniform(0, 100) for _ in range(count)]
    if isinstance(depth, list | tuple):
        return [float(depth[i % len(depth)]) for i in range(count)]
    return [float(depth)] * count
