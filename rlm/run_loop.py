"""One RLM completion at one level of the tree: the iteration loop and its sub-call handler.

Every step is recorded through the Tracer: numbers first (LLMCallEvent, CodeExecEvent),
then the texts of the trajectory (TextEvents keyed by call_id / exec_id / query_id).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from rlm import prompts
from rlm.budget import BudgetTracker
from rlm.errors import LMError, RLMError
from rlm.events import CodeExecEvent, utcnow
from rlm.lm import Message
from rlm.model_client import ModelClient, window_of
from rlm.parsing import FinalAnswer, code_blocks, find_final, truncate_middle
from rlm.repl import CellResult, Sandbox
from rlm.repl._subcalls import fan_out
from rlm.results import Cell, Iteration, RLMResult, StopReason
from rlm.trace import Tracer, child_call_id, new_id, safe_text
from rlm.usage import Usage, UsageBreakdown

if TYPE_CHECKING:
    from rlm.rlm_repl import RLM_REPL

T = TypeVar("T")


class Run:
    """The state of one completion at one level of the tree (level 0 = the top RLM)."""

    def __init__(self, rlm: RLM_REPL, context: object, query: str, *, level: int, tracer: Tracer,
                 tracker: BudgetTracker, parent_call_id: str | None, exec_id: str | None = None) -> None:
        self.rlm = rlm
        self.context = context
        self.query = query
        self.level = level
        self.depth = rlm.depth - level          # how many levels of sub-calls remain below this one
        self.tracer = tracer
        self.tracker = tracker
        self.parent_call_id = parent_call_id
        self.exec_id = exec_id                  # the parent's cell that started this child RLM
        # A child RLM's turns share one key in their call ids (`<key>-<iteration>`), so a reader tells
        # the turns of children started by one cell apart without relying on timing.
        self.child_key = new_id() if exec_id is not None else None
        self.root = rlm.model_at(level)
        self.usage = UsageBreakdown()
        self._usage_lock = threading.Lock()
        self.current_call_id: str | None = None
        self.current_exec_id: str | None = None
        self.iteration = 0
        self.answer_content: str | None = None  # answer["content"] (or `answer`) after the last cell
        self._sent = 0                          # messages already sent to the root model

    # -- the loop -------------------------------------------------------------------------
    def execute(self) -> RLMResult:
        started = time.monotonic()
        messages: list[Message] = [{"role": "system", "content": self._system_prompt()},
                                   {"role": "user", "content": prompts.query_message(self.query)}]
        trajectory: list[Iteration] = []
        answer, error = "", None
        stop_reason: StopReason = "max_iterations"
        sandbox, owned = self.rlm.open_sandbox(self)
        try:
            for index in range(1, self.rlm.max_iterations + 1):
                self.iteration = index
                if (reason := self.tracker.exceeded()) is not None:
                    stop_reason, answer = reason, self._partial(trajectory)
                    break
                try:
                    step = self._model_turn(messages, index)
                except LMError as exc:
                    stop_reason, error = "error", f"{type(exc).__name__}: {exc}"
                    answer = self._partial(trajectory)
                    break
                trajectory.append(step)
                outputs = self._run_cells(sandbox, step)
                if outputs:
                    messages.append({"role": "user", "content": prompts.output_message(outputs)})
                if step.cells and step.cells[-1].result.answer_ready:
                    stop_reason, answer = "answer_ready", step.cells[-1].result.answer_content or ""
                    break
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
                answer = self._last_call(messages, sandbox, trajectory)
        finally:
            if owned:
                sandbox.close()
        if self.level == 0:
            self.tracer.text(self.tracer.query_id, "answer", answer)
        return RLMResult(answer=answer, stop_reason=stop_reason, iterations=len(trajectory), usage=self.usage,
                         trajectory=trajectory, messages=messages, elapsed_s=time.monotonic() - started,
                         query_id=self.tracer.query_id, error=error)

    def _system_prompt(self) -> str:
        sub = self.rlm.model_at(self.level + 1) if self.depth >= 1 else None
        custom = self.rlm.custom_system_prompt
        if custom is not None:
            return f"{custom}\n\n`context` is {prompts.describe_context(self.context)}."
        return prompts.system_prompt(
            self.context, depth=self.depth, sub_window_tokens=window_of(sub),
            max_output_chars=self.rlm.max_output_chars, cell_timeout_s=self.rlm.limits.cell_timeout_s)

    def _model_turn(self, messages: list[Message], index: int) -> Iteration:
        call_id = new_id() if self.child_key is None else child_call_id(self.child_key, index)
        self.current_call_id = call_id
        new = messages[self._sent:]
        completion = self.tracer.call(self.root, messages, role="root", depth=self.level, iteration=index,
                                      parent_call_id=self.parent_call_id, call_id=call_id,
                                      exec_id=self.exec_id, new_messages=new)
        self.add_usage(self.root.name, self.level, completion.usage)
        messages.append({"role": "assistant", "content": completion.text})
        self._sent = len(messages)
        return Iteration(index=index, call_id=call_id, response=completion.text)

    def _run_cells(self, sandbox: Sandbox, step: Iteration) -> list[str]:
        """Run the reply's cells in order; a cell that sets answer["ready"] ends the reply there."""
        outputs = []
        for cell_index, code in enumerate(code_blocks(step.response)):
            outputs.append(self._run_cell(sandbox, step, code, cell_index))
            if step.cells[-1].result.answer_ready:
                break
        return outputs

    def _run_cell(self, sandbox: Sandbox, step: Iteration, code: str, cell_index: int) -> str:
        exec_id = new_id()
        self.current_exec_id = exec_id
        started = utcnow()
        try:
            result = sandbox.run(code)
        finally:
            self.current_exec_id = None
        # safe_text: a lone surrogate printed by a cell would make the next request unencodable
        output = safe_text(truncate_middle(_render(result, self.rlm.limits.cell_timeout_s),
                                           self.rlm.max_output_chars))
        step.cells.append(Cell(code=code, output=output, result=result, exec_id=exec_id))
        if result.answer_content is not None:
            self.answer_content = result.answer_content
        tracer = self.tracer
        tracer.emit(CodeExecEvent(
            time=started, run_id=tracer.run_id, query_id=tracer.query_id, exec_id=exec_id,
            parent_call_id=step.call_id, depth=self.level, iteration=step.index, cell_index=cell_index,
            duration_ms=result.duration_ms, code_chars=len(code), stdout_chars=result.stdout_chars,
            stderr_chars=result.stderr_chars, success=result.success, error_type=result.error_type,
            sub_calls=result.sub_calls))
        tracer.text(exec_id, "code", code)
        if result.stderr:
            tracer.text(exec_id, "stderr", result.stderr)
        if result.error:
            tracer.text(exec_id, "error", result.error)
        tracer.text(exec_id, "output", output)  # last: a cell's texts are complete once it arrives
        return output

    def _resolve(self, sandbox: Sandbox, final: FinalAnswer) -> str | None:
        if final.kind == "text":
            return final.value
        found, value = sandbox.get_variable(final.value)
        return value if found else None

    def _partial(self, trajectory: list[Iteration]) -> str:
        """Best answer so far: answer["content"] (or an `answer` variable), else the last FINAL seen."""
        if self.answer_content:
            return self.answer_content
        for step in reversed(trajectory):
            if step.final is not None and step.final.kind == "text":
                return step.final.value
        return ""

    def _last_call(self, messages: list[Message], sandbox: Sandbox, trajectory: list[Iteration]) -> str:
        """Iterations ran out: one last call asking for the answer now."""
        if self.tracker.exceeded() is not None:
            return self._partial(trajectory)
        messages.append({"role": "user", "content": prompts.final_nudge()})
        try:
            step = self._model_turn(messages, self.rlm.max_iterations + 1)
        except LMError:
            return self._partial(trajectory)
        final = find_final(step.response)
        if final is not None:
            resolved = self._resolve(sandbox, final)
            if resolved is not None:
                return resolved
        return self._partial(trajectory) or step.response.strip()

    def add_usage(self, model: str, depth: int, usage: Usage) -> None:
        with self._usage_lock:
            self.usage.add(model, depth, usage)
        self.tracker.add(usage)

    def merge_child(self, child: UsageBreakdown) -> None:
        with self._usage_lock:
            self.usage.merge(child)


