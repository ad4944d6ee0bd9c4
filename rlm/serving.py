"""What the loopback HTTP servers (the simulator, the recording proxy) share: reading a request
body whose length the client declares, and running in the foreground until SIGTERM."""
from __future__ import annotations

import signal
import sys
from http.server import BaseHTTPRequestHandler
from typing import Callable


def read_body(handler: BaseHTTPRequestHandler, max_bytes: int) -> bytes | None:
    """The request body; None for a Content-Length that is not a number in [0, max_bytes], after
    marking the connection to close (the caller answers 400: the body's end cannot be known)."""
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > max_bytes:
        handler.close_connection = True
        return None
    return handler.rfile.read(length) if length else b""


def serve_until_terminated(stop: Callable[[], None]) -> None:
    """Block until SIGTERM or Ctrl-C, then `stop()` (a `python -m` server's main loop)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop()
