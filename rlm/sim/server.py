"""The HTTP side: an OpenAI-compatible server on loopback (stdlib, HTTP/1.1).

ThreadingHTTPServer with keep-alive: one thread per client connection, which
matches how httpx pools connections. Any bad request gets an error body and the
connection stays usable; faults may hang or drop a connection on purpose.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable, Mapping

from rlm.serving import read_body
from rlm.sim import api_errors, responses
from rlm.sim.engine import Engine, SimCompletion
from rlm.sim.faults import HEADER, Fault, FaultConfig
from rlm.sim.models import SimModelSpec, model_table
from rlm.sim.policy import PolicySpec
from rlm.sim.profiles import ServerProfile, rate_limit_error

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: "_HTTPServer"

    def log_message(self, format: str, *args: object) -> None:  # route access logs to logging
        log.debug("%s " + format, self.address_string(), *args)

    # -- replies ---------------------------------------------------------------
    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, error: api_errors.APIError) -> None:
        self._send(error.status, responses.dumps(error.body()), error.headers)

    def _read_body(self) -> bytes | None:
        body = read_body(self, MAX_BODY)
        if body is None:
            self._send_error(api_errors.bad_request("Invalid Content-Length."))
        return body

    # -- routes ----------------------------------------------------------------
    def do_GET(self) -> None:
        engine = self.server.engine
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/models":
            self._send(200, responses.models_body(list(engine.models)))
        elif path.startswith("/v1/models/"):
            name = path[len("/v1/models/"):]
            if name in engine.models:
                self._send(200, responses.model_body(name))
            else:
                self._send_error(api_errors.model_not_found(name))
        elif path in ("", "/health", "/v1"):
            self._send(200, b'{"status":"ok","simulator":true}')
        else:
            self._send_error(api_errors.not_found_path(f"GET {self.path}"))

    def do_POST(self) -> None:
        raw = self._read_body()
        if raw is None:
            return
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/chat/completions":
            self._send_error(api_errors.not_found_path(self.path))
            return
        server = self.server
        self._arrival = server.enter()
        if not self._arrival:
            engine = server.engine
            self._send_error(rate_limit_error(engine.profile, "sim", server.concurrency_retry_after_s))
            return
        try:
            self._complete(raw)
        finally:
            server.leave(self._arrival)

    def _complete(self, raw: bytes) -> None:
        started = time.perf_counter()
        try:
            result = self.server.engine.complete(raw, self.headers.get(HEADER))
        except api_errors.APIError as error:
            self._send_error(error)
            return
        if isinstance(result, Fault):
            self._fail(result)
        elif result.request.stream:
            self._stream(result)
        else:
            self._sleep(result.ttft_s + result.completion_tokens * result.per_token_s - (time.perf_counter() - started))
            self._send(200, responses.completion_body(result))

    def _fail(self, fault: Fault) -> None:
        """Hang past the client's deadline, or drop the connection without a reply."""
        if fault.kind == "hang":
            self.server.stopping.wait(fault.hang_s)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.server.stopping.wait(seconds)

    def _stream(self, c: SimCompletion) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event, wait in responses.stream_events(c):
            self._sleep(wait)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
            if (c.profile.interrupt_requests and event != b"data: [DONE]\n\n"
                    and self.server.newer_in_flight(self._arrival)):
                # llama-cpp-python's interrupt_requests: after sending a chunk, a stream that a
                # waiting request interrupts ends with [DONE] and no finish_reason.
                done = b"data: [DONE]\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(done), done))
                break
        if c.shape == "reset":   # the connection drops mid-stream: no terminating chunk
            self._fail(Fault("drop"))
            return
        self.wfile.write(b"0\r\n\r\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the listen backlog: a harness opens dozens of connections at once

    def __init__(self, address: tuple[str, int], engine: Engine, max_concurrent: int | None = None,
                 concurrency_retry_after_s: float = 0.0) -> None:
        self.engine = engine
        self.stopping = threading.Event()
        self.max_concurrent = max_concurrent
        self.concurrency_retry_after_s = concurrency_retry_after_s
        self.in_flight = 0
        self.rejected = 0
        self.arrivals = 0
        self._newest_in_flight: set[int] = set()
        self._count_lock = threading.Lock()
        super().__init__(address, _Handler)

    def enter(self) -> int:
        """Count one chat request in: its arrival number, or 0 (a 429) when `max_concurrent` are
        already being served."""
        with self._count_lock:
            self.arrivals += 1
            if self.max_concurrent and self.in_flight >= self.max_concurrent:
                self.rejected += 1
                return 0
            self.in_flight += 1
            self._newest_in_flight.add(self.arrivals)
            return self.arrivals

    def leave(self, arrival: int) -> None:
        with self._count_lock:
            self.in_flight -= 1
            self._newest_in_flight.discard(arrival)

    def newer_in_flight(self, arrival: int) -> bool:
        """Whether a request that arrived after `arrival` is being served now."""
        with self._count_lock:
            return any(other > arrival for other in self._newest_in_flight)

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class SimServer:
    """The simulator on 127.0.0.1, in a background thread (or a child process).

    `with SimServer() as sim: OpenAI(base_url=sim.base_url, api_key="sim")`.
    `policy`: "auto", a ScriptedPolicy, any callable(request) -> str, or a dict
    {model name: policy} ("*" = fallback). `time_scale` multiplies every latency
    (0 = instant). `faults`: a FaultConfig of per-attempt fault rates.
    `process=True` serves from a child process (auto policy only), which keeps
    the simulator's CPU work off the caller's GIL. `profile` makes it answer as
    another server does ("openai", "vllm", "llamacpp", "litellm", "ollama"; see
    rlm.sim.profiles). `max_concurrent` answers 429 (Retry-After
    `concurrency_retry_after_s`) to chat requests beyond that many at once.
    """

    def __init__(self, models: Iterable[SimModelSpec] | Mapping[str, SimModelSpec] | None = None,
                 policy: PolicySpec = "auto", seed: int = 0, time_scale: float = 0.0,
                 faults: FaultConfig | None = None, port: int = 0, *, cache_blocks: int = 200_000,
                 process: bool = False, profile: str | ServerProfile | None = None,
                 max_concurrent: int | None = None, concurrency_retry_after_s: float = 0.0) -> None:
        self.models = model_table(models)
        self._options = dict(policy=policy, seed=seed, time_scale=time_scale, faults=faults, cache_blocks=cache_blocks,
                             profile=profile)
        self._limits = dict(max_concurrent=max_concurrent, concurrency_retry_after_s=concurrency_retry_after_s)
        self._requested_port = port
        self._process = process
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._child = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "SimServer":
        if self._process:
            from rlm.sim.process import start_sim_process

            opts = self._options
            if opts["policy"] not in ("auto", None):
                raise ValueError("process=True supports only policy='auto' (callables stay in this process)")
            if isinstance(opts["profile"], ServerProfile):
                raise ValueError("process=True takes a profile by name")
            self._child = start_sim_process(models=list(self.models.values()), seed=opts["seed"],
                                            time_scale=opts["time_scale"], faults=opts["faults"],
                                            port=self._requested_port, cache_blocks=opts["cache_blocks"],
                                            profile=opts["profile"], **self._limits)
            self.port = self._child.port
            return self
        engine = Engine(self.models, **self._options)
        self._httpd = _HTTPServer(("127.0.0.1", self._requested_port), engine, **self._limits)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"rlm-sim:{self.port}", daemon=True)
        self._thread.start()
        log.info("simulator serving %s on %s", ", ".join(self.models), self.base_url)
        return self

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None
        if self._httpd is not None:
            self._httpd.stopping.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def rejected(self) -> int:
        """Requests answered 429 for going over `max_concurrent` (in-thread servers only)."""
        return self._httpd.rejected if self._httpd is not None else 0

    def openai_client(self, **kwargs: object):
        """An `openai.OpenAI` client for this server (any API key is accepted)."""
        import openai

        kwargs.setdefault("api_key", "sim")
        return openai.OpenAI(base_url=self.base_url, **kwargs)

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
