"""A sample's trajectory as a tree, assembled from its events (the run record's or the DB's).

    query -> root turns (by iteration) -> cells (parent_call_id = turn)
          -> sub-calls (exec_id = cell) and child RLM runs (exec_id = cell, one level deeper)
          -> their turns -> their cells -> ...

Numbers come from LLMCallEvent / CodeExecEvent, texts from TextEvent (keyed by call, cell or
query id). Both sources give the same events, so `evals.show` and the HTML report render one
shape. Calls recorded without `exec_id` (older runs) are placed in the cell of their parent
turn that was running when they started. A child RLM's turns share one key in their call ids
(`rlm.trace.child_call_id`), so each child is grouped by that key, whatever the timing; turns
recorded before that (plain uuids) are told apart by iteration and timing (see `_child_runs`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Iterable

from rlm.events import CodeExecEvent, Event, LLMCallEvent, TextEvent
from rlm.trace import child_key_of


@dataclass
class Text:
    """One stored text: `chars` is its length before the cap cut it (`truncated`)."""

    text: str
    chars: int
    truncated: bool = False


@dataclass
class Call:
    """One model call: a root turn (with cells) or a plain sub-call / baseline call."""

    event: LLMCallEvent
    texts: dict[str, Text] = field(default_factory=dict)
    cells: list["Cell"] = field(default_factory=list)
    loose_calls: list["Call"] = field(default_factory=list)   # sub-calls no cell could claim

    def text(self, name: str) -> Text | None:
        return self.texts.get(name)


@dataclass
class Cell:
    """One REPL cell, with what its code called."""

    event: CodeExecEvent
    texts: dict[str, Text] = field(default_factory=dict)
    sub_calls: list[Call] = field(default_factory=list)
    children: list["RLMRun"] = field(default_factory=list)

    def text(self, name: str) -> Text | None:
        return self.texts.get(name)


@dataclass
class RLMRun:
    """The turns of one RLM (the root one, or a child started by `rlm_query`)."""

    depth: int
    turns: list[Call] = field(default_factory=list)


@dataclass
class Usage:
    """Totals over a subtree, for "usage and cost per turn"."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    errors: int = 0

    def add(self, event: LLMCallEvent) -> None:
        self.calls += 1
        self.prompt_tokens += event.prompt_tokens
        self.cached_tokens += event.cached_tokens
        self.completion_tokens += event.completion_tokens
        self.errors += event.status == "error"
        self.cost_usd = None if self.cost_usd is None or event.cost_usd is None else self.cost_usd + event.cost_usd


@dataclass
class Trajectory:
    """Everything one sample (one query_id) did."""

    query_id: str
    root: RLMRun
    answer: Text | None = None
    unplaced: list[Call] = field(default_factory=list)   # calls whose parent was never recorded

    @property
    def turns(self) -> list[Call]:
        return self.root.turns

    def calls(self) -> Iterable[Call]:
        """Every call of the tree, depth first."""
        stack: list[Any] = list(reversed(self.root.turns)) + list(self.unplaced)
        while stack:
            node = stack.pop()
            if isinstance(node, Call):
                yield node
                stack.extend(reversed(node.loose_calls))
                stack.extend(reversed(node.cells))
            elif isinstance(node, Cell):
                stack.extend(reversed([t for run in node.children for t in run.turns]))
                stack.extend(reversed(node.sub_calls))

    def cells(self) -> Iterable[Cell]:
        for call in self.calls():
            yield from call.cells

    def usage(self) -> Usage:
        total = Usage()
        for call in self.calls():
            total.add(call.event)
        return total


def turn_usage(turn: Call) -> tuple[Usage, Usage]:
    """(the turn's own call, everything its cells called), for a per-turn line."""
    own, below = Usage(), Usage()
    own.add(turn.event)
    stack: list[Any] = list(turn.cells) + list(turn.loose_calls)
    while stack:
        node = stack.pop()
        if isinstance(node, Call):
            below.add(node.event)
            stack.extend(node.cells)
            stack.extend(node.loose_calls)
        else:
            stack.extend(node.sub_calls)
            stack.extend(t for run in node.children for t in run.turns)
    return own, below


