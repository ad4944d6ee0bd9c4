"""Results on disk: one append-only JSONL of finished samples per run.

It is the resume source (a finished sample is never run again) and keeps results
when the database is off. Each line is written whole and flushed, so an
interrupted run leaves only complete lines (a torn last line is ignored).
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class SampleResult:
    """One finished (method, sample): what the report is built from."""

    run_id: str
    query_id: str
    sample_id: str
    sample_index: int
    task: str
    family: str
    size_tokens: int
    method: str
    model: str
    sub_model: str | None
    depth: int | None
    score: float
    correct: bool
    answer: str
    expected: list[str]
    stop_reason: str
    error: str | None
    iterations: int
    latency_ms: float
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    calls: int = 0
    sub_calls: int = 0
    config_hash: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.sample_id)


class RunStore:
    """`results/runs/<run_id>/samples.jsonl` plus the run's resolved config."""

    def __init__(self, results_dir: str | Path, run_id: str) -> None:
        self.dir = Path(results_dir) / "runs" / run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "samples.jsonl"
        self._lock = threading.Lock()

    def load(self) -> list[SampleResult]:
        if not self.path.exists():
            return []
        results = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                results.append(SampleResult(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue  # a torn last line from an interrupted run
        return results

    def append(self, result: SampleResult) -> None:
        line = json.dumps(asdict(result), ensure_ascii=False)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def write_text(self, name: str, text: str) -> Path:
        path = self.dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return path
