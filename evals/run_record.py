"""The run record: `results/runs/<run_id>/record.jsonl`, the one source of truth of a run.

Append-only JSON lines: the run's header (rlm.telemetry RunRecord and prices) at every start,
then per finished sample its telemetry events followed by its SampleResult, written in one
`write` and fsynced before the sample counts as finished, and a RunFinish at the end. A kill
can only tear the last batch: the torn tail is cut when the record is next opened, and events
whose sample line never made it belong to no finished sample (readers skip them).

Lines are ASCII JSON (`ensure_ascii`), so any text a model sends (lone surrogates, NUL,
megabytes) is stored and read back exactly. Nothing that holds a secret is written here.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from rlm.events import event_from_dict
from rlm.telemetry.records import RECORD_TYPES, record_from_dict

from evals.sample_result import SampleResult

log = logging.getLogger(__name__)

RECORD_NAME = "record.jsonl"
_SAMPLE_PREFIX = '{"kind": "sample_result"'


def private_dir(path: Path) -> Path:
    """mkdir -p with mode 0700 for every directory created (results may hold gold answers)."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    return path


_FIELDS: dict[type, tuple[str, ...]] = {}


def _shallow(item: Any) -> dict[str, Any]:
    """The dataclass's fields without asdict's deep copy (events are flat; lists and dicts stay as they are)."""
    names = _FIELDS.get(type(item))
    if names is None:
        names = _FIELDS[type(item)] = tuple(f.name for f in fields(item))
    data: dict[str, Any] = {"kind": item.kind}
    for name in names:
        value = getattr(item, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def encode(item: Any) -> str:
    """One line for a SampleResult, an rlm event or an rlm.telemetry record; `kind` first."""
    return json.dumps(_shallow(item), ensure_ascii=True, default=str)


def encode_batch(items: Iterable[Any]) -> bytes:
    """The bytes `RunLog.append_encoded` writes: encoding can happen off the writing thread."""
    return "".join(encode(item) + "\n" for item in items).encode("ascii")


def decode(line: str) -> Any:
    data = json.loads(line)
    kind = data.get("kind")
    if kind == SampleResult.kind:
        return SampleResult.from_dict(data)
    if kind in RECORD_TYPES:
        return record_from_dict(data)
    return event_from_dict(data)


@dataclass
class RecordContents:
    """What a record holds, grouped for readers: the latest result per (method, sample) wins."""

    results: dict[tuple[str, str], SampleResult] = field(default_factory=dict)
    attempts: list[SampleResult] = field(default_factory=list)       # every SampleResult, in order
    events: dict[str, list[Any]] = field(default_factory=dict)       # query_id -> its events
    header: list[Any] = field(default_factory=list)                  # RunRecord / PriceRecord / RunFinish

    def finished_events(self) -> Iterator[Any]:
        """Events of samples whose result is on disk (those of a torn or interrupted attempt are not)."""
        for result in self.attempts:
            yield from self.events.get(result.query_id, ())

    def event_counts(self, query_id: str) -> Counter:
        return Counter(e.kind for e in self.events.get(query_id, ()))


class RunLog:
    """The record of one run directory. The writer (`writer=True`, the runner) cuts a torn tail on
    opening; readers never modify it (a live run may be appending), they skip an incomplete last line."""

    def __init__(self, run_dir: str | Path, *, writer: bool = False) -> None:
        self.dir = private_dir(Path(run_dir)) if writer else Path(run_dir)
        self.path = self.dir / RECORD_NAME
        self._lock = threading.Lock()
        self.fsync = True
        self.repaired = self._cut_torn_tail() if writer else 0

    @property
    def run_id(self) -> str:
        return self.dir.name

    def _cut_torn_tail(self) -> int:
        """Truncate after the last newline; return the bytes cut (0 when the record was whole)."""
        if not self.path.exists():
            return 0
        with open(self.path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            pos, chunk = size, 1 << 16
            while pos > 0:
                start = max(0, pos - chunk)
                fh.seek(start)
                block = fh.read(pos - start)
                at = block.rfind(b"\n")
                if at >= 0:
                    keep = start + at + 1
                    break
                pos = start
            else:
                keep = 0
            if keep < size:
                fh.truncate(keep)
                log.warning("run record %s: cut a torn tail of %d bytes", self.path, size - keep)
            return size - keep

    def append(self, items: Iterable[Any]) -> None:
        """Write `items` as one batch, flushed (and fsynced) before returning."""
        self.append_encoded(encode_batch(items))

    def append_encoded(self, data: bytes) -> None:
        """Write one batch from `encode_batch`, flushed (and fsynced) before returning."""
        if not data:
            return
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def lines(self) -> Iterator[str]:
        if not self.path.exists():
            return
        with open(self.path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.endswith("\n"):  # an unterminated last line is a batch still being written
                    yield line

    def results(self) -> dict[tuple[str, str], SampleResult]:
        """The latest result per (method, sample): the resume source (reads only sample lines)."""
        latest: dict[tuple[str, str], SampleResult] = {}
        for line in self.lines():
            if line.startswith(_SAMPLE_PREFIX):
                result = _decode_or_none(line)
                if result is not None:
                    latest[result.key] = result
        return latest

    def read(self) -> RecordContents:
        """Everything, grouped (shipping to the database and reports)."""
        contents = RecordContents()
        for line in self.lines():
            item = _decode_or_none(line)
            if item is None:
                continue
            if isinstance(item, SampleResult):
                contents.attempts.append(item)
                contents.results[item.key] = item
            elif item.kind in RECORD_TYPES:
                contents.header.append(item)
            else:
                contents.events.setdefault(item.query_id, []).append(item)
        return contents


def _decode_or_none(line: str) -> Any:
    try:
        return decode(line)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("run record: skipping an unreadable line (%s)", exc)
        return None


def load_results(run_dir: str | Path) -> list[SampleResult]:
    """A run's results (latest per sample), in method / sample order; [] when it has no record."""
    path = Path(run_dir) / RECORD_NAME
    if not path.exists():
        return []
    results = RunLog(run_dir).results().values()
    return sorted(results, key=lambda r: (r.method, r.sample_index, r.sample_id))
