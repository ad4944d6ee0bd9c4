"""What `console=true` shows: N concurrent samples on one RLMConsole with a progress bar in its live area.

    python bench/console_view.py --depth 2 --lines 150000 --samples 5            # 1M tokens, depth 2
    tmux new-session -d -x 160 -y 50 'python bench/console_view.py --time-scale 0.3'; tmux capture-pane -p
    python bench/console_view.py --depth 2 --lines 150000 2> view.txt; wc -l view.txt   # lines printed

Wired the way a harness wires it: one view on the harness's rich Console, `view.live(progress)`,
the view as each sample's event sink. The simulator answers (time scale 0 = instant).
"""
from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm import RLM_REPL, RLMConsole, RLMResult  # noqa: E402
from rlm.sim import SimServer  # noqa: E402
from tests.conftest import make_haystack, make_lm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--lines", type=int, default=20_000, help="haystack lines (150000 is about 1M tokens)")
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--time-scale", type=float, default=0.0)
    args = parser.parse_args()
    console = Console(stderr=True)
    view = RLMConsole(console)
    progress = Progress(TextColumn("[bold]run"), BarColumn(), MofNCompleteColumn(), console=console)
    bar = progress.add_task("run", total=args.samples)
    with SimServer(seed=0, time_scale=args.time_scale) as sim, view.live(progress):
        def one(i: int) -> RLMResult:
            rlm = RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=args.depth, console=view)
            query_id = f"rlm:niah-{i:04d}:{i:08x}"
            view.expect(query_id, str(1_000_000 + i))
            result = rlm.completion(make_haystack(args.lines, f"The magic number is {1_000_000 + i}", seed=i),
                                    "I'm looking for a magic number. What is it?", query_id=query_id)
            progress.advance(bar)
            return result
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(one, range(args.samples)))
    print(" ".join(r.answer for r in results))


if __name__ == "__main__":
    main()
