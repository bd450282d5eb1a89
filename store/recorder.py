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
import os
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
from store.sql import insert_rows, storable

log = logging.getLogger("production_health.store")

_RUN_INSERT = (
    "INSERT OR IGNORE INTO runs (run_id, source, pid, host, argv, version, config, started_at) "
    "VALUES (?,?,?,?,?,?,?,?)"
)
_SQLITE_HEADER = b"SQLite format 3\x00"
_START_BUSY_TIMEOUT = 1.0  # the constructor waits at most this long for a locked store
_CLOSE_CHECKPOINT_WAIT = 1.0  # close() waits at most this long for readers to let go
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
    replaced: int = 0  # rows stored in a replaced form (text SQLite could not take as is)

    def __bool__(self) -> bool:
        return bool(
            self.spans
            or self.gate
            or self.rows
            or self.stopped_at is not None
            or self.dropped
            or self.replaced
        )


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
        self._open_at_start()
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
        self._suspect: tuple[int, int] | None = None  # a main file found corrupt
        self._run_written_for: tuple[int, int] | None = None
        self.failed = False
        self.failure: str | None = None
        self.written_events = 0
        self.dropped_events = 0
        self.replaced_events = 0
        self._warned_rows = False
        self._backoff = self.flush_interval

    def _open_at_start(self) -> None:
        """Create the store, its schema and the run's row before the constructor returns. On
        the writer thread, a loop that starts on a new store and keeps its own thread busy
        starved that set-up of the GIL for seconds (sqlite_utils builds the schema in Python),
        and a SIGKILL then lost far more than the last second (docs/CONTRACT.md §2). A failure here
        (locked, read-only...) is left to the writer thread, which retries and reports it."""
        try:
            conn = self._connect(busy_timeout=_START_BUSY_TIMEOUT)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_RUN_INSERT, self.run.row())
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._run_written_for = self._identity
        except Exception as exc:
            log.debug("health store %s: not opened at start (%s); the writer retries", self.path, exc)
            self._drop_conn()

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
        self._thread.join(timeout=max(0.1, timeout / 5) + _CLOSE_CHECKPOINT_WAIT)
        self._closed = True
        if not ok:
            left = len(self._pending.rows) + len(self._queue)
            log.error("health store %s: closing with %d events not written", self.path, left)
        if not self._thread.is_alive():  # else the thread drops it when it is done with it
            self._drop_conn()
        return ok

    # -- the writer thread -----------------------------------------------------------------
    def _run_loop(self) -> None:
        while True:
            self._wake.wait(self._backoff if self.failed else self.flush_interval)
            self._wake.clear()
            closing = self._closing
            written = True
            try:
                while True:  # a burst larger than one batch is written batch after batch
                    mark, more = self._drain()
                    self._mark_seen = max(self._mark_seen, mark)
                    if self._pending or self._span_dirty():
                        written = self._write()
                    if not more or not written:
                        break
            except Exception as exc:  # never let the writer die, never call unwritten written
                written = False
                self._conn_failed(exc, unexpected=True)
            if written and self._mark_seen > self._done_marks and not self.failed:
                with self._flushed:
                    self._done_marks = self._mark_seen
                    self._flushed.notify_all()
            if closing:
                if written and not self.failed:
                    self._checkpoint_at_close()
                self._drop_conn()
                return

    def _checkpoint_at_close(self) -> None:
        """After a clean close the .db alone is a complete copy (docs/CONTRACT.md §2): move the WAL's
        pages into the main file. SQLite does that itself only when the last connection
        closes, and a console or report holding the store open read-only (it cannot
        checkpoint) is often the last, leaving a 4 KiB .db beside all the data in its -wal."""
        conn = self._conn
        if conn is None:
            return
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_CLOSE_CHECKPOINT_WAIT * 1000)}")
            busy, frames, moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:  # a reader held an old snapshot all that time: move what it allows
                busy, frames, moved = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if 0 <= moved < frames:
                log.warning(
                    "health store %s: closed with %d of %d WAL pages not yet in the main file "
                    "(a reader held the store); the next writer or reader to close moves them",
                    self.path,
                    frames - moved,
                    frames,
                )
        except sqlite3.Error as exc:
            log.warning("health store %s: checkpoint at close failed: %s", self.path, exc)

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

    def _connect(self, busy_timeout: float | None = None) -> sqlite3.Connection:
        """(Re)open the store if needed; notice a deleted, replaced or corrupt file."""
        identity = self._main_file()
        if self._conn is not None and identity == self._identity and identity is not None:
            return self._conn
        self._drop_conn()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        timeout = self.busy_timeout if busy_timeout is None else busy_timeout
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if identity is not None and identity == self._suspect:
                # Found corrupt before (closing on it may have checkpointed a valid header back
                # into it): the whole file must pass before anything is written into it again.
                found = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()[:3]]
                if found != ["ok"]:
                    raise sqlite3.DatabaseError(f"database disk image is malformed: {'; '.join(found)}")
                self._suspect = None
            migrate(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except BaseException:
            conn.close()
            raise
        self._identity = file_identity(self.path)
        # A new connection may be to a new file that reuses the old one's inode number (a
        # deleted store recreated): always (re)write the run row into it (INSERT OR IGNORE).
        self._run_written_for = None
        self._conn = conn
        return conn

    def _main_file(self) -> tuple[int, int] | None:
        """(device, inode) of the store's main file, None if there is none; raises
        sqlite3.DatabaseError if its own first bytes are not SQLite's. Read from the file, not
        through SQLite: with an old -wal beside a garbage file SQLite takes page 1 from the WAL
        and writes on, so its answer depends on which files lie beside the store."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            head = os.read(fd, len(_SQLITE_HEADER))
        finally:
            os.close(fd)
        if head and head != _SQLITE_HEADER:  # empty: a store SQLite has yet to initialise
            raise sqlite3.DatabaseError(
                f"file is not a database: {self.path} does not start with SQLite's header"
            )
        return (st.st_dev, st.st_ino)

    def _write(self) -> bool:
        """Commit what is pending, at most ``_ROWS_PER_TRANSACTION`` rows a transaction: after
        an outage the backlog goes in pieces, so a nearly full disk still takes it. True when
        everything pending is committed; False (events kept) when the store failed."""
        repaired = False
        while True:
            pending = self._pending
            rows, rest = pending.rows[:_ROWS_PER_TRANSACTION], pending.rows[_ROWS_PER_TRANSACTION:]
            pending.rows = rows
            span_now = (self._span_seq, self._span_start, self._span_end, self._span_beats)
            conn = None
            try:
                conn = self._connect()
                self._commit(conn, pending, span_now)
            except Exception as exc:
                pending.rows = rows + rest
                if _store_failure(exc):
                    self._conn_failed(exc)
                    return False
                # A row SQLite cannot take (text with a lone surrogate...): repair, or drop it.
                if not repaired and self._repair_rows(pending, exc):
                    repaired = True
                    continue
                if self._drop_bad_rows(conn, pending, exc):
                    continue
                self._conn_failed(exc, unexpected=True)
                return False
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
        return True

    def _commit(self, conn: sqlite3.Connection, pending: _Pending, span_now: tuple) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._write_batch(conn, pending, span_now)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _repair_rows(self, pending: _Pending, exc: BaseException) -> bool:
        """Replace every value SQLite cannot take by a readable form of it (a lone surrogate
        becomes the text \\udc80, an int beyond 64 bits its digits) and count the rows: one
        bad event must never hold back the others. False when nothing needed replacing."""
        replaced = 0
        rows = pending.rows
        for i, row in enumerate(rows):
            fixed = tuple(storable(v) for v in row)
            if fixed != row:
                rows[i] = fixed
                replaced += 1
        if replaced:
            pending.replaced += replaced
            self.replaced_events += replaced
            self._warn_rows(f"{replaced} event(s) stored with text replaced ({type(exc).__name__}: {exc})")
        return bool(replaced)

    def _drop_bad_rows(self, conn: sqlite3.Connection | None, pending: _Pending, exc: BaseException) -> bool:
        """Find the rows that fail on their own (each tried in a transaction rolled back) and
        drop them, counted. False when no row is to blame, or when the store cannot take even
        the run's own row: then it is not the rows, and nothing is dropped."""
        if conn is None or not pending.rows:
            return False
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_RUN_INSERT, self.run.row())
            finally:
                conn.execute("ROLLBACK")
        except Exception:
            return False
        bad = []
        for row in pending.rows:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._insert_rows(conn, [row])
                finally:
                    conn.execute("ROLLBACK")
            except Exception as row_exc:
                if _store_failure(row_exc):
                    return False
                bad.append(row)
        if not bad:
            return False
        drop = {id(row) for row in bad}
        pending.rows = [row for row in pending.rows if id(row) not in drop]
        pending.dropped += len(bad)
        self.dropped_events += len(bad)
        self._warn_rows(f"{len(bad)} event(s) the store cannot take dropped ({type(exc).__name__}: {exc})")
        return True

    def _warn_rows(self, message: str) -> None:
        if not self._warned_rows:  # once: the counts go into the store (events table)
            self._warned_rows = True
            log.warning("health store %s: %s; further ones are counted, not logged", self.path, message)

    def _conn_failed(self, exc: BaseException, unexpected: bool = False) -> None:
        if type(exc) is sqlite3.DatabaseError and self._suspect is None:
            self._suspect = self._identity  # SQLite found it corrupt: check it whole next time
        self._drop_conn()
        self._backoff = min(5.0, self._backoff * 2)
        if not self.failed:
            self.failed = True
            self.failure = f"cannot write health store {self.path}: {type(exc).__name__}: {exc}"
            if unexpected:
                log.error(
                    "%s; buffering events in memory (up to %d)", self.failure, self.max_pending, exc_info=exc
                )
            else:
                log.error("%s; buffering events in memory (up to %d)", self.failure, self.max_pending)
            if self.on_failure:
                self.on_failure(self.failure)

    def _write_batch(self, conn: sqlite3.Connection, p: _Pending, span_now: tuple) -> None:
        run = self.run
        src, rid = run.source, run.run_id
        if self._run_written_for != self._identity:
            conn.execute(_RUN_INSERT, run.row())
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
        self._insert_rows(conn, p.rows)
        counts = []
        if p.dropped:
            counts.append((src, rid, time.time(), "dropped_events", json.dumps({"count": p.dropped})))
        if p.replaced:
            counts.append((src, rid, time.time(), "replaced_events", json.dumps({"count": p.replaced})))
        insert_rows(conn, "events (source, run_id, at, kind, detail)", counts)
        if p.stopped_at is not None:
            conn.execute("UPDATE runs SET stopped_at=? WHERE run_id=?", (p.stopped_at, rid))
        if p.last_seen:
            conn.execute(
                "UPDATE runs SET last_seen=max(coalesce(last_seen, 0), ?) WHERE run_id=?",
                (p.last_seen, rid),
            )
        self._run_written_for = self._identity

    def _insert_rows(self, conn: sqlite3.Connection, rows: list[RowEvent]) -> None:
        """The rows kept one each, by their declared layouts (store/events.py)."""
        src, rid = self.run.source, self.run.run_id
        insert_rows(
            conn,
            "signals (source, run_id, at, symbol, data_ts, details)",
            [
                (src, rid, at, symbol, data_ts, details)
                for _, at, symbol, data_ts, details in _of(rows, SIGNAL)
            ],
        )
        insert_rows(
            conn,
            "events (source, run_id, at, kind, detail)",
            [(src, rid, at, kind, detail) for _, at, kind, detail in _of(rows, EVENT)],
        )
        insert_rows(
            conn,
            "alerts (source, code, severity, message, at, resolved, origin, detail)",
            [
                (src, code, severity, message, at, resolved, "monitor", detail)
                for _, at, code, severity, message, resolved, detail in _of(rows, ALERT)
            ],
        )


def _store_failure(exc: BaseException) -> bool:
    """The store failed (locked, read-only, full, missing, corrupt: keep every event, retry),
    as opposed to a row it cannot take (IntegrityError, a value it cannot bind or encode)."""
    if isinstance(
        exc, sqlite3.OperationalError | sqlite3.InternalError | sqlite3.NotSupportedError | OSError
    ):
        return True
    return type(exc) in (sqlite3.DatabaseError, sqlite3.Error)  # "file is not a database", "malformed"


def _of(rows: list[RowEvent], kind: str) -> list:
    return [e for e in rows if e[0] == kind]
