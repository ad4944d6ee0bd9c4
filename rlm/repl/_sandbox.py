"""`Sandbox`: the parent-side handle of one RLM's REPL worker.

It runs cells, serves the worker's sub-calls while a cell runs, enforces the per-cell wall
timeout, and restarts a worker that timed out or died (reporting `state_lost`), reloading
the context from the file written once at construction.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from ..errors import SandboxError
from . import _protocol as proto
from ._process import STARTUP_TIMEOUT_S, WorkerProcess, next_sandbox_uid
from ._records import CellResult, SandboxLimits
from ._subcalls import SubcallHandler, count_calls, serve_call
from ._workspace import Workspace

logger = logging.getLogger(__name__)

_FROM_FILE = object()  # the context is the one written to the workspace at construction
_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(problem: str) -> None:
    with _warned_lock:
        if problem in _warned:
            return
        _warned.add(problem)
    logger.warning("sandbox isolation reduced (%s); continuing without it", problem)


class Sandbox:
    """A persistent, isolated Python REPL holding `context`. Use as a context manager."""

    def __init__(self, context: object, handler: SubcallHandler | None = None,
                 limits: SandboxLimits | None = None, *,
                 enable_rlm_query: bool = False) -> None:
        self.limits = limits or SandboxLimits()
        self._handler = handler
        self._enable_rlm_query = enable_rlm_query
        self._lock = threading.Lock()
        self._closed = False
        self._worker: WorkerProcess | None = None
        self._uid = next_sandbox_uid()
        self._context: object = _FROM_FILE  # set by load_context; restarts reload it
        self._workspace = Workspace.create(context)
        try:
            self._worker = self._start_worker()
        except BaseException:
            self._workspace.remove()
            raise

    # -- public API -----------------------------------------------------------------------

    def run(self, code: str) -> CellResult:
        """Run one cell. Errors in the cell are data in the result, never raised."""
        with self._lock:
            worker = self._live_worker()
            start = time.monotonic()
            deadline = start + self.limits.cell_timeout_s
            sub_calls = 0
            try:
                worker.chan.send({"op": proto.EXEC, "code": code})
                while True:
                    msg = worker.chan.recv(timeout=deadline - time.monotonic())
                    if msg.get("op") == proto.RESULT:
                        return _result(msg, start, sub_calls)
                    if msg.get("op") == proto.CALL:
                        sub_calls += count_calls(msg.get("fn", ""), msg.get("args") or {})
                        reply = serve_call(self._handler, msg, self._enable_rlm_query)
                        if time.monotonic() >= deadline:
                            raise TimeoutError
                        worker.chan.send(reply)
            except TimeoutError:
                self._replace_worker()
                return _lost(start, sub_calls, "Timeout", timed_out=True, error=(
                    f"Cell exceeded the {self.limits.cell_timeout_s:g} s timeout and was killed;"
                    " the REPL was restarted: variables are gone, `context` is loaded again."))
            except proto.ChannelClosed:
                error_type, why = self._death_reason(worker)
                self._replace_worker()
                return _lost(start, sub_calls, error_type, timed_out=False, error=(
                    f"The REPL worker died ({why}); it was restarted: variables are gone,"
                    " `context` is loaded again."))

    def get_variable(self, name: str) -> tuple[bool, str]:
        """(found, str(value)) of a variable in the REPL namespace, for FINAL_VAR."""
        with self._lock:
            worker = self._live_worker()
            try:
                worker.chan.send({"op": proto.GET, "name": name})
                msg = worker.chan.recv(timeout=self.limits.cell_timeout_s)
            except (TimeoutError, proto.ChannelClosed) as exc:
                logger.warning("get_variable(%r) failed (%r); restarting the worker", name, exc)
                self._replace_worker()
                return False, ""
            return bool(msg.get("found")), str(msg.get("value", ""))

    def load_context(self, context: object) -> None:
        """Replace `context` (and reset `answer`) keeping every other variable: a persistent
        session's next query. A worker restarted later loads this context again."""
        if isinstance(context, tuple):
            context = list(context)
        with self._lock:
            self._context = context
            self._send_context(self._live_worker())

    def _send_context(self, worker: WorkerProcess) -> None:
        try:
            worker.chan.send({"op": proto.LOAD, "context": self._context})
            worker.chan.recv(timeout=STARTUP_TIMEOUT_S)
        except (TimeoutError, proto.ChannelClosed) as exc:
            raise SandboxError(f"could not load the new context into the REPL ({exc})") from exc

    def close(self) -> None:
        """Kill the worker's processes and remove the temp dir. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._worker is not None:
                self._worker.kill()
                self._worker = None
            self._workspace.remove()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # last resort; close() is the contract
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    # -- worker lifecycle -----------------------------------------------------------------

    def _start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self._workspace, self.limits, self._uid,
                               has_handler=self._handler is not None,
                               enable_rlm_query=self._enable_rlm_query)
        try:
            info = worker.wait_ready()
        except (TimeoutError, proto.ChannelClosed) as exc:
            worker.kill()
            raise SandboxError(f"REPL worker failed to start ({exc}); its log ends with:\n"
                               f"{self._workspace.log_tail()}") from exc
        for problem in info.get("problems", []):
            _warn_once(problem)
        if self._context is not _FROM_FILE:
            self._send_context(worker)
        return worker

    def _live_worker(self) -> WorkerProcess:
        if self._closed:
            raise SandboxError("this Sandbox is closed")
        if self._worker is None:  # a restart failed earlier: try again, raise if it fails
            self._worker = self._start_worker()
        return self._worker

    def _replace_worker(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None
        try:
            self._worker = self._start_worker()
        except SandboxError:
            logger.exception("REPL worker restart failed; the next cell will retry")

    def _death_reason(self, worker: WorkerProcess) -> tuple[str, str]:
        code = worker.exit_code()
        tail = self._workspace.log_tail()
        if "MemoryError" in tail:
            return "MemoryError", f"out of memory (limit {self.limits.memory_mb} MB)"
        if code is not None and code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return "WorkerDied", f"CPU time limit of {self.limits.cpu_s} s reached"
        detail = f"exit code {code}" if code is not None else "no exit code"
        if tail.strip():
            detail += "; last output: " + tail.strip()[-500:]
        return "WorkerDied", detail


def _result(msg: dict[str, Any], start: float, sub_calls: int) -> CellResult:
    return CellResult(
        stdout=msg["stdout"], stderr=msg["stderr"], value_repr=msg.get("value_repr"),
        success=bool(msg["success"]), error_type=msg.get("error_type"), error=msg.get("error"),
        duration_ms=(time.monotonic() - start) * 1000, timed_out=False, state_lost=False,
        sub_calls=sub_calls, stdout_chars=int(msg["stdout_chars"]),
        stderr_chars=int(msg["stderr_chars"]), answer_ready=bool(msg.get("answer_ready")),
        answer_content=msg.get("answer_content"))


def _lost(start: float, sub_calls: int, error_type: str, *, timed_out: bool,
          error: str) -> CellResult:
    return CellResult(
        stdout="", stderr="", value_repr=None, success=False, error_type=error_type,
        error=error, duration_ms=(time.monotonic() - start) * 1000, timed_out=timed_out,
        state_lost=True, sub_calls=sub_calls, stdout_chars=0, stderr_chars=0)
