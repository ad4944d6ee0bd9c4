"""Samples cached on disk, one JSON file each, written atomically.

Keyed by a hash of (task, resolved params, size, seed, index, generator version), so a
changed generator or param never returns a stale sample, and an interrupted write leaves
at most a stray temp file, never a half sample.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from evals.tasks.sample import Sample

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path(".rlm-evals/cache/tasks")


def cache_path(cache_dir: Path, task: str, key: str) -> Path:
    return Path(cache_dir) / task / key[:2] / f"{key}.json"


def load(path: Path) -> Sample | None:
    """The cached sample, or None if absent or unreadable (it is then regenerated)."""
    try:
        with open(path, encoding="utf-8") as f:
            return Sample.from_dict(json.load(f))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring unreadable cached sample %s: %s", path, exc)
        return None


def store(path: Path, sample: Sample) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(sample.to_dict(), f, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
