"""Reading an upstream reply: its usage (OpenAI's convention) and, on failure, its error kind.

The kinds are rlm.errors.ErrorKind, decided from the HTTP status and the body's `code`
(never from free text alone, except the context-window messages servers word differently).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from rlm.errors import ErrorKind
from rlm.usage import Usage

_CONTEXT_WORDS = ("maximum context length", "context length", "context window", "too many tokens",
                  "contextwindowexceeded")


def usage_from(raw: Any) -> Usage | None:
    """Usage of one reply from its `usage` object (cached tokens are part of prompt_tokens)."""
    if not isinstance(raw, Mapping):
        return None
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, Mapping) else {}
    completion_details = completion_details if isinstance(completion_details, Mapping) else {}
    return Usage(prompt_tokens=int(raw.get("prompt_tokens") or 0),
                 cached_tokens=int(prompt_details.get("cached_tokens") or 0),
                 completion_tokens=int(raw.get("completion_tokens") or 0),
                 reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0), calls=1)


def error_body(raw: bytes) -> tuple[str | None, str]:
    """(`code`, `message`) of an error body in OpenAI's shape, or (None, the text) for anything else."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, raw[:500].decode("utf-8", "replace")
    error = data.get("error", data) if isinstance(data, dict) else {}
    if not isinstance(error, dict):
        return None, str(error)[:500]
    code = error.get("code")
    return (None if code is None else str(code)), str(error.get("message") or "")


def error_kind(status: int, body: bytes) -> ErrorKind:
    """The kind of a failed reply (status >= 400)."""
    if status == 429:
        return "rate_limited"
    if status in (408, 504):
        return "timeout"
    if status in (401, 403):
        return "auth"
    code, message = error_body(body)
    if code == "context_length_exceeded" or any(w in message.lower() for w in _CONTEXT_WORDS):
        return "context_exceeded"
    if code == "content_filter":
        return "content_filter"
    if status >= 500:
        return "server_error"
    return "bad_request"
