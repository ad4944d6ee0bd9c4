"""Recording-proxy overhead per call: `python bench/bench_proxy.py [--calls 200]`.

The simulator serves from a child process (time scale 0); the same 10K-token request is
sent directly and through the proxy, alternating, over kept-alive connections, in one run.
Two proxies are measured: in this process (a thread, a list sink, as method=rlms runs it)
and `python -m rlm.proxy` in its own process (JSONL sink). Target: < 2 ms added at p50.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm import tokens  # noqa: E402
from rlm.events import ListSink  # noqa: E402
from rlm.proxy import RecordingProxy, tag_headers  # noqa: E402
from rlm.proxy.__main__ import READY_PREFIX  # noqa: E402
from rlm.sim import SimServer  # noqa: E402

WORDS = "apple river stone cloud paper market garden window silver orange planet music table forest".split()


def prompt_of(n_tokens: int) -> str:
    rng = random.Random(0)
    lines: list[str] = []
    while tokens.count_tokens("\n".join(lines)) < n_tokens:
        lines.extend(" ".join(rng.choices(WORDS, k=rng.randint(3, 8))) for _ in range(200))
    return "\n".join(lines) + "\nWhat is the magic number?"


class Client:
    """One kept-alive connection; returns the seconds one request took, body read to the end."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json", "Authorization": "Bearer any", **headers}

    def call(self, body: bytes) -> float:
        start = time.perf_counter()
        self.conn.request("POST", "/v1/chat/completions", body, self.headers)
        response = self.conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        return time.perf_counter() - start


def measure(direct: Client, proxied: Client, body: bytes, calls: int) -> tuple[float, float, float]:
    """(p50 direct ms, p50 proxied ms, p50 of the per-pair difference ms), alternating the order."""
    for _ in range(5):
        direct.call(body), proxied.call(body)
    d, p, diff = [], [], []
    for i in range(calls):
        if i % 2:
            a = direct.call(body)
            b = proxied.call(body)
        else:
            b = proxied.call(body)
            a = direct.call(body)
        d.append(a * 1000), p.append(b * 1000), diff.append((b - a) * 1000)
    return statistics.median(d), statistics.median(p), statistics.median(diff)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), load-independent unlike wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_cli_proxy(upstream: str, events: str) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    popen = subprocess.Popen([sys.executable, "-m", "rlm.proxy", "--upstream", upstream, "--port", "0",
                              "--events", events], stdout=subprocess.PIPE, text=True, env=env)
    line = popen.stdout.readline() if popen.stdout else ""
    if not line.startswith(READY_PREFIX):
        popen.kill()
        raise SystemExit(f"proxy did not start: {line!r}")
    return popen, int(line.strip().rsplit(":", 1)[1].split("/", 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=10_000)
    args = parser.parse_args()
    text = prompt_of(args.tokens)
    print(f"prompt: {tokens.count_tokens(text):,} tokens, {len(text):,} characters; {args.calls} calls per path; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with SimServer(time_scale=0.0, process=True) as sim, tempfile.TemporaryDirectory() as tmp:
        sink = ListSink()
        with RecordingProxy(sim.base_url, sink, prices={}) as proxy:
            cli, cli_port = start_cli_proxy(sim.base_url, str(Path(tmp) / "events.jsonl"))
            try:
                tags = tag_headers(run_id="bench", query_id="q", role="root")
                for mode, stream in (("whole reply", False), ("streamed", True)):
                    body = {"model": "sim-large", "messages": [{"role": "user", "content": text}], "stream": stream}
                    if stream:
                        body["stream_options"] = {"include_usage": True}
                    raw = json.dumps(body).encode()
                    for where, port in (("in-process proxy", proxy.port), ("proxy process", cli_port)):
                        cpu_before = cpu_seconds(cli.pid)
                        d, p, diff = measure(Client(sim.port, {}), Client(port, tags), raw, args.calls)
                        verdict = "ok" if diff < 2.0 else "OVER the 2 ms target"
                        cpu = ""
                        if port == cli_port:  # 5 warm-up calls + `calls` measured ones went through it
                            per_call = (cpu_seconds(cli.pid) - cpu_before) * 1000 / (args.calls + 5)
                            cpu = f"  proxy CPU {per_call:.2f} ms/call"
                        print(f"{mode:12s} {where:17s} p50 direct {d:7.2f} ms  via proxy {p:7.2f} ms  "
                              f"added p50 {diff:+6.2f} ms  ({verdict}){cpu}")
            finally:
                cli.terminate()
                cli.wait(10)
        recorded = len(sink.llm_calls)
    print(f"events recorded by the in-process proxy: {recorded}")


if __name__ == "__main__":
    main()
