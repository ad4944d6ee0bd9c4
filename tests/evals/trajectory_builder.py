"""Trajectory events written by hand, shaped as RLM_REPL emits them (rlm/events.py's contract):
root turns, cells under them, sub-calls and child RLM turns under cells, texts keyed by their
call / cell / query id, long texts cut at a cap with the cut marked."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from rlm.events import CodeExecEvent, Event, LLMCallEvent, TextEvent

DEFAULT_CAP = 1_000_000


def _id() -> str:
    return uuid.uuid4().hex


@dataclass
class TrajectoryBuilder:
    run_id: str
    query_id: str
    cap: int = DEFAULT_CAP
    events: list[Event] = field(default_factory=list)
    clock: datetime = field(default_factory=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))

    def _tick(self, ms: float = 1.0) -> datetime:
        self.clock += timedelta(milliseconds=ms)
        return self.clock

    def text(self, item_id: str, name: str, text: str) -> None:
        self.events.append(TextEvent(time=self._tick(0.01), run_id=self.run_id, query_id=self.query_id,
                                     item_id=item_id, field=name, text=text[: self.cap], chars=len(text),
                                     truncated=len(text) > self.cap))

    def turn(self, reply: str, *, messages: list[dict] | None = None, iteration: int = 1, depth: int = 0,
             parent: str | None = None, exec_id: str | None = None, model: str = "sim-large",
             status: str = "ok", error_type: str | None = None, prompt_tokens: int = 300,
             completion_tokens: int = 50, cost: float | None = 0.001, call_id: str | None = None) -> str:
        call_id = call_id or _id()
        self.events.append(LLMCallEvent(
            time=self._tick(), run_id=self.run_id, query_id=self.query_id, call_id=call_id, parent_call_id=parent,
            depth=depth, iteration=iteration, role="root" if depth == 0 else "sub", model=model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=200.0, cost_usd=cost,
            status=status, error_type=error_type, exec_id=exec_id))
        self.text(call_id, "messages", json.dumps(messages if messages is not None else
                                                  [{"role": "user", "content": f"REPL output (turn {iteration})"}]))
        if status == "ok":
            self.text(call_id, "reply", reply)
        self._tick(200)
        return call_id

    def cell(self, turn: str, code: str, output: str, *, iteration: int = 1, depth: int = 0, index: int = 0,
             stderr: str = "", error: str | None = None, sub_calls: int = 0, duration_ms: float = 50.0) -> str:
        exec_id = _id()
        self.events.append(CodeExecEvent(
            time=self._tick(), run_id=self.run_id, query_id=self.query_id, exec_id=exec_id, parent_call_id=turn,
            depth=depth, iteration=iteration, cell_index=index, duration_ms=duration_ms, code_chars=len(code),
            stdout_chars=len(output), stderr_chars=len(stderr), success=error is None,
            error_type=error.split(":")[0] if error else None, sub_calls=sub_calls))
        self.text(exec_id, "code", code)
        self.text(exec_id, "output", output)
        if stderr:
            self.text(exec_id, "stderr", stderr)
        if error:
            self.text(exec_id, "error", error)
        return exec_id

    def sub_call(self, cell: str, turn: str, prompt: str, reply: str, *, depth: int = 1, iteration: int = 1,
                 model: str = "sim-small", status: str = "ok", cost: float | None = 0.0005) -> str:
        call_id = _id()
        self.events.append(LLMCallEvent(
            time=self._tick(0.1), run_id=self.run_id, query_id=self.query_id, call_id=call_id,
            parent_call_id=turn, depth=depth, iteration=iteration, role="sub", model=model,
            prompt_tokens=len(prompt) // 4, completion_tokens=max(1, len(reply) // 4), latency_ms=120.0,
            cost_usd=cost, status=status, error_type=None if status == "ok" else "APIConnectionError",
            exec_id=cell))
        self.text(call_id, "prompt", prompt)
        if status == "ok":
            self.text(call_id, "reply", reply)
        return call_id

    def answer(self, text: str) -> None:
        self.text(self.query_id, "answer", text)

    def baseline(self, prompt: str, reply: str, *, status: str = "ok", error_type: str | None = None) -> str:
        call_id = _id()
        self.events.append(LLMCallEvent(
            time=self._tick(), run_id=self.run_id, query_id=self.query_id, call_id=call_id, parent_call_id=None,
            depth=0, iteration=None, role="baseline", model="sim-large", prompt_tokens=len(prompt) // 4,
            completion_tokens=3, latency_ms=300.0, cost_usd=0.002, status=status, error_type=error_type))
        self.text(call_id, "prompt", prompt)
        if status == "ok":
            self.text(call_id, "reply", reply)
        return call_id


CHUNK_CODE = ("chunks = [context[i:i + 1000] for i in range(0, len(context), 1000)]\n"
              "answers = llm_query_batched([query + chunk for chunk in chunks])\n"
              "answer = next(a for a in answers if a != 'NOT FOUND')\n"
              "print(f'asked {len(chunks)} chunks: {answer}')")


def niah_rlm(run_id: str, query_id: str, *, n_sub: int = 5, needle: str = "6136177",
             cap: int = DEFAULT_CAP) -> TrajectoryBuilder:
    """A depth-1 NIAH trajectory: a chunking cell with `n_sub` sub-calls (one finds the needle),
    then FINAL_VAR."""
    b = TrajectoryBuilder(run_id, query_id, cap=cap)
    t1 = b.turn(f"I will chunk the context.\n```repl\n{CHUNK_CODE}\n```",
                messages=[{"role": "system", "content": "You are in a REPL environment ..."},
                          {"role": "user", "content": "Query: I'm looking for a magic number. What is it?"}])
    cell = b.cell(t1, CHUNK_CODE, f"asked {n_sub} chunks: {needle}", sub_calls=n_sub)
    for i in range(n_sub):
        found = i == n_sub // 2
        b.sub_call(cell, t1, f"Find the magic number in chunk {i}: lamp ocean ... "
                   + (f"The magic number is {needle}" if found else "filler words"),
                   needle if found else "NOT FOUND")
    b.turn("FINAL_VAR(answer)", iteration=2)
    b.answer(needle)
    return b


def depth2_rlm(run_id: str, query_id: str, *, children: int = 2) -> TrajectoryBuilder:
    """A depth-2 trajectory: the root's cell runs `children` child RLMs, each with its own cell
    and two sub-calls, answering on their second turn."""
    b = TrajectoryBuilder(run_id, query_id)
    t1 = b.turn("```repl\nparts = rlm_query_batched(pieces, query)\nprint(parts)\n```",
                messages=[{"role": "user", "content": "Query: find the magic number"}])
    cell = b.cell(t1, "parts = rlm_query_batched(pieces, query)\nprint(parts)", "['NOT FOUND', '42']",
                  sub_calls=children)
    for c in range(children):
        ct = b.turn(f"```repl\nchild_code_{c} = llm_query_batched(chunks)\n```", depth=1, parent=t1,
                    exec_id=cell, model="sim-small",
                    messages=[{"role": "user", "content": f"Query: piece {c}"}])
        cc = b.cell(ct, f"child_code_{c} = llm_query_batched(chunks)", f"child output {c}", depth=1)
        for j in range(2):
            b.sub_call(cc, ct, f"grandchild prompt {c}.{j}", f"grandchild reply {c}.{j}", depth=2)
        b.turn(f"FINAL({'42' if c else 'NOT FOUND'})", depth=1, parent=t1, exec_id=cell, iteration=2,
               model="sim-small")
    b.turn("FINAL(42)", iteration=2)
    b.answer("42")
    return b
