"""Which rows of a real dataset a size selects, and the counts that say so.

A size is a length bucket, never a cap: rows whose measured length falls in the bucket are
kept (up to the number of samples asked for), the others are dropped and counted. Generic
datasets use the named size grid (size 8K = rows over 4K and up to 8K tokens); a dataset
with its own buckets (OOLONG's context_len, BABILong's configs) uses those instead. Rows
kept but cut to fit a model (LongBench-v2's middle truncation) are counted as cut.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from evals.tasks.sizes import SIZES, format_size, parse_size

log = logging.getLogger(__name__)


@dataclass
class SelectionStats:
    """Rows of one dataset at one size: read, in the size's bucket, kept, cut and dropped."""

    source: str
    bucket: str
    rows_total: int = 0
    rows_in_bucket: int = 0
    rows_kept: int = 0
    rows_cut: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> rows

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def as_metadata(self) -> dict[str, int | str]:
        """Scalar counts stored on every sample (they reach the run record as they are)."""
        return {"rows_total": self.rows_total, "rows_in_bucket": self.rows_in_bucket, "rows_kept": self.rows_kept,
                "rows_cut": self.rows_cut, "rows_dropped": self.rows_dropped, "bucket": self.bucket}

    def line(self) -> str:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
        return (f"{self.source} {self.bucket}: {self.rows_total} rows, {self.rows_in_bucket} in bucket, "
                f"kept {self.rows_kept} (cut {self.rows_cut}), dropped {self.rows_dropped}"
                + (f" ({reasons})" if reasons else ""))

    def log(self) -> None:
        log.info("%s", self.line())


def grid_bucket(size_tokens: int) -> tuple[int, int]:
    """(lower, upper]: from the largest named size below `size_tokens` up to it."""
    below = [parse_size(s) for s in SIZES if parse_size(s) < size_tokens]
    return (max(below) if below else 0), size_tokens


def bucket_label(lower: int, upper: int) -> str:
    return f"({format_size(lower) if lower else 0}, {format_size(upper)}]"


def selection_stats(samples: list) -> SelectionStats | None:
    """The selection counts carried by dataset samples (None for generated tasks)."""
    for sample in samples:
        meta = sample.metadata
        if "rows_total" in meta:
            stats = SelectionStats(source=str(meta.get("source", sample.task)), bucket=str(meta.get("bucket", "")),
                                   rows_total=meta["rows_total"], rows_in_bucket=meta["rows_in_bucket"],
                                   rows_kept=meta["rows_kept"], rows_cut=meta["rows_cut"])
            stats.dropped["total"] = meta["rows_dropped"]
            return stats
    return None
