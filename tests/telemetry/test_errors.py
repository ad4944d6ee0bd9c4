"""Clear one-line errors: unreachable DSN (no password), PostgreSQL without timescaledb."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from rlm.telemetry import DatabaseUnavailableError, Recorder, TimescaleMissingError, connect, migrate
from rlm.telemetry.connection import redact

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_dsn_names_host_and_port_never_the_password(tmp_path):
    port = _free_port()
    dsn = f"postgresql://alice:s3cr3t-pw@127.0.0.1:{port}/telemetry"
    with pytest.raises(DatabaseUnavailableError) as info:
        connect(dsn)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "s3cr3t-pw" not in message and "\n" not in message
    with pytest.raises(DatabaseUnavailableError):
        migrate(dsn)
    rec = Recorder(dsn, tmp_path / "spool", retry_interval_s=60)  # a run goes on; events are spooled
    rec.close()


def test_redact_hides_passwords():
    assert "pw" not in redact("postgresql://u:pw@h:1/db and password=pw host=h")


@pytest.fixture(scope="module")
def plain_postgres():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 binaries not found under {PG_BIN}")
    base = Path(tempfile.mkdtemp(prefix="rlm-plain-pg-"))  # pytest's tmp root is private to root
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no `postgres` user to run PostgreSQL as")
        shutil.chown(base, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    subprocess.run(run_as + [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
                             "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    yield f"postgresql://postgres:any@127.0.0.1:{port}/postgres?sslmode=disable"
    subprocess.run(run_as + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def test_postgres_without_timescaledb_is_a_clear_error(plain_postgres):
    with pytest.raises(TimescaleMissingError, match="no timescaledb extension"):
        migrate(plain_postgres)
