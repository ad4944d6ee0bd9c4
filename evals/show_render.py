"""Rich renderables for a run's samples and one sample's trajectory, notebook style.

A turn is a rule with its usage and cost (its own call, and everything its cells called), the
reply's prose (its code appears once, as the cells), then `In [n]` (highlighted, numbered),
`Out [n]`, errors in red, sub-calls folded to a count with the first prompt and reply, and a
child RLM's turns nested under the cell that started it. The answer sits next to the expected one.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text as RichText

from rlm.context_refs import OPEN, OUTPUT_REFERENCE, REFERENCE

from evals.tasks.sizes import format_size
from evals.trajectory import Call, Cell, RLMRun, Text, Trajectory, Usage, turn_usage

REPL_BLOCK = re.compile(r"```repl[ \t]*\n.*?```", re.DOTALL)
INDENT = 4


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by errors="surrogateescape"
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _described(match: re.Match) -> str:
    start, end = int(match.group(1)), int(match.group(2))
    return f"⟦context[{start:,}:{end:,}]: {end - start:,} characters of the sample's context⟧"


def printable(text: str) -> str:
    """Any stored text as a terminal can print it (NUL, undecodable bytes shown as escapes), and a
    slice of the sample's context kept as a reference (rlm.context_refs) said in words."""
    if _UNSTORABLE.search(text):
        text = _UNSTORABLE.sub(_escape_char, text)
    if OPEN not in text:
        return text
    text = OUTPUT_REFERENCE.sub(lambda m: f"⟦the output of cell {m.group(1)[:8]}, shown with that cell⟧", text)
    return REFERENCE.sub(_described, text)


def clip(text: str, max_chars: int | None, max_lines: int | None = None, *,
         head_tail: bool = False) -> tuple[str, str]:
    """(what to show, a note on what was left out). `head_tail` keeps both ends (a prompt's
    question is often at its end)."""
    if head_tail and max_chars is not None and len(text) > max_chars:
        half = max_chars // 2
        left = len(text) - 2 * half
        return f"{text[:half]}\n  … {left:,} characters …\n{text[-half:]}", ""
    shown, note = text, ""
    if max_lines is not None:
        lines = shown.split("\n")
        if len(lines) > max_lines:
            shown = "\n".join(lines[:max_lines])
    if max_chars is not None and len(shown) > max_chars:
        shown = shown[:max_chars]
    if len(shown) < len(text):
        note = f"… {len(text) - len(shown):,} more characters (--full shows all)"
    return shown, note


def _stored_note(item: Text) -> str:
    return f"stored {len(item.text):,} of {item.chars:,} characters (cut at the per-item cap)" if item.truncated else ""


def money(value: float | None) -> str:
    return "cost unknown" if value is None else f"${value:.4f}"


def usage_line(u: Usage) -> str:
    text = (f"{u.prompt_tokens:,} in ({u.cached_tokens:,} cached) / {u.completion_tokens:,} out · "
            f"{money(u.cost_usd)}")
    return text + (f" · {u.errors} failed" if u.errors else "")


def expected_text(expected) -> str:
    if isinstance(expected, (list, tuple)):
        return " | ".join(str(e) for e in expected)
    return "" if expected is None else str(expected)


