"""Raw HTTP helpers for proxy tests: a plain client and a scripted upstream (bytes the openai client hides)."""
from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def raw_request(port: int, body: bytes | dict | None = None, headers: dict | None = None, *,
                path: str = "/v1/chat/completions", method: str = "POST"):
    """Plain http.client, so the test sees the bytes the openai client would hide: (status, headers, body)."""
    payload = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, payload, {"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class ScriptedUpstream:
    """A raw HTTP upstream: answers every request with `status`, `headers` and body `pieces` written one by one.

    Records each request's headers and body, to check what the proxy forwards.
    """

    def __init__(self, pieces: list[bytes], *, status: int = 200,
                 content_type: str = "text/event-stream; charset=utf-8", chunked: bool = True) -> None:
        self.pieces, self.status, self.content_type, self.chunked = pieces, status, content_type, chunked
        self.requests: list[tuple[dict, bytes]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(upstream.status)
                self.send_header("Content-Type", upstream.content_type)
                if upstream.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for piece in upstream.pieces:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    data = b"".join(upstream.pieces)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedUpstream":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
