"""Many writers, one store: processes writing at once through their own Recorders lose nothing,
write nothing twice and never time out, on either backend."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from rlm.telemetry import connect

WRITERS = 4
ROWS = 50_000

_WRITER = """
import sys
from datetime import datetime, timedelta, timezone
from rlm.events import LLMCallEvent
from rlm.telemetry import Recorder
dsn, run_id, spool, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = datetime.now(timezone.utc) - timedelta(hours=1)
with Recorder(dsn, spool, max_queue=rows + 10) as rec:
    for i in range(rows):
        rec.emit(LLMCallEvent(time=t0 + timedelta(microseconds=i), run_id=run_id, query_id=f"q{i // 100}",
                              call_id=f"{run_id}-{i}", parent_call_id=None, depth=0, iteration=0, role="root",
                              model="sim-small", prompt_tokens=i % 1000, latency_ms=1.0))
print(rec.written, rec.spooled)
"""


def test_four_writers_of_50k_rows_each_lose_and_duplicate_nothing(dsn, tmp_path):
    sweep = f"writers-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, dsn, f"{sweep}-{k}", str(tmp_path / f"spool{k}"),
                               str(ROWS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for k in range(WRITERS)]
    outputs = [proc.communicate(timeout=1800) for proc in procs]
    elapsed = time.monotonic() - started
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-2000:]
        assert out.split() == [str(ROWS), "0"], (out, err[-2000:])  # all written directly, none spooled
        assert "timeout" not in err.lower()
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT call_id) FROM llm_calls WHERE run_id LIKE %s", (sweep + "-%",))
        assert cur.fetchone() == (WRITERS * ROWS, WRITERS * ROWS)
    print(f"{WRITERS} x {ROWS} rows in {elapsed:.1f}s")
