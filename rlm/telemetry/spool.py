"""The local spool: append-only JSONL of what could not reach the database.

Each writer appends to its own file (`<pid>-<start>.jsonl`), so files never interleave. A replay
first renames a file to `.replaying` (claiming it: two replayers never read the same file) and
deletes it only once every item is in the database; the keys make a repeated replay harmless.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from rlm.events import event_from_dict, event_to_dict
from rlm.telemetry.records import RECORD_TYPES, record_from_dict, record_to_dict

log = logging.getLogger(__name__)


def item_to_dict(item) -> dict:
    return record_to_dict(item) if item.kind in RECORD_TYPES else event_to_dict(item)


def item_from_dict(data: dict):
    return record_from_dict(data) if data.get("kind") in RECORD_TYPES else event_from_dict(data)


class Spool:
    """Appends items to `spool_dir`, and hands back what it holds for replay."""

    def __init__(self, spool_dir: str | Path) -> None:
        self.dir = Path(spool_dir)
        self._path = self.dir / f"{os.getpid()}-{time.time_ns()}.jsonl"
        self._lock = threading.Lock()
        self.written = 0

    def append(self, items: list) -> None:
        if not items:
            return
        # ASCII JSON: any text (lone surrogates, NUL) is written and read back exactly.
        text = "".join(json.dumps(item_to_dict(i), ensure_ascii=True, default=str) + "\n" for i in items)
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(self._path, "a", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
            self.written += len(items)

    def pending_files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if p.suffix in (".jsonl", ".replaying"))

    def claim(self) -> Iterator[tuple[Path, list]]:
        """Yield (claimed file, its items) for every spool file; delete the file after success."""
        with self._lock:  # our own file is closed between appends; later appends start a new file
            own = self._path
            self._path = self.dir / f"{os.getpid()}-{time.time_ns()}.jsonl"
        for path in self.pending_files():
            if path.suffix == ".jsonl" and path != own and _writer_alive(path):
                continue  # another live process still appends to it
            claimed = path if path.suffix == ".replaying" else path.with_suffix(".replaying")
            try:
                if claimed != path:
                    path.rename(claimed)
            except FileNotFoundError:
                continue  # another replayer took it
            yield claimed, list(_read(claimed))

    def count(self) -> int:
        """Items currently held (for tests and `status`)."""
        return sum(sum(1 for _ in _read(p)) for p in self.pending_files())


def _writer_alive(path: Path) -> bool:
    try:
        pid = int(path.name.split("-", 1)[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _read(path: Path) -> Iterator:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                yield item_from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("skipping a torn or unreadable line in %s", path)
