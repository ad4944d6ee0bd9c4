"""Reader for RULER common words extraction.

Context: one entry per line, `{i}. {word}`. Query: `What are the {n} most common words in
the above list?` The answer is `word (count), ...` for the n most frequent words, so chunk
replies can be summed.
"""
from __future__ import annotations

import re
from collections import Counter

from rlm.prompts import NOT_FOUND, SUBCALL_ERROR_PREFIX
from rlm.sim.combine import CONTEXT_TEXT

_QUERY = re.compile(r"What are the (\d+) most common words in the above list\?")
_ENTRY = re.compile(r"^\s*\d+\.\s+(\S+)\s*$", re.MULTILINE)

# Shared with the fwe reader: replies list `word (count), ...`.
SUMMARY = re.compile(r"(\S+) \((\d+)\)")


def summary_counts(text: str) -> Counter:
    """Counts from `word (count)` items (a grep's or a chunk reply's output)."""
    counts: Counter = Counter()
    for word, count in SUMMARY.findall(text):
        counts[word.strip(",")] += int(count)
    return counts


def format_top(counts: Counter, n: int) -> str:
    top = counts.most_common(n)
    return ", ".join(f"{word} ({count})" for word, count in top) if top else NOT_FOUND


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
        f"_top = sorted(_counts.items(), key=lambda _kv: -_kv[1])[:{n}]\n"
        f"answer = ', '.join(f'{{_w}} ({{_c}})' for _w, _c in _top) if _top else {NOT_FOUND!r}\n")


def _n(query: str) -> int | None:
    m = _QUERY.search(query)
    return int(m.group(1)) if m else None


class CommonWordsReader:
    name = "cwe"

    def matches(self, query: str) -> bool:
        return _n(query) is not None

    def answer(self, query: str, text: str) -> str:
        n = _n(query)
        if n is None:
            return NOT_FOUND
        counts = Counter(_ENTRY.findall(text)) + summary_counts(text)
        return format_top(counts, n)

    def combine_code(self, query: str) -> str:
        return sum_top_code(_n(query) or 10)

    def grep_code(self, query: str) -> str | None:
        n = _n(query) or 10
        return CONTEXT_TEXT + (
            "_counts = {}\n"
            "for _line in _text.splitlines():\n"
            "    _parts = _line.split('. ', 1)\n"
            "    if len(_parts) == 2 and _parts[0].strip().isdigit():\n"
            "        _counts[_parts[1].strip()] = _counts.get(_parts[1].strip(), 0) + 1\n"
            f"for _w, _c in sorted(_counts.items(), key=lambda _kv: -_kv[1])[:{n}]:\n"
            "    print(f'{_w} ({_c})')\n")


READER = CommonWordsReader()
