"""Reader for RULER variable tracking.

Statements: `VAR ABCDE = 12345` and `VAR FGHIJ = VAR ABCDE`, one per line. Query:
`Find all variables that are assigned the value 12345 in the text above.` The answer lists
every variable whose chain leads to the value, comma-separated, in order of assignment.
"""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND
from rlm.sim.combine import CONTEXT_TEXT, union_code
from rlm.sim.readers._query import QueryReader

_STATEMENT = re.compile(r"VAR ([A-Z]+) = (?:VAR ([A-Z]+)|(\d+))")


class VariableTrackingReader(QueryReader):
    name = "vt"
    query_re = re.compile(r"Find all variables that are assigned the value (\d+) in the text above\.")

    def answer_match(self, m: re.Match[str], text: str) -> str:
        statements = _STATEMENT.findall(text)
        found = [name for name, _, value in statements if value == m.group(1)]
        grew = True
        while grew:  # follow the chains to a fixed point, whatever the statement order
            grew = False
            for name, source, _ in statements:
                if source and source in found and name not in found:
                    found.append(name)
                    grew = True
        return ", ".join(found) if found else NOT_FOUND

    def combine_code(self, query: str) -> str:
        # A chunk only resolves the links it holds; links that cross chunks are lost.
        return union_code()

    def grep_code(self, query: str) -> str | None:
        return CONTEXT_TEXT + (
            "for _line in _text.splitlines():\n"
            "    if 'VAR ' in _line:\n"
            "        print(_line.strip())\n")


READER = VariableTrackingReader()
