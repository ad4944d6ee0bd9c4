"""Reader for BABILong qa1 (single supporting fact): where a person was last seen.

Facts: `{Name} {moved|went|journeyed|travelled|went back} to the {place}.` hidden in book
text. Query: BABILong's `Where is {Name}?` (the sample's query also carries the post-prompt).
The answer is in BABILong's own format, `The most recent location of {Name} is {place}.`,
from the last fact about the person; chunk replies are combined by taking the last found.
"""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND, SUBCALL_ERROR_PREFIX
from rlm.sim.combine import CONTEXT_TEXT
from rlm.sim.readers._query import QueryReader

_MOVES = r"(?:moved|went back|went|journeyed|travelled)"
_LAST = f'''answer = {NOT_FOUND!r}
for _reply in answers:
    _reply = str(_reply).strip()
    if _reply and _reply != {NOT_FOUND!r} and not _reply.startswith({SUBCALL_ERROR_PREFIX!r}):
        answer = _reply
'''


class BabilongReader(QueryReader):
    name = "babilong"
    query_re = re.compile(r"(?:^|\n|Question: )Where is ([A-Z][a-z]+)\?")

    def answer_match(self, m: re.Match[str], text: str) -> str:
        places = re.findall(rf"\b{m.group(1)} {_MOVES} to the (\w+)\.", text)
        return f"The most recent location of {m.group(1)} is {places[-1]}." if places else NOT_FOUND

    def combine_code(self, query: str) -> str:
        return _LAST  # chunks are in context order, so the last reply holds the latest move

    def grep_code(self, query: str) -> str | None:
        m = self.parse(query)
        if m is None:
            return None
        return CONTEXT_TEXT + (
            f"_name = {m.group(1)!r}\n"
            "for _s in _text.replace('\\n', ' ').split('. '):\n"
            "    if _s.strip().startswith(_name + ' ') and ' to the ' in _s:\n"
            "        print(_s.strip().rstrip('.') + '.')\n")


READER = BabilongReader()
