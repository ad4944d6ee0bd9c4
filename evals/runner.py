"""The runner: every (method, sample) of one configuration, concurrently, resumable.

`run_eval(cfg)` is plain Python (Hydra stays in evals.run), so tests call it with a
composed config. Per-sample failures are recorded as data; only bad input raises.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlm.events import EventSink, ListSink, FanoutSink
from rlm.trace import new_id

from evals import scoring
from evals.config import saved_config
from evals.errors import EvalError
from evals.methods import METHODS, MethodOutcome
from evals.models import ModelPool, check_api_keys, models_used
from evals.store import RunStore, SampleResult
from evals.tasks import Sample, TaskError, build_samples, get_task, min_size
from evals.telemetry_io import TelemetryWriter

log = logging.getLogger(__name__)

# Keys that do not change results: left out of the config hash, so changing them still resumes.
_VOLATILE = ("concurrency", "db", "console", "report_format", "results_dir", "cache_dir", "label", "sweep_id",
             "response_cache")


@dataclass
class RunOutcome:
    run_id: str
    results: list[SampleResult]
    skipped: int
    interrupted: bool
    store: RunStore
    dsn: str | None


def config_hash(cfg: Any) -> str:
    """Hash of what determines results: the config (less volatile keys) and the task generator's version."""
    data = OmegaConf.to_container(cfg, resolve=True)
    data = {k: v for k, v in data.items() if k not in _VOLATILE and k != "hydra"}
    try:
        data["task_generator_version"] = get_task(cfg.task.name).version
    except TaskError:
        pass  # validate() reports an unknown task
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_id_for(cfg: Any) -> str:
    return f"{cfg.task.name}-{cfg.size.name}-{config_hash(cfg)}"


def validate(cfg: Any) -> None:
    """Every check that can fail fast, before any sample is built or model called."""
    if cfg.samples < 1:
        raise EvalError(f"samples must be at least 1, got {cfg.samples}")
    if cfg.depth < 0:
        raise EvalError(f"depth must be 0 or more, got {cfg.depth}")
    if cfg.concurrency < 1:
        raise EvalError(f"concurrency must be at least 1, got {cfg.concurrency}")
    unknown = [m for m in cfg.methods if m not in METHODS]
    if unknown:
        raise EvalError(f"unknown method {unknown[0]!r}; choose from {sorted(METHODS)}")
    if cfg.db.mode not in ("embedded", "native", "dsn", "off"):
        raise EvalError(f"db.mode must be embedded, native, dsn or off, got {cfg.db.mode!r}")
    if cfg.report_format not in ("markdown", "csv", "latex"):
        raise EvalError(f"report_format must be markdown, csv or latex, got {cfg.report_format!r}")
    try:
        smallest = min_size(cfg.task.name, dict(cfg.task.params))
    except TaskError as exc:
        raise EvalError(str(exc)) from exc
    if cfg.size.tokens < smallest:
        raise EvalError(f"size {cfg.size.name} ({cfg.size.tokens} tokens) is below the smallest size task "
                        f"{cfg.task.name!r} can be fitted to ({smallest} tokens)")
    check_api_keys(models_used(cfg))


def run_eval(cfg: Any, *, console: Console | None = None, sink: EventSink | None = None) -> RunOutcome:
    """Run one configuration to the end (or to Ctrl-C), resuming what an earlier run finished.

    `sink`, if given, also receives every event (benchmarks and notebooks use it).
    """
    console = console or Console(stderr=True)
    validate(cfg)
    run_id = run_id_for(cfg)
    store = RunStore(cfg.results_dir, run_id)
    store.write_text("config.yaml", OmegaConf.to_yaml(saved_config(cfg)))
    t0 = time.perf_counter()
    try:
        samples = build_samples(cfg.task.name, int(cfg.size.tokens), int(cfg.samples), int(cfg.seed),
                                dict(cfg.task.params), cache_dir=Path(cfg.cache_dir) / "tasks")
    except TaskError as exc:
        raise EvalError(str(exc)) from exc
    log.info("built %d samples in %.2fs", len(samples), time.perf_counter() - t0)
    done = {r.key: r for r in store.load()}
    todo = [(m, s) for m in cfg.methods for s in samples if (m, s.sample_id) not in done]
    skipped = len(cfg.methods) * len(samples) - len(todo)
    if skipped:
        console.print(f"resuming run {run_id}: {skipped} finished samples skipped, {len(todo)} to run")
    writer = TelemetryWriter.open(cfg, run_id, config_hash(cfg), spool_dir=store.dir / "spool")
    results = list(done.values())
    interrupted = False
    try:
        cache = str(Path(cfg.cache_dir) / "responses.sqlite") if cfg.response_cache else None
        with ModelPool(models_used(cfg), sim_time_scale=float(cfg.sim.time_scale),
                       sim_seed=int(cfg.sim.seed), response_cache=cache) as pool:
            interrupted = _execute(cfg, todo, pool, writer, store, results, run_id, console, sink)
    finally:
        writer.close(status="interrupted" if interrupted else "finished")
    return RunOutcome(run_id=run_id, results=results, skipped=skipped, interrupted=interrupted,
                      store=store, dsn=writer.dsn)


