"""Length-prefixed JSON messages over a pair of pipe fds.

Stdlib only: the worker imports this module, and must not pull in the rest of `rlm`.
A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
"""
from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

_HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 31  # 2 GiB: beyond this, something is wrong

# Operations. Parent -> worker: EXEC, GET, LOAD (a new `context`, persistent sessions), REPLY.
# Worker -> parent: SPAWNED (host pid of the REPL in a pid namespace), READY, CALL, RESULT, VALUE.
EXEC, GET, LOAD, REPLY = "exec", "get", "load", "reply"
SPAWNED, READY, CALL, RESULT, VALUE = "spawned", "ready", "call", "result", "value"


class ChannelClosed(EOFError):
    """The other end closed its pipe (usually: the process died)."""


class Channel:
    """A message channel reading from `rfd` and writing to `wfd` (blocking writes)."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self._buf = bytearray()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            try:
                n = os.write(self.wfd, view)
            except BrokenPipeError as exc:
                raise ChannelClosed("peer closed the pipe") from exc
            view = view[n:]

    def recv(self, timeout: float | None = None) -> dict[str, Any]:
        """Next message; TimeoutError after `timeout` seconds, ChannelClosed on EOF."""
        deadline = None if timeout is None else time.monotonic() + timeout
        header = self._read_exact(_HEADER.size, deadline)
        (size,) = _HEADER.unpack(header)
        if size > MAX_FRAME:
            raise ChannelClosed(f"frame of {size} bytes is corrupt")
        payload = self._read_exact(size, deadline)
        message: dict[str, Any] = json.loads(payload.decode("utf-8", "surrogatepass"))
        return message

    def _read_exact(self, n: int, deadline: float | None) -> bytes:
        while len(self._buf) < n:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._poll(remaining):
                    raise TimeoutError("no message before the deadline")
            chunk = os.read(self.rfd, max(1 << 16, n - len(self._buf)))
            if not chunk:
                raise ChannelClosed("peer closed the pipe")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _poll(self, seconds: float) -> bool:
        # poll, not select: select fails on fds above 1023 (many sandboxes in one parent).
        poller = select.poll()
        poller.register(self.rfd, select.POLLIN | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(max(1, int(seconds * 1000))))

    def close(self) -> None:
        for fd in {self.rfd, self.wfd}:
            try:
                os.close(fd)
            except OSError:
                pass
