"""`python -m rlm.proxy`: serves until terminated, appends events to a JSONL file, rejects bad input in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rlm.proxy.__main__ import READY_PREFIX

from tests.proxy.raw_http import raw_request

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_cli_records_calls_to_a_jsonl_file(sim, tmp_path):
    events = tmp_path / "events.jsonl"
    prices = json.dumps({"sim-large": {"input": 1.0, "cached_input": 0.1, "output": 2.0}})
    proc = subprocess.Popen([sys.executable, "-m", "rlm.proxy", "--upstream", sim.base_url, "--port", "0",
                             "--events", str(events), "--run-id", "cli-run", "--prices-json", prices],
                            stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        line = proc.stdout.readline()
        assert line.startswith(READY_PREFIX), line
        port = int(line.strip().rsplit(":", 1)[1].split("/", 1)[0])
        status, _, body = raw_request(port, {"model": "sim-large", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(10)
    [event] = [json.loads(row) for row in events.read_text().splitlines()]
    usage = json.loads(body)["usage"]
    assert (event["kind"], event["run_id"], event["role"], event["prompt_tokens"]) == (
        "llm_call", "cli-run", "sub", usage["prompt_tokens"])
    assert event["cost_usd"] == (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6


def test_cli_bad_input_is_one_line_and_nonzero(tmp_path):
    for args in (["--upstream", "ftp://nowhere"], ["--upstream", "http://127.0.0.1:9/v1", "--prices-json", "[1]"]):
        proc = subprocess.run([sys.executable, "-m", "rlm.proxy", *args, "--port", "0",
                               "--events", str(tmp_path / "e.jsonl")], capture_output=True, text=True, env=ENV,
                              timeout=60)
        assert proc.returncode != 0
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:"), proc.stderr
        assert not (tmp_path / "e.jsonl").exists()
