"""Reader for RULER frequent words extraction.

Context: coded words, with `...` as noise to ignore. Query (RULER's): `... Please ignore the
dots '....'. What are the three most frequently appeared words in the above coded text?`
The answer is `word (count), ...`
for the most frequent coded words, so chunk replies can be summed.
"""
from __future__ import annotations

import re
from collections import Counter

from rlm.sim.readers._top_words import TopWordsReader, format_top, summary_counts

_WORD = re.compile(r"^[a-z]+$")


def _count(text: str) -> int:
    return 3 if text == "three" else int(text)


class FrequentWordsReader(TopWordsReader):
    name = "fwe"
    query_re = re.compile(r"What are the (\d+|three) most frequently appeared (?:coded )?words "
                          r"in the above coded text\?")
    default_n = 3
    grep_count_code = (
        "for _w in _text.split():\n"
        "    if _w.isalpha() and _w.islower():\n"
        "        _counts[_w] = _counts.get(_w, 0) + 1\n")

    def top_n(self, query: str) -> int:
        m = self.parse(query)
        return _count(m.group(1)) if m else self.default_n

    def answer_match(self, m: re.Match[str], text: str) -> str:
        return format_top(self.counts(text), _count(m.group(1)))

    def counts(self, text: str) -> Counter[str]:
        summary = summary_counts(text)
        if summary:
            return summary
        words = text.split()
        if "..." not in words:  # coded text always carries its `...` noise
            return Counter()
        return Counter(w for w in words if _WORD.match(w))


READER = FrequentWordsReader()
