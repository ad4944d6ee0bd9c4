"""Reader for the synthetic long-context QA lookups (qa_retrieval and qa_multihop).

Facts: `The {attribute} of {subject} is {value}.` inside `Document {i}: ...` strings.
Query: `What is the {attribute} of {subject}?`, where the subject may itself be
`the {attribute} of {subject}` (two hops). The answer is the value.
"""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND
from rlm.sim.combine import CONTEXT_TEXT, first_found_code
from rlm.sim.readers._query import QueryReader

_NESTED = re.compile(r"^the (.+?) of (.+)$")


def _lookup(attribute: str, subject: str, text: str) -> str | None:
    nested = _NESTED.match(subject)
    if nested:
        inner = _lookup(nested.group(1), nested.group(2), text)
        if inner is None:
            return None
        subject = inner
    m = re.search(rf"The {re.escape(attribute)} of {re.escape(subject)} is ([^.]+)\.", text)
    return m.group(1).strip() if m else None


def _innermost(subject: str) -> str:
    """The subject named outright, under any `the {attribute} of` hops."""
    while (nested := _NESTED.match(subject)) is not None:
        subject = nested.group(2)
    return subject


class QARetrievalReader(QueryReader):
    name = "qa_retrieval"
    query_re = re.compile(r"What is the (.+?) of (.+?)\?\s*$")

    def answer_match(self, m: re.Match[str], text: str) -> str:
        return _lookup(m.group(1), m.group(2), text) or NOT_FOUND

    def combine_code(self, query: str) -> str:
        # A two-hop answer needs both documents in one chunk; otherwise no chunk finds it.
        return first_found_code()

    def grep_code(self, query: str) -> str | None:
        m = self.parse(query)
        if m is None:
            return None
        subjects = [_innermost(m.group(2))]
        # The innermost subject's documents, then any document naming what they point to.
        return CONTEXT_TEXT + (
            f"_names = {subjects!r}\n"
            "_hits = [_d for _d in _text.splitlines() if any(_n in _d for _n in _names)]\n"
            "for _d in list(_hits):\n"
            "    for _s in _d.split('. '):\n"
            "        if ' is ' in _s and any(_n in _s for _n in _names):\n"
            "            _v = _s.rsplit(' is ', 1)[1].rstrip('.')\n"
            "            _hits += [_e for _e in _text.splitlines() if f' of {_v} is ' in _e and _e not in _hits]\n"
            "for _d in _hits:\n"
            "    print(_d)\n")


READER = QARetrievalReader()
