"""Trajectories: how fast `evals.show` renders a big sample, and what storing the texts costs.

    python bench/bench_show.py                        # render only
    python bench/bench_show.py --main-job --dsn DSN   # also the main job's storage cost (DSN: a
                                                      # TimescaleDB that accepts rows over 64 KiB)
    python bench/bench_show.py --wall --dsn DSN       # the main job's wall, texts stored vs dropped

1. Render: one sample with 500 sub-calls (5 cells x 100, 20 KB prompts): assembling the tree and
   rendering it notebook-style to a 160-column console; target under 1 s.
2. Main job (`task=niah size=1M`, in this process, database off): its wall time, then the cost
   of storing its trajectory texts (the run's TextEvents, or, when the library emits none,
   texts of the recorded calls' sizes) as a share of that wall time: serialised to a JSONL log
   like the run record, and written through the Recorder into a fresh database on DSN. The
   database's size is measured with the run's numeric rows only and again with the texts.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from rich.console import Console  # noqa: E402

from evals.show_render import Renderer  # noqa: E402
from evals.trajectory import build  # noqa: E402
from rlm.events import JsonlSink, LLMCallEvent, TextEvent  # noqa: E402
from tests.evals.trajectory_builder import TrajectoryBuilder  # noqa: E402

WORDS = "lamp ocean river stone quiet yellow garden seventy window thunder candle marble".split()


def filler(n_chars: int, seed: int = 0) -> str:
    words, used, i = [], 0, seed
    while used < n_chars:
        word = WORDS[(i * 7 + i // 3) % len(WORDS)]
        words.append(word)
        used += len(word) + 1
        i += 1
    return " ".join(words)[:n_chars]


def big_sample(n_cells: int = 5, per_cell: int = 100, prompt_chars: int = 20_000) -> TrajectoryBuilder:
    b = TrajectoryBuilder("bench", "q")
    turn = b.turn("```repl\nanswers = llm_query_batched(prompts)\n```",
                  messages=[{"role": "user", "content": "Query: what is the magic number?"}])
    for c in range(n_cells):
        cell = b.cell(turn, f"answers_{c} = llm_query_batched(prompts[{c}])\nprint(answers_{c})",
                      filler(5_000, c), index=c, sub_calls=per_cell)
        for i in range(per_cell):
            b.sub_call(cell, turn, filler(prompt_chars, i), "NOT FOUND" if i % 50 else "1234567")
    b.turn("FINAL(1234567)", iteration=2)
    b.answer("1234567")
    return b


def bench_render(repeats: int = 5) -> None:
    events = big_sample().events
    sample = {"sample_id": "bench", "method": "rlm", "model": "sim-large", "size_tokens": 1_048_576,
              "depth": 1, "score": 1.0, "answer": "1234567", "expected": ["1234567"], "stop_reason": "final"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        traj = build(events, "q")
        console = Console(file=io.StringIO(), width=160, color_system="truecolor")
        console.print(Renderer().trajectory(traj, sample))
        times.append(time.perf_counter() - start)
    lines = console.file.getvalue().count("\n")
    best, worst = min(times), max(times)
    print(f"render: 500 sub-calls, {len(events)} events -> {lines} lines in {best:.3f} s best, {worst:.3f} s worst "
          f"of {repeats} (target < 1 s: {'met' if worst < 1 else 'NOT met'})")
    start = time.perf_counter()
    console = Console(file=io.StringIO(), width=160)
    console.print(Renderer(expand_calls=True).trajectory(build(events, "q"), sample))
    print(f"render --calls (every sub-call shown): {time.perf_counter() - start:.3f} s")


def main_job_plan(results_dir: str, *extra: str):
    """The main job's plan (`task=niah size=1M`), results under `results_dir`, the repo's task cache."""
    from evals.plan import plan_for

    return plan_for(["task=niah", "size=1M", f"results_dir={results_dir}", f"cache_dir={ROOT}/.rlm-evals/cache",
                     *extra])


def main_job_events() -> tuple[float, list, str]:
    from evals.runner import run_eval
    from rlm.events import ListSink

    tmp = tempfile.mkdtemp(prefix="bench-show-")
    run_eval(main_job_plan(f"{tmp}/results", "db=off"), console=Console(file=io.StringIO()), sink=ListSink())  # warm
    plan = main_job_plan(f"{tmp}/results2", "db=off")
    sink = ListSink()
    start = time.perf_counter()
    run_eval(plan, console=Console(file=io.StringIO()), sink=sink)
    wall = time.perf_counter() - start
    texts = [e for e in sink.events if isinstance(e, TextEvent)]
    if texts:
        return wall, sink.events, "the library's own TextEvents"
    made = []
    for e in sink.events:  # texts of the sizes the calls report (4 characters per token)
        if isinstance(e, LLMCallEvent):
            for name, chars in (("prompt", 4 * e.prompt_tokens), ("reply", 4 * e.completion_tokens)):
                made.append(TextEvent(e.time, e.run_id, e.query_id, e.call_id, name, filler(min(chars, 1_000_000)),
                                      chars, chars > 1_000_000))
    return wall, sink.events + made, "texts made to the calls' sizes (the library emitted none)"


def db_size(dsn: str) -> int:
    from rlm.telemetry import connect

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CHECKPOINT")
        cur.execute("SELECT pg_database_size(current_database())")
        return int(cur.fetchone()[0])


def bench_main_job(dsn: str | None) -> None:
    wall, events, how = main_job_events()
    texts = [e for e in events if isinstance(e, TextEvent)]
    numbers = [e for e in events if not isinstance(e, TextEvent)]
    chars = sum(len(t.text) for t in texts)
    print(f"main job: {wall:.1f} s wall (db off), {len(numbers)} call/cell events, {len(texts)} texts of "
          f"{chars / 1e6:.1f} M characters ({how})")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        sink = JsonlSink(Path(tmp) / "record.jsonl")
        for event in texts:
            sink.emit(event)
        sink.close()
        spent = time.perf_counter() - start
        size = (Path(tmp) / "record.jsonl").stat().st_size
    print(f"texts to a JSONL log: {spent:.2f} s = {spent / wall:.1%} of the main job's wall ({size / 1e6:.1f} MB)")
    if dsn is None:
        print("database: skipped (pass --dsn of a TimescaleDB that accepts rows over 64 KiB)")
        return
    import psycopg2
    from psycopg2.extensions import make_dsn, parse_dsn

    from rlm.telemetry import Recorder, connect, migrate

    def admin(sql: str) -> None:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True  # CREATE / DROP DATABASE cannot run in a transaction
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    name = f"bench_show_{int(time.time())}"
    admin(f"CREATE DATABASE {name}")
    fresh = make_dsn(**{**parse_dsn(dsn), "dbname": name})
    try:
        migrate(fresh)
        empty = db_size(fresh)
        with tempfile.TemporaryDirectory() as tmp:
            rec = Recorder(fresh, spool_dir=tmp)
            for event in numbers:
                rec.emit(event)
            rec.close()
            with_numbers = db_size(fresh)
            start = time.perf_counter()
            rec = Recorder(fresh, spool_dir=tmp)
            for event in texts:
                rec.emit(event)
            rec.close()
            spent = time.perf_counter() - start
            assert rec.spooled == 0, "texts were spooled: the database refused them"
        with_texts = db_size(fresh)
        with connect(fresh) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(compress_chunk(c)) FROM show_chunks('trajectory_texts') c")
            cur.execute("SELECT count(compress_chunk(c)) FROM show_chunks('llm_calls') c")
        compressed = db_size(fresh)
        mb = 1e6
        print(f"texts into the database (Recorder): {spent:.2f} s = {spent / wall:.1%} of the main job's wall")
        print(f"database size: empty schema {empty / mb:.1f} MB; "
              f"with the main job's numbers {with_numbers / mb:.1f} MB; "
              f"with its texts {with_texts / mb:.1f} MB = {with_texts / with_numbers:.2f}x "
              f"(run's own growth {(with_texts - empty) / max(1, with_numbers - empty):.1f}x); "
              f"after compressing the chunks {compressed / mb:.1f} MB = {compressed / with_numbers:.2f}x")
    finally:
        admin(f"DROP DATABASE IF EXISTS {name}")


def bench_wall(dsn: str, rounds: int = 3) -> None:
    """The main job with the database on, its texts stored or dropped before the Recorder, in turns."""
    import os

    from hydra import compose, initialize_config_dir

    from evals.config import register_configs
    from evals.runner import run_eval
    from rlm.telemetry import Recorder

    register_configs()
    os.environ["RLM_TSDB_DSN"] = dsn
    emit = Recorder.emit
    walls: dict[bool, list[float]] = {True: [], False: []}
    tmp = tempfile.mkdtemp(prefix="bench-show-wall-")
    for i in range(2 * rounds + 1):
        store = i % 2 == 1
        # The control: the same run with every TextEvent dropped on its way to the database.
        Recorder.emit = emit if store else (lambda self, e: None if e.kind == "text" else emit(self, e))
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("config", overrides=["task=niah", "size=1M", "db=dsn", f"results_dir={tmp}/r{i}",
                                               f"cache_dir={ROOT}/.rlm-evals/cache", f"label=bench{i}"])
        start = time.perf_counter()
        run_eval(cfg, console=Console(file=io.StringIO()))
        if i:  # the first run warms caches and is not counted
            walls[store].append(time.perf_counter() - start)
    Recorder.emit = emit
    on, off = min(walls[True]), min(walls[False])
    print(f"main job with the database: texts stored {on:.1f} s, dropped {off:.1f} s (best of {rounds} each) "
          f"= {on / off - 1:+.1%} wall")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main-job", action="store_true")
    parser.add_argument("--dsn", help="a TimescaleDB to create a scratch database in")
    parser.add_argument("--wall", action="store_true", help="the main job on DSN, texts stored vs dropped")
    args = parser.parse_args()
    bench_render()
    if args.main_job:
        bench_main_job(args.dsn)
    if args.wall and args.dsn:
        bench_wall(args.dsn)
