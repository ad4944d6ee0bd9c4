"""The runner: every (method, sample) of one RunPlan, concurrently, resumable from the run record.

`run_eval(plan)` is plain Python (Hydra stays at the edge), so tests and the CI gate call it
with a plan. A sample is finished once its batch is on disk (evals.run_record); a resume keeps
final outcomes and reruns transient failures (unless `retry_errors=false`). Per-sample failures
are data; only bad input raises. A crash marks the run `failed` with its error, Ctrl-C
`interrupted`.
"""
from __future__ import annotations

import logging
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlm.events import EventSink, FanoutSink, ListSink
from rlm.telemetry.records import PriceRecord, RunFinish, RunRecord
from rlm.trace import new_id

from evals import scoring
from evals.errors import EvalError
from evals.methods import Method, MethodOutcome, get_method
from evals.models import ModelPool
from evals.plan import RunPlan
from evals.projection import Projection, git_sha
from evals.run_record import RunLog, encode_batch
from evals.sample_result import SampleResult, error_kind_of, is_transient
from evals.tasks import Sample, TaskError, build_samples

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    plan: RunPlan
    results: list[SampleResult]      # the latest result per (method, sample), finished ones included
    skipped: int                     # kept from earlier runs
    retried: int                     # transient failures of earlier runs run again
    interrupted: bool
    log: RunLog
    db_note: str | None = None       # set when the database was not reached (the report is from the record)

    @property
    def run_id(self) -> str:
        return self.plan.run_id


def run_eval(plan: RunPlan, *, console: Console | None = None, sink: EventSink | None = None) -> RunOutcome:
    """Run one plan to the end (or to Ctrl-C), resuming what an earlier run finished.

    `sink`, if given, also receives every event live (benchmarks and notebooks use it).
    """
    console = console or Console(stderr=True)
    run_log = RunLog(plan.run_dir, writer=True)
    _hide_from_sandbox(plan)
    _write_config(plan, run_log)
    t0 = time.perf_counter()
    try:
        samples = build_samples(plan.task, plan.size_tokens, plan.samples, plan.seed, dict(plan.task_params),
                                cache_dir=plan.cache_dir / "tasks")
    except TaskError as exc:
        raise EvalError(str(exc)) from exc
    log.info("built %d samples in %.2fs", len(samples), time.perf_counter() - t0)
    done = run_log.results()
    todo, retried = [], 0
    for method in plan.methods:
        for index, sample in enumerate(samples):
            earlier = done.get((method, sample.sample_id))
            if earlier is None:
                todo.append((method, index, sample))
            elif earlier.transient and plan.retry_errors:
                todo.append((method, index, sample))
                retried += 1
    skipped = len(plan.methods) * len(samples) - len(todo)
    if skipped or retried:
        console.print(f"resuming run {plan.run_id}: {skipped} finished samples skipped, {len(todo)} to run"
                      + (f" ({retried} transient failures retried)" if retried else ""))
    header = [RunRecord(run_id=plan.run_id, config=plan.saved_config, git_sha=git_sha(), sweep_id=plan.sweep_id,
                        label=plan.label, simulated=plan.simulated, status="running"),
              *(PriceRecord(name, p.input, p.cached_input, p.output) for name, p in plan.prices.items())]
    run_log.append(header)
    projection = Projection.open(plan, run_log)
    wanted = {(m, s.sample_id) for m in plan.methods for s in samples}
    results = {k: r for k, r in done.items() if k in wanted}
    status, error, interrupted = "failed", None, False
    try:
        cache = str(plan.cache_dir / "responses.sqlite") if plan.response_cache else None
        with ModelPool(plan.models_used, sim_time_scale=plan.sim_time_scale, sim_seed=plan.sim_seed,
                       response_cache=cache) as pool:
            methods = _prepare(plan, pool)
            try:
                interrupted = _execute(plan, todo, methods, run_log, projection, results, console, sink)
            finally:
                for prepared in methods.values():
                    prepared.close()
        status = "interrupted" if interrupted else "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        finish = RunFinish(run_id=plan.run_id, status=status, error=error)
        run_log.append([finish])
        projection.ship([finish])
        note = projection.close()
    ordered = sorted(results.values(), key=lambda r: (plan.methods.index(r.method), r.sample_index))
    return RunOutcome(plan=plan, results=ordered, skipped=skipped, retried=retried, interrupted=interrupted,
                      log=run_log, db_note=note)


def _hide_from_sandbox(plan: RunPlan) -> None:
    """Model-written code must not read results (gold answers of earlier runs) or the task cache."""
    import os

    from rlm.repl import HIDE_ENV

    hidden = {d for d in os.environ.get(HIDE_ENV, "").split(os.pathsep) if d}
    hidden |= {str(plan.results_dir.resolve()), str(plan.cache_dir.resolve())}
    os.environ[HIDE_ENV] = os.pathsep.join(sorted(hidden))


def _write_config(plan: RunPlan, run_log: RunLog) -> None:
    import os

    import yaml  # type: ignore[import-untyped]

    path = run_log.dir / "config.yaml"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(plan.saved_config, fh, sort_keys=False, allow_unicode=True)
    tmp.replace(path)


