"""Reader for RULER common words extraction.

Context: one entry per line, `{i}. {word}`. Query: `What are the {n} most common words in
the above list?` The answer is `word (count), ...` for the n most frequent words, so chunk
replies can be summed.
"""
from __future__ import annotations

import re
from collections import Counter

from rlm.sim.readers._top_words import TopWordsReader, summary_counts

_ENTRY = re.compile(r"^\s*\d+\.\s+(\S+)\s*$", re.MULTILINE)


class CommonWordsReader(TopWordsReader):
    name = "cwe"
    query_re = re.compile(r"What are the (\d+) most common words in the above list\?")
    default_n = 10
    grep_count_code = (
        "for _line in _text.splitlines():\n"
        "    _parts = _line.split('. ', 1)\n"
        "    if len(_parts) == 2 and _parts[0].strip().isdigit():\n"
        "        _counts[_parts[1].strip()] = _counts.get(_parts[1].strip(), 0) + 1\n")

    def counts(self, text: str) -> Counter[str]:
        # Raw list entries, plus any `word (count)` tallies printed by a grep or summed from replies.
        return Counter(_ENTRY.findall(text)) + summary_counts(text)


READER = CommonWordsReader()
