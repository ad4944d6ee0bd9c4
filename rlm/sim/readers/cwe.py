"""Reader for RULER common words extraction.

Context: RULER's numbered list `1. word 2. word ...` (one line, or one entry per line).
Query: `What are the {n} most common words in
the above list?` The answer is `word (count), ...` for the n most frequent words, so chunk
replies can be summed.
"""
from __future__ import annotations

import re
from collections import Counter

from rlm.sim.readers._top_words import TopWordsReader, summary_counts

_ENTRY = re.compile(r"(?<!\S)\d+\. ([A-Za-z][\w-]*)")


class CommonWordsReader(TopWordsReader):
    name = "cwe"
    query_re = re.compile(r"What are the (\d+) most common words in the above list\?")
    default_n = 10
    grep_count_code = (
        "_toks = _text.split()\n"
        "for _i in range(len(_toks) - 1):\n"
        "    if _toks[_i].endswith('.') and _toks[_i][:-1].isdigit() and _toks[_i + 1][:1].isalpha():\n"
        "        _counts[_toks[_i + 1]] = _counts.get(_toks[_i + 1], 0) + 1\n")

    def counts(self, text: str) -> Counter[str]:
        # Raw list entries, plus any `word (count)` tallies printed by a grep or summed from replies.
        return Counter(_ENTRY.findall(text)) + summary_counts(text)


READER = CommonWordsReader()
