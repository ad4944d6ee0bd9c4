"""Typed records of the sandbox API: the limits a worker runs under and one cell's result."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one REPL worker.

    `cell_timeout_s` is wall time per cell, sub-call time included: a cell blocked in a
    sub-call is only stopped once that call returns, since the parent serves it.
    """

    cell_timeout_s: float = 60.0
    memory_mb: int = 4096           # RLIMIT_AS of the worker
    cpu_s: int = 600                # RLIMIT_CPU (cumulative over the worker's life)
    max_processes: int = 64         # RLIMIT_NPROC, enforced by running under its own uid
    max_file_mb: int = 512          # RLIMIT_FSIZE
    max_output_chars: int = 20_000  # stdout/stderr/value kept per cell, head + tail
    network: bool = False           # False: new network namespace where the OS allows


@dataclass
class CellResult:
    """What one `Sandbox.run` produced. Texts are already truncated head + tail."""

    stdout: str
    stderr: str
    value_repr: str | None          # repr of a last-line expression, like a notebook
    success: bool
    error_type: str | None          # "ZeroDivisionError", "Timeout", "MemoryError", "WorkerDied"
    error: str | None               # traceback text or explanation
    duration_ms: float
    timed_out: bool
    state_lost: bool                # the worker was restarted after this cell
    sub_calls: int                  # a batch of n counts n
    stdout_chars: int               # sizes before truncation
    stderr_chars: int
    answer_ready: bool = False      # the cell set answer["ready"] = True
    answer_content: str | None = None  # answer["content"] (or a plain `answer` variable) after the cell