def _prepare(plan: RunPlan, pool: ModelPool) -> dict[str, Method]:
    methods: dict[str, Method] = {}
    for name in plan.methods:
        method = get_method(name)()
        method.prepare(plan, pool)
        methods[name] = method
    return methods


def _execute(plan: RunPlan, todo: list[tuple[str, int, Sample]], methods: dict[str, Method], run_log: RunLog,
             projection: Projection, results: dict[tuple[str, str], SampleResult], console: Console,
             extra_sink: EventSink | None) -> bool:
    """Run `todo` with bounded concurrency and a live progress bar; return True if interrupted."""
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[stats]}"), console=console,
                        transient=False)
    stats = _LiveStats()
    pool_ex = ThreadPoolExecutor(max_workers=plan.concurrency)
    pending: dict[Future, tuple[str, int, Sample]] = {}
    items = iter(todo)
    interrupted = False
    with progress:
        bar = progress.add_task(escape(plan.run_id), total=len(todo), stats="")
        try:
            while True:
                while len(pending) < plan.concurrency:
                    item = next(items, None)
                    if item is None:
                        break
                    method, index, sample = item
                    pending[pool_ex.submit(_run_one, plan, methods[method], index, sample, extra_sink)] = item
                if not pending:
                    break
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.pop(future)
                    result, events, encoded = future.result()
                    batch = [*events, result]
                    run_log.append_encoded(encoded)  # on disk: the sample is finished
                    projection.ship(batch)
                    results[result.key] = result
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


def _run_one(plan: RunPlan, method: Method, index: int, sample: Sample,
             extra_sink: EventSink | None) -> tuple[SampleResult, list[Any], bytes]:
    """One (method, sample), its events and their record lines (encoded here, off the runner's loop);
    any exception becomes an error recorded with the sample."""
    query_id = f"{method.name}:{sample.sample_id}:{new_id()[:8]}"
    calls = ListSink()
    sink = FanoutSink(calls, extra_sink)  # type: ignore[arg-type]  # it drops a None sink
    try:
        outcome = method.solve(sample, run_id=plan.run_id, query_id=query_id, sink=sink)
    except Exception as exc:  # noqa: BLE001 - a sample's failure is data, never fatal to the run
        log.debug("sample %s failed:\n%s", sample.sample_id, traceback.format_exc())
        outcome = MethodOutcome("", "error", 0.0, error=f"{type(exc).__name__}: {exc}", error_kind=error_kind_of(exc))
    score = _score(sample, outcome.answer)
    llm_calls = calls.llm_calls
    usage = outcome.usage
    uses_sub = method.uses_sub_model and plan.depth >= 1
    result = SampleResult(
        run_id=plan.run_id, query_id=query_id, sample_id=sample.sample_id, sample_index=index, task=sample.task,
        family=sample.family, size_tokens=sample.size_tokens, method=method.name, model=plan.model.name,
        sub_model=plan.sub_model.name if uses_sub else None, depth=plan.depth if method.uses_sub_model else None,
        score=score, correct=score >= 1.0, answer=outcome.answer, expected=list(sample.expected),
        stop_reason=outcome.stop_reason, error=outcome.error, error_kind=outcome.error_kind,
        transient=is_transient(outcome.error_kind), iterations=outcome.iterations, latency_ms=outcome.latency_ms,
        prompt_tokens=usage.prompt_tokens, cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens, reasoning_tokens=usage.reasoning_tokens, cost_usd=usage.cost_usd,
        cost_estimated=any(e.usage_source == "estimated" for e in llm_calls),
        calls=len(llm_calls), sub_calls=sum(1 for e in llm_calls if e.role == "sub"), config_hash=plan.config_hash,
        metadata={k: v for k, v in sample.metadata.items() if isinstance(v, (int, float, str))})
    events = list(calls.events) if plan.store_trajectory else [e for e in calls.events if e.kind != "text"]
    return result, events, encode_batch([*events, result])


def _score(sample: Sample, answer: str) -> float:
    """The sample's metric; a scorer that fails on odd text scores 0 and logs why (never ends the run)."""
    if not answer:
        return 0.0
    try:
        return float(scoring.score_sample(sample, answer))
    except Exception:  # noqa: BLE001 - any text is data
        log.warning("scoring %s failed:\n%s", sample.sample_id, traceback.format_exc())
        return 0.0


class _LiveStats:
    """Running accuracy, transient failures and cost per method, for the progress bar."""

    def __init__(self) -> None:
        self.by_method: dict[str, list[float]] = {}
        self.cost = 0.0
        self.transient = 0

    def add(self, result: SampleResult) -> None:
        self.by_method.setdefault(result.method, []).append(result.score)
        self.cost += result.cost_usd or 0.0
        self.transient += result.transient

    def line(self) -> str:
        accs = " ".join(f"{m} {sum(s) / len(s):.0%}" for m, s in sorted(self.by_method.items()))
        failed = f" · {self.transient} transient errors" if self.transient else ""
        return escape(f"acc: {accs} · cost ${self.cost:.4f}{failed}")
