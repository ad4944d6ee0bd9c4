"""One proxy, many samples at once: events go to the sink registered for their query."""
from __future__ import annotations

import logging
import threading

from rlm.events import Event, EventSink

log = logging.getLogger(__name__)


class RoutingSink:
    """Sends each event to the sink registered for its `query_id`, else to `fallback` (or drops it)."""

    def __init__(self, fallback: EventSink | None = None) -> None:
        self.fallback = fallback
        self._sinks: dict[str, EventSink] = {}
        self._lock = threading.Lock()

    def register(self, query_id: str, sink: EventSink) -> None:
        with self._lock:
            self._sinks[query_id] = sink

    def unregister(self, query_id: str) -> None:
        with self._lock:
            self._sinks.pop(query_id, None)

    def emit(self, event: Event) -> None:
        with self._lock:
            sink = self._sinks.get(event.query_id, self.fallback)
        if sink is None:
            log.warning("dropped a %s event of unknown query %r", event.kind, event.query_id)
            return
        sink.emit(event)

    def close(self) -> None:
        if self.fallback is not None:
            self.fallback.close()
