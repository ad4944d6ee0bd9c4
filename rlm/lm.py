"""One client for every OpenAI-compatible model: OpenAI, vLLM, Ollama, llama.cpp, LiteLLM, the simulator.

Why our own retry loop instead of the SDK's: we must count attempts, cap the total wait,
classify every failure into one kind (rlm.failures), and treat replies that came back
unusable (an empty stream, a cut-off answer, a prompt the server shortened silently) as
failures rather than answers. The SDK still does the HTTP. Each attempt holds a slot of the
endpoint's adaptive limiter (rlm.concurrency), which 429s and overload replies shrink.
"""
from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass, field

import openai

from rlm import tokens
from rlm.concurrency import DEFAULT_MAX, DEFAULT_START, AdaptiveLimiter, endpoint_limiter
from rlm.errors import MissingAPIKeyError, lm_error
from rlm.failures import CUT_STREAM, TRANSPORT_ERRORS, Failure, classify
from rlm.usage import Price, Usage, UsageSource, normalize_usage

log = logging.getLogger(__name__)

Message = dict[str, str]

# A reported prompt below this share of the estimate means the server cut the prompt (Ollama
# trims to num_ctx without an error). Tokenizers differ by far less than 2x on text.
SILENT_CUT_RATIO = 0.6
EMPTY_REPLY_RETRIES = 2
CHAT_PATH = "/chat/completions"


@dataclass(frozen=True)
class LMConfig:
    """Everything needed to call one model. Holds the *name* of the key variable, never a key."""

    model: str
    base_url: str | None = None
    api_key_env: str | None = None      # e.g. "OPENAI_API_KEY"; None = the SDK's own default
    price: Price | None = None           # None = unknown cost
    context_window: int | None = None    # tokens; told to a parent RLM so it can size chunks
    max_output_tokens: int | None = None
    stream: bool = True                  # streaming gives time-to-first-token
    temperature: float | None = None
    max_retries: int = 4                 # retries of server errors, timeouts, dropped connections
    max_rate_limit_retries: int = 30     # 429s are expected under load: the limiter adapts, we wait
    timeout_s: float = 600.0
    max_retry_wait_s: float = 120.0     # total backoff one call may spend before giving up
    tokenizer: str | None = None        # tiktoken encoding or tokenizer.json for estimates; None = cl100k
    concurrency_start: int = DEFAULT_START  # the endpoint limiter's first limit
    concurrency_max: int = DEFAULT_MAX      # its cap
    extra_body: dict = field(default_factory=dict)
    default_headers: dict = field(default_factory=dict)  # sent with every request (never put keys here)


@dataclass
class Completion:
    """A model's reply with its usage and timing.

    `usage_source` is "estimated" when the server sent no usage and tokens were counted
    locally. `retried` lists the failures of the attempts before the one that succeeded.
    """

    text: str
    usage: Usage
    latency_ms: float
    ttft_ms: float | None
    attempts: int
    model: str
    from_cache: bool = False
    usage_source: UsageSource = "reported"
    finish_reason: str | None = None
    http_status: int | None = 200
    retried: list[Failure] = field(default_factory=list)


@dataclass
class _Reply:
    text: str
    finish_reason: str | None
    usage: Usage | None
    ttft_ms: float | None
    chunks: int = 0


