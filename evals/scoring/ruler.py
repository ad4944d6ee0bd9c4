"""RULER's scoring (scripts/eval): predictions are post-processed, then matched by substring.

string_match_all is the recall of every reference (NIAH, VT, CWE, FWE); string_match_part
is 1 when any reference appears (QA, whose references are alternative answers).
"""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f]")


def postprocess(prediction: str) -> str:
    """RULER's postprocess_pred: strip, control characters become newlines, strip again."""
    return _CONTROL.sub("\n", prediction.strip()).strip()


def string_match_all(prediction: str, expected: list[str]) -> float:
    """Fraction of references found in the prediction as case-insensitive substrings."""
    if not expected:
        return 0.0
    pred = postprocess(prediction).lower()
    return sum(1.0 for ref in expected if ref.lower() in pred) / len(expected)


def string_match_part(prediction: str, expected: list[str]) -> float:
    """1 if any reference is a case-insensitive substring of the prediction, else 0."""
    pred = postprocess(prediction).lower()
    return max((1.0 if ref.lower() in pred else 0.0 for ref in expected), default=0.0)
