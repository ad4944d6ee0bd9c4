"""A native TimescaleDB server from a local build, started on loopback for one home directory.

For users who built TimescaleDB against PostgreSQL (`.ci/native_tsdb.sh build` makes such a private
install tree): `python -m evals.db start db=native` runs it with its data in `<home>/native`.
Production uses any TimescaleDB server by DSN instead (see the README).
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rlm.telemetry.embedded import home_dir
from rlm.telemetry.errors import EmbeddedServerError

BIN_ENV = "RLM_TSDB_NATIVE_BIN"
# Where .ci/native_tsdb.sh caches its builds (as root, then as a user).
_BUILD_GLOBS = ("/var/cache/rlm-evals/native-tsdb/*/usr/lib/postgresql/*/bin",
                "~/.cache/rlm-evals/native-tsdb/*/usr/lib/postgresql/*/bin")
_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
timescaledb.max_background_workers = 8
max_worker_processes = 24
max_connections = 200
"""


@dataclass(frozen=True)
class NativeStatus:
    running: bool
    home: Path
    port: int | None = None

    @property
    def dsn(self) -> str | None:
        return f"postgresql://rlm@127.0.0.1:{self.port}/rlm" if self.running else None


def find_bin(bin_dir: str | Path | None = None) -> Path:
    """`bin_dir`, else $RLM_TSDB_NATIVE_BIN, else the newest build made by .ci/native_tsdb.sh."""
    candidates = [Path(bin_dir)] if bin_dir else [Path(os.environ[BIN_ENV])] if os.environ.get(BIN_ENV) else [
        Path(p) for pattern in _BUILD_GLOBS for p in glob.glob(os.path.expanduser(pattern))
        if (Path(p).parents[4] / ".complete").exists()]
    found = [p for p in candidates if (p / "postgres").exists() and list(p.parent.glob("lib/timescaledb*.so"))]
    if not found:
        raise EmbeddedServerError(
            f"no local TimescaleDB build found (set {BIN_ENV} to its PostgreSQL bin directory, or build one "
            "with `.ci/native_tsdb.sh build`); or run TimescaleDB's Docker image and set RLM_TSDB_DSN")
    return max(found, key=lambda p: p.stat().st_mtime)


def _paths(home: Path) -> dict[str, Path]:
    base = home / "native"
    return {"base": base, "data": base / "data", "state": base / "server.json", "log": base / "server.log"}


def _run(*cmd: str | Path) -> None:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise EmbeddedServerError(f"{Path(str(cmd[0])).name} failed: " + " | ".join(tail))


def native_status(home: str | Path | None = None) -> NativeStatus:
    home = home_dir(home)
    paths = _paths(home)
    try:
        port = int(json.loads(paths["state"].read_text())["port"])
    except (OSError, ValueError, KeyError):
        return NativeStatus(False, home)
    if not (paths["data"] / "postmaster.pid").exists():
        return NativeStatus(False, home, port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return NativeStatus(True, home, port)
    except OSError:
        return NativeStatus(False, home, port)


def start_native(home: str | Path | None = None, bin_dir: str | Path | None = None) -> str:
    """Start the native server of `home` (initialising its data on first use); return its DSN."""
    home = home_dir(home)
    status = native_status(home)
    if status.running:
        return status.dsn
    if os.geteuid() == 0:
        raise EmbeddedServerError("PostgreSQL does not run as root: start the native server as a normal user")
    bin_path = find_bin(bin_dir)
    paths = _paths(home)
    paths["base"].mkdir(parents=True, exist_ok=True)
    fresh = not (paths["data"] / "PG_VERSION").exists()
    if fresh:
        shutil.rmtree(paths["data"], ignore_errors=True)
        _run(bin_path / "initdb", "-D", paths["data"], "-U", "rlm", "--auth=trust", "-E", "UTF8")
        with open(paths["data"] / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists 'rlm.conf'\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (paths["data"] / "rlm.conf").write_text(_CONF.format(port=port, sockets=paths["base"]))
    _run(bin_path / "pg_ctl", "-D", paths["data"], "-l", paths["log"], "-w", "-t", "60", "start")
    if fresh:
        _run(bin_path / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "rlm", "rlm")
    paths["state"].write_text(json.dumps({"port": port, "bin": str(bin_path)}))
    return NativeStatus(True, home, port).dsn


def stop_native(home: str | Path | None = None) -> bool:
    """Stop the native server of `home`; False if it was not running."""
    home = home_dir(home)
    paths = _paths(home)
    if not native_status(home).running:
        return False
    bin_path = Path(json.loads(paths["state"].read_text())["bin"])
    _run(bin_path / "pg_ctl", "-D", paths["data"], "-m", "fast", "-w", "stop")
    return True
