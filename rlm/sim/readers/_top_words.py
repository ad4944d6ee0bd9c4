"""The shared shape of the word-frequency readers (cwe and fwe).

Both ask `What are the {n} most ... words ...?` and answer `word (count), ...` for the n
most frequent words, so that chunk replies, and a grep's printed tallies, can be summed
rather than merely unioned. What differs is only which tokens of the text count as words.
This module defines no `READER`, so the registry does not list it.
"""
from __future__ import annotations

import re
from abc import abstractmethod
from collections import Counter
from typing import ClassVar

from rlm.prompts import NOT_FOUND, SUBCALL_ERROR_PREFIX
from rlm.sim.combine import CONTEXT_TEXT
from rlm.sim.readers._query import QueryReader

# Replies and grep output list `word (count), ...`.
SUMMARY = re.compile(r"(\S+) \((\d+)\)")


def summary_counts(text: str) -> Counter[str]:
    """Counts from `word (count)` items (a grep's or a chunk reply's output)."""
    counts: Counter[str] = Counter()
    for word, count in SUMMARY.findall(text):
        counts[word.strip(",")] += int(count)
    return counts


def format_top(counts: Counter[str], n: int) -> str:
    top = counts.most_common(n)
    return ", ".join(f"{word} ({count})" for word, count in top) if top else NOT_FOUND


def _top_expr(n: int) -> str:
    """REPL expression: the `n` largest `(word, count)` items of the REPL's `_counts`."""
    return f"sorted(_counts.items(), key=lambda _kv: -_kv[1])[:{n}]"


def sum_top_code(n: int) -> str:
    """REPL source (no imports): sum `word (count)` items over the replies, keep the top `n`."""
    return (
        "_counts = {}\n"
        "for _reply in answers:\n"
        "    _reply = str(_reply).strip()\n"
        f"    if _reply == {NOT_FOUND!r} or _reply.startswith({SUBCALL_ERROR_PREFIX!r}):\n"
        "        continue\n"
        "    for _item in _reply.replace('\\n', ', ').split(', '):\n"
        "        _w, _sep, _c = _item.strip().rpartition(' (')\n"
        "        if _sep and _c.endswith(')') and _c[:-1].isdigit():\n"
        "            _counts[_w] = _counts.get(_w, 0) + int(_c[:-1])\n"
        f"_top = {_top_expr(n)}\n"
        f"answer = ', '.join(f'{{_w}} ({{_c}})' for _w, _c in _top) if _top else {NOT_FOUND!r}\n")


class TopWordsReader(QueryReader):
    """A reader for `the {n} most frequent words`: `query_re`'s first group is n.

    Subclasses say which tokens are words twice: `counts` in Python for `answer`, and
    `grep_count_code` as REPL source for `grep_code`.
    """

    # Used by the REPL snippets when the query names no count (or zero).
    default_n: ClassVar[int]
    # REPL source (no imports) that adds 1 to `_counts[word]` for each word of `_text`.
    grep_count_code: ClassVar[str]

    def top_n(self, query: str) -> int:
        m = self.parse(query)
        return (int(m.group(1)) if m else 0) or self.default_n

    @abstractmethod
    def counts(self, text: str) -> Counter[str]:
        """Word counts in `text`: raw family text or `word (count)` summaries; empty if neither."""

    def answer_match(self, m: re.Match[str], text: str) -> str:
        return format_top(self.counts(text), int(m.group(1)))

    def combine_code(self, query: str) -> str:
        return sum_top_code(self.top_n(query))

    def grep_code(self, query: str) -> str | None:
        return CONTEXT_TEXT + "_counts = {}\n" + self.grep_count_code + (
            f"for _w, _c in {_top_expr(self.top_n(query))}:\n"
            "    print(f'{_w} ({_c})')\n")
