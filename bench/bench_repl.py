"""Benchmark of the sandboxed REPL: empty-cell round trip and time to a usable 40 MB context.

Run: python bench/bench_repl.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm.repl import Sandbox, SandboxLimits  # noqa: E402


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def empty_cell_round_trip(n: int = 500) -> list[float]:
    with Sandbox("ctx") as sb:
        for _ in range(20):
            sb.run("pass")
        times = []
        for _ in range(n):
            t = time.perf_counter()
            sb.run("pass")
            times.append(time.perf_counter() - t)
    return times


def context_ready(size_mb: int = 40, repeats: int = 5, as_list: bool = False) -> list[float]:
    line = "filler words for a long context line number\n"
    text: str | list[str] = line * (size_mb * 1024 * 1024 // len(line))
    if as_list:  # the same bytes as a list of ~1 MB documents (JSON on disk)
        text = [text[i:i + (1 << 20)] for i in range(0, len(text), 1 << 20)]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        with Sandbox(text, None, SandboxLimits()) as sb:
            result = sb.run("len(context)")
            times.append(time.perf_counter() - t)
        assert result.value_repr == str(len(text)), result
    return times


def sub_call_round_trip(n: int = 200) -> list[float]:
    class Echo:
        def llm_query(self, prompt: str, model: str | None) -> str:
            return prompt

    with Sandbox("ctx", Echo()) as sb:  # type: ignore[arg-type]
        result = sb.run(f"import time\nt = time.perf_counter()\nfor _ in range({n}):\n"
                        "    llm_query('x')\n(time.perf_counter() - t) / " + str(n))
    return [float(result.value_repr or "nan")]


def main() -> None:
    rt = sorted(empty_cell_round_trip())
    print(f"empty cell round trip: p50 {_ms(statistics.median(rt))}, "
          f"p95 {_ms(rt[int(len(rt) * 0.95)])} over {len(rt)} cells")
    ready = context_ready()
    print(f"40 MB str context usable (Sandbox() + first cell len(context)): "
          f"median {_ms(statistics.median(ready))}, min {_ms(min(ready))} over {len(ready)} runs")
    docs = context_ready(as_list=True)
    print(f"40 MB list context usable (JSON file): median {_ms(statistics.median(docs))}")
    empty = context_ready(size_mb=0, repeats=5)
    print(f"empty context usable (worker start baseline): median {_ms(statistics.median(empty))}")
    print(f"llm_query round trip through the parent (echo handler): "
          f"{_ms(sub_call_round_trip()[0])} per call")


if __name__ == "__main__":
    main()
