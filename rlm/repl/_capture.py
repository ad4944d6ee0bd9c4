"""Bounded head + tail text capture, so a cell printing 100 MB costs the worker O(limit).

Stdlib only: imported by the worker.
"""
from __future__ import annotations

import io


def truncation_marker(dropped: int) -> str:
    return f"\n[... {dropped} chars truncated ...]\n"


def truncate_middle(text: str, limit: int) -> str:
    """Keep the first and last `limit // 2` chars of `text`, with a marker in between."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    return text[:head] + truncation_marker(len(text) - head - tail) + text[len(text) - tail:]


class BoundedTextIO(io.TextIOBase):
    """A write-only text stream that keeps a head and a tail and counts everything."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = max(0, limit)
        self._head_cap = self.limit // 2
        self._tail_cap = self.limit - self._head_cap
        self._head: list[str] = []
        self._head_len = 0
        self._tail: list[str] = []
        self._tail_len = 0
        self.total = 0  # characters written, before truncation

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only here; code inspects sys.stdout.encoding
        return "utf-8"

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        n = len(s)
        self.total += n
        room = self._head_cap - self._head_len
        if room > 0:
            part = s[:room]
            self._head.append(part)
            self._head_len += len(part)
            s = s[room:]
        if s and self._tail_cap:
            # Append and compact only past twice the cap: amortised O(1) per char, so a
            # loop of a million small prints stays cheap.
            self._tail.append(s[-self._tail_cap:])
            self._tail_len += min(len(s), self._tail_cap)
            if self._tail_len > 2 * self._tail_cap + 4096:
                self._tail = ["".join(self._tail)[-self._tail_cap:]]
                self._tail_len = len(self._tail[0])
        return n

    def getvalue(self) -> str:
        head = "".join(self._head)
        tail = "".join(self._tail)[-self._tail_cap:] if self._tail_cap else ""
        dropped = self.total - len(head) - len(tail)
        if dropped <= 0:
            return head + tail
        return head + truncation_marker(dropped) + tail
