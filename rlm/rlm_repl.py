"""RLM_REPL: a Recursive Language Model whose root model works in a sandboxed REPL.

The root model sees the query and a description of `context`; it writes ```repl
code that inspects the context and calls sub-models (depth 1) or child RLMs
(depth >= 2) on pieces of it, until it answers with FINAL(...) or FINAL_VAR(name).
`completion(context, query)` is a drop-in for an LM call. Budgets are shared by
the whole tree of calls and always end the run with a stop reason, never a crash.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rlm import prompts
from rlm.budget import Budget, BudgetTracker
from rlm.errors import LMError, RLMError
from rlm.events import CodeExecEvent, EventSink, utcnow
from rlm.lm import LM, Message
from rlm.parsing import FinalAnswer, code_blocks, find_final, truncate_middle
from rlm.repl import CellResult, Sandbox, SandboxLimits
from rlm.trace import Tracer, new_id
from rlm.usage import Usage, UsageBreakdown

if TYPE_CHECKING:
    from rlm.console import RLMConsole

log = logging.getLogger(__name__)


@dataclass
class Cell:
    """One executed ```repl block and the output the model was shown."""

    code: str
    output: str
    result: CellResult


@dataclass
class Iteration:
    index: int
    call_id: str
    response: str
    cells: list[Cell] = field(default_factory=list)
    final: FinalAnswer | None = None


@dataclass
class RLMResult:
    """What `completion()` returns. `usage` counts every call at every depth."""

    answer: str
    stop_reason: str   # final | final_var | max_iterations | max_tokens | max_cost | max_wall_time | error
    iterations: int
    usage: UsageBreakdown
    trajectory: list[Iteration]
    messages: list[Message]
    elapsed_s: float
    query_id: str
    error: str | None = None


class StopRun(RLMError):
    """Raised by `completion(raise_on_stop=True)` when a budget or error ended the run."""

    def __init__(self, result: RLMResult) -> None:
        super().__init__(f"RLM stopped: {result.stop_reason}")
        self.result = result


class RLM_REPL:  # noqa: N801 - the name the RLM literature uses
    """A Recursive Language Model.

    depth 0: the root model works in the REPL with no sub-calls; depth 1: `llm_query`
    calls plain sub-models (the paper's default); depth d: `rlm_query` runs child RLMs
    of depth d-1, each with its own REPL and the models of the next depths.
    `sub_models[i]` is the model used at depth i+1 (the last one repeats).
    """

    def __init__(self, model: LM, *, sub_model: LM | None = None, sub_models: list[LM] | None = None,
                 depth: int = 1, max_iterations: int = 20, budget: Budget | None = None,
                 limits: SandboxLimits | None = None, max_output_chars: int = 20_000,
                 max_concurrent_subcalls: int = 8, sink: EventSink | None = None,
                 console: "RLMConsole | None" = None, run_id: str | None = None) -> None:
        if depth < 0:
            raise ValueError("depth must be >= 0")
        if max_iterations < 1:
            raise ValueError("max_iterations must be >= 1")
        chain = list(sub_models) if sub_models else ([sub_model] if sub_model else [])
        self.models: list[LM] = [model] + (chain or [model])
        self.depth = depth
        self.max_iterations = max_iterations
        self.budget = budget or Budget()
        self.limits = limits or SandboxLimits(max_output_chars=max_output_chars)
        self.max_output_chars = max_output_chars
        self.max_concurrent_subcalls = max_concurrent_subcalls
        self.sink = sink
        self.console = console
        self.run_id = run_id or new_id()

    def model_at(self, level: int) -> LM:
        return self.models[min(level, len(self.models) - 1)]

    def completion(self, context: object, query: str, *, query_id: str | None = None,
                   raise_on_stop: bool = False) -> RLMResult:
        """Answer `query` about `context` (str, list or dict)."""
        tracer = Tracer(self.sink, self.run_id, query_id or new_id())
        result = _Run(self, context, query, level=0, tracer=tracer,
                      tracker=BudgetTracker(self.budget), parent_call_id=None).execute()
        if raise_on_stop and result.stop_reason not in ("final", "final_var"):
            raise StopRun(result)
        return result


class _Run:
    """The state of one completion at one level of the tree."""

    def __init__(self, rlm: RLM_REPL, context: object, query: str, *, level: int, tracer: Tracer,
                 tracker: BudgetTracker, parent_call_id: str | None) -> None:
        self.rlm = rlm
        self.context = context
        self.query = query
        self.level = level
        self.depth = rlm.depth - level          # how many levels of sub-calls remain below this one
        self.tracer = tracer
        self.tracker = tracker
        self.parent_call_id = parent_call_id
        self.root = rlm.model_at(level)
        self.usage = UsageBreakdown()
        self._usage_lock = threading.Lock()
        self.current_call_id: str | None = None
        self.iteration = 0

    # -- the loop -------------------------------------------------------------------------
    def execute(self) -> RLMResult:
        started = time.monotonic()
        sub = self.rlm.model_at(self.level + 1) if self.depth >= 1 else None
        system = prompts.system_prompt(
            self.context, depth=self.depth, sub_window_tokens=_window(sub),
            max_output_chars=self.rlm.max_output_chars, cell_timeout_s=self.rlm.limits.cell_timeout_s)
        messages: list[Message] = [{"role": "system", "content": system},
                                   {"role": "user", "content": prompts.query_message(self.query)}]
        trajectory: list[Iteration] = []
        answer, stop_reason, error = "", "", None
        handler = _SubcallHandler(self) if self.depth >= 1 else None
        sandbox = Sandbox(self.context, handler, self.rlm.limits, enable_rlm_query=self.depth >= 2)
        try:
            for index in range(1, self.rlm.max_iterations + 1):
                self.iteration = index
                if (reason := self.tracker.exceeded()) is not None:
                    stop_reason, answer = reason, self._partial(sandbox, trajectory)
                    break
                try:
                    step = self._model_turn(messages, index)
                except LMError as exc:
                    stop_reason, error = "error", f"{type(exc).__name__}: {exc}"
                    answer = self._partial(sandbox, trajectory)
                    break
                trajectory.append(step)
                outputs = [self._run_cell(sandbox, step, code, i) for i, code in enumerate(code_blocks(step.response))]
                if outputs:
                    messages.append({"role": "user", "content": prompts.output_message(outputs)})
                step.final = find_final(step.response)
                if step.final is not None:
                    resolved = self._resolve(sandbox, step.final)
                    if resolved is not None:
                        answer = resolved
                        stop_reason = "final_var" if step.final.kind == "var" else "final"
                        break
                    messages.append({"role": "user", "content": prompts.missing_var_message(step.final.value)})
                elif not outputs:
                    messages.append({"role": "user", "content": prompts.no_code_message()})
            else:
                stop_reason = "max_iterations"
                answer = self._last_call(messages, sandbox, trajectory)
        finally:
            sandbox.close()
        result = RLMResult(answer=answer, stop_reason=stop_reason, iterations=len(trajectory), usage=self.usage,
                           trajectory=trajectory, messages=messages, elapsed_s=time.monotonic() - started,
                           query_id=self.tracer.query_id, error=error)
        if self.rlm.console is not None and self.level == 0:
            self.rlm.console.final(result)
        return result

    def _model_turn(self, messages: list[Message], index: int) -> Iteration:
        call_id = new_id()
        self.current_call_id = call_id
        completion = self.tracer.call(self.root, messages, role="root" if self.level == 0 else "sub",
                                      depth=self.level, iteration=index, parent_call_id=self.parent_call_id,
                                      call_id=call_id)
        self.add_usage(self.root.name, self.level, completion.usage)
        messages.append({"role": "assistant", "content": completion.text})
        if self.rlm.console is not None:
            self.rlm.console.model_reply(self.level, index, completion, self.usage.total)
        return Iteration(index=index, call_id=call_id, response=completion.text)

    def _run_cell(self, sandbox: Sandbox, step: Iteration, code: str, cell_index: int) -> str:
        started = utcnow()
        result = sandbox.run(code)
        output = truncate_middle(_render(result, self.rlm.limits.cell_timeout_s), self.rlm.max_output_chars)
        step.cells.append(Cell(code=code, output=output, result=result))
        self.tracer.emit(CodeExecEvent(
            time=started, run_id=self.tracer.run_id, query_id=self.tracer.query_id, exec_id=new_id(),
            parent_call_id=step.call_id, depth=self.level, iteration=step.index, cell_index=cell_index,
            duration_ms=result.duration_ms, code_chars=len(code), stdout_chars=result.stdout_chars,
            stderr_chars=result.stderr_chars, success=result.success, error_type=result.error_type,
            sub_calls=result.sub_calls))
        if self.rlm.console is not None:
            self.rlm.console.cell(self.level, step.index, code, result, output, self.usage.total)
        return output

    def _resolve(self, sandbox: Sandbox, final: FinalAnswer) -> str | None:
        if final.kind == "text":
            return final.value
        found, value = sandbox.get_variable(final.value)
        return value if found else None

    def _partial(self, sandbox: Sandbox, trajectory: list[Iteration]) -> str:
        """Best answer so far: a REPL variable named `answer`, else the last FINAL seen."""
        found, value = sandbox.get_variable("answer")
        if found:
            return value
        for step in reversed(trajectory):
            if step.final is not None and step.final.kind == "text":
                return step.final.value
        return ""

    def _last_call(self, messages: list[Message], sandbox: Sandbox, trajectory: list[Iteration]) -> str:
        """Iterations ran out: one last call asking for the answer now."""
        if self.tracker.exceeded() is not None:
            return self._partial(sandbox, trajectory)
        messages.append({"role": "user", "content": prompts.final_nudge()})
        try:
            step = self._model_turn(messages, self.rlm.max_iterations + 1)
        except LMError:
            return self._partial(sandbox, trajectory)
        final = find_final(step.response)
        if final is not None:
            resolved = self._resolve(sandbox, final)
            if resolved is not None:
                return resolved
        return self._partial(sandbox, trajectory) or step.response.strip()

    def add_usage(self, model: str, depth: int, usage: Usage) -> None:
        with self._usage_lock:
            self.usage.add(model, depth, usage)
        self.tracker.add(usage)

    def merge_child(self, child: UsageBreakdown) -> None:
        with self._usage_lock:
            self.usage.merge(child)


class _SubcallHandler:
    """Serves the REPL's llm_query / rlm_query calls from the parent process."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    def llm_query(self, prompt: str, model: str | None = None) -> str:
        run = self.run
        if (reason := run.tracker.exceeded()) is not None:
            return f"{prompts.SUBCALL_ERROR_PREFIX}BudgetExceeded: {reason}"
        lm = self._pick(model)
        try:
            completion = run.tracer.call(lm, str(prompt), role="sub", depth=run.level + 1,
                                         iteration=run.iteration, parent_call_id=run.current_call_id)
        except LMError as exc:
            return f"{prompts.SUBCALL_ERROR_PREFIX}{type(exc).__name__}: {exc}"
        run.add_usage(lm.name, run.level + 1, completion.usage)
        return completion.text

    def llm_query_batched(self, prompts_: list[str], model: str | None = None) -> list[str]:
        return self._map(lambda p: self.llm_query(p, model), prompts_)

    def rlm_query(self, context: object, query: str) -> str:
        run = self.run
        if run.depth < 2:
            return f"{prompts.SUBCALL_ERROR_PREFIX}RLMError: rlm_query needs depth >= 2"
        if (reason := run.tracker.exceeded()) is not None:
            return f"{prompts.SUBCALL_ERROR_PREFIX}BudgetExceeded: {reason}"
        child = _Run(run.rlm, context, str(query), level=run.level + 1, tracer=run.tracer,
                     tracker=run.tracker, parent_call_id=run.current_call_id)
        try:
            result = child.execute()
        except RLMError as exc:
            return f"{prompts.SUBCALL_ERROR_PREFIX}{type(exc).__name__}: {exc}"
        run.merge_child(result.usage)
        if result.stop_reason == "error":
            return f"{prompts.SUBCALL_ERROR_PREFIX}RLMError: {result.error}"
        return result.answer

    def rlm_query_batched(self, contexts: list, query: str) -> list[str]:
        return self._map(lambda c: self.rlm_query(c, query), contexts)

    def _pick(self, model: str | None) -> LM:
        if model:
            for lm in self.run.rlm.models:
                if lm.name == model:
                    return lm
        return self.run.rlm.model_at(self.run.level + 1)

    def _map(self, fn, items: list) -> list[str]:
        items = list(items)
        if not items:
            return []
        workers = max(1, min(self.run.rlm.max_concurrent_subcalls, len(items)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))


def _window(lm: LM | None) -> int | None:
    """The sub-model's window as told to the root; 128K when the config does not say."""
    if lm is None:
        return None
    return lm.config.context_window or 128_000


def _render(result: CellResult, timeout_s: float) -> str:
    """The text the model sees for one cell."""
    parts = []
    if result.stdout:
        parts.append(result.stdout.rstrip("\n"))
    if result.value_repr is not None:
        parts.append(result.value_repr)
    if result.stderr:
        parts.append(result.stderr.rstrip("\n"))
    if result.timed_out:
        parts.append(f"Timeout: the cell ran past {timeout_s:g} s and was stopped.")
    elif result.error:
        parts.append(result.error.rstrip("\n"))
    if result.state_lost:
        parts.append(prompts.STATE_LOST_NOTE)
    return "\n".join(parts) if parts else "(no output)"
