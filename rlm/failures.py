"""Classifying a failed model call into one `ErrorKind`, from the HTTP status, the SDK's
exception class and the body, with one table of the known servers' context-overflow shapes.

Why a table: OpenAI-compatible servers agree on the happy path and disagree on errors. A
too-long prompt is a 400 with `code: context_length_exceeded` at OpenAI, a 400 with code
"400" and a `litellm.ContextWindowExceededError` message behind LiteLLM, a 400 whose wording
changes between vLLM versions, a 413 at Anthropic, and a 200 with an empty stream (or a
silently shortened prompt) at llama.cpp's server and Ollama. Those last two are caught by
`rlm.lm` from the reply itself; everything with an HTTP error is classified here.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

import openai

from rlm.errors import ErrorKind

# (server, pattern over the lower-cased error message or code); the first match wins.
OVERFLOW_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((server, re.compile(pattern)) for server, pattern in (
    ("openai", r"context_length_exceeded|maximum context length is \d+"),
    ("litellm", r"contextwindowexceedederror"),
    ("vllm", r"decoder prompt \(length \d+\) is longer than the maximum model length"
             r"|input prompt \(\d+ tokens\) is too long|is too long and exceeds limit of \d+"
             r"|however, you requested \d+ tokens|your request has \d+ input tokens"),
    ("llama.cpp", r"exceed_context_size_error|exceeds the available context size"
                  r"|requested tokens \(\d+\) exceed context window"),
    ("ollama", r"exceeds maximum context length|input length exceeds the context length"),
    ("openrouter", r"endpoint's maximum context length"),
    ("anthropic", r"prompt is too long|request_too_large"),
    ("gemini", r"input token count \(\d+\) exceeds the maximum"),
    ("generic", r"context (?:length|window) (?:exceeded|is exceeded)|too many (?:input )?tokens"
                r"|exceeds? (?:the )?(?:model'?s? )?(?:maximum )?context"),
))
_CONTENT_FILTER = re.compile(r"content_filter|content_policy_violation|content management policy|responsibleaipolicy")
_QUOTA = re.compile(r"insufficient_quota|exceeded your current quota|billing")
# A 500 that is really a rejected request (llama-cpp-python and some gateways report pydantic
# validation failures as 500): retrying the same bytes cannot succeed.
_VALIDATION = re.compile(r"validation error|validationerror|field required|input should be|extra inputs are not"
                         r"|unprocessable|invalid (?:request|value|type|parameter)")
_OVERLOAD_STATUS = frozenset({429, 503, 529})
CUT_STREAM = "cut-stream"   # Failure.server of a stream that ended before its finish_reason


def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP library's transport errors: the SDK does not wrap those raised while a stream is
    read (a connection reset mid-stream), so the client catches them itself."""
    found: list[type[Exception]] = [ConnectionError]
    for name in ("httpx", "httpx2"):   # whichever the installed openai SDK is built on
        try:
            found.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


TRANSPORT_ERRORS = _transport_errors()


@dataclass(frozen=True)
class Failure:
    """One failed attempt: its kind, HTTP status (None if no reply) and the server's words."""

    kind: ErrorKind
    status: int | None
    message: str
    retry_after_s: float | None = None
    server: str | None = None          # whose overflow shape matched, for context_exceeded

    @property
    def overload(self) -> bool:
        """The server asked us to slow down (429, 503 overloaded, 529), or cut a stream because
        another request came in (llama.cpp's interrupt_requests)."""
        return (self.kind == "rate_limited" or (self.status in _OVERLOAD_STATUS and self.kind == "server_error")
                or self.server == CUT_STREAM)


def overflow_server(text: str) -> str | None:
    """Which known server's context-overflow shape `text` has, if any."""
    low = text.lower()
    for server, pattern in OVERFLOW_SHAPES:
        if pattern.search(low):
            return server
    return None


def classify(exc: BaseException) -> Failure:
    """The kind of an exception raised by the openai SDK or its HTTP library (a transport error)."""
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", None, _message(exc))
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", None, _message(exc))
    if isinstance(exc, openai.APIStatusError):
        return classify_status(exc.status_code, _message(exc), _code(exc), _retry_after(exc),
                               _no_retry(exc))
    kind: ErrorKind = "timeout" if "Timeout" in type(exc).__name__ else "connection"
    return Failure(kind, None, f"{type(exc).__name__}: {exc}")


def classify_status(status: int, message: str, code: str | None = None, retry_after_s: float | None = None,
                    server_says_no_retry: bool = False) -> Failure:
    """The kind of an HTTP error reply."""
    text = f"{code or ''} {message}"
    server = overflow_server(text)
    if server is not None and status in (400, 413, 422, 500):
        return Failure("context_exceeded", status, message, server=server)
    low = text.lower()
    if status == 413:
        return Failure("context_exceeded", status, message, server="http-413")
    if _CONTENT_FILTER.search(low) and status < 500:
        return Failure("content_filter", status, message)
    if status in (401, 403) or (status == 429 and _QUOTA.search(low)):
        return Failure("auth", status, message)
    if status == 429:
        return Failure("rate_limited", status, message, retry_after_s)
    if status == 408:
        return Failure("timeout", status, message, retry_after_s)
    if status >= 500:
        if server_says_no_retry or (status == 500 and _VALIDATION.search(low)):
            return Failure("bad_request", status, message)
        return Failure("server_error", status, message, retry_after_s)
    return Failure("bad_request", status, message)


def _message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        msg = body.get("message") or (error.get("message") if isinstance(error, dict) else error)
        if msg:
            return str(msg)
    return str(getattr(exc, "message", None) or exc)


def _code(exc: openai.APIStatusError) -> str | None:
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    parts = [getattr(exc, "code", None), getattr(exc, "type", None), body.get("code"), body.get("type"),
             error.get("code"), error.get("type")]
    found = " ".join(str(p) for p in parts if p)
    return found or None


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Retry-After in seconds (`retry-after-ms` first, as the openai SDK reads it)."""
    headers = exc.response.headers if exc.response is not None else {}
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None  # an HTTP date: fall back to our own backoff
    return None


def _no_retry(exc: openai.APIStatusError) -> bool:
    headers = exc.response.headers if exc.response is not None else {}
    return headers.get("x-should-retry", "").lower() == "false"
