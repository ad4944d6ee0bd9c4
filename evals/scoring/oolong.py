"""OOLONG-synth's scoring (abertsch72/oolong, src/eval/eval_helpers.py), rule for rule.

Gold is the first element of the row's stringified list (`"[12]"`, `"['spam']"`, dates as
`"[datetime.date(2024, 5, 1)]"`). The model's answer is parsed OOLONG's way: the text after
its last colon without `*`, `[`, `]`; with no colon, the whole reply if under 20 characters,
else its last word. Exact string equality scores 1; numeric answers get 0.75 ** |error|;
comparison answers match by phrase; dates compare as parsed dates.
"""
from __future__ import annotations

import ast
import datetime as dt

NUMERIC = "ANSWER_TYPE.NUMERIC"
DATE = "ANSWER_TYPE.DATE"
COMPARISONS = ("more common", "less common", "same frequency")


def parse_gold(answer: str) -> object:
    """The gold answer of an OOLONG row: a date for date lists, else literal_eval(...)[0]."""
    if "datetime" in answer:
        return dt.datetime.strptime(answer, "[datetime.date(%Y, %m, %d)]")
    value = ast.literal_eval(answer)
    return value[0] if isinstance(value, list | tuple) and value else value


def parse_answer(reply: str) -> str:
    """OOLONG's attempt at the answer in a reply (synth_attempt_answer_parse)."""
    if ":" not in reply:
        return reply if len(reply) < 20 else (reply.split() or [""])[-1]
    candidate = reply.split(":")[-1].strip().replace("*", "").replace("[", "").replace("]", "")
    if len(candidate) >= 20:
        for phrase in COMPARISONS:
            if phrase in candidate:
                return phrase
    return candidate


def score(reply: str, gold_answer: str, answer_type: str | None = None) -> float:
    """One OOLONG row's score for `reply` against the row's `answer` column."""
    gold = parse_gold(gold_answer)
    pred = parse_answer(reply)
    if str(pred) == str(gold):
        return 1.0
    if pred in COMPARISONS:
        return 1.0 if pred in str(gold) else 0.0
    if answer_type == NUMERIC:
        try:
            return 0.75 ** abs(int(gold) - int(pred))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return 0.0
    if answer_type == DATE:
        try:
            from dateutil import parser as date_parser

            return 1.0 if date_parser.parse(pred) == gold else 0.0
        except (ValueError, OverflowError):
            return 0.0
    return 0.0


def numeric_partial(prediction: str, expected: list[str]) -> float:
    """OOLONG's numeric rule over a bare reference count ("12"): the reply parsed as OOLONG
    parses it, then 0.75 ** |error|; 0 when the parsed answer is not an integer."""
    if not expected:
        return 0.0
    return score(prediction, repr([_as_literal(expected[0])]), NUMERIC)


def _as_literal(value: str) -> object:
    try:
        return int(value)
    except ValueError:
        return value


def metric(prediction: str, expected: list[str], answer_type: str | None = None) -> float:
    """The `oolong` metric: `expected[0]` is the row's stringified answer list."""
    return score(prediction, expected[0], answer_type) if expected else 0.0
