"""Scoring: a prediction and its references in, a score in [0, 1] out.

One module per benchmark, each following its authors' code so scores sit next to
published ones: RULER (ruler), OOLONG (oolong), LongBench-v2 (longbench), BABILong
(babilong); set F1 and exact match for list and pair answers (sets). A metric may take
keyword arguments a sample carries in `metric_args` (OOLONG's answer type, BABILong's
question and task); `score_sample` passes them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evals.scoring import babilong, longbench, oolong
from evals.scoring.oolong import numeric_partial
from evals.scoring.ruler import string_match_all, string_match_part
from evals.scoring.sets import PAIR_SEP, exact_match, f1, f1_items, f1_pairs, parse_items, parse_pairs

METRICS: dict[str, Callable[..., float]] = {
    "string_match_all": string_match_all,
    "string_match_part": string_match_part,
    "exact": exact_match,
    "numeric_partial": numeric_partial,
    "f1": f1,
    "oolong": oolong.metric,
    "longbench_v2": longbench.metric,
    "babilong": babilong.metric,
}


def score(metric: str, prediction: str | None, expected: list[str], **metric_args: Any) -> float:
    """Score `prediction` against `expected` with `metric` (a key of METRICS); a missing
    prediction (None) scores 0."""
    try:
        fn = METRICS[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}") from None
    if prediction is None:
        return 0.0
    return fn(str(prediction), [str(ref) for ref in expected], **metric_args)


def score_sample(sample: Any, prediction: str | None) -> float:
    """Score a prediction for a Sample: its metric, references and metric_args."""
    return score(sample.metric, prediction, sample.expected, **(getattr(sample, "metric_args", None) or {}))


__all__ = ["METRICS", "PAIR_SEP", "score", "score_sample", "string_match_all", "string_match_part", "exact_match",
           "numeric_partial", "f1", "f1_items", "f1_pairs", "parse_items", "parse_pairs"]
