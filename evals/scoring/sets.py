"""Exact match and set F1 for list and pair answers (OOLONG-Pairs style)."""
from __future__ import annotations

import re

# Separates the two members of a pair in references, e.g. "Ada Lovelace & Alan Turing".
PAIR_SEP = " & "

_ITEM_SPLIT_RE = re.compile(r"[\n;,]+")
_PAIR_SPLIT_RE = re.compile(r"\s*(?:&|\||\band\b|\bwith\b|<->|/|,)\s*", re.IGNORECASE)
_PAIR_LINE_SPLIT_RE = re.compile(r"[\n;]+|\)\s*,?\s*\(")
_BULLET_RE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def _normalize(text: str) -> str:
    return " ".join(text.strip().strip(".\"'`*").lower().split())


def exact_match(prediction: str, expected: list[str]) -> float:
    """1 if the prediction equals any reference after trimming, lowercasing and collapsing
    whitespace (surrounding quotes and a final period are ignored), else 0."""
    pred = _normalize(prediction)
    return 1.0 if any(pred == _normalize(ref) for ref in expected) else 0.0


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
        item = _normalize(_BULLET_RE.sub("", raw))
        if item:
            items.add(item)
    return items


def parse_pairs(text: str) -> set[frozenset[str]]:
    """Unordered pairs of a pairs answer: one pair per line (or `;`-separated, or `(a, b)`),
    members joined by `&`, `|`, `and`, `,` or `/`."""
    pairs = set()
    for raw in _PAIR_LINE_SPLIT_RE.split(text):
        raw = _BULLET_RE.sub("", raw).strip().strip("()[]")
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
