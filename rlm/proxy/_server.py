"""The recording proxy: an OpenAI-compatible server on loopback in front of any upstream.

stdlib ThreadingHTTPServer with keep-alive, like the simulator: one thread per client
connection, each with its own upstream connection, so concurrency passes through.
Chat-completion requests are recorded (rlm.proxy._recording); every other request is
forwarded as it is. Replies, errors included, reach the client with the upstream's
status, headers and body bytes.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping

from rlm.events import EventSink
from rlm.proxy._classify import error_body, error_kind, usage_from
from rlm.proxy._recording import CallRecord, CallRecorder
from rlm.proxy._stream import StreamTap
from rlm.proxy._tags import CALL_ID_HEADER, TAG_HEADERS
from rlm.proxy._upstream import HOP_BY_HOP, Upstream
from rlm.serving import read_body
from rlm.usage import Price

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024 * 1024
_READ = 64 * 1024
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class _ClientGone(Exception):
    """The client closed its connection while the reply was being sent."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "_ProxyHTTPServer"

    def setup(self) -> None:
        super().setup()
        self._upstream_conn: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        self._drop_upstream()
        super().finish()

    def log_message(self, format: str, *args: object) -> None:  # access log at debug; never headers
        log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        self._forward()

    def do_GET(self) -> None:  # /v1/models and the like pass through unrecorded
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    # -- one request --------------------------------------------------------------
    def _forward(self) -> None:
        raw = self._read_body()
        if raw is None:
            return
        recorder = self.server.recorder
        path = self.path.split("?", 1)[0].rstrip("/")
        record: CallRecord | None = None
        strip = False
        if self.command == "POST" and path.endswith("/chat/completions"):
            body = _json_object(raw)
            if self.server.stream_usage and body is not None and body.get("stream") \
                    and not (body.get("stream_options") or {}).get("include_usage"):
                # Usage arrives in streams only when asked for; ask, and take the extra chunk out again.
                raw = _with_include_usage(raw, body)
                strip = True
            record = recorder.begin(self.headers, body)
        try:
            self._relay(raw, record, strip)
        finally:
            if record is not None:
                recorder.end(record)

    def _relay(self, raw: bytes, record: CallRecord | None, strip: bool) -> None:
        recorder = self.server.recorder
        try:
            response = self._request_upstream(raw)
        except (OSError, http.client.HTTPException) as exc:
            timed_out = isinstance(exc, (TimeoutError, socket.timeout))
            status, code = (504, "upstream_timeout") if timed_out else (502, "upstream_unreachable")
            message = f"the proxy could not reach {self.server.upstream.base_url}: {type(exc).__name__}: {exc}"
            if record is not None:
                recorder.fail(record, "timeout" if timed_out else "connection", http_status=status, message=message)
            self._recorded(record)
            self._send_own_error(status, code, message, record)
            return
        streamed = response.status < 400 and "text/event-stream" in (response.getheader("Content-Type") or "")
        try:
            if streamed:
                self._relay_stream(response, record, strip)
            else:
                self._relay_whole(response, record)
            if response.will_close:
                self._drop_upstream()
        except _ClientGone:
            self.close_connection = True
            self._drop_upstream()
            if record is not None and record.event.status != "error":
                recorder.fail(record, "connection", http_status=None, message="the client closed the connection")

    def _relay_whole(self, response: http.client.HTTPResponse, record: CallRecord | None) -> None:
        try:
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._upstream_broke(record, exc)
            return
        if record is not None:
            recorder = self.server.recorder
            if response.status >= 400:
                _, error_message = error_body(body)
                recorder.fail(record, error_kind(response.status, body), http_status=response.status,
                              message=error_message)
            else:
                data = _json_object(body) or {}
                recorder.succeed(record, usage_from(data.get("usage")), reply=_reply_text(data))
        self._start_reply(response, record, length=len(body))
        self._recorded(record)
        self._write(body)

    def _relay_stream(self, response: http.client.HTTPResponse, record: CallRecord | None, strip: bool) -> None:
        started = record.started if record is not None else time.perf_counter()
        keep_text = bool(record is not None and self.server.recorder.text_limit)
        tap = StreamTap(started, strip_usage=strip, keep_text=keep_text)
        self._start_reply(response, record, length=None)
        while True:
            try:
                data = response.read1(_READ)
            except (OSError, http.client.HTTPException) as exc:
                self._upstream_broke(record, exc)
                return
            if not data:
                break
            self._write_chunk(tap.feed(data))
        self._write_chunk(tap.flush())
        if record is not None:
            self.server.recorder.succeed(record, tap.usage, ttft_ms=tap.ttft_ms,
                                         reply=tap.text if keep_text else None)
        self._recorded(record)
        self._write(b"0\r\n\r\n")

    def _recorded(self, record: CallRecord | None) -> None:
        """Emit the call event before the reply's last bytes: a client holding a whole reply can rely
        on its row. Its texts follow after (wait_idle covers them)."""
        if record is not None:
            self.server.recorder.publish(record)

    # -- upstream -----------------------------------------------------------------
    def _request_upstream(self, raw: bytes) -> http.client.HTTPResponse:
        upstream = self.server.upstream
        headers = upstream.headers_for(self.headers, TAG_HEADERS, len(raw) if raw or self.command == "POST" else None)
        target = upstream.path_for(self.path)
        for attempt in (1, 2):
            reused = self._upstream_conn is not None
            conn = self._upstream_conn or upstream.connect()
            self._upstream_conn = conn
            try:
                conn.request(self.command, target, body=raw or None, headers=headers)
                return conn.getresponse()
            except _STALE:
                self._drop_upstream()
                if not reused or attempt == 2:  # only a kept-alive connection the upstream closed is retried
                    raise
            except BaseException:
                self._drop_upstream()
                raise
        raise AssertionError("unreachable")

    def _upstream_broke(self, record: CallRecord | None, exc: BaseException) -> None:
        """The upstream failed mid-reply: record it and cut the client's connection so it sees a failure."""
        self._drop_upstream()
        self.close_connection = True
        if record is not None:
            self.server.recorder.fail(record, "connection", http_status=None,
                                      message=f"the upstream broke off its reply: {type(exc).__name__}: {exc}")
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _drop_upstream(self) -> None:
        conn, self._upstream_conn = getattr(self, "_upstream_conn", None), None
        if conn is not None:
            conn.close()

    # -- client -------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        body = read_body(self, MAX_BODY)
        if body is None:
            self._send_own_error(400, "invalid_content_length", "Invalid Content-Length.", None)
        return body

    def _start_reply(self, response: http.client.HTTPResponse, record: CallRecord | None, *,
                     length: int | None) -> None:
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        if record is not None:
            self.send_header(CALL_ID_HEADER, record.call_id)
        try:
            self.end_headers()
        except OSError as exc:
            raise _ClientGone() from exc

    def _send_own_error(self, status: int, code: str, message: str, record: CallRecord | None) -> None:
        body = json.dumps({"error": {"message": message, "type": "proxy_error", "param": None, "code": code}}).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if record is not None:
            self.send_header(CALL_ID_HEADER, record.call_id)
        try:
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:
            raise _ClientGone() from exc


