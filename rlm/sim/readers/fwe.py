"""Reader for RULER frequent words extraction.

Context: lines of coded words, with `...` as noise to ignore. Query: `What are the 3 most
frequently appeared coded words in the above coded text?` The answer is `word (count), ...`
for the most frequent coded words, so chunk replies can be summed.
"""
from __future__ import annotations

import re
from collections import Counter

from rlm.sim.readers._top_words import TopWordsReader, summary_counts

_WORD = re.compile(r"^[a-z]+$")


class FrequentWordsReader(TopWordsReader):
    name = "fwe"
    query_re = re.compile(r"What are the (\d+) most frequently appeared coded words in the above coded text\?")
    default_n = 3
    grep_count_code = (
        "for _w in _text.split():\n"
        "    if _w.isalpha() and _w.islower():\n"
        "        _counts[_w] = _counts.get(_w, 0) + 1\n")

    def counts(self, text: str) -> Counter[str]:
        summary = summary_counts(text)
        if summary:
            return summary
        words = text.split()
        if "..." not in words:  # coded text always carries its `...` noise
            return Counter()
        return Counter(w for w in words if _WORD.match(w))


READER = FrequentWordsReader()