class LM:
    """A callable model: `LM(LMConfig(...)).complete(messages)`."""

    def __init__(self, config: LMConfig, limiter: AdaptiveLimiter | None = None) -> None:
        self.config = config
        kwargs: dict = {"max_retries": 0, "timeout": config.timeout_s}
        if config.base_url:
            kwargs["base_url"] = config.base_url
        if config.default_headers:
            kwargs["default_headers"] = dict(config.default_headers)
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise MissingAPIKeyError(
                    f"model {config.model!r} needs an API key: set the environment variable {config.api_key_env}")
            kwargs["api_key"] = key
        elif config.base_url and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"  # local servers (sim, vLLM, Ollama) accept any key
        self._client = openai.OpenAI(**kwargs)
        self.limiter = limiter or endpoint_limiter(config.base_url, config.model, config.concurrency_start,
                                                   config.concurrency_max)

    @property
    def name(self) -> str:
        return self.config.model

    def __repr__(self) -> str:  # never shows a key
        return f"LM(model={self.config.model!r}, base_url={self.config.base_url!r})"

    def complete(self, messages: list[Message] | str, *, max_tokens: int | None = None) -> Completion:
        """Call the model, retrying what may pass; raise the LMError subclass of the failure's kind."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        start = time.perf_counter()
        retried: list[Failure] = []
        slept = 0.0
        while True:
            attempt = len(retried) + 1
            reply: _Reply | None = None
            with self.limiter.slot() as epoch:
                try:
                    reply = self._request(messages, max_tokens)
                    failure = self._check(reply, messages)
                except (openai.APIError, *TRANSPORT_ERRORS) as exc:
                    failure = classify(exc)
            if failure is None and reply is not None:
                self.limiter.on_success()
                return self._completion(reply, messages, start, attempt, retried)
            assert failure is not None
            if failure.overload:
                self.limiter.on_overload(epoch, failure.retry_after_s)
            wait = self._retry_wait(failure, retried, attempt)
            if wait is None or slept + wait > self.config.max_retry_wait_s:
                why = f"{failure.kind} after {attempt} attempts" if attempt > 1 else failure.kind
                raise lm_error(failure.kind, f"{why} (HTTP {failure.status}): {failure.message}",
                               status=failure.status, attempts=attempt, text=reply.text if reply else "")
            log.info("model %s: %s (HTTP %s), retrying in %.2fs (attempt %d)",
                     self.name, failure.kind, failure.status, wait, attempt)
            retried.append(failure)
            paused = time.monotonic()
            if failure.overload:
                self.limiter.wait_for_room(wait)
            else:
                time.sleep(wait)
            slept += time.monotonic() - paused

    # -- one attempt --------------------------------------------------------------------
    def _request(self, messages: list[Message], max_tokens: int | None) -> _Reply:
        cfg = self.config
        # Keys in the order `chat.completions.create` sends them, so a request's bytes (which the
        # simulator seeds its replies from) are the same as through the SDK's typed method.
        kwargs: dict = {"model": cfg.model}
        if cfg.stream:
            kwargs["stream"] = True
        kwargs["messages"] = messages
        limit = max_tokens or cfg.max_output_tokens
        if limit:
            kwargs["max_tokens"] = limit
        if cfg.stream:
            kwargs["stream_options"] = {"include_usage": True}
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        if cfg.extra_body:
            kwargs.update(cfg.extra_body)   # server-specific fields go into the JSON body as is
        sent = time.perf_counter()
        # The SDK's generic `post` with plain dicts in and out: the same HTTP, headers, error
        # classes and timeouts as `chat.completions.create`, without the typed-params transform
        # and pydantic models, which cost more CPU per call than the HTTP itself and so capped
        # a 64-wide fan-out behind the GIL (bench/bench_rlm.py).
        if not cfg.stream:
            body = self._client.post(CHAT_PATH, body=kwargs, cast_to=object)
            if not isinstance(body, dict):
                body = {}
            choice = _first_choice(body)
            message = choice.get("message") or {}
            text = (message.get("content") or "") if isinstance(message, dict) else ""
            return _Reply(text, choice.get("finish_reason"), _usage_of(body), None)
        stream = self._client.post(CHAT_PATH, body=kwargs, cast_to=object, stream=True,
                                   stream_cls=openai.Stream[object])
        parts: list[str] = []
        ttft: float | None = None
        usage: Usage | None = None
        finish: str | None = None
        chunks = 0
        for chunk in stream:
            if not isinstance(chunk, dict):
                continue
            chunks += 1
            choice = _first_choice(chunk)
            if choice:
                delta = choice.get("delta") or {}
                content = delta.get("content") if isinstance(delta, dict) else None
                if content:
                    if ttft is None:
                        ttft = (time.perf_counter() - sent) * 1000
                    parts.append(content)
                finish = choice.get("finish_reason") or finish
            usage = _usage_of(chunk) or usage
        return _Reply("".join(parts), finish, usage, ttft, chunks)

    def _check(self, reply: _Reply, messages: list[Message]) -> Failure | None:
        """A 200 that is not an answer: empty, cut off, filtered, or made from a shortened prompt."""
        window = self.config.context_window
        if not reply.text.strip():
            if reply.finish_reason == "length":
                return Failure("truncated", 200, "the output limit was reached before any text")
            if window and self._estimate_prompt(messages) > window:
                # llama.cpp's server answers a too-long streamed prompt with an empty 200 stream.
                return Failure("context_exceeded", 200, f"empty reply to a prompt of about "
                               f"{self._estimate_prompt(messages)} tokens (window {window})", server="empty-200")
            if self.config.stream and reply.chunks and reply.finish_reason is None:
                return Failure("empty_reply", 200, "the stream was cut before any text", server=CUT_STREAM)
            what = "an empty stream" if self.config.stream and not reply.chunks else "a reply with no text"
            return Failure("empty_reply", 200, f"the server sent {what}")
        if reply.finish_reason == "content_filter":
            return Failure("content_filter", 200, "the reply was stopped by the provider's content filter")
        if reply.finish_reason == "length":
            return Failure("truncated", 200, "the reply hit the output limit (finish_reason=length)")
        if self.config.stream and reply.finish_reason is None:
            return Failure("truncated", 200, "the stream ended before a finish_reason (reply cut off)",
                           server=CUT_STREAM)
        if reply.usage is not None and reply.usage.prompt_tokens:
            rough = sum(len(m.get("content") or "") for m in messages) / 4
            if reply.usage.prompt_tokens < SILENT_CUT_RATIO * rough:
                sent = self._estimate_prompt(messages)
                if reply.usage.prompt_tokens < SILENT_CUT_RATIO * sent:
                    return Failure("context_exceeded", 200, f"the server reports {reply.usage.prompt_tokens} prompt "
                                   f"tokens for about {sent} sent: it shortened the prompt silently",
                                   server="silent-cut")
        return None

    def _retry_wait(self, failure: Failure, retried: list[Failure], attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when this failure is final."""
        cfg = self.config
        same = sum(1 for f in retried if f.kind == failure.kind)
        if failure.kind == "rate_limited":
            if same >= cfg.max_rate_limit_retries:
                return None
        elif failure.kind in ("server_error", "timeout", "connection"):
            if sum(1 for f in retried if f.kind != "rate_limited") >= cfg.max_retries:
                return None
        elif failure.server == CUT_STREAM:     # cut because another request came: retry as server errors
            if sum(1 for f in retried if f.server == CUT_STREAM) >= cfg.max_retries:
                return None
        elif failure.kind == "empty_reply":
            if same >= min(cfg.max_retries, EMPTY_REPLY_RETRIES):
                return None
        else:
            return None
        jitter = 0.5 + random.random() / 2
        if failure.kind == "rate_limited":
            # Honour Retry-After, but never spin: a request that keeps meeting 429s waits a little
            # longer each time (25 ms doubling, up to 0.4 s), jittered so retries spread out.
            return max(failure.retry_after_s or 0.0, min(0.4, 0.025 * 2 ** same) * jitter)
        if failure.retry_after_s is not None:
            return failure.retry_after_s
        return min(30.0, 0.5 * 2 ** (attempt - 1)) * jitter

    # -- the result ---------------------------------------------------------------------
    def _completion(self, reply: _Reply, messages: list[Message], start: float, attempt: int,
                    retried: list[Failure]) -> Completion:
        usage = reply.usage
        source: UsageSource = "reported"
        if usage is None or (usage.prompt_tokens == 0 and usage.completion_tokens == 0):
            counter = tokens.counter_for(self.config.tokenizer)
            usage = Usage(prompt_tokens=self._estimate_prompt(messages), completion_tokens=counter(reply.text),
                          calls=1, estimated_calls=1)
            source = "estimated"
        usage.cost_usd = None if self.config.price is None else self.config.price.cost(
            usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens)
        return Completion(text=reply.text, usage=usage, latency_ms=(time.perf_counter() - start) * 1000,
                          ttft_ms=reply.ttft_ms, attempts=attempt, model=self.name, usage_source=source,
                          finish_reason=reply.finish_reason, retried=retried)

    def _estimate_prompt(self, messages: list[Message]) -> int:
        return tokens.count_messages(messages, self.config.tokenizer)


def _first_choice(body: dict) -> dict:
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}


def _usage_of(body: dict) -> Usage | None:
    """Usage of a response or chunk, reading servers' extra fields (llama.cpp's `timings`)."""
    usage, timings = body.get("usage"), body.get("timings")
    return normalize_usage(usage if isinstance(usage, dict) else None, timings if isinstance(timings, dict) else None)
