"""Any text is data: replies with a lone surrogate, NUL, invalid UTF-8 or 5 MB are stored, scored and shown."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rlm.telemetry import connect, embedded_status
from rlm.tokens import count_tokens
from rlm.telemetry.records import pg_safe

from evals.run_record import load_results

ROOT = Path(__file__).resolve().parents[2]
ODD = "7 lone \udcff surrogate and a NUL \x00 byte"
BIG = "8 " + "many words of text " * (5 * 1024 * 1024 // 19)


def _body(text: str) -> bytes:
    """A chat completion; `PROMPT_TOKENS` is replaced by the request's real count when served."""
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "odd",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}],
                       "usage": {"prompt_tokens": 999_999_999, "completion_tokens": 5,
                                 "total_tokens": 15}}).encode()


class _OddServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers each chat request with the next of `replies`."""

    replies: list[bytes] = []
    counter = itertools.count()

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        # The real prompt size: a server reporting far fewer tokens than sent looks like silent truncation.
        tokens = sum(count_tokens(m["content"]) for m in request["messages"]) + 8
        body = self.replies[next(self.counter) % len(self.replies)].replace(b"999999999", str(tokens).encode())
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(replies: list[bytes]):
    handler = type("Handler", (_OddServer,), {"replies": replies, "counter": itertools.count()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def run_cli(url: str, tmp_path: Path, samples: int, *extra: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, "-m", "evals.run", "task=niah", "size=4K", f"samples={samples}",
                           "method=baseline", "concurrency=1", "model.provider=openai", f"model.base_url={url}",
                           "model.stream=false", "model.max_retries=0", f"results_dir={tmp_path}/results",
                           f"cache_dir={tmp_path}/cache", "label=odd-text", *extra],
                          cwd=ROOT, capture_output=True, timeout=300, env=env or dict(os.environ))
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr[-3000:]
    stdout = proc.stdout.decode("utf-8", "replace")
    assert " baseline " in stdout and "· odd-text" in stdout  # the report is shown
    (run_dir,) = (tmp_path / "results" / "runs").iterdir()
    return run_dir, stderr


@pytest.mark.db
def test_a_lone_surrogate_nul_and_invalid_utf8_are_stored_scored_and_shown(tsdb_home, tmp_path):
    # JSON-escaped odd characters, then raw bytes that are not UTF-8 at all.
    server, url = serve([_body(ODD), _body("9 marker").replace(b"marker", b"\xff\xfe bytes")])
    env = {**os.environ, "RLM_EVALS_HOME": str(tsdb_home)}
    env.pop("RLM_TSDB_DSN", None)
    try:
        run_dir, stderr = run_cli(url, tmp_path, 2, env=env)
    finally:
        server.shutdown()
    assert "note: the telemetry database" not in stderr
    first, second = load_results(run_dir)
    assert first.answer == ODD and first.score == 0.0  # stored exactly in the record, and scored
    assert second.answer or second.error_kind  # invalid UTF-8: an answer or a recorded error, never a crash
    with connect(embedded_status(tsdb_home).dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT sample_index, answer, score FROM samples WHERE run_id = %s ORDER BY sample_index",
                    (run_dir.name,))
        rows = cur.fetchall()
    assert [r[0] for r in rows] == [0, 1]  # the real index of each sample
    assert rows[0][1] == pg_safe(ODD) == "7 lone \\udcff surrogate and a NUL \\x00 byte"


def test_five_megabytes_of_reply_are_stored_scored_and_shown(tmp_path):
    server, url = serve([_body(BIG)])
    try:
        run_dir, _ = run_cli(url, tmp_path, 1, "db=off")
    finally:
        server.shutdown()
    (result,) = load_results(run_dir)
    assert result.answer == BIG.strip() and result.score == 0.0


@pytest.mark.db
def test_five_megabytes_reach_the_database(tmp_path):
    from rlm.telemetry import start_embedded, stop_embedded

    from evals.projection import ship_run

    server, url = serve([_body(BIG)])
    try:
        run_dir, _ = run_cli(url, tmp_path, 1, "db=off")
    finally:
        server.shutdown()
    home = tmp_path / "home"  # its own server, so a failure here cannot take the session's database down
    try:
        dsn = start_embedded(home)
        ship_run(run_dir, dsn)
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT answer FROM samples WHERE run_id = %s", (run_dir.name,))
            assert cur.fetchone()[0] == BIG.strip()
    finally:
        stop_embedded(home)
