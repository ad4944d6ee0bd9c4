"""Parent-side handle of one worker process: spawn it, wait for READY, kill its processes.

The worker is exec'd directly (no preexec_fn, so spawning from threads is safe) in a new
session, so its process group can be killed at once. Where the worker made itself a pid
namespace, killing the group kills the namespace's init and the kernel reaps the rest;
otherwise processes of the sandbox's own uid are hunted down in /proc.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import _protocol as proto
from ._jail import FALLBACK_UID
from ._records import SandboxLimits
from ._workspace import Workspace, hidden_dirs, scrubbed_env

logger = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
STARTUP_TIMEOUT_S = 60.0
# One uid per Sandbox (per parent pid and counter) so RLIMIT_NPROC and signals stay local.
_UID_BASE = 1_700_000_000
_uid_counter = itertools.count()


def next_sandbox_uid() -> int:
    return _UID_BASE + (os.getpid() % 100_000) * 1000 + next(_uid_counter) % 1000


def _paths_to_expose() -> list[str]:
    """What an unprivileged worker must be able to read: the interpreter and this package."""
    exe = os.path.realpath(sys.executable)
    return sorted({sys.prefix, sys.base_prefix, sys.exec_prefix,
                   os.path.dirname(os.path.dirname(exe)), str(WORKER_SCRIPT.parent)})


class WorkerProcess:
    """One running worker. `chan` talks to it; `info` is what its READY message reported."""

    def __init__(self, workspace: Workspace, limits: SandboxLimits, uid: int, *,
                 has_handler: bool, enable_rlm_query: bool) -> None:
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        config = {
            "rfd": to_worker_r, "wfd": from_worker_w, "uid": uid,
            "workdir": str(workspace.workdir), "stage": str(workspace.stage),
            "context_path": str(workspace.context_path), "context_kind": workspace.context_kind,
            "limits": {k: getattr(limits, k) for k in limits.__dataclass_fields__},
            "expose": [*_paths_to_expose(), str(workspace.base)], "hide": hidden_dirs(), "has_handler": has_handler,
            "enable_rlm_query": enable_rlm_query,
        }
        argv = [sys.executable, "-E", "-s", "-B", str(WORKER_SCRIPT), json.dumps(config)]
        try:
            with open(workspace.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                    pass_fds=(to_worker_r, from_worker_w), env=scrubbed_env(workspace.workdir),
                    cwd=workspace.workdir, start_new_session=True, close_fds=True)
        except BaseException:
            for fd in (to_worker_r, to_worker_w, from_worker_r, from_worker_w):
                os.close(fd)
            raise
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.uid = uid
        self.chan = proto.Channel(from_worker_r, to_worker_w)
        self.info: dict[str, Any] = {}
        self.repl_pid: int | None = None  # host pid of the REPL when it runs in a pid namespace

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.info or (self.info.get("pidns") and self.repl_pid is None):
            msg = self.chan.recv(timeout=deadline - time.monotonic())
            if msg.get("op") == proto.SPAWNED:
                self.repl_pid = int(msg["pid"])
            elif msg.get("op") == proto.READY:
                self.info = msg
            else:
                raise proto.ChannelClosed(f"expected READY, got {msg.get('op')!r}")
        return self.info

    def kill(self) -> int | None:
        """Kill every process of this worker, reap it, close the pipes; returns its exit code."""
        if self.repl_pid is not None and self.proc.poll() is None:
            # Kill the namespace's init first: its waiting parent then reaps it.
            _signal(self.repl_pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - the kernel is slow to reap
            logger.error("worker %d did not die after SIGKILL", self.proc.pid)
            code = None
        if not self.info.get("pidns") and self.info.get("uid") not in (None, 0, FALLBACK_UID):
            kill_uid_processes(self.info["uid"])
        self.chan.close()
        return code

    def exit_code(self, timeout: float = 1.0) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _uid_pids(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def kill_uid_processes(uid: int, rounds: int = 50) -> None:
    """Stop, then kill, every process of `uid` (escapees of the process group included).

    Stopping first keeps a fork bomb from replacing processes faster than they die.
    """
    for _ in range(rounds):
        pids = _uid_pids(uid)
        if not pids:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                _signal(pid, sig)
        time.sleep(0.01)
    logger.error("processes of sandbox uid %d survived %d kill rounds", uid, rounds)
