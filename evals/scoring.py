"""Scoring functions: a prediction and its references in, a score in [0, 1] out.

Each follows the benchmark it comes from, so scores are comparable with published ones:
RULER's string match for NIAH / VT / CWE / FWE / QA, OOLONG's partial credit for counts,
and set F1 for list and pair answers (OOLONG-Pairs).
"""
from __future__ import annotations

import re
from collections.abc import Callable

# Separates the two members of a pair in references, e.g. "Ada Lovelace & Alan Turing".
PAIR_SEP = " & "

_NUMBER_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
_ITEM_SPLIT_RE = re.compile(r"[\n;,]+")
_PAIR_SPLIT_RE = re.compile(r"\s*(?:&|\||\band\b|\bwith\b|<->|/|,)\s*", re.IGNORECASE)
_PAIR_LINE_SPLIT_RE = re.compile(r"[\n;]+|\)\s*,?\s*\(")


def string_match_all(prediction: str, expected: list[str]) -> float:
    """RULER's string_match_all: the fraction of references found in the prediction as
    case-insensitive substrings (NIAH, VT, CWE, FWE)."""
    if not expected:
        return 0.0
    pred = prediction.lower()
    return sum(1.0 for ref in expected if ref.lower() in pred) / len(expected)


def string_match_part(prediction: str, expected: list[str]) -> float:
    """RULER's string_match_part: 1 if any reference is a case-insensitive substring of the
    prediction, else 0 (QA, where references are alternative answers)."""
    pred = prediction.lower()
    return max((1.0 if ref.lower() in pred else 0.0 for ref in expected), default=0.0)


def _normalize(text: str) -> str:
    return " ".join(text.strip().strip(".\"'`*").lower().split())


def exact_match(prediction: str, expected: list[str]) -> float:
    """1 if the prediction equals any reference after trimming, lowercasing and collapsing
    whitespace (surrounding quotes and a final period are ignored), else 0."""
    pred = _normalize(prediction)
    return 1.0 if any(pred == _normalize(ref) for ref in expected) else 0.0


def first_number(text: str) -> float | None:
    """The first number written in `text` ("1,234" counts as 1234), or None."""
    match = _NUMBER_RE.search(text)
    return float(match.group().replace(",", "")) if match else None


def numeric_partial(prediction: str, expected: list[str]) -> float:
    """OOLONG's partial credit for counts: 0.75 ** |pred - gold| on the first number in the
    prediction (1 when exact, decaying with the error); 0 if the prediction has no number."""
    pred = first_number(prediction)
    gold = first_number(expected[0]) if expected else None
    if pred is None or gold is None:
        return 0.0
    return 0.75 ** abs(pred - gold)


def _set_f1(predicted: set, gold: set) -> float:
    if not predicted or not gold:
        return 1.0 if predicted == gold else 0.0
    hits = len(predicted & gold)
    if hits == 0:
        return 0.0
    precision, recall = hits / len(predicted), hits / len(gold)
    return 2 * precision * recall / (precision + recall)


def parse_items(text: str) -> set[str]:
    """Items of a list answer: split on newlines, commas and semicolons; bullets, numbering
    and case are ignored."""
    items = set()
    for raw in _ITEM_SPLIT_RE.split(text):
        item = _normalize(re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", raw))
        if item:
            items.add(item)
    return items


def parse_pairs(text: str) -> set[frozenset[str]]:
    """Unordered pairs of a pairs answer: one pair per line (or `;`-separated, or `(a, b)`),
    members joined by `&`, `|`, `and`, `,` or `/`."""
    pairs = set()
    for raw in _PAIR_LINE_SPLIT_RE.split(text):
        raw = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", raw).strip().strip("()[]")
        members = [_normalize(m) for m in _PAIR_SPLIT_RE.split(raw) if _normalize(m)]
        if len(members) == 2 and members[0] != members[1]:
            pairs.add(frozenset(members))
    return pairs


def f1_items(prediction: str, expected: list[str]) -> float:
    """Set F1 between the items listed in the prediction and the references."""
    return _set_f1(parse_items(prediction), {_normalize(ref) for ref in expected})


def f1_pairs(prediction: str, expected: list[str]) -> float:
    """Set F1 between unordered pairs in the prediction and reference pairs ("a & b")."""
    gold = {frozenset(_normalize(m) for m in ref.split(PAIR_SEP.strip())) for ref in expected}
    return _set_f1(parse_pairs(prediction), gold)


def f1(prediction: str, expected: list[str]) -> float:
    """Set F1 over pairs when the references are pairs ("a & b"), else over items."""
    if expected and all(PAIR_SEP in ref for ref in expected):
        return f1_pairs(prediction, expected)
    return f1_items(prediction, expected)


METRICS: dict[str, Callable[[str, list[str]], float]] = {
    "string_match_all": string_match_all,
    "string_match_part": string_match_part,
    "exact": exact_match,
    "numeric_partial": numeric_partial,
    "f1": f1,
}


def score(metric: str, prediction: str | None, expected: list[str]) -> float:
    """Score `prediction` against `expected` with `metric` (a key of METRICS); a missing
    prediction (None) scores 0."""
    try:
        fn = METRICS[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}") from None
    if prediction is None:
        return 0.0
    return fn(str(prediction), [str(ref) for ref in expected])
