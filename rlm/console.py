"""A live terminal view of running RLMs, fed by the same events as telemetry (an EventSink).

Each running sample has one line in a live area at the bottom, labelled with its query id;
finished cells are printed once above it, notebook style: `In [n]` with highlighted,
numbered code, `Out [n]`, errors in red, sub-calls folded to a count with the first
prompt and reply. Child RLMs' cells (depth >= 2) are indented under their depth.
A harness shows its progress bar in the same live area: `with view.live(progress): ...`.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.errors import LiveError
from rich.live import Live
from rich.padding import Padding
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from rlm.events import CodeExecEvent, Event, LLMCallEvent, TextEvent
from rlm.parsing import code_blocks

__all__ = ["RLMConsole"]


def _clip(text: str, max_lines: int, max_chars: int) -> str:
    lines = text.splitlines()
    cut = "\n".join(lines[:max_lines])
    if len(cut) > max_chars:
        cut = cut[:max_chars]
    if len(lines) > max_lines or len(cut) < len("\n".join(lines)):
        cut += f"\n… ({len(lines)} lines, {len(text):,} chars)"
    return cut


def _one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _prose(reply: str) -> str:
    """A reply without its code blocks (the code is shown once, in its cell)."""
    for code in code_blocks(reply):
        reply = reply.replace(code, "")
    return " ".join(line for line in reply.replace("```repl", "").replace("```", "").split())


@dataclass
class _CellView:
    code: str = ""
    stderr: str = ""
    error: str = ""
    event: CodeExecEvent | None = None
    sub_calls: int = 0
    child_rlms: int = 0
    first_sub: str | None = None
    first_prompt: str = ""
    first_reply: str = ""


@dataclass
class _SampleView:
    label: str
    calls: int = 0
    tokens: int = 0
    cost: float | None = 0.0
    cells: int = 0
    depth: int = 0
    turn: int = 0
    doing: str = "starting"
    open_cells: dict[str, _CellView] = field(default_factory=dict)
    call_cell: dict[str, str] = field(default_factory=dict)  # sub-call id -> exec_id of its cell
    baseline_calls: set[str] = field(default_factory=set)
    root_calls: dict[str, tuple[int, int]] = field(default_factory=dict)  # call id -> (depth, turn)


_DEFAULT: list[Console] = []


def _default_console() -> Console:
    """One stderr Console per process, so views made without one share it (and its one live area)."""
    if not _DEFAULT:
        _DEFAULT.append(Console(stderr=True))
    return _DEFAULT[0]


def label_of(query_id: str) -> str:
    """The readable part of a query id: the harness's "method:sample:hex" without the hex."""
    head, sep, tail = query_id.rpartition(":")
    return head if sep and len(tail) == 8 else query_id[:12]


