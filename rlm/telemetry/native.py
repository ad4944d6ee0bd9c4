"""A native TimescaleDB server from a local build, started on loopback for one home directory.

For users who built TimescaleDB against PostgreSQL (`.ci/native_tsdb.sh build` makes such a private
install tree): `python -m evals.db start db=native` runs it with its data in `<home>/native`.
PostgreSQL refuses to run as root, so under root the server runs as a system user
($RLM_TSDB_USER, default `rlmtsdb`, created if missing) with its data in a directory of that
user's own under /var/lib/rlm-evals (a home under root's 0700 directories is out of its reach).
Production uses any TimescaleDB server by DSN instead (see the README).
"""
from __future__ import annotations

import glob
import hashlib
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
USER_ENV = "RLM_TSDB_USER"
ROOT_DATA = Path("/var/lib/rlm-evals/native")
# Where .ci/native_tsdb.sh caches its builds (as root, then as a user; RLM_TSDB_CACHE moves it).
_BUILD_ROOTS = ("/var/cache/rlm-evals/native-tsdb", "~/.cache/rlm-evals/native-tsdb")
_BIN_BELOW = ("usr/lib/postgresql/*/bin", "*/usr/lib/postgresql/*/bin")
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


def _is_build(bin_dir: Path) -> bool:
    return (bin_dir / "postgres").exists() and bool(list(bin_dir.parent.glob("lib/timescaledb*.so")))


def _bins_below(root: Path) -> list[Path]:
    """The bin directories of complete builds at or under `root` (a bin dir, a build tree or a cache)."""
    if _is_build(root):
        return [root]
    return [Path(p) for pattern in _BIN_BELOW for p in glob.glob(str(root / pattern))
            if _is_build(Path(p)) and (Path(p).parents[4] / ".complete").exists()]


def find_bin(bin_dir: str | Path | None = None) -> Path:
    """The newest build at `bin_dir`, else at $RLM_TSDB_NATIVE_BIN, else in .ci/native_tsdb.sh's caches.

    Each may name the PostgreSQL bin directory of a build, the build's tree, or a cache of builds.
    """
    given = bin_dir or os.environ.get(BIN_ENV)
    roots = [Path(given).expanduser()] if given else [
        Path(os.path.expanduser(r)) for r in (os.environ.get("RLM_TSDB_CACHE"), *_BUILD_ROOTS) if r]
    found = [b for root in roots for b in _bins_below(root)]
    if not found:
        where = f"at {given}" if given else "in " + ", ".join(str(r) for r in roots)
        raise EmbeddedServerError(
            f"no local TimescaleDB build found {where} (set {BIN_ENV} to a build or its PostgreSQL bin directory, "
            "or build one with `.ci/native_tsdb.sh build`); or run TimescaleDB's Docker image and set RLM_TSDB_DSN")
    return max(found, key=lambda p: p.stat().st_mtime)


def _service_user() -> str | None:
    """The user the server runs as when we are root (None: ourselves)."""
    return os.environ.get(USER_ENV, "rlmtsdb") if os.geteuid() == 0 else None


def _paths(home: Path) -> dict[str, Path]:
    base = home / "native"
    # Under root the server's own files live where its user can reach them; the state stays in the home.
    runtime = ROOT_DATA / hashlib.sha256(str(home).encode()).hexdigest()[:16] if os.geteuid() == 0 else base
    return {"base": base, "runtime": runtime, "data": runtime / "data", "state": base / "server.json",
            "log": runtime / "server.log"}


def _run(*cmd: str | Path, user: str | None = None) -> None:
    argv = [str(c) for c in cmd]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise EmbeddedServerError(f"{Path(str(cmd[0])).name} failed: " + " | ".join(tail))


def _prepare_runtime(runtime: Path, user: str | None) -> None:
    """The server's directory, owned by the user it runs as (created, with that user, under root)."""
    if user is None:
        runtime.mkdir(parents=True, exist_ok=True)
        return
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user)
        entry = pwd.getpwnam(user)
    ROOT_DATA.mkdir(parents=True, exist_ok=True)
    ROOT_DATA.chmod(0o755)
    ROOT_DATA.parent.chmod(0o755)
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.chown(runtime, entry.pw_uid, entry.pw_gid)


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
    bin_path = find_bin(bin_dir)
    user = _service_user()
    paths = _paths(home)
    paths["base"].mkdir(parents=True, exist_ok=True)
    _prepare_runtime(paths["runtime"], user)
    fresh = not (paths["data"] / "PG_VERSION").exists()
    if fresh:
        shutil.rmtree(paths["data"], ignore_errors=True)
        _run(bin_path / "initdb", "-D", paths["data"], "-U", "rlm", "--auth=trust", "-E", "UTF8", user=user)
        with open(paths["data"] / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists 'rlm.conf'\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (paths["data"] / "rlm.conf").write_text(_CONF.format(port=port, sockets=paths["runtime"]))
    (paths["data"] / "rlm.conf").chmod(0o644)
    _run(bin_path / "pg_ctl", "-D", paths["data"], "-l", paths["log"], "-w", "-t", "60", "start", user=user)
    if fresh:
        _run(bin_path / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "rlm", "rlm", user=user)
    paths["state"].write_text(json.dumps({"port": port, "bin": str(bin_path)}))
    return NativeStatus(True, home, port).dsn


def stop_native(home: str | Path | None = None, *, delete_data: bool = False) -> bool:
    """Stop the native server of `home` (and delete its data if asked); False if it was not running."""
    home = home_dir(home)
    paths = _paths(home)
    running = native_status(home).running
    if running:
        bin_path = Path(json.loads(paths["state"].read_text())["bin"])
        _run(bin_path / "pg_ctl", "-D", paths["data"], "-m", "fast", "-w", "stop", user=_service_user())
    if delete_data:
        shutil.rmtree(paths["runtime"], ignore_errors=True)
        shutil.rmtree(paths["base"], ignore_errors=True)
    return running
