"""Secrets stay in the environment: no API key or DSN password in saved configs, logs or the database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rlm.telemetry import connect, embedded_status

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-secret-4f1c9a"
PASSWORD = "pw-secret-77b2"


def test_key_and_dsn_password_never_reach_files_or_the_database(tsdb_home, tmp_path):
    port = embedded_status(tsdb_home).port
    dsn = f"postgresql://evals:{PASSWORD}@127.0.0.1:{port}/postgres?sslmode=disable"  # any password works there
    env = {**os.environ, "OPENAI_API_KEY": KEY, "RLM_EVALS_HOME": str(tsdb_home)}
    proc = subprocess.run([sys.executable, "-m", "evals.run", "task=niah", "size=4K", "samples=1", "db=dsn",
                           f"db.dsn='{dsn}'", "sim.time_scale=0", "console=true", f"results_dir={tmp_path}/results",
                           f"cache_dir={tmp_path}/cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in (proc.stdout, proc.stderr):
        assert KEY not in text and PASSWORD not in text
    written = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    (saved,) = [p for p in written if p.name == "config.yaml"]
    assert "evals:***@127.0.0.1" in saved.read_text()  # the DSN is kept, its password masked
    for path in written:
        data = path.read_bytes()
        assert KEY.encode() not in data and PASSWORD.encode() not in data, path
    with connect(embedded_status(tsdb_home).dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT config::text FROM runs")
        stored = " ".join(row[0] for row in cur.fetchall())
    assert "evals:***@127.0.0.1" in stored and PASSWORD not in stored and KEY not in stored


def test_a_multirun_writes_no_key_or_password_anywhere(tsdb_home, tmp_path):
    port = embedded_status(tsdb_home).port
    dsn = f"postgresql://evals:{PASSWORD}@127.0.0.1:{port}/postgres?sslmode=disable"
    env = {**os.environ, "OPENAI_API_KEY": KEY, "RLM_EVALS_HOME": str(tsdb_home)}
    env.pop("RLM_TSDB_DSN", None)
    proc = subprocess.run([sys.executable, "-m", "evals.run", "-m", "task=niah", "size=4K", "samples=1", "depth=0,1",
                           "db=dsn", f"db.dsn='{dsn}'", "sim.time_scale=0", f"results_dir={tmp_path}/results",
                           f"cache_dir={tmp_path}/cache", "hydra.job_logging.root.level=DEBUG",
                           "hydra.verbose=true"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = proc.stdout + proc.stderr
    assert "Launching 2 jobs locally" in printed  # Hydra's launch lines were printed, masked
    assert "evals:***@127.0.0.1" in printed
    for text in (proc.stdout, proc.stderr):
        assert KEY not in text and PASSWORD not in text
    written = [p for root in (tmp_path / "results", tsdb_home) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "multirun.yaml" for p in written) and any(p.parent.name == "jobs" for p in written)
    for path in written:
        data = path.read_bytes()
        assert KEY.encode() not in data and PASSWORD.encode() not in data, path
    for path in (tmp_path / "results").rglob("*"):  # owner only: model code and other users cannot read them
        assert path.stat().st_mode & 0o077 == 0, path
    with connect(embedded_status(tsdb_home).dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE config::text LIKE %s", (f"%{PASSWORD}%",))
        assert cur.fetchone()[0] == 0
