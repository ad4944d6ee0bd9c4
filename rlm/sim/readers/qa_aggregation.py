"""Reader for OOLONG-like aggregation over labelled documents.

Documents carry `Label: {label}.`; query `How many documents have the label {label}?`.
The answer is the count in the text; chunk counts are summed.
"""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND, SUBCALL_ERROR_PREFIX
from rlm.sim.combine import CONTEXT_TEXT
from rlm.sim.readers._query import QueryReader

_SUM = '''_total = 0
_any = False
for _reply in answers:
    _reply = str(_reply).strip()
    if _reply == {nf!r} or _reply.startswith({err!r}):
        continue
    _digits = ""
    for _ch in _reply:
        if _ch.isdigit():
            _digits += _ch
        elif _digits:
            break
    if _digits:
        _total += int(_digits)
        _any = True
answer = str(_total) if _any else {nf!r}
'''


class QAAggregationReader(QueryReader):
    name = "qa_aggregation"
    query_re = re.compile(r"How many documents have the label (.+?)\?")

    def answer_match(self, m: re.Match[str], text: str) -> str:
        summary = re.search(rf"^Documents with label {re.escape(m.group(1))}: (\d+)$", text, re.MULTILINE)
        if summary:  # a grep's printed count
            return summary.group(1)
        if "Label: " not in text:
            return NOT_FOUND
        return str(text.count(f"Label: {m.group(1)}."))

    def combine_code(self, query: str) -> str:
        return _SUM.format(nf=NOT_FOUND, err=SUBCALL_ERROR_PREFIX)

    def grep_code(self, query: str) -> str | None:
        m = self.parse(query)
        if m is None:
            return None
        label = m.group(1)
        heading, marker = f"Documents with label {label}:", f"Label: {label}."
        return CONTEXT_TEXT + f"print({heading!r}, _text.count({marker!r}))\n"


READER = QAAggregationReader()
