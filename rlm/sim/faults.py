"""Deterministic fault injection: 429 with Retry-After, 500, 503, hangs, drops.

A fault is decided from (seed, request bytes, attempt), where attempt counts how
many times this exact request was seen before. So a client retrying the same
request can succeed, and outcomes never depend on thread scheduling of other
requests. Two sources:

- server config (`FaultConfig` rates, each attempt drawn independently);
- the `X-Sim-Fault` request header: `429`, `429;retry_after=0.05`, `500`, `503`,
  `hang`, `drop`, optionally `;times=N` (default 1: first attempt only), so a
  retrying client eventually succeeds. Header-only kinds shape a 200 reply instead:
  `empty` (no text: an empty stream), `cut` (the stream stops before its finish
  chunk, as llama.cpp's interrupt_requests leaves it), `reset` (the connection is
  closed mid-stream), `nousage` (no usage anywhere).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from rlm.sim import api_errors

KINDS = ("429", "500", "503", "hang", "drop")
REPLY_KINDS = ("empty", "cut", "reset", "nousage")   # header only: a 200 whose reply is shaped badly
HEADER = "X-Sim-Fault"


@dataclass(frozen=True)
class FaultConfig:
    """Per-attempt fault rates; Retry-After and hang lengths in seconds (unscaled)."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_hang: float = 0.0
    rate_drop: float = 0.0
    retry_after_s: float = 1.0
    hang_s: float = 30.0

    @classmethod
    def parse(cls, spec: str) -> "FaultConfig":
        """From CLI text such as "429=0.1,500=0.02,retry_after=0.2"."""
        fields: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, value = item.partition("=")
            key = f"rate_{name}" if name in KINDS else f"{name}_s" if name in ("retry_after", "hang") else name
            if key not in cls.__dataclass_fields__:
                raise ValueError(f"unknown fault setting {name!r}")
            fields[key] = float(value)
        return cls(**fields)


@dataclass(frozen=True)
class Fault:
    kind: str  # one of KINDS
    retry_after_s: float = 0.05
    hang_s: float = 30.0

    def as_error(self, model: str) -> api_errors.APIError:
        if self.kind == "429":
            return api_errors.rate_limited(model, self.retry_after_s)
        if self.kind == "503":
            return api_errors.overloaded()
        return api_errors.server_error()


def parse_header(value: str, retry_after: float, hang: float) -> tuple[Fault, int]:
    """`kind[;retry_after=S][;hang=S][;times=N]` -> (fault, attempts it applies to).

    Explicit options are in seconds as written; defaults come from the server."""
    kind, *options = [part.strip() for part in value.split(";")]
    if kind not in KINDS + REPLY_KINDS:
        raise api_errors.bad_request(
            f"Invalid {HEADER} header {value!r}: kind must be one of {', '.join(KINDS + REPLY_KINDS)}.")
    times = 1
    for option in options:
        name, _, raw = option.partition("=")
        try:
            if name == "retry_after":
                retry_after = float(raw)
            elif name == "hang":
                hang = float(raw)
            elif name == "times":
                times = int(raw)
            else:
                raise ValueError(name)
        except ValueError:
            raise api_errors.bad_request(f"Invalid {HEADER} option {option!r}.") from None
    return Fault(kind, retry_after, hang), times


def unit_draw(seed: int, digest: str, attempt: int, salt: str) -> float:
    """A uniform number in [0, 1) fixed by its arguments."""
    raw = hashlib.blake2b(f"{seed}|{digest}|{attempt}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(raw, "big") / 2**64


class FaultInjector:
    """Counts attempts per exact request and decides the fault of each attempt."""

    def __init__(self, seed: int, config: FaultConfig | None, time_scale: float, max_tracked: int = 200_000) -> None:
        self._seed = seed
        self._config = config or FaultConfig()
        self._time_scale = time_scale
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._max_tracked = max_tracked
        self._lock = threading.Lock()

    def next_attempt(self, digest: str) -> int:
        """0 on the first sighting of this request, then 1, 2, ..."""
        with self._lock:
            attempt = self._seen.get(digest, 0)
            self._seen[digest] = attempt + 1
            self._seen.move_to_end(digest)
            if len(self._seen) > self._max_tracked:
                self._seen.popitem(last=False)
        return attempt

    def decide(self, digest: str, attempt: int, header: str | None) -> Fault | None:
        config = self._config
        # Default Retry-After follows the time scale, floored so clients honour it.
        retry_after = max(0.001, config.retry_after_s * self._time_scale)
        if header:
            fault, times = parse_header(header, retry_after, config.hang_s)
            return fault if attempt < times else None
        rates = (config.rate_429, config.rate_500, config.rate_503, config.rate_hang, config.rate_drop)
        if not any(rates):
            return None
        u = unit_draw(self._seed, digest, attempt, "fault")
        edge = 0.0
        for kind, rate in zip(KINDS, rates):
            edge += rate
            if u < edge:
                return Fault(kind, retry_after, config.hang_s)
        return None
