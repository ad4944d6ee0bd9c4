"""How fast `evals.show` renders a sample with 500 sub-calls (target: under 1 s).

    python bench/bench_show.py                 # assemble + render, from events in memory
    python bench/bench_show.py --dsn DSN       # also stored in TimescaleDB and read back as evals.show does

One sample with 500 sub-calls (5 cells x 100, 20 KB prompts): assembling the tree and rendering
it notebook-style to a 160-column console. What storing trajectories costs is bench_trajectory.py's.
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


def bench_from_db(dsn: str, repeats: int = 3) -> None:
    """The same sample stored in TimescaleDB, read back as `evals.show RUN SAMPLE` does, then rendered."""
    from evals.show import READ_CHARS
    from evals.trajectory import events_from_db
    from rlm.telemetry import Recorder, connect, migrate

    migrate(dsn)
    run_id = f"bench-show-{int(time.time())}"
    b = big_sample()
    for event in b.events:
        event.run_id = run_id
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(dsn, spool_dir=tmp)
        for event in b.events:
            recorder.emit(event)
        recorder.close()
        assert recorder.spooled == 0, "the database refused the sample's rows"
    sample = {"sample_id": "bench", "method": "rlm", "model": "sim-large", "size_tokens": 1_048_576, "depth": 1,
              "score": 1.0, "answer": "1234567", "expected": ["1234567"], "stop_reason": "final"}
    times = []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            traj = build(events_from_db(dsn, run_id, "q", READ_CHARS, first_prompts_only=True), "q")
            Console(file=io.StringIO(), width=160).print(Renderer().trajectory(traj, sample))
            times.append(time.perf_counter() - start)
    finally:
        with connect(dsn) as conn, conn.cursor() as cur:
            for table in ("trajectory_texts", "llm_calls", "code_executions"):
                cur.execute(f"DELETE FROM {table} WHERE run_id = %s", (run_id,))
            conn.commit()
    print(f"read from TimescaleDB + render: {min(times):.3f} s best, {max(times):.3f} s worst of {repeats} "
          f"(target < 1 s: {'met' if max(times) < 1 else 'NOT met'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="also read the sample back from this TimescaleDB (as evals.show does)")
    args = parser.parse_args()
    bench_render()
    if args.dsn:
        bench_from_db(args.dsn)
