"""Reader for OOLONG-Pairs-like questions: people who share an attribute value.

Facts: `The {attribute} of {name} is {value}.`; query `List all pairs of people who have
the same {attribute}. ...`. The answer is one `Name & Name` pair per line.
"""
from __future__ import annotations

import re
from itertools import combinations

from rlm.prompts import NOT_FOUND, SUBCALL_ERROR_PREFIX
from rlm.sim.combine import CONTEXT_TEXT
from rlm.sim.readers._query import QueryReader

_UNION = '''_pairs = []
for _reply in answers:
    _reply = str(_reply).strip()
    if _reply == {nf!r} or _reply.startswith({err!r}):
        continue
    for _line in _reply.splitlines():
        _line = _line.strip()
        if " & " in _line and _line not in _pairs:
            _pairs.append(_line)
answer = "\\n".join(_pairs) if _pairs else {nf!r}
'''


class QAPairsReader(QueryReader):
    name = "qa_pairs"
    query_re = re.compile(r"List all pairs of people who have the same (.+?)\.")

    def answer_match(self, m: re.Match[str], text: str) -> str:
        groups: dict[str, list[str]] = {}
        for name, value in re.findall(rf"The {re.escape(m.group(1))} of (.+?) is ([^.]+)\.", text):
            if name not in groups.setdefault(value, []):
                groups[value].append(name)
        pairs = sorted(" & ".join(sorted(p)) for names in groups.values() for p in combinations(names, 2))
        return "\n".join(pairs) if pairs else NOT_FOUND

    def combine_code(self, query: str) -> str:
        # Pairs whose two documents sit in different chunks are missed.
        return _UNION.format(nf=NOT_FOUND, err=SUBCALL_ERROR_PREFIX)

    def grep_code(self, query: str) -> str | None:
        m = self.parse(query)
        if m is None:
            return None
        marker = f"The {m.group(1)} of "
        return CONTEXT_TEXT + (
            f"_marker = {marker!r}\n"
            "_by_value = {}\n"
            "for _s in _text.replace('\\n', ' ').split('. '):\n"
            "    _at = _s.find(_marker)\n"
            "    if _at != -1 and ' is ' in _s[_at:]:\n"
            "        _name, _value = _s[_at + len(_marker):].split(' is ', 1)\n"
            "        _by_value.setdefault(_value.rstrip('.'), []).append(_name)\n"
            "for _value, _names in _by_value.items():\n"
            "    if len(_names) > 1:\n"
            "        for _name in _names:\n"
            "            print(_marker + _name + ' is ' + _value + '.')\n")


READER = QAPairsReader()
