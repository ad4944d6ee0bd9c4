"""Watching a server-sent-event stream as it passes: time to first token, usage, reply text.

The bytes go to the client unchanged, with one exception: when the proxy itself asked
the upstream for `stream_options.include_usage` (the client did not), the extra final
usage-only chunk is dropped and the `"usage":null` members that option adds to every
chunk are removed, so the client gets what it asked for.
"""
from __future__ import annotations

import json
import time
from typing import Any

from rlm.proxy._classify import usage_from
from rlm.usage import Usage

_USAGE_KEYS = (b'"usage":{', b'"usage": {')
_NULL_USAGE = (b',"usage":null', b', "usage": null')


class StreamTap:
    """Fed the upstream's body bytes in order; returns the bytes to pass on to the client."""

    def __init__(self, started: float, *, strip_usage: bool, keep_text: bool) -> None:
        self.started = started
        self.strip_usage = strip_usage
        self.keep_text = keep_text
        self.ttft_ms: float | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.parts: list[str] = []
        self._pending = b""

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, data: bytes) -> bytes:
        """Observe every complete event; pass `data` on at once unless the usage option must be undone."""
        self._pending += data
        events: list[bytes] = []
        while True:
            end, sep = _event_end(self._pending)
            if end < 0:
                break
            events.append(self._pending[:end + sep])
            self._pending = self._pending[end + sep:]
        if self.strip_usage:
            return b"".join(self._rewrite(event) for event in events)
        for event in events:
            self._observe(event)
        return data

    def flush(self) -> bytes:
        """The end of the stream: an unterminated last event, if any."""
        rest, self._pending = self._pending, b""
        if not rest:
            return b""
        if self.strip_usage:
            return self._rewrite(rest)
        self._observe(rest)
        return b""

    def _rewrite(self, event: bytes) -> bytes:
        if self._observe(event):
            return b""
        for pattern in _NULL_USAGE:
            event = event.replace(pattern, b"")
        return event

    def _observe(self, event: bytes) -> bool:
        """Read what matters from one event; True if it is a usage-only chunk."""
        if not (self.keep_text or self.ttft_ms is None or any(k in event for k in _USAGE_KEYS)):
            return False
        payload = _data(event)
        if payload is None or payload == b"[DONE]":
            return False
        try:
            chunk: Any = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(chunk, dict):
            return False
        usage = usage_from(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        choices = chunk.get("choices") or []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if content:
                if self.ttft_ms is None:
                    self.ttft_ms = (time.perf_counter() - self.started) * 1000
                if self.keep_text:
                    self.parts.append(content)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return usage is not None and not choices


def _event_end(buf: bytes) -> tuple[int, int]:
    """Index of the first blank-line event separator and its length, or (-1, 0)."""
    lf = buf.find(b"\n\n")
    crlf = buf.find(b"\r\n\r\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, 4
    return (lf, 2) if lf >= 0 else (-1, 0)


def _data(event: bytes) -> bytes | None:
    """The `data:` payload of one SSE event (multi-line data joined by newlines)."""
    lines = [line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:")]
    return b"\n".join(lines).strip() if lines else None