def _execute(cfg: Any, todo: list[tuple[str, Sample]], pool: ModelPool, writer: "TelemetryWriter",
             store: RunStore, results: list[SampleResult], run_id: str, console: Console,
             extra_sink: EventSink | None) -> bool:
    """Run `todo` with bounded concurrency and a live progress bar; return True if interrupted."""
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[stats]}"), console=console,
                        transient=False)
    stats = _LiveStats()
    pool_ex = ThreadPoolExecutor(max_workers=int(cfg.concurrency))
    pending: dict[Future, tuple[str, Sample]] = {}
    items = iter(todo)
    interrupted = False
    with progress:
        bar = progress.add_task(f"{run_id}", total=len(todo), stats="")
        try:
            while True:
                while len(pending) < int(cfg.concurrency):
                    item = next(items, None)
                    if item is None:
                        break
                    pending[pool_ex.submit(_run_one, cfg, item[0], item[1], pool, writer, run_id,
                                           extra_sink)] = item
                if not pending:
                    break
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.pop(future)
                    result = future.result()
                    store.append(result)
                    writer.sample(result)
                    results.append(result)
                    stats.add(result)
                    progress.update(bar, advance=1, stats=stats.line())
        except KeyboardInterrupt:
            interrupted = True
            console.print("[yellow]interrupted: finishing nothing new; finished samples are saved, "
                          "run the same command again to resume[/yellow]")
            for future in pending:
                future.cancel()
        finally:
            pool_ex.shutdown(wait=not interrupted, cancel_futures=True)
    return interrupted


def _run_one(cfg: Any, method: str, sample: Sample, pool: ModelPool, writer: "TelemetryWriter",
             run_id: str, extra_sink: EventSink | None) -> SampleResult:
    """One (method, sample); any exception becomes an error recorded with the sample."""
    query_id = f"{method}:{sample.sample_id}:{new_id()[:8]}"
    calls = ListSink()
    sink = FanoutSink(calls, writer.sink, extra_sink)
    try:
        outcome = METHODS[method](sample, cfg, pool, sink, run_id, query_id)
    except Exception as exc:  # noqa: BLE001 - a sample's failure is data, never fatal to the run
        log.debug("sample %s failed:\n%s", sample.sample_id, traceback.format_exc())
        outcome = MethodOutcome("", "error", 0.0, error=f"{type(exc).__name__}: {exc}")
    score = scoring.score_sample(sample, outcome.answer) if outcome.answer else 0.0
    events = calls.llm_calls
    is_rlm = method in ("rlm", "rlms")
    return SampleResult(
        run_id=run_id, query_id=query_id, sample_id=sample.sample_id,
        sample_index=int(sample.metadata.get("index", 0)), task=sample.task, family=sample.family,
        size_tokens=sample.size_tokens, method=method, model=cfg.model.name,
        sub_model=cfg.sub_model.name if is_rlm and cfg.depth >= 1 else None,
        depth=int(cfg.depth) if is_rlm else None, score=score, correct=score >= 1.0,
        answer=outcome.answer, expected=list(sample.expected), stop_reason=outcome.stop_reason,
        error=outcome.error, iterations=outcome.iterations, latency_ms=outcome.latency_ms,
        prompt_tokens=sum(e.prompt_tokens for e in events), cached_tokens=sum(e.cached_tokens for e in events),
        completion_tokens=sum(e.completion_tokens for e in events),
        cost_usd=_sum_cost(e.cost_usd for e in events), calls=len(events),
        sub_calls=sum(1 for e in events if e.role == "sub"), config_hash=writer.config_hash,
        metadata={k: v for k, v in sample.metadata.items() if isinstance(v, (int, float, str))})


def _sum_cost(costs: Any) -> float | None:
    total = 0.0
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total


class _LiveStats:
    """Running accuracy and cost per method, for the progress bar."""

    def __init__(self) -> None:
        self.by_method: dict[str, list[float]] = {}
        self.cost = 0.0

    def add(self, result: SampleResult) -> None:
        self.by_method.setdefault(result.method, []).append(result.score)
        self.cost += result.cost_usd or 0.0

    def line(self) -> str:
        accs = " ".join(f"{m} {sum(s) / len(s):.0%}" for m, s in sorted(self.by_method.items()))
        return f"acc: {accs} · cost ${self.cost:.4f}"