class RLMConsole:
    """Renders the events of any number of concurrent samples; thread-safe.

    `console` is the rich Console everything is drawn on: a harness passes its own so that
    its progress bar (drawn with `live(progress)`) and these cells share one terminal.
    """

    def __init__(self, console: Console | None = None, *, max_lines: int = 12, max_chars: int = 1_500,
                 code_lines: int = 20) -> None:
        self.console = console or _default_console()
        self.max_lines = max_lines
        self.max_chars = max_chars
        self.code_lines = code_lines
        self._lock = threading.RLock()
        self._samples: dict[str, _SampleView] = {}
        self._extra: list[RenderableType] = []
        self._live: Live | None = None
        self._held = 0
        self._snapshot: RenderableType = Group()
        self._expected: dict[str, str] = {}
        self._finished: set[str] = set()  # texts that trail a failed baseline call must not reopen it

    # -- EventSink ------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        with self._lock:
            sample = self._samples.get(event.query_id)
            if sample is None and event.query_id in self._finished:
                return
            if sample is None:
                sample = self._samples[event.query_id] = _SampleView(label_of(event.query_id))
                self._start()
            if isinstance(event, LLMCallEvent):
                self._on_call(sample, event)
            elif isinstance(event, CodeExecEvent):
                sample.open_cells.setdefault(event.exec_id, _CellView()).event = event
            else:
                self._on_text(sample, event)
            self._redraw()

    def close(self) -> None:
        with self._lock:
            self._samples.clear()
            self._stop()

    def expect(self, query_id: str, expected: str) -> None:
        """Show `expected` next to the answer of `query_id` (a harness knows it; the library does not)."""
        with self._lock:
            self._expected[query_id] = expected

    # -- the live area ----------------------------------------------------------------------
    @contextmanager
    def live(self, *renderables: RenderableType) -> Iterator[RLMConsole]:
        """Keep the live area up for the block, with `renderables` (a progress bar) under the samples."""
        with self._lock:
            self._extra = list(renderables)
            self._held += 1
            self._redraw()
            self._start()
        try:
            yield self
        finally:
            with self._lock:
                self._held -= 1
                if not self._held:
                    self._samples.clear()  # the block is over: whatever never finished is not running
                    self._stop()
                    self._extra = []

    def __rich__(self) -> RenderableType:
        # No lock here: rich's refresh thread renders this while holding its own lock, and emit()
        # holds ours while printing (which needs rich's); the snapshot is swapped atomically.
        return self._snapshot

    def _redraw(self) -> None:
        """Rebuild the live area's content (called with the lock held, after every change)."""
        lines: list[RenderableType] = []
        for sample in self._samples.values():
            cost = "cost ?" if sample.cost is None else f"${sample.cost:.4f}"
            lines.append(Text.assemble(
                ("● ", "yellow"), (f"{sample.label}", "bold"),
                f"  depth {sample.depth} · turn {sample.turn} · {sample.doing} · {sample.cells} cells · "
                f"{sample.calls} calls · {sample.tokens:,} tok · {cost}"))
        if self._extra:
            if lines:
                lines.append(Rule(style="dim"))
            lines.extend(self._extra)
        self._snapshot = Group(*lines)

    def _start(self) -> None:
        if self._live is None:
            live = Live(self, console=self.console, refresh_per_second=4, transient=True,
                        redirect_stdout=False, redirect_stderr=False)
            try:
                live.start()
            except LiveError:  # another live display owns this console: print cells without a live area
                return
            self._live = live

    def _stop(self) -> None:
        if self._live is not None and not self._held and not self._samples:
            self._live.stop()
            self._live = None
            if self._extra:
                self.console.print(Group(*self._extra))

    # -- events -----------------------------------------------------------------------------
    def _on_call(self, sample: _SampleView, event: LLMCallEvent) -> None:
        sample.calls += 1
        sample.tokens += event.prompt_tokens + event.completion_tokens
        sample.cost = None if sample.cost is None or event.cost_usd is None else sample.cost + event.cost_usd
        if event.role == "baseline":
            sample.baseline_calls.add(event.call_id)
            sample.doing = "baseline call"
            if event.status == "error":
                self._finish(sample, event.query_id, Text(f"error: {event.error_type}", style="red"))
        elif event.role == "sub" and event.exec_id is not None:
            cell = sample.open_cells.setdefault(event.exec_id, _CellView())
            cell.sub_calls += 1
            if cell.first_sub is None:
                cell.first_sub = event.call_id
                sample.call_cell[event.call_id] = event.exec_id
            sample.doing = f"cell running · {cell.sub_calls} sub-calls"
        else:  # a root turn, at any depth
            sample.root_calls[event.call_id] = (event.depth, event.iteration or 0)
            if event.exec_id is not None and event.iteration == 1:  # a child RLM started by a cell
                sample.open_cells.setdefault(event.exec_id, _CellView()).child_rlms += 1
            sample.depth, sample.turn = event.depth, event.iteration or 0
            sample.doing = "model replied" if event.status != "error" else f"model error {event.error_type}"

    def _on_text(self, sample: _SampleView, event: TextEvent) -> None:
        item = event.item_id
        if event.field == "answer":
            self._finish(sample, event.query_id, Text(_clip(event.text, self.max_lines, self.max_chars)))
        elif item in sample.baseline_calls and event.field == "reply":
            self._finish(sample, event.query_id, Text(_clip(event.text, self.max_lines, self.max_chars)))
        elif item in sample.call_cell:
            cell = sample.open_cells.get(sample.call_cell[item])
            if cell is not None and event.field == "prompt":
                cell.first_prompt = event.text
            elif cell is not None and event.field == "reply":
                cell.first_reply = event.text
                del sample.call_cell[item]
        elif item in sample.open_cells:
            cell = sample.open_cells[item]
            if event.field == "code":
                cell.code = event.text
            elif event.field == "stderr":
                cell.stderr = event.text
            elif event.field == "error":
                cell.error = event.text
            elif event.field == "output":
                del sample.open_cells[item]
                self._print_cell(sample, cell, event.text)
        elif item in sample.root_calls and event.field == "reply":
            depth, turn = sample.root_calls.pop(item)
            sample.doing = "running cells" if code_blocks(event.text) else "answering"
            prose = _prose(event.text)
            if prose:
                self.console.print(Padding(Text.assemble(
                    (f"{sample.label} · depth {depth} · turn {turn}: ", "dim"),
                    (_one_line(prose, 100), "italic")), (0, 0, 0, 4 * depth)))

    def _print_cell(self, sample: _SampleView, cell: _CellView, output: str) -> None:
        sample.cells += 1
        n = sample.cells
        ev = cell.event
        depth = ev.depth if ev else sample.depth
        ok = ev.success if ev else not cell.error
        head = Text.assemble(
            (f"{sample.label}", "bold"), f" · depth {depth} · turn {ev.iteration if ev else '?'} · ",
            (f"In [{n}]", "bold green" if ok else "bold red"),
            f" · {ev.duration_ms / 1000:.2f} s" if ev else "")
        code_lines = cell.code.splitlines()
        code = "\n".join(code_lines[: self.code_lines])
        parts: list[RenderableType] = [head, Syntax(code, "python", line_numbers=True, word_wrap=True)]
        if len(code_lines) > self.code_lines:
            parts.append(Text(f"     … {len(code_lines) - self.code_lines} more lines", style="dim"))
        if cell.sub_calls:
            parts.append(Text.assemble(
                (f"  ↳ {cell.sub_calls} sub-call{'s' if cell.sub_calls > 1 else ''}", "cyan"),
                f" · first: {_one_line(cell.first_prompt, 70)!r} → {_one_line(cell.first_reply, 50)!r}"))
        if cell.child_rlms:
            parts.append(Text(f"  ↳ {cell.child_rlms} child RLM{'s' if cell.child_rlms > 1 else ''} "
                              "(their cells above, indented)", style="cyan"))
        out_style = "red" if not ok else ""
        parts.append(Text.assemble((f"Out [{n}]: ", "bold"), (_clip(output, self.max_lines, self.max_chars),
                                                               out_style)))
        self.console.print(Padding(Group(*parts), (0, 0, 1, 4 * depth)))
        sample.doing = "cell done"

    def _finish(self, sample: _SampleView, query_id: str, answer: Text) -> None:
        cost = "cost unknown" if sample.cost is None else f"${sample.cost:.4f}"
        parts: list[RenderableType] = [
            Text.assemble(("■ ", "magenta"), (sample.label, "bold magenta"),
                          f" · answer · {sample.cells} cells · {sample.calls} calls · "
                          f"{sample.tokens:,} tokens · {cost}"),
            Padding(answer, (0, 0, 0, 2))]
        expected = self._expected.pop(query_id, None)
        if expected is not None:
            parts.append(Padding(Text.assemble(("expected: ", "dim"), expected), (0, 0, 0, 2)))
        self.console.print(Padding(Group(*parts), (0, 0, 1, 0)))
        self._samples.pop(query_id, None)
        self._finished.add(query_id)
        self._stop()