class Renderer:
    """Builds renderables; `full` shows every text whole, `expand_calls` every sub-call."""

    def __init__(self, *, full: bool = False, expand_calls: bool = False, max_chars: int = 3000,
                 max_lines: int = 40) -> None:
        self.full = full
        self.expand_calls = expand_calls
        self.max_chars = None if full else max_chars
        self.max_lines = None if full else max_lines

    # -- pieces --------------------------------------------------------------------------------
    def body(self, item: Text | None, *, style: str = "", missing: str = "(not recorded)",
             max_chars: int | None = -1, max_lines: int | None = -1, head_tail: bool = False) -> RenderableType:
        if item is None:
            return RichText(missing, style="dim italic")
        chars = self.max_chars if max_chars == -1 else max_chars
        lines = self.max_lines if max_lines == -1 else max_lines
        shown, note = clip(printable(item.text), chars, None if head_tail else lines, head_tail=head_tail)
        parts: list[RenderableType] = [RichText(shown or "(empty)", style=style)]
        for extra in (note, _stored_note(item)):
            if extra:
                parts.append(RichText(extra, style="dim italic"))
        return Group(*parts)

    def code(self, item: Text | None, number: str) -> RenderableType:
        label = RichText(f"In [{number}]:", style="bold green")
        if item is None:
            return Group(label, RichText("(code not recorded)", style="dim italic"))
        shown, note = clip(printable(item.text), self.max_chars, None if self.full else 200)
        parts: list[RenderableType] = [label, Syntax(shown, "python", line_numbers=True, word_wrap=True,
                                                     theme="ansi_dark", background_color="default")]
        parts += [RichText(n, style="dim italic") for n in (note, _stored_note(item)) if n]
        return Group(*parts)

    def cell(self, cell: Cell, number: str) -> RenderableType:
        ev = cell.event
        status = "ok" if ev.success else (ev.error_type or "error")
        head = RichText(f"cell {number} · {status} · {ev.duration_ms:,.0f} ms · {ev.sub_calls} sub-calls",
                        style="green" if ev.success else "bold red")
        parts: list[RenderableType] = [head, self.code(cell.text("code"), number)]
        out_style = "" if ev.success else "red"
        parts.append(RichText(f"Out [{number}]:", style="bold red" if not ev.success else "bold cyan"))
        parts.append(Padding(self.body(cell.text("output"), style=out_style), (0, 0, 0, 2)))
        for name in ("stderr", "error"):
            item = cell.text(name)
            if item is not None and item.text.strip() and item.text.strip() not in cell_output(cell):
                parts.append(RichText(f"{name}:", style="bold red"))
                parts.append(Padding(self.body(item, style="red"), (0, 0, 0, 2)))
        if cell.sub_calls:
            parts.append(self.sub_calls(cell.sub_calls))
        for i, child in enumerate(cell.children, 1):
            title = f"child RLM {i}/{len(cell.children)} · depth {child.depth} · {len(child.turns)} turns"
            parts.append(Padding(Group(Rule(title, style="magenta", align="left"), self.rlm_run(child)),
                                 (0, 0, 0, INDENT)))
        return Group(*parts)

    def sub_calls(self, calls: list[Call]) -> RenderableType:
        total = Usage()
        for call in calls:
            total.add(call.event)
        models = ", ".join(sorted({c.event.model for c in calls}))
        lat = sorted(c.event.latency_ms for c in calls)
        head = RichText(f"▸ {len(calls)} sub-call{'s' if len(calls) != 1 else ''} to {models} · {usage_line(total)}"
                        f" · latency p50 {lat[len(lat) // 2]:,.0f} ms", style="yellow")
        parts: list[RenderableType] = [head]
        shown = calls if self.expand_calls else calls[:1]
        for call in shown:
            parts.append(self.one_call(call, "prompt", short=not self.expand_calls))
        if not self.expand_calls and len(calls) > 1:
            tally = Counter(_reply_key(c) for c in calls)
            common = ", ".join(f"{k!r} ×{n}" for k, n in tally.most_common(4))
            more = f" and {len(tally) - 4} others" if len(tally) > 4 else ""
            parts.append(RichText(f"  replies: {common}{more}  (--calls shows each)", style="dim"))
        return Padding(Group(*parts), (0, 0, 0, 2))

    def one_call(self, call: Call, prompt_field: str, *, short: bool) -> RenderableType:
        ev = call.event
        limit = (400, 8) if short else (None if self.full else 800, self.max_lines)
        tag = "" if ev.status == "ok" else f" · {ev.status} {ev.error_type or ''}"
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("prompt", self.body(call.text(prompt_field), max_chars=limit[0] or None, max_lines=limit[1],
                                         head_tail=True))
        grid.add_row("reply", self.body(call.text("reply"), style="red" if ev.status == "error" else "",
                                        max_chars=limit[0], max_lines=limit[1],
                                        missing="(no reply: the call failed)" if ev.status == "error"
                                        else "(not recorded)"))
        grid.add_row("", RichText(f"{ev.model} · {ev.latency_ms:,.0f} ms · {ev.prompt_tokens:,} in / "
                                  f"{ev.completion_tokens:,} out · {money(ev.cost_usd)}{tag}", style="dim"))
        return grid

    def turn(self, turn: Call, number: int, counter: list[int]) -> RenderableType:
        ev = turn.event
        own, below = turn_usage(turn)
        failed = ev.status == "error"
        title = (f"turn {number} · {ev.model} · {ev.latency_ms:,.0f} ms · {usage_line(own)}"
                 + (f" · its cells' calls: {below.calls}, {money(below.cost_usd)}" if below.calls else "")
                 + (f" · {ev.status}: {ev.error_type}" if failed else ""))
        parts: list[RenderableType] = [Rule(title, style="red" if failed else "blue", align="left")]
        if number == 1:
            query = query_of(turn.text("messages"))
            if query:
                parts.append(RichText(printable(query), style="bold"))
        reply = turn.text("reply")
        if reply is not None:
            prose = REPL_BLOCK.sub("[code below]", reply.text).strip()
            if prose:
                parts.append(self.body(Text(prose, len(prose)), style="italic", max_chars=1500, max_lines=12))
        elif not failed:
            parts.append(RichText("(reply not recorded)", style="dim italic"))
        for cell in turn.cells:
            counter[0] += 1
            parts.append(self.cell(cell, str(counter[0])))
        if turn.loose_calls:
            parts.append(self.sub_calls(turn.loose_calls))
        return Group(*parts)

    def rlm_run(self, run: RLMRun) -> RenderableType:
        counter = [0]
        return Group(*[self.turn(t, i, counter) for i, t in enumerate(run.turns, 1)])

    # -- whole views ---------------------------------------------------------------------------
    def trajectory(self, traj: Trajectory, sample: dict) -> RenderableType:
        parts: list[RenderableType] = [self.header(traj, sample)]
        if sample.get("method") == "baseline" or (traj.turns and traj.turns[0].event.role == "baseline"):
            for call in traj.turns:
                title = f"baseline call · {call.event.model} · {call.event.latency_ms:,.0f} ms"
                parts.append(Rule(title, align="left"))
                parts.append(self.one_call(call, "prompt", short=False))
        else:
            parts.append(self.rlm_run(traj.root))
        if traj.unplaced:
            parts.append(Rule(f"{len(traj.unplaced)} calls whose parent was not recorded", style="dim"))
            parts.append(self.sub_calls(traj.unplaced))
        if not traj.turns:
            parts.append(RichText("no model calls recorded for this sample", style="dim italic"))
        parts.append(self.answer(traj, sample))
        return Group(*parts)

    def header(self, traj: Trajectory, sample: dict) -> RenderableType:
        total = traj.usage()
        cells = sum(1 for _ in traj.cells())
        depth = "-" if sample.get("depth") is None else sample["depth"]
        return RichText(
            f"{sample.get('sample_id') or traj.query_id} · {sample.get('method')} · {sample.get('model')}"
            f"{' / ' + sample['sub_model'] if sample.get('sub_model') else ''} · depth {depth} · "
            f"{format_size(sample['size_tokens']) if sample.get('size_tokens') else '?'}\n"
            f"{total.calls} calls · {cells} cells · {usage_line(total)} · "
            f"{(sample.get('latency_ms') or 0) / 1000:.2f} s · query {traj.query_id}", style="bold")

    def answer(self, traj: Trajectory, sample: dict) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        score = sample.get("score")
        ok = score is not None and score >= 1.0
        answer = traj.answer.text if traj.answer is not None else (sample.get("answer") or "")
        grid.add_row("answer", RichText(printable(clip(answer, 2000)[0]) or "(empty)", style="green" if ok else "red"))
        grid.add_row("expected", RichText(printable(expected_text(sample.get("expected")))))
        grid.add_row("score", RichText(f"{score if score is not None else '?'} · stop: {sample.get('stop_reason')}"))
        if sample.get("error"):
            grid.add_row("error", RichText(printable(str(sample["error"])), style="red"))
        return Panel(grid, title="final", border_style="green" if ok else "red", expand=False)