# -- assembling -------------------------------------------------------------------------------
def _end(event: LLMCallEvent | CodeExecEvent):
    ms = event.latency_ms if isinstance(event, LLMCallEvent) else event.duration_ms
    return event.time + timedelta(milliseconds=ms or 0)


def build(events: Iterable[Event], query_id: str) -> Trajectory:
    """The tree of `query_id` from any mix of its events (others are ignored)."""
    calls: list[Call] = []
    cells: list[Cell] = []
    texts: dict[str, dict[str, Text]] = defaultdict(dict)
    for event in events:
        if event.query_id != query_id:
            continue
        if isinstance(event, LLMCallEvent):
            calls.append(Call(event))
        elif isinstance(event, CodeExecEvent):
            cells.append(Cell(event))
        elif isinstance(event, TextEvent):
            texts[event.item_id][event.field] = Text(event.text, event.chars, event.truncated)
    for node in calls:
        node.texts = texts.get(node.event.call_id, {})
    for cell in cells:
        cell.texts = texts.get(cell.event.exec_id, {})
    calls.sort(key=lambda c: (c.event.time, c.event.iteration or 0, c.event.call_id))
    cells.sort(key=lambda c: (c.event.iteration, c.event.cell_index, c.event.time))

    by_call = {c.event.call_id: c for c in calls}
    cell_ids = {c.event.exec_id for c in cells}
    turn_ids = {c.event.parent_call_id for c in cells if c.event.parent_call_id}
    for cell in cells:
        parent = by_call.get(cell.event.parent_call_id or "")
        if parent is not None:
            parent.cells.append(cell)

    top: list[Call] = []
    under_cell: dict[str, list[Call]] = defaultdict(list)
    unplaced: list[Call] = []
    for call in calls:
        ev = call.event
        if ev.exec_id and ev.exec_id in cell_ids:
            under_cell[ev.exec_id].append(call)
        elif ev.parent_call_id is None:
            top.append(call)
        elif ev.parent_call_id in by_call:
            _place_without_cell(call, by_call[ev.parent_call_id], under_cell)
        else:
            unplaced.append(call)

    for cell in cells:
        made = under_cell.get(cell.event.exec_id, [])
        child_turns = [c for c in made if _is_turn(c, cell, turn_ids)]
        cell.sub_calls = [c for c in made if not _is_turn(c, cell, turn_ids)]
        cell.children = _child_runs(child_turns, cell.event.depth + 1)
    top.sort(key=lambda c: (c.event.iteration or 0, c.event.time))
    answer = texts.get(query_id, {}).get("answer")
    return Trajectory(query_id, RLMRun(0, top), answer, unplaced)


def _is_turn(call: Call, cell: Cell, turn_ids: set[str]) -> bool:
    """A child RLM's turn, not a plain sub-call: it was sent messages, or its reply held cells, or
    (no texts recorded) its iteration is the child's own, not that of the cell that called it."""
    if "messages" in call.texts or call.event.call_id in turn_ids or child_key_of(call.event.call_id):
        return True
    return "prompt" not in call.texts and call.event.iteration not in (None, cell.event.iteration)


def _place_without_cell(call: Call, parent: Call, under_cell: dict[str, list[Call]]) -> None:
    """No exec_id: the parent turn's cell that was running when the call started, else the turn."""
    for cell in parent.cells:
        if cell.event.time <= call.event.time <= _end(cell.event) or len(parent.cells) == 1:
            under_cell[cell.event.exec_id].append(call)
            return
    parent.loose_calls.append(call)


def _child_runs(turns: list[Call], depth: int) -> list[RLMRun]:
    """Group child RLM turns into runs: by the child key in their call ids; turns without one
    (older runs) by timing: iteration 1 opens a run; iteration k joins the run at k-1 whose last
    step (its turn or that turn's cells) ended closest before this turn started."""
    keyed: dict[str, RLMRun] = {}
    timed: list[RLMRun] = []
    unkeyed = []
    for turn in turns:
        key = child_key_of(turn.event.call_id)
        if key is None:
            unkeyed.append(turn)
        else:
            keyed.setdefault(key, RLMRun(depth)).turns.append(turn)
    for run in keyed.values():
        run.turns.sort(key=lambda c: (c.event.iteration or 0, c.event.time))
    for turn in sorted(unkeyed, key=lambda c: (c.event.time, c.event.iteration or 0)):
        k = turn.event.iteration or 1
        open_runs = [r for r in timed if (r.turns[-1].event.iteration or 1) == k - 1]
        if k == 1 or not open_runs:
            timed.append(RLMRun(depth, [turn]))
            continue
        min(open_runs, key=lambda run: _gap(run, turn.event.time)).turns.append(turn)
    runs = [*keyed.values(), *timed]
    runs.sort(key=lambda run: (run.turns[0].event.time, run.turns[0].event.call_id))
    return runs


