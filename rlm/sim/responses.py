"""Chat-completion bodies and SSE stream chunks in the real API's shape."""
from __future__ import annotations

import json
from typing import Iterator

from rlm import tokens
from rlm.sim.engine import SimCompletion

TOKENS_PER_CHUNK = 4
FINGERPRINT = "fp_sim"


def dumps(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def completion_body(c: SimCompletion) -> bytes:
    return dumps({
        "id": c.id, "object": "chat.completion", "created": c.created, "model": c.spec.name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": c.text, "refusal": None,
                                             "annotations": []},
                     "logprobs": None, "finish_reason": None if c.shape == "cut" else c.finish_reason}],
        "usage": c.usage(), "service_tier": "default", "system_fingerprint": FINGERPRINT,
    })


def text_pieces(text: str, per_chunk: int = TOKENS_PER_CHUNK) -> list[tuple[str, int]]:
    """Split text on token boundaries into (piece, token count) for streaming."""
    if not text:
        return []
    _, offsets = tokens.encoding().decode_with_offsets(tokens.encode(text))
    starts = offsets[::per_chunk] + [len(text)]
    pieces = []
    for i in range(len(starts) - 1):
        piece = text[starts[i]:starts[i + 1]]
        if piece:
            pieces.append((piece, min(per_chunk, len(offsets) - i * per_chunk)))
    return pieces


def _chunk(c: SimCompletion, delta: dict, finish: str | None, **extra: object) -> bytes:
    obj = {"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.spec.name,
           "service_tier": "default", "system_fingerprint": FINGERPRINT,
           "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
    obj.update(extra)
    return b"data: " + dumps(obj) + b"\n\n"


def stream_events(c: SimCompletion) -> Iterator[tuple[bytes, float]]:
    """(SSE event bytes, seconds to wait before sending it): TTFT, then per-token delays.

    Shapes: "silent" sends nothing at all; "cut" stops after half the text, with neither a
    finish chunk nor [DONE]; "empty" has no text (c.text is "")."""
    if c.shape == "silent":
        return
    with_usage = c.stream_usage()
    usage_extra = {"usage": None} if with_usage else {}
    yield _chunk(c, {"role": "assistant", "content": "", "refusal": None}, None, **usage_extra), 0.0
    first = True
    pieces = text_pieces(c.text)
    if c.shape in ("cut", "reset"):
        pieces = pieces[:max(1, len(pieces) // 2)]
    for piece, n in pieces:
        wait = (c.ttft_s if first else 0.0) + n * c.per_token_s
        first = False
        yield _chunk(c, {"content": piece}, None, **usage_extra), wait
    if c.shape in ("cut", "reset"):
        return
    yield _chunk(c, {}, c.finish_reason, **usage_extra), c.ttft_s if first else 0.0
    if with_usage:
        obj = {"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.spec.name,
               "service_tier": "default", "system_fingerprint": FINGERPRINT, "choices": [], "usage": c.usage()}
        yield b"data: " + dumps(obj) + b"\n\n", 0.0
    yield b"data: [DONE]\n\n", 0.0


def models_body(names: list[str]) -> bytes:
    return dumps({"object": "list", "data": [
        {"id": name, "object": "model", "created": 1_735_689_600, "owned_by": "rlm-sim"} for name in names]})


def model_body(name: str) -> bytes:
    return dumps({"id": name, "object": "model", "created": 1_735_689_600, "owned_by": "rlm-sim"})
