"""Prompt rendering and exact token counting for usage and the context window.

A prompt is rendered per message as the text "<|role|>\\n" + content + "\\n",
each message tokenized on its own with cl100k (rlm.tokens) and the ids
concatenated; prompt_tokens is the total. Per-message encoding lets repeated
messages (an RLM's growing conversation) be served from a bounded memo.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from rlm import tokens


def render_message(role: str, content: str) -> str:
    return f"<|{role}|>\n{content}\n"


class MessageTokenizer:
    """Tokenizes rendered messages, memoising recent ones (bounded by total tokens)."""

    def __init__(self, max_cached_tokens: int = 4_000_000) -> None:
        self._max = max_cached_tokens
        self._memo: OrderedDict[tuple[str, str], list[int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def encode_messages(self, messages: list[dict[str, str]]) -> list[int]:
        ids: list[int] = []
        for message in messages:
            ids.extend(self._encode(message["role"], message["content"]))
        return ids

    def _encode(self, role: str, content: str) -> list[int]:
        key = (role, content)
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        encoded = tokens.encode(render_message(role, content))
        if len(encoded) <= self._max // 4:
            with self._lock:
                if key not in self._memo:
                    self._memo[key] = encoded
                    self._size += len(encoded)
                    while self._size > self._max and self._memo:
                        _, old = self._memo.popitem(last=False)
                        self._size -= len(old)
        return encoded
