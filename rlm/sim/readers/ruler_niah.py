"""Reader for RULER NIAH (single, multikey, multivalue, multiquery).

Needles: `One of the special magic {numbers|words|uuids} for {key} is: {value}.`
Query: `What are all the special magic {type} for {key} mentioned in the provided
text?` (RULER's singular for one value: `What is the special magic number for {key} ...`),
with multiquery keys joined `k1, k2, and k3`. The answer lists every value
found for the queried keys, comma-separated, in order of appearance.
"""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND
from rlm.sim.combine import CONTEXT_TEXT, union_code
from rlm.sim.readers._query import QueryReader

_NEEDLE = re.compile(r"One of the special magic (\w+) for (.+?) is: (.+?)\.(?=\s|$)")


def _kind_and_keys(m: re.Match[str]) -> tuple[str, list[str]]:
    """The needle type in the needles' plural form, and the queried keys (multiquery joins several)."""
    keys = [k.strip() for k in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", m.group(2)) if k.strip()]
    return m.group(1) + "s", keys


class RulerNiahReader(QueryReader):
    name = "ruler_niah"
    query_re = re.compile(r"What (?:are all|is) the special magic (\w+?)s? for (.+?) mentioned in the provided text\?")

    def answer_match(self, m: re.Match[str], text: str) -> str:
        kind, keys = _kind_and_keys(m)
        wanted = set(keys)
        found = [value.strip() for k_type, key, value in _NEEDLE.findall(text)
                 if k_type == kind and key.strip() in wanted]
        found = list(dict.fromkeys(found))
        return ", ".join(found) if found else NOT_FOUND

    def combine_code(self, query: str) -> str:
        return union_code()

    def grep_code(self, query: str) -> str | None:
        m = self.parse(query)
        if m is None:
            return None
        kind, keys = _kind_and_keys(m)
        prefixes = [f"One of the special magic {kind} for {key} is:" for key in keys]
        return CONTEXT_TEXT + (
            f"for _prefix in {prefixes!r}:\n"
            "    _at = _text.find(_prefix)\n"
            "    while _at != -1:\n"
            "        _end = _text.find('.', _at + len(_prefix))\n"
            "        print(_text[_at:_end + 1 if _end != -1 else _at + 300])\n"
            "        _at = _text.find(_prefix, _at + 1)\n")


READER = RulerNiahReader()
