"""Context sizes in cl100k tokens, written like RULER's (1K = 1024, 1M = 1024 * 1024)."""
from __future__ import annotations

import re

from evals.tasks.sample import TaskError

K = 1024
M = 1024 * 1024
# The sizes the harness offers; any positive size parses, these are the named grid.
SIZES = ("1K", "4K", "8K", "16K", "32K", "64K", "128K", "256K", "512K", "1M", "2M", "4M", "10M")

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kKmM]?)\s*$")


def parse_size(size: str | int) -> int:
    """`"128K"` -> 131072, `"10M"` -> 10485760, `4096` -> 4096; anything else is a TaskError."""
    if isinstance(size, bool):
        raise TaskError(f"invalid size {size!r}: use a token count or a size like 4K, 128K, 1M")
    if isinstance(size, int):
        value = size
    else:
        match = _SIZE_RE.match(str(size))
        if not match:
            raise TaskError(f"invalid size {size!r}: use a token count or a size like 4K, 128K, 1M")
        number, unit = int(match.group(1)), match.group(2).upper()
        value = number * {"": 1, "K": K, "M": M}[unit]
    if value <= 0:
        raise TaskError(f"invalid size {size!r}: must be a positive number of tokens")
    return value


def format_size(tokens: int) -> str:
    """The shortest exact name: 131072 -> "128K", 10485760 -> "10M", 1000 -> "1000"."""
    if tokens > 0 and tokens % M == 0:
        return f"{tokens // M}M"
    if tokens > 0 and tokens % K == 0:
        return f"{tokens // K}K"
    return str(tokens)
