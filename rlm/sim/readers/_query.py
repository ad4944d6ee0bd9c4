"""The shared shape of readers whose family is recognised by one query regex.

Most families are told apart by a fixed question template, and the template's groups
are the question's parameters (a label, a value, how many words). Searching that regex
in one place keeps `matches`, `answer` and `grep_code` agreeing on which queries belong
to the family. This module defines no `READER`, so the registry does not list it.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar

from rlm.prompts import NOT_FOUND


class QueryReader(ABC):
    """A reader whose family is the queries that `query_re` finds a match in.

    Subclasses set `name` and `query_re`, answer from the query's match in
    `answer_match`, and write `combine_code` and `grep_code` as the `Reader` protocol
    asks. A query outside the family is answered NOT FOUND without reading the text.
    """

    name: ClassVar[str]
    query_re: ClassVar[re.Pattern[str]]

    def parse(self, query: str) -> re.Match[str] | None:
        """The template's match in `query`, or None when the query is not of this family."""
        return self.query_re.search(query)

    def matches(self, query: str) -> bool:
        return self.parse(query) is not None

    def answer(self, query: str, text: str) -> str:
        m = self.parse(query)
        return NOT_FOUND if m is None else self.answer_match(m, text)

    @abstractmethod
    def answer_match(self, m: re.Match[str], text: str) -> str:
        """The extractive answer in `text` to the question parsed as `m`, or NOT FOUND."""

    @abstractmethod
    def combine_code(self, query: str) -> str: ...

    @abstractmethod
    def grep_code(self, query: str) -> str | None: ...
