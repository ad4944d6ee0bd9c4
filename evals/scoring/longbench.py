"""LongBench-v2's scoring (THUDM/LongBench, pred.py): the letter after "The correct answer is".

`*` is removed, then `The correct answer is (X)` is searched, then `The correct answer is X`;
the first match's letter must equal the row's answer. No match is wrong.
"""
from __future__ import annotations

import re

_PAREN = re.compile(r"The correct answer is \(([A-D])\)")
_BARE = re.compile(r"The correct answer is ([A-D])")


def extract_answer(response: str) -> str | None:
    response = response.replace("*", "")
    match = _PAREN.search(response) or _BARE.search(response)
    return match.group(1) if match else None


def metric(prediction: str, expected: list[str]) -> float:
    """1 when the extracted letter equals the reference letter."""
    letter = extract_answer(prediction)
    return 1.0 if letter is not None and expected and letter == expected[0].strip() else 0.0
