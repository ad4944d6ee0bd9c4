"""From per-sample rows to the comparison table: one row per method x model x size x depth.

Pure functions over plain dicts, so the same numbers come out whether the rows
were read from TimescaleDB or from a run's JSONL, and a test can check a cell by hand.
"""
from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from typing import Iterable

from tabulate import tabulate

from evals.tasks.sizes import format_size

GROUP_KEYS = ("task", "size_tokens", "method", "model", "sub_model", "depth")

HEADERS = ["task", "size", "method", "model", "sub-model", "depth", "n", "accuracy", "errors", "ctx exceeded",
           "calls/sample", "sub-calls/sample", "prompt tok", "cached tok", "cache hit", "completion tok",
           "cost mean $", "cost p50 $", "cost p95 $", "latency p50 s", "latency p95 s"]


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method); q in [0, 100]."""
    if not values:
        return math.nan
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def stderr(values: list[float]) -> float:
    """Standard error of the mean (sample std / sqrt(n)); 0 for one sample."""
    n = len(values)
    if n < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)


def summarize(rows: Iterable[dict]) -> list[dict]:
    """Aggregate sample rows (dicts of evals.sample_result.SampleResult) into one dict per group."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in GROUP_KEYS)].append(row)
    out = []
    for key, items in groups.items():
        scores = [float(r["score"]) for r in items]
        prompt = sum(r["prompt_tokens"] for r in items)
        cached = sum(r["cached_tokens"] for r in items)
        costs = [r["cost_usd"] for r in items]
        known_costs = [float(c) for c in costs if c is not None]
        all_known = len(known_costs) == len(costs)  # one unpriced call makes the group's cost unknown
        latencies = [float(r["latency_ms"]) / 1000 for r in items]
        out.append({
            **dict(zip(GROUP_KEYS, key)),
            "n": len(items),
            "accuracy": mean(scores),
            "accuracy_se": stderr(scores),
            "errors": sum(1 for r in items if r.get("error") and r.get("stop_reason") != "context_exceeded"),
            "context_exceeded": sum(1 for r in items if r.get("stop_reason") == "context_exceeded"),
            "calls_per_sample": mean([r["calls"] for r in items]),
            "sub_calls_per_sample": mean([r["sub_calls"] for r in items]),
            "prompt_tokens": prompt / len(items),
            "cached_tokens": cached / len(items),
            "cache_hit": cached / prompt if prompt else 0.0,
            "completion_tokens": sum(r["completion_tokens"] for r in items) / len(items),
            "cost_mean": mean(known_costs) if all_known else None,
            "cost_p50": percentile(known_costs, 50) if all_known else None,
            "cost_p95": percentile(known_costs, 95) if all_known else None,
            "cost_estimated": all_known and any(r.get("cost_estimated") for r in items),
            "latency_p50": percentile(latencies, 50),
            "latency_p95": percentile(latencies, 95),
        })
    order = {"rlm": 0, "baseline": 1}
    out.sort(key=lambda g: (g["task"], g["size_tokens"], order.get(g["method"], 9), g["model"],
                            g["sub_model"] or "", -1 if g["depth"] is None else g["depth"]))
    return out


# A cost from tokens counted locally (the server sent no usage) is shown as ~0.0012 and explained
# under the table; CSV has the boolean column cost_estimated.
ESTIMATED_NOTE = "~ cost from tokens counted locally: the server sent no usage for some calls"


def _money(value: float | None, estimated: bool = False) -> str:
    return "unknown" if value is None else f"{'~' if estimated else ''}{value:.4f}"


def table_rows(groups: list[dict]) -> list[list]:
    """Display cells, in HEADERS order."""
    rows = []
    for g in groups:
        rows.append([
            g["task"], format_size(g["size_tokens"]), g["method"], g["model"], g["sub_model"] or "-",
            "-" if g["depth"] is None else g["depth"], g["n"],
            f"{g['accuracy']:.3f} ± {g['accuracy_se']:.3f}", g["errors"],
            f"{g['context_exceeded']}/{g['n']}" if g["context_exceeded"] else "0",
            f"{g['calls_per_sample']:.1f}", f"{g['sub_calls_per_sample']:.1f}",
            f"{g['prompt_tokens']:,.0f}", f"{g['cached_tokens']:,.0f}", f"{g['cache_hit']:.1%}",
            f"{g['completion_tokens']:,.0f}", *(_money(g[c], g.get("cost_estimated", False))
                                                for c in ("cost_mean", "cost_p50", "cost_p95")),
            f"{g['latency_p50']:.2f}", f"{g['latency_p95']:.2f}",
        ])
    return rows


