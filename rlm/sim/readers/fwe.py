"""Reader for RULER frequent words extraction.

Context: lines of coded words, with `...` as noise to ignore. Query: `What are the 3 most
frequently appeared coded words in the above coded text?` The answer is `word (count), ...`
for the most frequent coded words, so chunk replies can be summed.
"""
from __future__ import annotations

import re
from collections import Counter

from rlm.prompts import NOT_FOUND
from rlm.sim.combine import CONTEXT_TEXT
from rlm.sim.readers.cwe import format_top, sum_top_code, summary_counts

_QUERY = re.compile(r"What are the (\d+) most frequently appeared coded words in the above coded text\?")
_WORD = re.compile(r"^[a-z]+$")


def _n(query: str) -> int | None:
    m = _QUERY.search(query)
    return int(m.group(1)) if m else None


class FrequentWordsReader:
    name = "fwe"

    def matches(self, query: str) -> bool:
        return _n(query) is not None

    def answer(self, query: str, text: str) -> str:
        n = _n(query)
        if n is None:
            return NOT_FOUND
        summary = summary_counts(text)
        if summary:
            return format_top(summary, n)
        words = text.split()
        if "..." not in words:  # coded text always carries its `...` noise
            return NOT_FOUND
        return format_top(Counter(w for w in words if _WORD.match(w)), n)

    def combine_code(self, query: str) -> str:
        return sum_top_code(_n(query) or 3)

    def grep_code(self, query: str) -> str | None:
        n = _n(query) or 3
        return CONTEXT_TEXT + (
            "_counts = {}\n"
            "for _w in _text.split():\n"
            "    if _w.isalpha() and _w.islower():\n"
            "        _counts[_w] = _counts.get(_w, 0) + 1\n"
            f"for _w, _c in sorted(_counts.items(), key=lambda _kv: -_kv[1])[:{n}]:\n"
            "    print(f'{_w} ({_c})')\n")


READER = FrequentWordsReader()