class RLMCallHandler:
    """Serves the REPL's llm_query / rlm_query calls from the parent process.

    `run` is the completion currently using the REPL (a persistent REPL serves several in turn).
    """

    def __init__(self, run: Run) -> None:
        self.run = run

    def llm_query(self, prompt: str, model: str | None = None) -> str:
        run = self.run
        if (reason := run.tracker.exceeded()) is not None:
            return f"{prompts.SUBCALL_ERROR_PREFIX}BudgetExceeded: {reason}"
        lm = self._pick(model)
        try:
            completion = run.tracer.call(lm, safe_text(str(prompt)), role="sub", depth=run.level + 1,
                                         iteration=run.iteration, parent_call_id=run.current_call_id,
                                         exec_id=run.current_exec_id)
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
        child = Run(run.rlm, context, str(query), level=run.level + 1, tracer=run.tracer,
                    tracker=run.tracker, parent_call_id=run.current_call_id, exec_id=run.current_exec_id)
        try:
            result = child.execute()
        except RLMError as exc:
            return f"{prompts.SUBCALL_ERROR_PREFIX}{type(exc).__name__}: {exc}"
        run.merge_child(result.usage)
        if result.stop_reason == "error":
            return f"{prompts.SUBCALL_ERROR_PREFIX}RLMError: {result.error}"
        return result.answer

    def rlm_query_batched(self, contexts: list[object], query: str) -> list[str]:
        return self._map(lambda c: self.rlm_query(c, query), contexts)

    def _pick(self, model: str | None) -> ModelClient:
        if model:
            for lm in self.run.rlm.models:
                if lm.name == model:
                    return lm
        return self.run.rlm.model_at(self.run.level + 1)

    def _map(self, fn: Callable[[T], str], items: Iterable[T]) -> list[str]:
        return fan_out(fn, list(items), self.run.rlm.max_concurrent_subcalls)


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