def cell_output(cell: Cell) -> str:
    item = cell.text("output")
    return item.text if item is not None else ""


def _reply_key(call: Call) -> str:
    item = call.text("reply")
    if item is None:
        return call.event.status if call.event.status != "ok" else "(not recorded)"
    text = printable(item.text.strip())
    return text if len(text) <= 40 else text[:37] + "..."


def query_of(messages: Text | None) -> str:
    """The user's query from a first turn's messages (JSON list), not the long system prompt."""
    if messages is None:
        return ""
    import json

    try:
        items = json.loads(messages.text)
    except ValueError:
        return ""
    users = [m.get("content", "") for m in items if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1]) if users else ""


def sample_table(rows: Iterable[dict], *, numbers: list[int] | None = None, answer_width: int = 24) -> Table:
    """The per-sample list: id, size, method, depth, score, expected vs answer, stop, calls, cost, latency.

    Every column but expected / answer keeps its full width; those two share what is left."""
    rows = list(rows)
    cells = []
    for i, row in zip(numbers or range(1, len(rows) + 1), rows):
        score = row.get("score")
        cells.append([
            str(i), row.get("sample_id") or row["query_id"],
            format_size(row["size_tokens"]) if row.get("size_tokens") else "-", row.get("method") or "-",
            "-" if row.get("depth") is None else str(row["depth"]),
            "-" if score is None else f"{score:.2f}", printable(expected_text(row.get("expected"))),
            printable(str(row.get("answer") or "")).replace("\n", " ") or "∅", row.get("stop_reason") or "-",
            str(row.get("calls", "-")), "?" if row.get("cost_usd") is None else f"{row['cost_usd']:.4f}",
            f"{(row.get('latency_ms') or 0) / 1000:.2f}"])
    headers = ["#", "sample", "size", "method", "depth", "score", "expected", "answer", "stop", "calls", "cost $",
               "latency s"]
    table = Table(box=None, pad_edge=False, header_style="bold underline", padding=(0, 1), collapse_padding=True)
    for k, name in enumerate(headers):
        if name in ("expected", "answer"):
            table.add_column(name, max_width=answer_width, overflow="ellipsis", no_wrap=True, ratio=1)
        else:
            width = max([len(name)] + [len(c[k]) for c in cells])
            numeric = name in ("#", "depth", "score", "calls", "cost $", "latency s")
            table.add_column(name, no_wrap=True, min_width=width, justify="right" if numeric else "left")
    for row, line in zip(rows, cells):
        score = row.get("score")
        failed = row.get("error") and row.get("stop_reason") != "context_exceeded"
        table.add_row(*line, style="red" if failed else ("" if score is not None and score >= 1.0 else "yellow"))
    return table