class _ProxyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], upstream: Upstream, recorder: CallRecorder,
                 stream_usage: bool = True) -> None:
        self.upstream = upstream
        self.recorder = recorder
        self.stream_usage = stream_usage
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class RecordingProxy:
    """A recording OpenAI-compatible proxy on 127.0.0.1, served from a background thread.

    `with RecordingProxy("http://127.0.0.1:8000/v1", sink, prices={...}) as proxy:` then point any
    OpenAI-compatible client at `proxy.base_url` with any API key; the upstream's key comes from
    the environment variable `api_key_env`. Each chat completion becomes one LLMCallEvent in `sink`,
    tagged by the request's X-RLM-* headers (rlm.proxy.tag_headers) or the defaults given here.
    `text_limit` (characters) also records the prompt and reply as TextEvents, cut head+tail.
    `stream_usage=False` never adds `stream_options.include_usage` (for servers that reject it;
    streams then have usage only where the client asked for it).
    """

    def __init__(self, upstream: str, sink: EventSink | None = None, *, api_key_env: str | None = None,
                 prices: Mapping[str, Price] | None = None, run_id: str = "proxy", query_id: str = "proxy",
                 text_limit: int | None = None, port: int = 0, timeout_s: float = 600.0,
                 stream_usage: bool = True) -> None:
        self.upstream = Upstream(upstream, api_key_env=api_key_env, timeout_s=timeout_s)
        self.recorder = CallRecorder(sink, prices=prices, run_id=run_id, query_id=query_id, text_limit=text_limit)
        self._requested_port = port
        self.stream_usage = stream_usage
        self._httpd: _ProxyHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> int:
        """Chat-completion requests received so far."""
        return self.recorder.requests

    def wait_idle(self, query_id: str | None = None, timeout: float = 30.0) -> bool:
        """Wait until every request (of one query) has been answered and recorded."""
        return self.recorder.wait_idle(query_id, timeout)

    def start(self) -> "RecordingProxy":
        self._httpd = _ProxyHTTPServer(("127.0.0.1", self._requested_port), self.upstream, self.recorder,
                                       self.stream_usage)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"rlm-proxy:{self.port}", daemon=True)
        self._thread.start()
        log.info("recording proxy on %s -> %s", self.base_url, self.upstream.base_url)
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "RecordingProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _with_include_usage(raw: bytes, body: dict[str, Any]) -> bytes:
    """The request asking for usage in its stream: a prefix when it names no stream_options (no re-encoding)."""
    start = raw.find(b"{")
    if "stream_options" not in body and start >= 0:  # `body` has "stream", so the object is not empty
        return raw[:start] + b'{"stream_options":{"include_usage":true},' + raw[start + 1:]
    body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reply_text(data: dict[str, Any]) -> str | None:
    """The first choice's message text of a whole (non-streamed) reply."""
    choices = data.get("choices") or []
    first = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
