"""The Recorder: an EventSink that writes events to TimescaleDB from a background thread.

`emit` only appends to a bounded inbox. One writer thread batches it into the database
(one short-lived connection while there is work: the embedded server serves one client at a
time); it encodes each batch while the previous one is being sent, and sends one at a time, in
order. Whatever cannot be written (database down, queue full) goes to the local spool and is
replayed at the next successful write; keys that include time make replays idempotent.
"""
from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import psycopg2

from rlm.events import Event
from rlm.telemetry.connection import connect, resolve_dsn
from rlm.telemetry.errors import DatabaseUnavailableError
from rlm.telemetry.migrate import migrate
from rlm.telemetry.records import PriceRecord, Record, RunFinish, RunRecord, SampleRecord
from rlm.telemetry.spool import Spool
from rlm.telemetry.writes import PreparedBatch, prepare_batch, send_batch, write_batch
from rlm.usage import Price

log = logging.getLogger(__name__)

_STOP = object()
_DOWN = (psycopg2.OperationalError, psycopg2.InterfaceError, DatabaseUnavailableError)


class Recorder:
    """Writes events, runs, samples and prices; never blocks a run on the database.

    A batch is one transaction; writes.py cuts it into statements by rows and bytes (or COPYs it).
    """

    def __init__(self, dsn: str | None, spool_dir: str | Path, batch_size: int = 5000,
                 flush_interval_s: float = 0.5, max_queue: int = 100_000, retry_interval_s: float = 5.0) -> None:
        self._follow_embedded = dsn is None  # re-resolve on reconnect: a restarted server has a new port
        self.dsn = resolve_dsn(dsn)
        self.spool = Spool(spool_dir)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self.written = 0
        self._inbox = _Inbox(max_queue)
        self._conn = None
        self._down_until = 0.0
        self._spool_dirty = bool(self.spool.pending_files())
        self._closed = False
        self._migrated = False
        try:
            self._migrate()
        except DatabaseUnavailableError as exc:  # not fatal: spool now, replay when it is back
            log.warning("%s; events go to the spool %s until it is back", exc, self.spool.dir)
            self._down_until = time.monotonic() + retry_interval_s
        self._thread = threading.Thread(target=self._run, name="rlm-telemetry-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- the EventSink side: cheap and thread-safe ------------------------------------------
    def emit(self, event: Event) -> None:
        self._put(event)

    def record_run(self, run: RunRecord | str, **fields: Any) -> RunRecord:
        """Insert or replace a run: `record_run(RunRecord(...))` or `record_run(run_id, label=...)`."""
        record = run if isinstance(run, RunRecord) else RunRecord(run_id=run, **fields)
        self._put(record)
        return record

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        self._put(RunFinish(run_id=run_id, status=status))

    def record_sample(self, sample: SampleRecord | None = None, **fields: Any) -> SampleRecord:
        record = sample if sample is not None else SampleRecord(**fields)
        self._put(record)
        return record

    def record(self, item: Record) -> None:
        """Queue any telemetry record (run, run finish, sample, price) as it is."""
        self._put(item)

    def record_prices(self, prices: Mapping[str, Price]) -> None:
        for model, price in prices.items():
            self._put(PriceRecord(model, price.input, price.cached_input, price.output))

    def _put(self, item: Any) -> None:
        if self._closed:
            self._spill([item])
            return
        if not self._inbox.put(item):  # bounded memory: the spool takes the overflow, replayed later
            self._spill([item])

    def _spill(self, items: list) -> None:
        self.spool.append(items)
        self._spool_dirty = True

    # -- flushing and closing -------------------------------------------------------------------
    def flush(self, timeout_s: float | None = None) -> bool:
        """Block until everything emitted so far is written or spooled; False on timeout."""
        if self._closed or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._inbox.put(done, always=True)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not done.wait(0.5):  # a writer stuck in a hung database call must not hang its caller forever
            if not self._thread.is_alive() or (deadline is not None and time.monotonic() >= deadline):
                return False
        return True

    def close(self, timeout_s: float | None = None) -> bool:
        """Flush, stop the writer, and release the connection (also runs at interpreter exit).

        With `timeout_s`, give up waiting for a writer stuck in the database (the thread is a
        daemon); returns False then, and whatever was not written stays queued or spooled."""
        if self._closed:
            return True
        flushed = self.flush(timeout_s)
        self._inbox.put(_STOP, always=True)
        self._thread.join(None if flushed else 0)
        self._closed = True
        atexit.unregister(self.close)
        return flushed and not self._thread.is_alive()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def spooled(self) -> int:
        return self.spool.written

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        sending: threading.Thread | None = None  # the batch being sent while the next is collected
        while True:
            items, markers, stop = self._collect()
            # Encode this batch while the previous one is still with the server (2 cores: Python
            # and the database work at once); then send it once that one is done.
            prepared = self._prepare(items)
            self._wait(sending)
            sending = None
            try:
                if items:
                    sending = self._send_in_background(items, prepared)
                if markers or stop or not self._inbox.items:
                    self._wait(sending)
                    sending = None
                    if self._spool_dirty and self._up():
                        self._replay()
            except Exception:  # noqa: BLE001 - the writer must outlive any one bad batch
                log.exception("telemetry writer: %d items could be neither written nor spooled", len(items))
            if sending is None and not self._inbox.items:
                self._release()  # idle: give the connection back
            for marker in markers:
                marker.set()
            if stop:
                self._wait(sending)
                self._release()
                return

    def _send_in_background(self, items: list, prepared: PreparedBatch | None) -> threading.Thread | None:
        sending = threading.Thread(target=self._deliver, args=(items, prepared), name="rlm-telemetry-send",
                                   daemon=True)
        try:
            sending.start()
        except RuntimeError:  # no thread to be had: send it here, spooled if it cannot be written
            self._deliver(items, prepared)
            return None
        return sending

    @staticmethod
    def _wait(sending: threading.Thread | None) -> None:
        if sending is not None:
            sending.join()

    def _prepare(self, items: list) -> PreparedBatch | None:
        """The batch encoded (None if there is nothing to send, or no server to send it to)."""
        if not items or not self._up():
            return None
        try:
            return prepare_batch(items)
        except Exception:  # noqa: BLE001 - _deliver encodes again, and spools what it cannot write
            return None

    def _collect(self) -> tuple[list, list[threading.Event], bool]:
        """Up to batch_size items, waiting at most flush_interval_s after the first one."""
        items: list = []
        inbox = self._inbox.items
        deadline = None
        while len(items) < self.batch_size:
            if not inbox:
                timeout = self.flush_interval_s if deadline is None else deadline - time.monotonic()
                if timeout <= 0 or not self._inbox.wait(timeout):
                    break
                continue
            item = inbox.popleft()
            if item is _STOP:
                return items, [], True
            if isinstance(item, threading.Event):
                return items, [item], False
            items.append(item)
            if deadline is None:
                deadline = time.monotonic() + self.flush_interval_s
        return items, [], False

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _migrate(self) -> None:
        if not self._migrated:
            migrate(self.dsn)  # its own short connection, before ours (one client at a time)
            self._migrated = True

    def _connection(self):
        if self._conn is None:
            if self._follow_embedded:
                self.dsn = resolve_dsn(None, start=False)
            self._migrate()
            self._conn = connect(self.dsn)
        return self._conn

    def _release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
            self._conn = None

    def _write(self, items: list, prepared: PreparedBatch | None = None) -> None:
        conn = self._connection()
        if prepared is not None and len(items) <= self.batch_size:
            send_batch(conn, prepared, page_size=self.batch_size)
        else:
            for start in range(0, len(items), self.batch_size):
                write_batch(conn, items[start:start + self.batch_size], page_size=self.batch_size)
        conn.commit()

    def _deliver(self, items: list, prepared: PreparedBatch | None = None) -> None:
        if not self._up():
            self._spill(items)
            return
        try:
            self._write(items, prepared)
            self.written += len(items)
        except _DOWN as exc:
            self._went_down(exc)
            self._spill(items)
        except Exception:  # noqa: BLE001 - never lose data to a bug or a bad row: keep it on disk
            log.exception("telemetry batch of %d items failed; kept in the spool %s", len(items), self.spool.dir)
            self._release()
            self._spill(items)
            self._down_until = time.monotonic() + self.retry_interval_s

    def _went_down(self, exc: Exception) -> None:
        if self._up():
            log.warning("telemetry database unavailable, spooling to %s: %s", self.spool.dir,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        self._release()
        self._down_until = time.monotonic() + self.retry_interval_s

    def _replay(self) -> None:
        self._spool_dirty = False
        try:
            replayed = replay_spool(self.spool, self._write)
        except _DOWN as exc:
            self._went_down(exc)
            self._spool_dirty = True
            return
        except Exception:  # noqa: BLE001 - the spool stays on disk for the next try or `ingest`
            log.exception("replaying the telemetry spool %s failed", self.spool.dir)
            self._release()
            self._down_until = time.monotonic() + self.retry_interval_s
            return
        if replayed:
            log.info("replayed %d spooled telemetry items", replayed)
            self.written += replayed


class _Inbox:
    """What emit hands the writer: a deque (an append costs a tenth of a queue.Queue put, which
    takes a lock and a condition per item) and an event that wakes the writer when it waits."""

    def __init__(self, max_items: int) -> None:
        self.items: collections.deque = collections.deque()
        self.max_items = max_items
        self._ready = threading.Event()

    def put(self, item: Any, always: bool = False) -> bool:
        """Append `item`; False if the inbox is full (unless `always`, for flush and stop markers)."""
        if not always and len(self.items) >= self.max_items:
            return False
        self.items.append(item)
        if not self._ready.is_set():
            self._ready.set()
        return True

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for an item; the caller looks in `items` again either way."""
        woken = self._ready.wait(timeout)
        self._ready.clear()  # an item put from here on is seen by the caller's next look
        return woken


def replay_spool(spool: Spool, write) -> int:
    """Write every spooled item with `write(items)`; delete each file once it is in."""
    total = 0
    for path, items in spool.claim():
        if items:
            write(items)
        path.unlink(missing_ok=True)
        total += len(items)
    return total


def ingest(spool_dir: str | Path, dsn: str | None = None, batch_size: int = 5000) -> int:
    """Replay a spool directory into the database now (`python -m evals.db ingest`)."""
    dsn = resolve_dsn(dsn)
    spool = Spool(spool_dir)
    with connect(dsn) as conn:
        def write(items: list) -> None:
            for start in range(0, len(items), batch_size):
                write_batch(conn, items[start:start + batch_size], page_size=batch_size)
            conn.commit()
        return replay_spool(spool, write)
