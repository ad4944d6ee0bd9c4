"""Adaptive concurrency per model endpoint: start high, cut on overload, grow back on success.

A fixed limit is either slow (8 sub-calls at a time to a server that takes 64) or rude (64 at
once to a provider that allows 10). So every endpoint (base URL + model) gets one
`AdaptiveLimiter` shared by every LM client, RLM and sample that calls it: additive increase
(+1 per `limit` successes) and decrease on a 429 or an overload reply, with a pause that
honours the server's Retry-After before anyone sends again. A rejection that comes back while
fewer than `limit` requests are in flight tells the server's capacity (about what is still in
flight) and sets the limit there; one at the limit cuts it by `decrease` (x0.8). One burst of
rejections counts as one signal: a rejection cuts only if its request was sent after the last
cut (its `epoch` is current) and the short cooldown has passed, as TCP ignores losses of
packets sent before it slowed down.

A rejected call does not sleep a fixed backoff while the server sits idle: `wait_for_room`
wakes it as soon as another request to the endpoint ends well (as many waiters as the limit has
free slots), and only one rejected call at a time probes the server when its backoff ends.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

DEFAULT_START = 64
DEFAULT_MAX = 256
DECREASE = 0.8


class AdaptiveLimiter:
    """An AIMD semaphore. `with limiter.slot(): ...` around each request attempt."""

    def __init__(self, start: int = DEFAULT_START, minimum: int = 1, maximum: int = DEFAULT_MAX,
                 decrease: float = DECREASE, cooldown_s: float = 0.02, patience_s: float = 5.0) -> None:
        if not 1 <= minimum <= start <= maximum:
            raise ValueError(f"need 1 <= minimum <= start <= maximum, got {minimum}, {start}, {maximum}")
        self.minimum, self.maximum = minimum, maximum
        self.decrease = decrease
        self.cooldown_s = cooldown_s
        self._limit = float(start)
        self._in_flight = 0
        self._successes = 0
        self._last_cut = -float("inf")
        self._epoch = 0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)       # a slot may be free
        self._room_cond = threading.Condition(self._lock)  # a request ended well: one rejected call may go
        self._room = 0
        self._room_waiters = 0
        self._prober: object | None = None
        self.patience_s = patience_s
        self.cuts = 0
        self.rejections = 0

    @property
    def limit(self) -> int:
        return max(self.minimum, int(self._limit))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one slot; yields the epoch to pass to `on_overload`."""
        epoch = self.acquire()
        try:
            yield epoch
        finally:
            self.release()

    def acquire(self) -> int:
        with self._cond:
            while True:
                wait = self._paused_until - time.monotonic()
                if wait <= 0 and self._in_flight < self.limit:
                    self._in_flight += 1
                    return self._epoch
                self._cond.wait(timeout=wait if wait > 0 else None)

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def on_success(self) -> None:
        """Additive increase: one more slot after `limit` successes in a row; and the room this
        request left on the server goes to calls that were turned away (see `wait_for_room`)."""
        with self._cond:
            waiting = self._room_waiters - self._room
            if waiting > 0:
                free = self.limit - self._in_flight - self._room
                grant = min(waiting, max(1, free))
                self._room += grant
                self._room_cond.notify(grant)
            if self._limit >= self.maximum:
                return
            self._successes += 1
            if self._successes >= self.limit:
                self._successes = 0
                self._limit = min(float(self.maximum), self._limit + 1)
                self._cond.notify()

    def on_overload(self, epoch: int | None = None, retry_after_s: float | None = None) -> None:
        """Multiplicative decrease (once per round trip), and a pause for Retry-After."""
        now = time.monotonic()
        with self._cond:
            self._successes = 0
            self.rejections += 1
            fresh = epoch is None or epoch == self._epoch
            if fresh and now - self._last_cut >= self.cooldown_s:
                # The server turned this request away while serving the others still in flight:
                # its capacity is about that many. Below the limit, that is the new limit (a
                # fresh limiter's 64 is only a guess); at the limit, back off by `decrease`.
                held = float(self._in_flight)
                cut = held if held < self._limit else self._limit * self.decrease
                self._limit = max(float(self.minimum), cut)
                self._last_cut = now
                self._epoch += 1
                self.cuts += 1
            if retry_after_s:
                self._paused_until = max(self._paused_until, now + retry_after_s)


    def wait_for_room(self, timeout_s: float) -> None:
        """After a rejection: wait until another request to this endpoint ends well (the server
        then has room) or the backoff `timeout_s` passes, whichever is first.

        Each success wakes as many waiters as the limit has free slots (at least one), so
        rejected calls go again as soon as there is room instead of sleeping while the server
        sits idle. Only one waiter at a time (the prober) goes again when its backoff ends; the
        others wait up to `patience_s` for room, so a full server is not probed by every
        rejected call at once (each probe costs a request and a 429)."""
        now = time.monotonic()
        short, long = now + timeout_s, now + max(timeout_s, self.patience_s)
        me = object()
        with self._cond:
            self._room_waiters += 1
            try:
                while self._room == 0:
                    if self._prober is None:        # probing starts its own backoff
                        self._prober = me
                        short = time.monotonic() + timeout_s
                    remaining = (short if self._prober is me else long) - time.monotonic()
                    if remaining <= 0:
                        return
                    self._room_cond.wait(remaining)
                self._room -= 1
            finally:
                self._room_waiters -= 1
                self._room = min(self._room, self._room_waiters)
                if self._prober is me:
                    self._prober = None
                    if self._room_waiters > self._room:
                        self._room_cond.notify()   # someone else takes over probing


class LimiterRegistry:
    """One limiter per endpoint key, created on first use with the caller's caps."""

    def __init__(self) -> None:
        self._limiters: dict[tuple[str, str], AdaptiveLimiter] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], start: int = DEFAULT_START, maximum: int = DEFAULT_MAX) -> AdaptiveLimiter:
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = AdaptiveLimiter(start=min(start, maximum), maximum=maximum)
                self._limiters[key] = limiter
            return limiter

    def clear(self) -> None:
        with self._lock:
            self._limiters.clear()


ENDPOINTS = LimiterRegistry()


def endpoint_limiter(base_url: str | None, model: str, start: int = DEFAULT_START,
                     maximum: int = DEFAULT_MAX) -> AdaptiveLimiter:
    """The process-wide limiter of one model endpoint."""
    return ENDPOINTS.get((base_url or "default", model), start, maximum)
