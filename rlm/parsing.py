"""Parsing a root model's reply: ```repl code blocks and the FINAL / FINAL_VAR answer.

A FINAL inside a code fence is code, not an answer, so fenced regions are masked
before the answer is looked for. FINAL(...) may span lines and nest parentheses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_LANGS = {"repl", "python", "py"}
_FINAL_START = re.compile(r"^[ \t>*]*(FINAL_VAR|FINAL)\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class FinalAnswer:
    kind: Literal["text", "var"]
    value: str


def code_blocks(text: str) -> list[str]:
    """The code of every ```repl (or ```python) block, in order."""
    return [m.group(2).strip("\n") for m in _FENCE.finditer(text)
            if m.group(1).lower() in _CODE_LANGS and m.group(2).strip()]


def _mask_fences(text: str) -> str:
    """Blank out fenced regions (keeping offsets) so nothing inside them is read as an answer."""
    return _FENCE.sub(lambda m: " " * (m.end() - m.start()), text)


def find_final(text: str) -> FinalAnswer | None:
    """The answer given outside code, or None. The last FINAL line wins."""
    masked = _mask_fences(text)
    matches = list(_FINAL_START.finditer(masked))
    if not matches:
        return None
    match = matches[-1]
    body = _balanced(masked, match.end())
    kind: Literal["text", "var"] = "var" if match.group(1) == "FINAL_VAR" else "text"
    value = body.strip()
    if kind == "var":
        value = value.strip("'\"` ")  # a name, however quoted
    # FINAL's text is kept as written, quotes included: scorers normalise, the parser does not.
    return FinalAnswer(kind, value)


def _balanced(text: str, start: int) -> str:
    """Text from `start` up to the parenthesis closing the one just before it.

    Unbalanced input (a model that forgot the closing parenthesis) yields the rest
    of the text up to its last ')' or its end, rather than failing.
    """
    level = 1
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "(":
            level += 1
        elif ch == ")":
            level -= 1
            if level == 0:
                return text[start:i]
    rest = text[start:]
    cut = rest.rfind(")")
    return rest[:cut] if cut >= 0 else rest


def truncate_middle(text: str, limit: int) -> str:
    """Keep the head and tail of `text` within `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit:,} characters truncated ...]\n"
    keep = max(0, limit - len(marker))
    head = keep // 2
    return text[:head] + marker + text[len(text) - (keep - head):]
