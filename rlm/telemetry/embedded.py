"""The embedded TimescaleDB: PGlite + TimescaleDB under node, one server per home directory.

Every process on the machine that uses the same home shares one server: its pid and port live
in `<home>/tsdb/server.json`, a file lock serialises starts, and a dead pid is recovered from.
The npm packages are installed into the home on first use from the committed package-lock.json.
The server (pglite/server.mjs) frames the wire protocol itself, greets clients at once, lends its
single PGlite session to one client at a time and resets it between clients.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rlm.telemetry.errors import EmbeddedServerError

log = logging.getLogger(__name__)

HOME_ENV = "RLM_EVALS_HOME"
PROJECT_DIR = Path(__file__).parent / "pglite"
PROJECT_FILES = ("package.json", "package-lock.json", "server.mjs", "backend.mjs")
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    home: Path
    pid: int | None = None
    port: int | None = None

    @property
    def dsn(self) -> str | None:
        return dsn_for(self.port) if self.running and self.port else None


def dsn_for(port: int) -> str:
    # PGlite accepts any password and does not speak TLS.
    return f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres?sslmode=disable"


def home_dir(home: str | Path | None = None) -> Path:
    """`home`, else $RLM_EVALS_HOME, else ./.rlm-evals (per project, like a venv)."""
    return Path(home or os.environ.get(HOME_ENV) or Path.cwd() / ".rlm-evals").resolve()


def _paths(home: Path) -> dict[str, Path]:
    base = home / "tsdb"
    return {"base": base, "node": home / "pglite", "data": base / "data", "state": base / "server.json",
            "lock": base / "start.lock", "log": base / "server.log"}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a recycled pid belongs to another program: treat the server as dead
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"server.mjs" in cmdline
    except OSError:
        return True


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def embedded_status(home: str | Path | None = None) -> EmbeddedStatus:
    """Whether the server of `home` runs (pid alive and port accepting), with pid and port."""
    home = home_dir(home)
    state = _paths(home)["state"]
    try:
        info = json.loads(state.read_text())
        pid, port = int(info["pid"]), int(info["port"])
    except (OSError, ValueError, KeyError):
        return EmbeddedStatus(False, home)
    if _pid_alive(pid) and _port_open(port):
        return EmbeddedStatus(True, home, pid, port)
    return EmbeddedStatus(False, home, pid, port)


@contextmanager
def _start_lock(home: Path) -> Iterator[None]:
    lock = _paths(home)["lock"]
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _install(home: Path) -> Path:
    """Copy the node project into the home and `npm ci` it when its lock file changed."""
    node_dir = _paths(home)["node"]
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise EmbeddedServerError(
                f"the embedded TimescaleDB needs `{tool}` (Node.js 18+ with npm) on PATH; install Node.js, "
                "or point RLM_TSDB_DSN at a TimescaleDB server")
    node_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(b"".join((PROJECT_DIR / f).read_bytes() for f in PROJECT_FILES)).hexdigest()
    marker = node_dir / ".installed"
    if marker.exists() and marker.read_text() == digest and (node_dir / "node_modules").is_dir():
        return node_dir
    for name in PROJECT_FILES:
        shutil.copyfile(PROJECT_DIR / name, node_dir / name)
    print(f"rlm-evals: installing the embedded TimescaleDB (npm ci) into {node_dir} ...", file=sys.stderr)
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=node_dir,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise EmbeddedServerError(f"npm ci failed in {node_dir}: " + " | ".join(tail))
    marker.write_text(digest)
    return node_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_embedded(home: str | Path | None = None) -> str:
    """Start the server of `home` unless it runs already; return its DSN."""
    home = home_dir(home)
    with _start_lock(home):
        status = embedded_status(home)
        if status.running:
            return dsn_for(status.port)
        paths = _paths(home)
        if status.pid is not None:
            log.info("embedded TimescaleDB pid %s is gone; starting a new one", status.pid)
        paths["state"].unlink(missing_ok=True)
        node_dir = _install(home)
        paths["data"].mkdir(parents=True, exist_ok=True)
        port = _free_port()
        with open(paths["log"], "ab") as logfile:
            proc = subprocess.Popen(
                ["node", str(node_dir / "server.mjs"), "--data", str(paths["data"]), "--port", str(port),
                 "--ready", str(paths["state"])],
                cwd=node_dir, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)  # outlives this process: one server for the machine
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = paths["log"].read_text(errors="replace").strip().splitlines()[-5:]
                raise EmbeddedServerError(f"the embedded TimescaleDB exited with code {proc.returncode}: "
                                          + " | ".join(tail) + f" (log: {paths['log']})")
            if paths["state"].exists() and embedded_status(home).running:
                log.info("embedded TimescaleDB started: pid %s port %s, data %s", proc.pid, port, paths["data"])
                return dsn_for(port)
            time.sleep(0.1)
        proc.kill()
        raise EmbeddedServerError(f"the embedded TimescaleDB did not start in {START_TIMEOUT_S:.0f}s "
                                  f"(log: {paths['log']})")


def stop_embedded(home: str | Path | None = None, *, timeout_s: float = 15.0) -> bool:
    """Stop the server of `home` (SIGTERM flushes its data, SIGKILL after `timeout_s`)."""
    home = home_dir(home)
    with _start_lock(home):
        status = embedded_status(home)
        state = _paths(home)["state"]
        if status.pid is None or not _pid_alive(status.pid):
            state.unlink(missing_ok=True)
            return False
        os.kill(status.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(status.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(status.pid):
            os.kill(status.pid, signal.SIGKILL)
        state.unlink(missing_ok=True)
        return True
