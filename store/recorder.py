"""The background writer: the caller's thread never touches the disk.

The trading loop's calls only append a tuple to a deque (or, for heartbeats, update a few
attributes of the current uptime span). A daemon thread drains the deque at least every
``flush_interval`` seconds, aggregates, and commits one transaction per batch. When the store
cannot be written (locked, missing directory, read-only, disk full, deleted, corrupt) the
events wait in memory, bounded, and are written when the store recovers.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from store import batch
from store.batch import Pending
from store.events import ALERT, EVENT, GATE, MARK, SIGNAL, SPAN, STOP, Event
from store.recorder_calendar import CalendarRecording
from store.records import RunInfo
from store.writer_connection import CLOSE_CHECKPOINT_WAIT, WriterConnection

log = logging.getLogger("production_health.store")

_START_BUSY_TIMEOUT = 1.0  # the constructor waits at most this long for a locked store
_DRAIN_YIELD_EVERY = 256  # items processed between voluntary GIL releases
_ROWS_PER_TRANSACTION = 20_000
_ROW_KINDS = frozenset({SIGNAL, EVENT, ALERT})  # kept one row each; the rest is aggregated


class Recorder(CalendarRecording):
    """Queue in front, one writer thread behind, one SQLite connection of its own."""

    def __init__(
        self,
        path: Path,
        run: RunInfo,
        *,
        flush_interval: float,
        max_pending: int,
        busy_timeout: float = 5.0,
        gate_bucket: Callable[[str], int] = lambda code: 300,
        on_failure: Callable[[str], None] | None = None,
        on_recover: Callable[[str], None] | None = None,
        pause: Callable[[threading.Event, float], object] = threading.Event.wait,
        start: bool = True,
    ) -> None:
        """``flush_interval`` and ``max_pending``: MonitorConfig's (their one definition).
        ``gate_bucket(code)``: how many seconds of gate decisions with that reason code
        share one aggregate row (the domain's rule; the store knows no reason code).
        ``pause(wake, seconds)``: the writer's wait between cycles, cut short when ``wake``
        is set; a test injects its own to see the back-off without waiting for it.
        ``start=False``: the writer thread waits for :meth:`start` — for an owner whose
        ``on_failure`` / ``on_recover`` can only be called once its own constructor is done."""
        self.path = Path(path)
        self._pause = pause
        self.gate_bucket = gate_bucket
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.busy_timeout = busy_timeout
        self.on_failure = on_failure
        self.on_recover = on_recover
        self._init_state(run)
        self._open_at_start()
        if start:
            self._start_thread()

    _thread: threading.Thread | None = None

    def start(self) -> None:
        """The writer thread, for a recorder made with ``start=False`` (a flush starts it too)."""
        if self._thread is None:
            self._start_thread()

    # -- state ----------------------------------------------------------------------------
    def _init_state(self, run: RunInfo) -> None:
        self.run = run
        self._queue: collections.deque[Event] = collections.deque()
        self.put = self._queue.append  # the hot path: one C call
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._enqueued_marks = 0
        self._done_marks = 0
        self._mark_seen = 0
        self._closing = False
        self._closed = False
        # Current uptime span, updated by the caller's thread without a lock: each field is
        # one atomic attribute store, and a reader sees a consistent enough (start, end).
        self._span_seq = 0
        self._span_start = 0.0
        self._span_end = float("-inf")
        self._span_beats = 0
        self._span_written = (0, 0.0, 0)  # (seq, end, beats) last handed to the writer
        self._pending = Pending()
        self._store = WriterConnection(self.path, self.busy_timeout)
        self._run_written_on = -1  # the store connection (its number) the run's row went into
        self.failed = False
        self.failure: str | None = None
        self.written_events = 0
        self.dropped_events = 0
        self.replaced_events = 0
        # The newest gate decision and signal the writer has seen (for the loop's status line,
        # health/sdnotify.py): kept here so the loop's calls pay nothing for them.
        self.latest: dict[str, Event] = {}
        self._warned_rows = False
        self._backoff = self.flush_interval

    def _open_at_start(self) -> None:
        """Create the store, its schema and the run's row before the constructor returns. On
        the writer thread, a loop that starts on a new store and keeps its own thread busy
        starved that set-up of the GIL for seconds (sqlite_utils builds the schema in Python),
        and a SIGKILL then lost far more than the last second (docs/CONTRACT.md §2). A failure here
        (locked, read-only...) is left to the writer thread, which retries and reports it."""
        try:
            conn = self._store.get(busy_timeout=_START_BUSY_TIMEOUT)
            batch.commit_run(conn, self.run)
            self._run_written_on = self._store.opened
        except Exception as exc:
            log.debug("health store %s: not opened at start (%s); the writer retries", self.path, exc)
            self._store.drop()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(
            target=self._run_loop, name=f"health-recorder-{self.run.source}", daemon=True
        )
        self._thread.start()

    def reset_after_fork(self, run: RunInfo) -> None:
        """In a forked child: forget the parent's buffer (the parent writes it), its
        connection and its thread; start afresh as a new run."""
        self._init_state(run)  # a new WriterConnection: the parent's is never used, it leaks
        self._start_thread()

    # -- the caller's side (cheap, never raises for the store) -----------------------------
    def beat(self, t: float) -> None:
        if t - self._span_end <= self.run.heartbeat_gap and t >= self._span_start:
            self._span_end = t
            self._span_beats += 1
            return
        if self._span_beats:
            self._queue.append((SPAN, self._span_seq, self._span_start, self._span_end, self._span_beats))
        self._span_seq += 1
        self._span_start = t
        self._span_end = t
        self._span_beats = 1

    @property
    def last_beat(self) -> float:
        """The newest heartbeat's time (-inf before the first): read by the monitor's hang
        check from another thread (one attribute read)."""
        return self._span_end

    def mark_stopped(self, t: float) -> None:
        self._queue.append((STOP, t))

    def flush(self, timeout: float) -> bool:
        """Wait until everything put so far is committed; False if the store is failing."""
        if self._closed:
            return not self._pending and not self._queue
        self.start()
        with self._flushed:
            self._enqueued_marks += 1
            mark = self._enqueued_marks
            self._queue.append((MARK, mark))
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._flushed:
            while self._done_marks < mark:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._flushed.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Write everything and stop the thread; False if something could not be written."""
        if self._closed:
            return True
        ok = self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=max(0.1, timeout / 5) + CLOSE_CHECKPOINT_WAIT)
        self._closed = True
        if not ok:  # the rows taken, and what is still queued (a flush mark is no event)
            left = len(self._pending.rows) + sum(ev[0] != MARK for ev in list(self._queue))
            log.error("health store %s: closing with %d events not written", self.path, left)
        if not self._thread.is_alive():  # else the thread drops it when it is done with it
            self._store.drop()
        return ok

    # -- the writer thread -----------------------------------------------------------------
    def _run_loop(self) -> None:
        while True:
            self._pause(self._wake, self._backoff)  # flush_interval, longer while failing
            self._wake.clear()
            closing = self._closing
            try:
                while True:  # a burst larger than one batch is written batch after batch
                    mark, more = self._drain()
                    self._mark_seen = max(self._mark_seen, mark)
                    # A failing store is tried even with nothing new to write: only a write
                    # tells it is back (its flushes answered, its failure resolved).
                    if self._pending or self._span_dirty() or self.failed:
                        self._write()
                    if not more or self.failed:
                        break
            except Exception as exc:  # never let the writer die, never call unwritten written
                self._conn_failed(exc, unexpected=True)
            written = not self.failed  # everything drained so far is committed
            if written and self._mark_seen > self._done_marks:
                with self._flushed:
                    self._done_marks = self._mark_seen
                    self._flushed.notify_all()
            if written and self._calendar_job is not None:
                self._write_calendar(closing)
            if closing:
                if written:
                    self._store.checkpoint_at_close()
                self._store.drop()
                return

    def _span_dirty(self) -> bool:
        return (self._span_seq, self._span_end, self._span_beats) != self._span_written

    def _drain(self) -> tuple[int, bool]:
        """Move queued events into the pending aggregate. Returns the highest flush mark and
        whether events are left: a healthy store takes at most ``max_pending`` rows a batch;
        a failing one keeps draining, and rows beyond the bound are dropped (counted)."""
        q = self._queue
        pending = self._pending
        gate = pending.gate
        rows = pending.rows
        bucket_of = self.gate_bucket
        latest = self.latest
        mark = 0
        n = 0
        while q:
            ev = q.popleft()
            kind = ev[0]
            if kind == GATE:
                latest[GATE] = ev
                _, t, allowed, code, reason, age, data_ts = ev
                bucket_len = bucket_of(code)
                key = (int(t // bucket_len) * bucket_len, code)
                agg = gate.get(key)
                if agg is None:
                    gate[key] = [allowed, 1, age, age, age, t, t, reason, data_ts]
                else:
                    agg[1] += 1
                    if age < agg[2]:
                        agg[2] = age
                    if age > agg[3]:
                        agg[3] = age
                    agg[4] += age
                    if t >= agg[6]:
                        agg[6] = t
                        agg[7] = reason
                        agg[8] = data_ts
                if t > pending.last_seen:
                    pending.last_seen = t
            elif kind in _ROW_KINDS:
                latest[kind] = ev
                if len(rows) >= self.max_pending and not self.failed:
                    q.appendleft(ev)  # the rest waits for the next batch
                    return mark, True
                if len(rows) >= self.max_pending:
                    pending.dropped += 1
                    self.dropped_events += 1
                else:
                    rows.append(ev)
                if ev[1] > pending.last_seen:
                    pending.last_seen = ev[1]
            elif kind == SPAN:
                _, seq, start, end, beats = ev
                pending.spans[seq] = [start, end, beats]
            elif kind == STOP:
                pending.stopped_at = ev[1]
            elif kind == MARK:
                mark = ev[1]
            n += 1
            if n % _DRAIN_YIELD_EVERY == 0:
                time.sleep(0)  # let the trading loop's thread have the GIL
        return mark, False

    def _write(self) -> None:
        """Commit what is pending, at most ``_ROWS_PER_TRANSACTION`` rows a transaction: after
        an outage the backlog goes in pieces, so a nearly full disk still takes it. Everything
        pending is committed, or the store failed (``self.failed``) and the events are kept.

        The pending rows are one long-lived list, taken from in place: a retry never copies
        it. A copy is a young object, and every young-generation garbage collection — run by
        whichever thread allocates, mostly the loop's — walks all its items (RELIABILITY.md,
        "locked 30 s")."""
        repaired = False
        while True:
            pending = self._pending
            take = min(len(pending.rows), _ROWS_PER_TRANSACTION)
            span_now = (self._span_seq, self._span_start, self._span_end, self._span_beats)
            conn = None
            try:
                conn = self._store.get()
                run_row = self._run_written_on != self._store.opened
                batch.commit(conn, self.run, pending, span_now, run_row=run_row, rows=take)
            except Exception as exc:
                if batch.is_store_failure(exc):
                    self._conn_failed(exc)
                    return
                # A row SQLite cannot take (text with a lone surrogate...): repair, or drop it.
                if not repaired and self._repair_rows(pending, exc):
                    repaired = True
                    continue
                if self._drop_bad_rows(conn, pending, exc):
                    continue
                self._conn_failed(exc, unexpected=True)
                return
            self._run_written_on = self._store.opened
            self.written_events += take
            self._span_written = (span_now[0], span_now[2], span_now[3])
            del pending.rows[:take]
            self._pending = Pending(rows=pending.rows)
            if not pending.rows:
                break
        self._backoff = self.flush_interval
        if self.failed:
            self.failed = False
            message = f"health store {self.path} writable again; buffered events written"
            log.warning(message)
            self.failure = None
            if self.on_recover:
                self.on_recover(message)

    def _repair_rows(self, pending: Pending, exc: BaseException) -> bool:
        """Store the rows SQLite refused in a readable, replaced form (batch.repair), counted.
        False when nothing needed replacing."""
        replaced = batch.repair(pending.rows)
        if replaced:
            pending.replaced += replaced
            self.replaced_events += replaced
            self._warn_rows(f"{replaced} event(s) stored with text replaced ({type(exc).__name__}: {exc})")
        return bool(replaced)

    def _drop_bad_rows(self, conn: sqlite3.Connection | None, pending: Pending, exc: BaseException) -> bool:
        """Drop the rows that fail on their own (batch.failing_rows), counted. False when no
        row is to blame: then nothing is dropped."""
        if conn is None or not pending.rows:
            return False
        bad = batch.failing_rows(conn, self.run, pending.rows)
        if not bad:
            return False
        drop = {id(row) for row in bad}
        pending.rows[:] = [row for row in pending.rows if id(row) not in drop]  # the same list
        pending.dropped += len(bad)
        self.dropped_events += len(bad)
        self._warn_rows(f"{len(bad)} event(s) the store cannot take dropped ({type(exc).__name__}: {exc})")
        return True

    def _warn_rows(self, message: str) -> None:
        if not self._warned_rows:  # once: the counts go into the store (events table)
            self._warned_rows = True
            log.warning("health store %s: %s; further ones are counted, not logged", self.path, message)

    def _conn_failed(self, exc: BaseException, unexpected: bool = False) -> None:
        self._store.failed(exc)  # dropped; checked whole next time if SQLite found it corrupt
        self._backoff = min(5.0, self._backoff * 2)
        if not self.failed:
            self.failed = True
            self.failure = f"cannot write health store {self.path}: {type(exc).__name__}: {exc}"
            # A traceback only for what no store failure explains (a locked store is none).
            trace = exc if unexpected else None
            log.error(
                "%s; buffering events in memory (up to %d)", self.failure, self.max_pending, exc_info=trace
            )
            if self.on_failure:
                self.on_failure(self.failure)
