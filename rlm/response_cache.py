"""An on-disk cache of model replies, keyed by everything that determines a reply.

Reruns of an eval against a paid model need not pay twice. A hit returns the stored
text and usage (so tables stay comparable) with `from_cache=True` and no latency;
its event is recorded with status "cached". Only deterministic settings should be
cached; the key includes model, base_url, messages, max_tokens and temperature.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import asdict, replace
from pathlib import Path

from rlm.lm import Completion, Message
from rlm.model_client import ModelClient
from rlm.usage import Usage


class CachedLM:
    """Wraps any ModelClient and is one itself (same `complete`, `name` and `config`)."""

    def __init__(self, lm: ModelClient, path: str | Path) -> None:
        self.lm = lm
        self.config = lm.config
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT, usage TEXT)")
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.lm.name

    def key(self, messages: list[Message] | str, max_tokens: int | None) -> str:
        cfg = self.config
        payload = {"model": cfg.model, "base_url": cfg.base_url, "messages": messages,
                   "max_tokens": max_tokens or cfg.max_output_tokens, "temperature": cfg.temperature,
                   "extra_body": cfg.extra_body}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def complete(self, messages: list[Message] | str, *, max_tokens: int | None = None) -> Completion:
        key = self.key(messages, max_tokens)
        with self._lock:
            row = self._db.execute("SELECT text, usage FROM replies WHERE key = ?", (key,)).fetchone()
        if row is not None:
            usage = Usage(**json.loads(row[1]))
            return Completion(text=row[0], usage=usage, latency_ms=0.0, ttft_ms=None, attempts=0,
                              model=self.name, from_cache=True)
        completion = self.lm.complete(messages, max_tokens=max_tokens)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?)",
                             (key, completion.text, json.dumps(asdict(completion.usage))))
            self._db.commit()
        return replace(completion)
