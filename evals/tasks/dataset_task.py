"""What every real-dataset task shares: load rows, select them by length, map each to a Draft.

Subclasses say how a row becomes a sample (`draft`), which rows a preset filters out
(`row_filter`), and how a size selects rows (`bucket`, default: the measured length of the
context in the named size grid). Every row is accounted for in a SelectionStats: kept,
cut (kept, but the plain model's prompt is cut to fit), or dropped with a reason.
"""
from __future__ import annotations

import random
from functools import lru_cache
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from evals.tasks.base import Draft, TaskGenerator, int_param, plain
from evals.tasks.loaders import describe, load_rows
from evals.tasks.sample import TaskError
from evals.tasks.selection import SelectionStats, bucket_label, grid_bucket
from evals.tasks.tokenizers import get_tokenizer

COMMON_DEFAULTS: dict[str, Any] = {"path": None, "name": None, "split": None, "shuffle": False, "max_rows": None,
                                   "tokenizer": None}


class DatasetTask(TaskGenerator):
    """A task read from a dataset; `generate_all` returns its drafts and `last_stats` its counts."""

    defaults: ClassVar[dict[str, Any]] = COMMON_DEFAULTS
    # The dataset's name in tables.
    dataset_label: str = "dataset"
    # True: `bucket` reads the draft's measured length, so every row is drafted and measured.
    # False: `bucket` decides from the row alone (the dataset's own buckets) and gets None.
    measured_buckets: bool = True

    def __init__(self) -> None:
        self.last_stats: SelectionStats | None = None

    def resolve(self, params: Mapping | None) -> dict[str, Any]:
        params = dict(plain(params or {}))
        if isinstance(params.get("fields"), dict) and isinstance(self.defaults.get("fields"), dict):
            params["fields"] = {**self.defaults["fields"], **params["fields"]}  # partial maps keep the rest
        return super().resolve(params)

    def validate(self, params: dict[str, Any]) -> None:
        if not params["path"] or not isinstance(params["path"], str):
            raise TaskError(f"task {self.name!r}: param path is required (a hub name or a "
                            f".jsonl/.json/.csv/.parquet file)")
        if params["max_rows"] is not None:
            int_param(self.name, params, "max_rows")

    def dataset_name(self, params: dict[str, Any]) -> str:
        return params.get("label") or self.dataset_label

    def min_size(self, params: dict[str, Any]) -> int:
        return 1

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any], index: int = 0) -> Draft:
        raise TaskError(f"task {self.name!r} reads its samples with generate_all")

    # -- what subclasses define ------------------------------------------------------------
    @abstractmethod
    def draft(self, row: dict, params: dict[str, Any], where: str, size_tokens: int) -> Draft:
        """The sample of one row (TaskError naming `where` for a malformed row)."""

    def row_filter(self, row: dict, params: dict[str, Any]) -> str | None:
        """Why a preset leaves this row out (e.g. "other task"), or None to keep it."""
        return None

    def split(self, params: dict[str, Any], size_tokens: int) -> tuple[str | None, str | None]:
        """(config name, split) to load for this size."""
        return params["name"], params["split"] or "train"

    def bucket(self, row: dict, draft: Draft | None, size_tokens: int, params: dict[str, Any]) -> str | None:
        """Why this row is outside the size's bucket ("shorter"/"longer"), or None if inside.
        Default: the context's measured tokens in the named size grid."""
        lower, upper = grid_bucket(size_tokens)
        assert draft is not None
        tokens = draft.actual_tokens
        return "shorter" if tokens <= lower else "longer" if tokens > upper else None

    def bucket_name(self, size_tokens: int, params: dict[str, Any]) -> str:
        return bucket_label(*grid_bucket(size_tokens))

    def is_cut(self, draft: Draft, params: dict[str, Any]) -> bool:
        """Whether the plain model's prompt of a kept row is cut to fit."""
        return False

    # -- the shared selection --------------------------------------------------------------
    def generate_all(self, size_tokens: int, num_samples: int, seed: int, params: dict[str, Any]) -> list[Draft]:
        name, split = self.split(params, size_tokens)
        rows = load_rows(str(params["path"]), name, split)
        where = describe(str(params["path"]))
        if not rows:
            raise TaskError(f"task {self.name!r}: {where} split {split!r} has no rows")
        stats = SelectionStats(source=f"{self.name} ({where})", bucket=self.bucket_name(size_tokens, params),
                               rows_total=len(rows))
        order = list(range(len(rows)))
        if params["shuffle"]:
            random.Random(seed).shuffle(order)
        if params["max_rows"] is not None:
            stats.dropped["over max_rows"] += max(0, len(order) - params["max_rows"])
            order = order[:params["max_rows"]]
        drafts: list[Draft] = []
        lengths: list[int] = []
        for i in order:
            reason = self.row_filter(rows[i], params)
            draft = None
            if reason is None and self.measured_buckets:
                draft = self.draft(rows[i], params, f"{where} row {i}", size_tokens)
                lengths.append(draft.actual_tokens)
            if reason is None:
                reason = self.bucket(rows[i], draft, size_tokens, params)
            if reason is not None:
                stats.dropped[reason] += 1
                continue
            stats.rows_in_bucket += 1
            if len(drafts) == num_samples:
                stats.dropped["beyond samples"] += 1
                continue
            if draft is None:
                draft = self.draft(rows[i], params, f"{where} row {i}", size_tokens)
            draft.metadata.setdefault("row", i)
            draft.metadata.setdefault("source", str(params["path"]))
            drafts.append(draft)
        stats.rows_kept = len(drafts)
        stats.rows_cut = sum(1 for d in drafts if self.is_cut(d, params))
        for d in drafts:
            d.metadata.update(stats.as_metadata())
            d.metadata["tokenizer"] = get_tokenizer(params["tokenizer"]).name
        self.last_stats = stats
        stats.log()
        if not drafts and num_samples > 0:
            span = f"; measured lengths {min(lengths):,}-{max(lengths):,} tokens" if lengths else ""
            raise TaskError(f"task {self.name!r}: no row of {where} is in the size's bucket {stats.bucket} "
                            f"({stats.line()}{span})")
        return drafts


def field_value(row: dict, name: str, where: str) -> Any:
    if name not in row:
        raise TaskError(f"{where} has no field {name!r} (fields: {', '.join(sorted(map(str, row)))})")
    return row[name]


@lru_cache(maxsize=1024)
def _count(tokenizer: str, text: str) -> int:
    """Memoised: the same rows are measured again at every size of a sweep."""
    return get_tokenizer(tokenizer).count(text)


def measure(context: str | list | dict, params: dict[str, Any]) -> int:
    """Tokens of a context with the task's tokenizer (lists and dicts: their items summed)."""
    name = get_tokenizer(params["tokenizer"]).name

    def count(text: str) -> int:
        return _count(name, text)

    if isinstance(context, str):
        return count(context)
    items = context.values() if isinstance(context, dict) else context
    return sum(count(str(item)) for item in items)
