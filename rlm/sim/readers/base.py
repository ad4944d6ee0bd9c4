"""The protocol every simulator reader implements."""
from __future__ import annotations

from typing import Protocol


class Reader(Protocol):
    """Reads one family of questions.

    - `matches(query)`: does this query belong to the family?
    - `answer(query, text)`: the extractive answer found in `text`, or
      `rlm.prompts.NOT_FOUND`. Must not depend on anything but its arguments.
    - `combine_code(query)`: Python source run in the RLM's REPL after a batch of
      sub-calls. It reads `answers` (list[str], one reply per chunk, which may be
      NOT FOUND or start with "Error: ") and must set `answer` (str).
    - `grep_code(query)`: Python source for an RLM with no sub-calls (depth 0): it
      reads `context` and prints the few lines/items that may hold the answer, so
      the next turn can answer from the printed output. None if not supported.
    """

    name: str

    def matches(self, query: str) -> bool: ...

    def answer(self, query: str, text: str) -> str: ...

    def combine_code(self, query: str) -> str: ...

    def grep_code(self, query: str) -> str | None: ...
