"""One error root for the library, with subclasses the harness acts on by class.

Every failed model call is an `LMError` whose class names its kind (`.kind`, one of
`ErrorKind`); `lm_error(kind, ...)` builds the right subclass. Callers branch on the class or
on `.kind`, never on message text.
"""
from __future__ import annotations

from typing import ClassVar, Literal

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
    """A model call failed after its retries.

    `kind` says what went wrong, `status` is the HTTP status of the last attempt (200 for a
    reply that came back but was unusable, None when no reply came), `attempts` counts the
    attempts made, `text` keeps whatever partial reply there was (a truncated answer).
    """

    kind: ClassVar[ErrorKind] = "server_error"

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1,
                 text: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.text = text


class RateLimitedError(LMError):
    """HTTP 429 (or a provider's own 'slow down') that outlived the retries."""

    kind = "rate_limited"


class LMTimeoutError(LMError):
    """No complete reply within the configured timeout."""

    kind = "timeout"


class LMConnectionError(LMError):
    """The server could not be reached, or dropped the connection."""

    kind = "connection"


class ServerError(LMError):
    """The server failed (5xx, overloaded) on every attempt."""

    kind = "server_error"


class BadRequestError(LMError):
    """The server rejected the request as invalid (never retried)."""

    kind = "bad_request"


class AuthError(LMError):
    """Missing or refused credentials, or no quota left (never retried)."""

    kind = "auth"


class ContextLengthExceededError(LMError):
    """The prompt is larger than the model's context window (never retried)."""

    kind = "context_exceeded"


class EmptyReplyError(LMError):
    """The server answered, but with no text (an empty stream, an empty message)."""

    kind = "empty_reply"


class TruncatedReplyError(LMError):
    """The reply was cut off (output limit reached, or the stream ended early)."""

    kind = "truncated"


class ContentFilterError(LMError):
    """The provider's content filter refused or cut the reply."""

    kind = "content_filter"


_BY_KIND: dict[str, type[LMError]] = {cls.kind: cls for cls in (
    RateLimitedError, LMTimeoutError, LMConnectionError, ServerError, BadRequestError, AuthError,
    ContextLengthExceededError, EmptyReplyError, TruncatedReplyError, ContentFilterError)}


def lm_error(kind: ErrorKind, message: str, *, status: int | None = None, attempts: int = 1,
             text: str = "") -> LMError:
    """The LMError subclass for `kind`."""
    return _BY_KIND[kind](message, status=status, attempts=attempts, text=text)


class MissingAPIKeyError(ConfigError):
    """The environment variable that should hold the API key is unset."""


class SandboxError(RLMError):
    """The REPL worker could not be started or talked to."""
