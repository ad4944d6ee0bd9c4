"""Rows of a dataset: local .jsonl / .json / .csv / .parquet files read directly, hub names
through `datasets`.

Local files are read without `datasets` so a broken file gets one message naming the file,
the line and the parser's own complaint, instead of a builder's stack of wrappers.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from evals.tasks.sample import TaskError

LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def is_local(path: str) -> bool:
    return Path(path).suffix.lower() in LOCAL_SUFFIXES


def describe(path: str) -> str:
    """How messages name the input: "file x.jsonl" or "dataset org/name"."""
    return f"file {path}" if is_local(path) else f"dataset {path}"


def load_rows(path: str, name: str | None = None, split: str | None = None) -> list[dict[str, Any]]:
    """Every row of a local file, or of split `split` of hub dataset `path` (config `name`)."""
    if is_local(path):
        return _read_local(Path(path))
    return _read_hub(path, name, split)


def _read_local(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise TaskError(f"file {path} does not exist")
    if path.stat().st_size == 0:
        raise TaskError(f"file {path} is empty")
    suffix = path.suffix.lower()
    rows = {".jsonl": _jsonl, ".json": _json, ".csv": _csv, ".parquet": _parquet}[suffix](path)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TaskError(f"file {path} row {i}: expected an object with named fields, got {type(row).__name__}")
    return rows


def _jsonl(path: Path) -> list[Any]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise TaskError(f"file {path} line {number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    return rows


def _json(path: Path) -> list[Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise TaskError(f"file {path} line {exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    if isinstance(data, dict):  # {"data": [...]} or {"train": [...]}: one list of rows inside
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise TaskError(f"file {path}: expected a list of rows, or an object holding exactly one list of rows")
        data = lists[0]
    if not isinstance(data, list):
        raise TaskError(f"file {path}: expected a list of rows, got {type(data).__name__}")
    return data


def _csv(path: Path) -> list[Any]:
    csv.field_size_limit(1 << 30)  # long-context cells are far above the default 128 KiB
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        try:
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    found = sum(1 for k, v in row.items() if k is not None and v is not None) + len(row.get(None, []))
                    raise TaskError(f"file {path} line {reader.line_num}: row has {found} "
                                    f"fields where the header has {len(reader.fieldnames or [])}")
                rows.append(dict(row))
        except csv.Error as exc:
            raise TaskError(f"file {path} line {reader.line_num}: invalid CSV: {exc}") from None
    if not rows and not reader.fieldnames:
        raise TaskError(f"file {path}: no header row")
    return rows


def _parquet(path: Path) -> list[Any]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise TaskError(f"file {path}: not a readable parquet file: {' '.join(str(exc).split())[:200]}") from None


def _read_hub(path: str, name: str | None, split: str | None) -> list[dict[str, Any]]:
    import datasets  # heavy; only hub datasets need it

    try:
        return list(datasets.load_dataset(path, name, split=split))
    except (ValueError, KeyError) as exc:
        message = " ".join(str(exc).split())[:300]
        raise TaskError(f"cannot read split {split!r} of dataset {path}: {message}") from None
    except Exception as exc:  # network, format and builder errors differ by datasets version
        message = " ".join(str(exc).split())[:300]
        raise TaskError(f"cannot load dataset {path}: {type(exc).__name__}: {message}") from None
