"""The background writer: the caller's thread never touches the disk.

The trading loop's calls only append a tuple to a deque (or, for heartbeats, update a few
attributes of the current uptime span). A daemon thread drains the deque at least every
``flush_interval`` seconds, aggregates, and commits one transaction per batch. When the store
cannot be written (locked, missing directory, read-only, disk full, deleted, corrupt) the
events wait in memory, bounded, and are written when the store recovers.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from store.events import ALERT, EVENT, GATE, MARK, SIGNAL, SPAN, STOP, Event, RowEvent
from store.paths import file_identity
from store.records import RunInfo
from store.schema import migrate
from store.sql import insert_rows

log = logging.getLogger("production_health.store")

_DRAIN_YIELD_EVERY = 256  # items processed between voluntary GIL releases
_ROWS_PER_TRANSACTION = 20_000
_ROW_KINDS = frozenset({SIGNAL, EVENT, ALERT})  # kept one row each; the rest is aggregated


@dataclass
class _Pending:
    """What the writer has taken from the queue and not yet committed."""

    spans: dict[int, list[float]] = field(default_factory=dict)  # seq -> [start, end, beats]
    gate: dict[tuple[int, str], list] = field(default_factory=dict)
    rows: list[RowEvent] = field(default_factory=list)
    stopped_at: float | None = None
    last_seen: float = 0.0
    dropped: int = 0

    def __bool__(self) -> bool:
        return bool(self.spans or self.gate or self.rows or self.stopped_at is not None or self.dropped)


class Recorder:
    """Queue in front, one writer thread behind, one SQLite connection of its own."""

    def __init__(
        self,
        path: Path,
        run: RunInfo,
        *,
        flush_interval: float = 0.25,
        max_pending: int = 100_000,
        busy_timeout: float = 5.0,
        gate_bucket: Callable[[str], int] = lambda code: 300,
        on_failure: Callable[[str], None] | None = None,
        on_recover: Callable[[str], None] | None = None,
    ) -> None:
        """``gate_bucket(code)``: how many seconds of gate decisions with that reason code
        share one aggregate row (the domain's rule; the store knows no reason code)."""
        self.path = Path(path)
        self.gate_bucket = gate_bucket
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.busy_timeout = busy_timeout
        self.on_failure = on_failure
        self.on_recover = on_recover
        self._init_state(run)
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
        self._pending = _Pending()
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._run_written_for: tuple[int, int] | None = None
        self.failed = False
        self.failure: str | None = None
        self.written_events = 0
        self.dropped_events = 0
        self._backoff = self.flush_interval

    def _start_thread(self) -> None:
        self._thread = threading.Thread(
            target=self._run_loop, name=f"health-recorder-{self.run.source}", daemon=True
        )
        self._thread.start()

    def reset_after_fork(self, run: RunInfo) -> None:
        """In a forked child: forget the parent's buffer (the parent writes it), its
        connection and its thread; start afresh as a new run."""
        self._conn = None  # never use a connection across fork; let it leak
        self._init_state(run)
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

    def mark_stopped(self, t: float) -> None:
        self._queue.append((STOP, t))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything put so far is committed; False if the store is failing."""
        if self._closed:
            return not self._pending and not self._queue
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
        self._thread.join(timeout=max(0.1, timeout / 5))
        self._closed = True
        if not ok:
            left = len(self._pending.rows) + len(self._queue)
            log.error("health store %s: closing with %d events not written", self.path, left)
        self._drop_conn()
        return ok

    # -- the writer thread -----------------------------------------------------------------
    def _run_loop(self) -> None:
        while True:
            self._wake.wait(self._backoff if self.failed else self.flush_interval)
            self._wake.clear()
            closing = self._closing
            try:
                while True:  # a burst larger than one batch is written batch after batch
                    mark, more = self._drain()
                    self._mark_seen = max(self._mark_seen, mark)
                    if self._pending or self._span_dirty():
                        self._write()
                    if not more or self.failed:
                        break
            except Exception:  # never let the writer die: log and keep the events
                log.exception("health store writer: unexpected error")
            if self._mark_seen > self._done_marks and not self.failed:
                with self._flushed:
                    self._done_marks = self._mark_seen
                    self._flushed.notify_all()
            if closing:
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
        mark = 0
        n = 0
        while q:
            ev = q.popleft()
            kind = ev[0]
            if kind == GATE:
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

    def _drop_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection:
        """(Re)open the store if needed; notice a deleted or replaced file."""
        identity = file_identity(self.path)
        if self._conn is not None and identity == self._identity and identity is not None:
            return self._conn
        self._drop_conn()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._identity = file_identity(self.path)
        # A new connection may be to a new file that reuses the old one's inode number (a
        # deleted store recreated): always (re)write the run row into it (INSERT OR IGNORE).
        self._run_written_for = None
        self._conn = conn
        return conn

    def _write(self) -> None:
        """Commit what is pending, at most ``_ROWS_PER_TRANSACTION`` rows a transaction: after
        an outage the backlog goes in pieces, so a nearly full disk still takes it."""
        while True:
            pending = self._pending
            rows, rest = pending.rows[:_ROWS_PER_TRANSACTION], pending.rows[_ROWS_PER_TRANSACTION:]
            pending.rows = rows
            span_now = (self._span_seq, self._span_start, self._span_end, self._span_beats)
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._write_batch(conn, pending, span_now)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                pending.rows = rows + rest
                self._conn_failed(exc)
                return
            self.written_events += len(rows)
            self._span_written = (span_now[0], span_now[2], span_now[3])
            self._pending = _Pending(rows=rest)
            if not rest:
                break
        self._backoff = self.flush_interval
        if self.failed:
            self.failed = False
            message = f"health store {self.path} writable again; buffered events written"
            log.warning(message)
            self.failure = None
            if self.on_recover:
                self.on_recover(message)

    def _conn_failed(self, exc: BaseException) -> None:
        self._drop_conn()
        self._backoff = min(5.0, self._backoff * 2)
        if not self.failed:
            self.failed = True
            self.failure = f"cannot write health store {self.path}: {exc}"
            log.error("%s; buffering events in memory (up to %d)", self.failure, self.max_pending)
            if self.on_failure:
                self.on_failure(self.failure)

    def _write_batch(self, conn: sqlite3.Connection, p: _Pending, span_now: tuple) -> None:
        run = self.run
        src, rid = run.source, run.run_id
        if self._run_written_for != self._identity:
            conn.execute(
                "INSERT OR IGNORE INTO runs (run_id, source, pid, host, argv, version, config, "
                "started_at) VALUES (?,?,?,?,?,?,?,?)",
                run.row(),
            )
        spans = dict(p.spans)
        seq, start, end, beats = span_now
        if beats:
            spans[seq] = [start, end, beats]
        if spans:
            conn.executemany(
                "INSERT INTO spans (run_id, seq, source, start, end, beats) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(run_id, seq) DO UPDATE SET end=excluded.end, beats=excluded.beats",
                [(rid, s, src, v[0], v[1], v[2]) for s, v in spans.items()],
            )
            p.last_seen = max(p.last_seen, max(v[1] for v in spans.values()))
        if p.gate:
            conn.executemany(
                "INSERT INTO gate (source, bucket, code, allowed, count, min_age, max_age, sum_age,"
                " first_at, last_at, last_reason, last_data_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(source, bucket, code) DO UPDATE SET count=count+excluded.count, "
                "min_age=min(min_age, excluded.min_age), max_age=max(max_age, excluded.max_age), "
                "sum_age=sum_age+excluded.sum_age, first_at=min(first_at, excluded.first_at), "
                "last_reason=CASE WHEN excluded.last_at>=last_at THEN excluded.last_reason "
                "ELSE last_reason END, last_data_ts=CASE WHEN excluded.last_at>=last_at "
                "THEN excluded.last_data_ts ELSE last_data_ts END, "
                "last_at=max(last_at, excluded.last_at)",
                [(src, k[0], k[1], *v) for k, v in p.gate.items()],
            )
        insert_rows(
            conn,
            "signals (source, run_id, at, symbol, data_ts, details)",
            [
                (src, rid, at, symbol, data_ts, details)
                for _, at, symbol, data_ts, details in _of(p.rows, SIGNAL)
            ],
        )
        events = [(src, rid, at, kind, detail) for _, at, kind, detail in _of(p.rows, EVENT)]
        if p.dropped:
            events.append((src, rid, time.time(), "dropped_events", json.dumps({"count": p.dropped})))
        insert_rows(conn, "events (source, run_id, at, kind, detail)", events)
        insert_rows(
            conn,
            "alerts (source, code, severity, message, at, resolved, origin, detail)",
            [
                (src, code, severity, message, at, resolved, "monitor", detail)
                for _, at, code, severity, message, resolved, detail in _of(p.rows, ALERT)
            ],
        )
        if p.stopped_at is not None:
            conn.execute("UPDATE runs SET stopped_at=? WHERE run_id=?", (p.stopped_at, rid))
        if p.last_seen:
            conn.execute(
                "UPDATE runs SET last_seen=max(coalesce(last_seen, 0), ?) WHERE run_id=?",
                (p.last_seen, rid),
            )
        self._run_written_for = self._identity


def _of(rows: list[RowEvent], kind: str) -> list:
    return [e for e in rows if e[0] == kind]