def _gap(run: RLMRun, start: datetime) -> tuple[bool, timedelta]:
    """How far before `start` the run's last step ended (a run still busy at `start` sorts last)."""
    last = run.turns[-1]
    end = max([_end(last.event)] + [_end(c.event) for c in last.cells])
    return (end > start, abs(start - end))


# -- reading events back ----------------------------------------------------------------------
def _from_row(cls, row: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})


# Texts over `max_chars` are cut in the database (head and tail kept, the middle counted), so a
# reader never pulls megabytes of sub-call prompts it will not show.
_TEXTS_SQL = """
SELECT time, run_id, query_id, item_id, field, chars, truncated,
       CASE WHEN %(max_chars)s::integer IS NULL OR length(text) <= %(max_chars)s THEN text
            ELSE left(text, %(max_chars)s / 2) || E'\n  … ' || (length(text) - %(max_chars)s / 2 * 2)::text
                 || E' characters not read …\n' || right(text, %(max_chars)s / 2) END AS text
FROM trajectory_texts WHERE run_id = %(run_id)s AND query_id = %(query_id)s
     AND (%(prompt_ids)s::text[] IS NULL OR field <> 'prompt' OR item_id = ANY(%(prompt_ids)s::text[]))
ORDER BY time
"""


def _first_prompts(calls: list[dict]) -> list[str]:
    """Calls whose prompt a folded page shows: every non-sub call and the first sub-call of each cell."""
    first: dict[str, str] = {}
    for row in sorted(calls, key=lambda r: r["time"]):
        if row["role"] == "sub":
            first.setdefault(row.get("exec_id") or row.get("parent_call_id") or "", row["call_id"])
    return [r["call_id"] for r in calls if r["role"] != "sub"] + list(first.values())


def events_from_db(dsn: str, run_id: str, query_id: str, max_chars: int | None = None, *,
                   first_prompts_only: bool = False) -> list[Event]:
    """The query's calls, cells and texts from TimescaleDB (texts cut to `max_chars` if given; with
    `first_prompts_only`, sub-call prompts only of each cell's first sub-call, as a folded page shows:
    a sample with hundreds of sub-calls is read in a fraction of the time)."""
    from rlm.telemetry import connect, queries

    with connect(dsn) as conn:
        calls = queries.calls(conn, run_id, query_id)
        execs = queries.code_executions(conn, run_id, query_id)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('trajectory_texts') IS NOT NULL")
            has_texts = cur.fetchone()[0]
            rows: list[dict] = []
            if has_texts:
                cur.execute(_TEXTS_SQL, {"run_id": run_id, "query_id": query_id, "max_chars": max_chars,
                                         "prompt_ids": _first_prompts(calls) if first_prompts_only else None})
                names = [d[0] for d in cur.description]
                rows = [dict(zip(names, r)) for r in cur.fetchall()]
    return ([_from_row(LLMCallEvent, r) for r in calls] + [_from_row(CodeExecEvent, r) for r in execs]
            + [_from_row(TextEvent, r) for r in rows])


def load_from_db(dsn: str, run_id: str, query_id: str, max_chars: int | None = None) -> Trajectory:
    return build(events_from_db(dsn, run_id, query_id, max_chars), query_id)


def events_from_jsonl(paths: Iterable) -> list[Event]:
    """Events from JSONL logs (one `rlm.events.event_to_dict` object a line); other kinds and a
    torn last line are skipped."""
    import json
    from pathlib import Path

    from rlm.events import event_from_dict

    kinds = {"llm_call", "code_execution", "text"}
    out: list[Event] = []
    for path in paths:
        with open(Path(path), encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(data, dict) and data.get("kind") in kinds:
                    out.append(event_from_dict(data))
    return out
