"""One error root for the library, with subclasses the harness acts on by class."""
from __future__ import annotations

from typing import Literal

# Every failure of a model call falls in exactly one kind. The kinds in TRANSIENT_KINDS may go
# away by themselves (a rerun can succeed); the others are final outcomes of the sample.
ErrorKind = Literal["rate_limited", "timeout", "connection", "server_error", "bad_request", "auth",
                    "context_exceeded", "empty_reply", "truncated", "content_filter"]
TRANSIENT_KINDS: frozenset[str] = frozenset({"rate_limited", "timeout", "connection", "server_error"})


class RLMError(Exception):
    """Root of every error raised by `rlm`."""


class ConfigError(RLMError):
    """Bad configuration given to the library (the message says how to fix it)."""


class LMError(RLMError):
    """A model call failed after its retries."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class ContextLengthExceededError(LMError):
    """The prompt is larger than the model's context window (never retried)."""


class MissingAPIKeyError(ConfigError):
    """The environment variable that should hold the API key is unset."""


class SandboxError(RLMError):
    """The REPL worker could not be started or talked to."""
