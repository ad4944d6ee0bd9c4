"""One self-contained HTML file per run (or sweep): the comparison table, the samples with filters,
and each sample's trajectory on click. No network and no server: styles, script and code
highlighting (Pygments, inline styles) are inside the file.

    write_html_report(run_dir, results, events)       # at the end of a run -> run_dir/report.html
    python -m evals.html_report [RUN] [--out FILE]     # any stored run, from the DB or its files
"""
from __future__ import annotations

import argparse
import html
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Iterable

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from tabulate import tabulate

from rlm.errors import RLMError
from rlm.events import Event

from evals.show_render import REPL_BLOCK, clip, expected_text, money, printable, query_of
from evals.summary import HEADERS, summarize, table_rows
from evals.tasks.sizes import format_size
from evals.trajectory import Call, Cell, RLMRun, Text, Trajectory, Usage, build, turn_usage

SIM_NOTE = "simulated models: these numbers test the harness, they are not model results"
TEXT_CHARS = 4_000      # per text in the page; the full text stays in the run record and the DB
PROMPT_CHARS = 600
_FORMATTER = HtmlFormatter(noclasses=True, linenos="inline", style="default", nobackground=True)

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} .note{color:#a15c00} table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3} #samples tr.sample{cursor:pointer} #samples tr.sample:hover{background:#eef5ff}
tr.wrong td.score{color:#b00} tr.error td.stop{color:#b00;font-weight:bold} tr.selected{background:#dde9ff}
.filters button{margin-right:.4em} .filters button.on{font-weight:bold;background:#dde9ff}
.traj{border-top:2px solid #99b;margin-top:1em;padding-top:.5em}
.turn{margin:.6em 0;border-left:3px solid #57a;padding-left:.6em} .turn.failed{border-color:#c33}
.meta{color:#666;font-size:.9em} .cell{margin:.4em 0 .4em .5em} .cell.failed .label{color:#c00}
.label{font-weight:bold;color:#286} pre{margin:.2em 0;padding:.3em;background:#f8f8f8;white-space:pre-wrap;
word-break:break-all;max-height:30em;overflow:auto} pre.err{color:#b00;background:#fff3f3}
.child{margin-left:1.5em;border-left:3px solid #a5a;padding-left:.6em} .subs{margin:.3em 0 .3em 1em}
.final{border:1px solid #9a9;padding:.4em;margin-top:.6em;display:inline-block} .final.bad{border-color:#c66}
.cut{color:#888;font-style:italic} #comparison{overflow-x:auto;max-width:100%}  /* the full table scrolls, not the page */
"""

_JS = """
(function(){
  var rows = Array.prototype.slice.call(document.querySelectorAll('#samples tr.sample'));
  var filter = 'all', query = '';
  function apply(){
    rows.forEach(function(r){
      var ok = (filter === 'all') || (filter === 'wrong' && r.classList.contains('wrong')) ||
               (filter === 'errors' && r.classList.contains('error'));
      if (query && r.textContent.toLowerCase().indexOf(query) < 0) ok = false;
      r.style.display = ok ? '' : 'none';
    });
    document.getElementById('count').textContent = rows.filter(function(r){return r.style.display !== 'none';}).length;
  }
  document.querySelectorAll('.filters button').forEach(function(b){
    b.addEventListener('click', function(){
      filter = b.getAttribute('data-filter');
      document.querySelectorAll('.filters button').forEach(function(x){x.classList.toggle('on', x === b);});
      apply();
    });
  });
  document.getElementById('search').addEventListener('input', function(e){
    query = e.target.value.toLowerCase(); apply();
  });
  function open(id){
    document.querySelectorAll('section.traj').forEach(function(s){s.hidden = s.id !== id;});
    rows.forEach(function(r){r.classList.toggle('selected', r.getAttribute('data-target') === id);});
    var shown = document.getElementById(id);
    if (shown) shown.scrollIntoView();
  }
  rows.forEach(function(r){r.addEventListener('click', function(){open(r.getAttribute('data-target'));});});
  if (location.hash) open(location.hash.slice(1));
  apply();
})();
"""


def _esc(text: str) -> str:
    return html.escape(printable(text))


def _text_block(item: Text | None, *, limit: int = TEXT_CHARS, css: str = "", head_tail: bool = False) -> str:
    if item is None:
        return '<div class="cut">(not recorded)</div>'
    shown, note = clip(item.text, limit, head_tail=head_tail)
    out = f'<pre class="{css}">{_esc(shown) or "(empty)"}</pre>'
    if note:
        out += f'<div class="cut">{len(item.text) - len(shown):,} more characters in the run record</div>'
    if item.truncated:
        out += (f'<div class="cut">stored {len(item.text):,} of {item.chars:,} characters '
                '(cut at the per-item cap)</div>')
    return out


def _usage(u: Usage) -> str:
    return (f"{u.prompt_tokens:,} in ({u.cached_tokens:,} cached) / {u.completion_tokens:,} out · {money(u.cost_usd)}"
            + (f" · {u.errors} failed" if u.errors else ""))


def _code(item: Text | None) -> str:
    if item is None:
        return '<div class="cut">(code not recorded)</div>'
    shown, _ = clip(printable(item.text), 20_000)
    return f'<div class="code">{highlight(shown, PythonLexer(), _FORMATTER)}</div>'


def _call(call: Call, prompt_field: str, limit: int) -> str:
    ev = call.event
    status = "" if ev.status == "ok" else f" · <b>{_esc(ev.status)} {_esc(ev.error_type or '')}</b>"
    return (f'<div class="meta">{_esc(ev.model)} · {ev.latency_ms:,.0f} ms · {ev.prompt_tokens:,} in / '
            f'{ev.completion_tokens:,} out · {money(ev.cost_usd)}{status}</div>'
            f'<div>prompt</div>{_text_block(call.text(prompt_field), limit=limit, head_tail=True)}'
            f'<div>reply</div>{_text_block(call.text("reply"), limit=limit)}')


def _sub_calls(calls: list[Call]) -> str:
    total = Usage()
    for c in calls:
        total.add(c.event)
    rest = "".join(f"<li>{_call(c, 'prompt', PROMPT_CHARS)}</li>" for c in calls[1:])
    more = (f"<details><summary>the other {len(calls) - 1} sub-calls</summary><ol start=2>{rest}</ol></details>"
            if rest else "")
    return (f'<div class="subs"><b>▸ {len(calls)} sub-call{"s" if len(calls) != 1 else ""}</b> '
            f'<span class="meta">{_usage(total)}</span>{_call(calls[0], "prompt", PROMPT_CHARS)}{more}</div>')


def _cell(cell: Cell, n: int) -> str:
    ev = cell.event
    status = "ok" if ev.success else _esc(ev.error_type or "error")
    parts = [f'<div class="cell{"" if ev.success else " failed"}"><span class="label">In [{n}]</span> '
             f'<span class="meta">{status} · {ev.duration_ms:,.0f} ms · {ev.sub_calls} sub-calls</span>',
             _code(cell.text("code")), f'<span class="label">Out [{n}]</span>',
             _text_block(cell.text("output"), css="" if ev.success else "err")]
    for name in ("stderr", "error"):
        item = cell.text(name)
        if item is not None and item.text.strip():
            parts.append(f"<div>{name}</div>{_text_block(item, css='err')}")
    if cell.sub_calls:
        parts.append(_sub_calls(cell.sub_calls))
    for i, child in enumerate(cell.children, 1):
        parts.append(f'<div class="child"><b>child RLM {i}/{len(cell.children)}</b> '
                     f'<span class="meta">depth {child.depth} · {len(child.turns)} turns</span>{_rlm(child)}</div>')
    return "".join(parts) + "</div>"


def _rlm(run: RLMRun) -> str:
    out, n = [], 0
    for i, turn in enumerate(run.turns, 1):
        own, below = turn_usage(turn)
        failed = turn.event.status == "error"
        head = (f'<div class="turn{" failed" if failed else ""}"><b>turn {i}</b> <span class="meta">'
                f'{_esc(turn.event.model)} · {turn.event.latency_ms:,.0f} ms · {_usage(own)}'
                + (f" · its cells' calls: {below.calls}, {money(below.cost_usd)}" if below.calls else "")
                + (f" · {_esc(turn.event.error_type or 'error')}" if failed else "") + "</span>")
        body = [head]
        query = query_of(turn.text("messages")) if i == 1 else ""
        if query:
            body.append(f"<div><b>{_esc(clip(query, 2000)[0])}</b></div>")
        reply = turn.text("reply")
        prose = REPL_BLOCK.sub("[code below]", reply.text).strip() if reply is not None else ""
        if reply is not None and len(prose) <= 400:  # the code shows once, as the cells
            body.append(_text_block(Text(prose, len(prose))) if prose else "")
        elif reply is not None:
            body.append(f"<details><summary>reply ({reply.chars:,} characters)</summary>{_text_block(reply)}</details>")
        for cell in turn.cells:
            n += 1
            body.append(_cell(cell, n))
        if turn.loose_calls:
            body.append(_sub_calls(turn.loose_calls))
        out.append("".join(body) + "</div>")
    return "".join(out)


def _trajectory(traj: Trajectory, row: dict, anchor: str) -> str:
    total = traj.usage()
    if row.get("method") == "baseline":
        body = "".join(f'<div class="turn"><b>baseline call</b>{_call(c, "prompt", TEXT_CHARS)}</div>'
                       for c in traj.turns)
    else:
        body = _rlm(traj.root)
    if traj.unplaced:
        body += _sub_calls(traj.unplaced)
    ok = (row.get("score") or 0) >= 1.0
    answer = traj.answer.text if traj.answer is not None else (row.get("answer") or "")
    final = (f'<div class="final{"" if ok else " bad"}"><b>answer</b> {_esc(clip(answer, 2000)[0]) or "(empty)"}<br>'
             f'<b>expected</b> {_esc(expected_text(row.get("expected")))}<br><b>score</b> {row.get("score")} · '
             f'stop: {_esc(str(row.get("stop_reason")))}'
             + (f'<br><b>error</b> {_esc(str(row["error"]))}' if row.get("error") else "") + "</div>")
    return (f'<section class="traj" id="{anchor}" hidden><h2>{_esc(row.get("sample_id") or traj.query_id)} · '
            f'{_esc(str(row.get("method")))}</h2><div class="meta">{total.calls} calls · {_usage(total)} · query '
            f'{_esc(traj.query_id)}</div>{body}{final}</section>')


def _sample_row(row: dict, anchor: str) -> str:
    score = row.get("score")
    classes = ["sample"] + (["wrong"] if score is None or score < 1.0 else []) + (["error"] if row.get("error") else [])
    cells = [row.get("run_id", ""), row.get("sample_id") or row["query_id"],
             format_size(row["size_tokens"]) if row.get("size_tokens") else "-", row.get("method") or "-",
             "-" if row.get("depth") is None else str(row["depth"]), "-" if score is None else f"{score:.2f}",
             clip(expected_text(row.get("expected")), 60)[0], clip(str(row.get("answer") or ""), 60)[0],
             row.get("stop_reason") or "-", str(row.get("calls", "")),
             "?" if row.get("cost_usd") is None else f"{row['cost_usd']:.4f}",
             f"{(row.get('latency_ms') or 0) / 1000:.2f}"]
    names = ["run", "sample", "size", "method", "depth", "score", "expected", "answer", "stop", "calls", "cost",
             "latency"]
    tds = "".join(f'<td class="{n}">{_esc(str(c))}</td>' for n, c in zip(names, cells))
    return f'<tr class="{" ".join(classes)}" data-target="{anchor}">{tds}</tr>'


def render_html(title: str, label: str, rows: list[dict], trajectories: dict[str, Trajectory]) -> str:
    """The page for `rows` (sample rows of one run or several) and their trajectories (by query_id)."""
    note = f'<p class="note">{SIM_NOTE}</p>' if label == "sim" else ""
    table = tabulate(table_rows(summarize(rows)), headers=HEADERS, tablefmt="html", disable_numparse=True)
    heads = "".join(f"<th>{h}</th>" for h in ("run", "sample", "size", "method", "depth", "score", "expected",
                                                 "answer", "stop", "calls", "cost $", "latency s"))
    anchors = {r["query_id"]: f"s{i}" for i, r in enumerate(rows)}
    body_rows = "".join(_sample_row(r, anchors[r["query_id"]]) for r in rows)
    sections = "".join(_trajectory(trajectories[r["query_id"]], r, anchors[r["query_id"]])
                       for r in rows if r["query_id"] in trajectories)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f'<style>{_CSS}</style></head><body><h1>{_esc(title)}{" · " + _esc(label) if label else ""}</h1>{note}'
            f'<h2>Comparison</h2><div id="comparison">{table}</div>'
            f'<h2>Samples (<span id="count">{len(rows)}</span>)</h2><div class="filters">'
            '<button data-filter="all" class="on">all</button><button data-filter="wrong">wrong</button>'
            '<button data-filter="errors">errors</button><input id="search" placeholder="search"></div>'
            f'<table id="samples"><thead><tr>{heads}</tr></thead><tbody>{body_rows}</tbody></table>'
            f'<p class="meta">Click a sample to see its trajectory.</p>{sections}<script>{_JS}</script></body></html>')


def _as_dict(result: Any) -> dict:
    return asdict(result) if is_dataclass(result) and not isinstance(result, type) else dict(result)


def write_html_report(run_dir: str | Path, results: Iterable[Any], events: Iterable[Event], *,
                      label: str = "", title: str | None = None) -> Path:
    """`run_dir/report.html` from the run's sample results (SampleResult or dicts) and its events."""
    run_dir = Path(run_dir)
    rows = [_as_dict(r) for r in results]
    by_query: dict[str, list[Event]] = {}
    for event in events:
        by_query.setdefault(event.query_id, []).append(event)
    trajectories = {r["query_id"]: build(by_query.get(r["query_id"], []), r["query_id"]) for r in rows}
    page = render_html(title or f"run {run_dir.name}", label, rows, trajectories)
    path = run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def write_run_html_report(run_dir: str | Path, results: Iterable[Any], *, dsn: str | None = None,
                          label: str | None = None) -> Path:
    """`run_dir/report.html` at the end of a run: trajectories from the database when `dsn` is
    given (texts cut there), else from the run's own files; the label defaults to the saved config's."""
    from evals.run_source import RunSource, saved_label

    run_dir = Path(run_dir)
    label = saved_label(run_dir) if label is None else label
    rows = [_as_dict(r) for r in results]
    source = RunSource(run_dir.name, run_dir, dsn, label)
    trajectories = {r["query_id"]: source.trajectory(r["query_id"], 2 * TEXT_CHARS) for r in rows}
    page = render_html(f"run {run_dir.name}", label, rows, trajectories)
    path = run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def write_sweep_html_report(sweep_dir: str | Path, rows: list[dict], *, results_dir: str | Path,
                            dsn: str | None = None, simulated: bool = False) -> Path:
    """`sweep_dir/report.html`: every run's samples in one page (rows carry their run_id), each
    trajectory read from its run's files, else from the database."""
    from evals.run_source import RunSource

    label = "sim" if simulated else ""
    sources: dict[str, RunSource] = {}
    trajectories = {}
    for row in rows:
        run_id = row.get("run_id") or ""
        if run_id not in sources:
            run_dir = Path(results_dir) / "runs" / run_id
            local = run_dir.is_dir() and any((run_dir / n).is_file() for n in ("record.jsonl", "events.jsonl"))
            sources[run_id] = RunSource(run_id, run_dir, None if local or dsn is None else dsn, label)
        trajectories[row["query_id"]] = sources[run_id].trajectory(row["query_id"], 2 * TEXT_CHARS)
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / "report.html"
    path.write_text(render_html(f"sweep {sweep_dir.name}", label, rows, trajectories), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    from evals.run_source import open_run

    p = argparse.ArgumentParser(prog="python -m evals.html_report", description=__doc__.splitlines()[0])
    p.add_argument("run", nargs="?", default="latest")
    p.add_argument("--results", default="results")
    p.add_argument("--source", default="auto", choices=("auto", "db", "local"))
    p.add_argument("--dsn")
    p.add_argument("--out", help="where to write (default: results/runs/<run>/report.html)")
    args = p.parse_args(argv)
    try:
        source = open_run(args.run, results_dir=args.results, source=args.source, dsn=args.dsn)
        rows = source.samples()
        if not rows:
            raise RLMError(f"run {source.run_id!r} has no finished samples")
        trajectories = {r["query_id"]: source.trajectory(r["query_id"], 2 * TEXT_CHARS) for r in rows}
        out = Path(args.out) if args.out else Path(args.results) / "runs" / source.run_id / "report.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(f"run {source.run_id}", source.label, rows, trajectories), encoding="utf-8")
    except RLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
