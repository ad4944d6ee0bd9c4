"""An OpenAI-style prompt prefix cache, per model and bounded.

Like OpenAI's: prompts of at least 1024 tokens may reuse the longest previously
seen prefix, in 128-token steps. Prompt token ids are cut into 128-token blocks
and chain-hashed (each block's hash covers everything before it), so a block hit
means the whole prefix up to it was seen. Memory is bounded by an LRU over block
hashes. Cached tokens are billed cheaper and skip prefill latency.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

MIN_CACHED_PREFIX = 1024
BLOCK = 128


def block_hashes(ids: list[int]) -> list[int]:
    """Chain hashes of the full 128-token blocks of `ids`."""
    out = []
    h = 0
    for start in range(0, len(ids) - BLOCK + 1, BLOCK):
        h = hash((h, tuple(ids[start:start + BLOCK])))
        out.append(h)
    return out


class PrefixCache:
    """Longest-seen-prefix lookup over chained block hashes (thread-safe)."""

    def __init__(self, max_blocks: int = 200_000) -> None:
        self._max_blocks = max_blocks
        self._blocks: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def lookup_and_insert(self, ids: list[int]) -> int:
        """Cached tokens for this prompt (0 or 1024 + 128k); then remember its blocks."""
        if len(ids) < MIN_CACHED_PREFIX:
            return 0
        hashes = block_hashes(ids)
        with self._lock:
            hits = 0
            for h in hashes:
                if h not in self._blocks:
                    break
                hits += 1
            for h in hashes:
                if h in self._blocks:
                    self._blocks.move_to_end(h)
                else:
                    self._blocks[h] = None
            while len(self._blocks) > self._max_blocks:
                self._blocks.popitem(last=False)
        cached = hits * BLOCK
        return cached if cached >= MIN_CACHED_PREFIX else 0

    def __len__(self) -> int:
        return len(self._blocks)
