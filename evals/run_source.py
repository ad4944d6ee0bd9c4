"""Where a finished run is read from for `evals.show` and the HTML report: TimescaleDB, or the
run's own files under `results/runs/<run_id>/` when the database is off or unreachable.

Both give the same shapes: sample rows with the keys of `evals.store.SampleResult` (plus
totals summed from the calls), and events for `evals.trajectory.build`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from rlm.errors import RLMError
from rlm.events import Event
from rlm.telemetry.records import RunRecord

from evals.errors import EvalError
from evals.run_record import RECORD_NAME, RunLog
from evals.trajectory import Trajectory, build, events_from_db, events_from_jsonl

log = logging.getLogger(__name__)

# A run's own files, read when the database is off: the run record (`record.jsonl`: sample results
# and events), or the older pair `samples.jsonl` + `events.jsonl`; the spool holds undelivered events.
RECORD_LOGS = ("record.jsonl", "events.jsonl")
SAMPLE_LOGS = {"samples.jsonl": None, "record.jsonl": "sample_result"}

# The latest attempt per (method, sample), so a retried transient failure never doubles n. Per-query
# sums of llm_calls fill the token columns of rows written before migration 005.
_SAMPLE_ROWS_SQL = """
SELECT * FROM (
    SELECT DISTINCT ON (s.method, COALESCE(s.sample_id, s.query_id))
           s.query_id, COALESCE(s.sample_id, s.query_id) AS sample_id, s.sample_index, s.task, s.family,
           s.size_tokens, s.method, s.model, s.sub_model, s.depth, s.score, s.correct, s.answer, s.expected,
           s.error, s.error_kind, COALESCE(s.transient, false) AS transient, s.stop_reason, s.iterations,
           s.latency_ms,
           COALESCE(s.calls, c.calls, 0) AS calls, COALESCE(s.sub_calls, c.sub_calls, 0) AS sub_calls,
           COALESCE(s.prompt_tokens, c.prompt_tokens, 0) AS prompt_tokens,
           COALESCE(s.cached_tokens, c.cached_tokens, 0) AS cached_tokens,
           COALESCE(s.completion_tokens, c.completion_tokens, 0) AS completion_tokens,
           CASE WHEN s.calls IS NOT NULL THEN s.cost_usd
                WHEN COALESCE(c.unknown_cost, 0) > 0 THEN NULL ELSE COALESCE(c.cost_usd, 0) END AS cost_usd,
           COALESCE(c.cost_estimated, false) AS cost_estimated
    FROM samples s
    LEFT JOIN (
        SELECT query_id, count(*) AS calls, count(*) FILTER (WHERE role = 'sub') AS sub_calls,
               sum(prompt_tokens) AS prompt_tokens, sum(cached_tokens) AS cached_tokens,
               sum(completion_tokens) AS completion_tokens, sum(cost_usd) AS cost_usd,
               count(*) FILTER (WHERE cost_usd IS NULL) AS unknown_cost,
               bool_or(usage_source = 'estimated') AS cost_estimated
        FROM llm_calls WHERE run_id = %(run_id)s GROUP BY query_id
    ) c ON c.query_id = s.query_id
    WHERE s.run_id = %(run_id)s
    ORDER BY s.method, COALESCE(s.sample_id, s.query_id), s.time DESC
) latest ORDER BY method, sample_index
"""


def sample_rows_from_db(dsn: str, run_id: str) -> list[dict]:
    """One dict per (method, sample) of `run_id`: its latest attempt, with the SampleResult's fields
    (reports, `evals.show`, the HTML report and sweeps all read samples through here)."""
    from rlm.telemetry import connect

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(_SAMPLE_ROWS_SQL, {"run_id": run_id})
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
    for row in rows:
        if row["sample_id"] == row["query_id"]:  # rows written before samples had their own id
            row["sample_id"] = sample_id_of(row["query_id"])
    return rows


def sample_id_of(query_id: str) -> str:
    """`rlm:niah-random-1M-0-2:d7fac25e` -> `niah-random-1M-0-2` (the runner's query id shape)."""
    parts = query_id.split(":")
    return ":".join(parts[1:-1]) if len(parts) >= 3 else query_id


@dataclass
class RunSource:
    """One run, read from the database (`dsn`) or from its directory (`dsn` is None)."""

    run_id: str
    run_dir: Path | None
    dsn: str | None = None
    label: str = ""
    _events: list[Event] | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return "TimescaleDB" if self.dsn else f"{self.run_dir}"

    def samples(self) -> list[dict]:
        if self.dsn:
            return sorted(sample_rows_from_db(self.dsn, self.run_id), key=_listing_order)
        assert self.run_dir is not None
        return local_sample_rows(self.run_dir)

    def events(self, query_id: str | None = None, max_chars: int | None = None, *,
               first_prompts_only: bool = False) -> list[Event]:
        """The run's events (of one query); from the DB, texts are cut to `max_chars` there (and only
        each cell's first sub-call prompt read, if `first_prompts_only`)."""
        if self.dsn:
            assert query_id is not None, "the database is read one query at a time"
            return events_from_db(self.dsn, self.run_id, query_id, max_chars, first_prompts_only=first_prompts_only)
        if self._events is None:
            assert self.run_dir is not None
            logs = [self.run_dir / name for name in RECORD_LOGS if (self.run_dir / name).is_file()]
            spool = self.run_dir / "spool"
            if spool.is_dir():
                logs += sorted(p for p in spool.iterdir() if p.suffix in (".jsonl", ".replaying"))
            self._events = events_from_jsonl(logs)
        return [e for e in self._events if query_id is None or e.query_id == query_id]

    def trajectory(self, query_id: str, max_chars: int | None = None, *,
                   first_prompts_only: bool = False) -> Trajectory:
        return build(self.events(query_id, max_chars, first_prompts_only=first_prompts_only), query_id)


def local_sample_rows(run_dir: Path) -> list[dict]:
    """The latest result per (method, sample) from the run's files, as plain dicts."""
    latest: dict[tuple, dict] = {}
    for name, kind in SAMPLE_LOGS.items():
        path = run_dir / name
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line
                if not isinstance(data, dict) or data.get("kind") != kind or "query_id" not in data:
                    continue
                data.pop("kind", None)
                latest[(data.get("method"), data.get("sample_id"))] = data
    return sorted(latest.values(), key=_listing_order)


def _listing_order(row: dict) -> tuple:
    """RLM samples first, then by sample index (both sources list a run alike)."""
    return (row.get("method") != "rlm", row.get("method") or "", row.get("sample_index") or 0, row["query_id"])


def _log_of(run_dir: Path) -> Path | None:
    return next((run_dir / n for n in SAMPLE_LOGS if (run_dir / n).is_file()), None)


def _local_runs(results_dir: Path) -> list[Path]:
    runs = results_dir / "runs"
    if not runs.is_dir():
        return []
    found = [(log.stat().st_mtime, p) for p in runs.iterdir() if p.is_dir() and (log := _log_of(p))]
    return [p for _, p in sorted(found, reverse=True)]


def run_header(run_dir: Path | None) -> RunRecord | None:
    """The run's RunRecord from its record (config, label, simulated flag), if it has one."""
    if run_dir is None or not (run_dir / RECORD_NAME).is_file():
        return None
    records = [item for item in RunLog(run_dir).read().header if isinstance(item, RunRecord)]
    return records[-1] if records else None


def _db_mode(run_dir: Path | None) -> str | None:
    header = run_header(run_dir)
    return None if header is None else (header.config.get("db") or {}).get("mode")


def _db_was_off(run_dir: Path | None) -> bool:
    return _db_mode(run_dir) == "off"


def saved_label(run_dir: Path | None) -> str:
    """The label tables show: the user's label, else `sim` for a simulated run."""
    header = run_header(run_dir)
    if header is None:
        return ""
    return header.label or ("sim" if header.simulated else "")


def open_run(run: str | None = None, *, results_dir: str | Path = "results", source: str = "auto",
             dsn: str | None = None) -> RunSource:
    """Resolve `run` (an id, `latest` or None) and where to read it from.

    source `auto`: the database unless the run was made with `db=off` or the database cannot be
    reached (then the run's files, with a warning); `db` or `local` force one.
    """
    if source not in ("auto", "db", "local"):
        raise EvalError(f"source must be auto, db or local, got {source!r}")
    results_dir = Path(results_dir)
    run_dir: Path | None = None
    if run in (None, "latest"):
        local = _local_runs(results_dir)
        run_dir = local[0] if local else None
        run_id = run_dir.name if run_dir else None
    else:
        run_id = run
        candidate = results_dir / "runs" / run
        run_dir = candidate if candidate.is_dir() else None
    if source == "local" or (source == "auto" and _db_was_off(run_dir)):
        if run_dir is None:
            raise EvalError(f"no run {run or 'latest'!r} under {results_dir / 'runs'}; "
                            "run `python -m evals.run` first or pass --results")
        return RunSource(run_dir.name, run_dir, None, saved_label(run_dir))
    try:
        from rlm.telemetry import queries, resolve_dsn

        backend = "native" if _db_mode(run_dir) == "native" else "embedded"  # a db=native run's own server
        db = resolve_dsn(dsn, start=False, backend=backend)
        if run_id is None:
            run_id = queries.latest_run_id(db)
            if run_id is None:
                raise EvalError("no runs yet (none in the database or under "
                                f"{results_dir / 'runs'}): run `python -m evals.run` first")
        summary = queries.run_summary(db, run_id)
        if summary is None:
            raise EvalError(f"run {run_id!r} is not in the database")
        return RunSource(run_id, run_dir, db, summary.get("label") or saved_label(run_dir))
    except RLMError as exc:
        if source == "db" or run_dir is None:
            if run_id and run_dir is None and not isinstance(exc, EvalError):
                raise EvalError(f"no run {run_id!r} under {results_dir / 'runs'}, and the database cannot be read: "
                                f"{exc}") from exc
            raise EvalError(str(exc)) from exc
        log.warning("%s; reading the run's own files in %s", exc, run_dir)
        return RunSource(run_dir.name, run_dir, None, saved_label(run_dir))
