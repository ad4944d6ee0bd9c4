"""Reader for the seed NIAH task: one `The magic number is 1234567` line in filler."""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND
from rlm.sim.combine import CONTEXT_TEXT, union_digits_code

_QUERY = re.compile(r"\bmagic number\b.*\?|\blooking for a magic number\b", re.IGNORECASE)
# Case-sensitive with a literal prefix: a fast scan over megabytes of text.
_NEEDLE = re.compile(r"magic number is:? (\d+)")


class NiahReader:
    name = "niah"

    def matches(self, query: str) -> bool:
        return "special magic" not in query.lower() and bool(_QUERY.search(query)) and not _NEEDLE.search(query)

    def answer(self, query: str, text: str) -> str:
        found = list(dict.fromkeys(_NEEDLE.findall(text)))
        return ", ".join(found) if found else NOT_FOUND

    def combine_code(self, query: str) -> str:
        return union_digits_code()

    def grep_code(self, query: str) -> str | None:
        return CONTEXT_TEXT + (
            "for _line in _text.splitlines():\n"
            "    if 'magic number is' in _line.lower():\n"
            "        print(_line.strip()[:300])\n")


READER = NiahReader()