# What a reader needs first, within 120 columns; the full table stays in report.md, CSV and LaTeX.
TERMINAL_HEADERS = ["task", "size", "method", "model", "depth", "n", "accuracy", "ctx exceeded", "cost mean $",
                    "latency p50 s"]
TERMINAL_WIDTH = 120

# CSV: one column per number, unformatted (unknown cost is an empty cell).
CSV_COLUMNS = ["task", "size_tokens", "method", "model", "sub_model", "depth", "n", "accuracy", "accuracy_se",
               "errors", "context_exceeded", "calls_per_sample", "sub_calls_per_sample", "prompt_tokens",
               "cached_tokens", "cache_hit", "completion_tokens", "cost_mean", "cost_p50", "cost_p95",
               "cost_estimated", "latency_p50", "latency_p95"]


def terminal_rows(groups: list[dict]) -> list[list]:
    """Display cells in TERMINAL_HEADERS order (a subset of table_rows, the same formatting)."""
    index = [HEADERS.index(h) for h in TERMINAL_HEADERS]
    model = TERMINAL_HEADERS.index("model")
    rows = [[row[i] for i in index] for row in table_rows(groups)]
    for row in rows:  # a long model path would push the table past the width
        if len(row[model]) > 22:
            row[model] = row[model][:21] + "…"
    return rows


def _compact(headers: list[str], rows: list[list]) -> str:
    """Columns two spaces apart, no extra padding (tabulate pads every column by two)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths]] + cells
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def wrap_title(title: str) -> str:
    """The title within TERMINAL_WIDTH: a parenthesised note that does not fit goes on its own line."""
    if len(title) <= TERMINAL_WIDTH:
        return title
    head, paren, note = title.partition(" (")
    parts = [head, paren.strip() + note] if paren else [title]
    return "\n".join(line for part in parts
                     for line in textwrap.wrap(part, TERMINAL_WIDTH, break_on_hyphens=False, break_long_words=False))


def _csv(groups: list[dict], title: str | None, note: str | None = None) -> str:
    import csv
    import io

    buf = io.StringIO()
    if title:
        buf.write(f"# {title.lstrip('#').strip()}\n")
    if note:
        buf.write(f"# {note}\n")
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for g in groups:
        writer.writerow(["" if g[c] is None else g[c] for c in CSV_COLUMNS])
    return buf.getvalue()


def _latex_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "&%$#_{}" else "\\textasciitilde{}" if ch == "~" else ch for ch in text)


def render(groups: list[dict], fmt: str = "markdown", *, title: str | None = None) -> str:
    """The table as markdown (every column), terminal (the first columns, fits 120), csv or latex.

    The title (which carries the simulated-models note) is kept in every format: a heading, a
    `#` comment line in CSV, a caption line under the LaTeX table.
    """
    note = ESTIMATED_NOTE if any(g.get("cost_estimated") for g in groups) else None
    if fmt == "csv":
        return _csv(groups, title, note)
    if fmt == "terminal":
        body = _compact(TERMINAL_HEADERS, terminal_rows(groups)) + (f"\n\n{note}" if note else "")
        if not title:
            return body + "\n"
        return f"{wrap_title(title)}\n\n{body}\n"
    body = tabulate(table_rows(groups), headers=HEADERS, tablefmt="latex" if fmt == "latex" else "github",
                    disable_numparse=True)
    if fmt == "latex":
        lines = [t for t in (title and title.lstrip("#").strip(), note) if t]
        return body + "".join("\n\\par\\noindent\\textit{" + _latex_escape(t) + "}" for t in lines) + "\n"
    body += f"\n\n{note}" if note else ""
    return f"{title}\n\n{body}\n" if title else body + "\n"
