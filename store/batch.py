"""One batch of the writer: what it holds until committed, the SQL that commits it, and what
becomes of a row SQLite refuses. The recorder (store/recorder.py) decides when a batch is
written, counts what was replaced or dropped, and retries when the store itself failed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from store.events import ALERT, EVENT, SIGNAL, RowEvent
from store.records import RunInfo
from store.sql import insert_rows, storable

RUN_INSERT = (
    "INSERT OR IGNORE INTO runs (run_id, source, pid, host, argv, version, config, started_at) "
    "VALUES (?,?,?,?,?,?,?,?)"
)


@dataclass
class Pending:
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


def commit_run(conn: sqlite3.Connection, run: RunInfo) -> None:
    """The run's own row alone (the recorder's constructor, before the loop's first call)."""
    commit(conn, run, Pending(), (0, 0.0, 0.0, 0), run_row=True)


def commit(
    conn: sqlite3.Connection,
    run: RunInfo,
    p: Pending,
    span_now: tuple,
    *,
    run_row: bool,
    rows: int | None = None,
) -> None:
    """Everything pending in one transaction, of its rows the first ``rows`` (all by
    default); the run's own row first when ``run_row``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _write(conn, run, p, span_now, run_row, rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _write(
    conn: sqlite3.Connection, run: RunInfo, p: Pending, span_now: tuple, run_row: bool, rows: int | None
) -> None:
    src, rid = run.source, run.run_id
    if run_row:
        conn.execute(RUN_INSERT, run.row())
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
    insert_events(conn, run, p.rows, rows)
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


def insert_events(
    conn: sqlite3.Connection, run: RunInfo, rows: Sequence[RowEvent], take: int | None = None
) -> None:
    """The first ``take`` rows (all by default) kept one each, by their declared layouts
    (store/events.py). Read through generators: nothing here copies the backlog."""
    src, rid = run.source, run.run_id
    insert_rows(
        conn,
        "signals (source, run_id, at, symbol, data_ts, details)",
        ((src, rid, e[1], e[2], e[3], e[4]) for e in _of(rows, take, SIGNAL)),
    )
    insert_rows(
        conn,
        "events (source, run_id, at, kind, detail)",
        ((src, rid, e[1], e[2], e[3]) for e in _of(rows, take, EVENT)),
    )
    insert_rows(
        conn,
        "alerts (source, code, severity, message, at, resolved, origin, detail)",
        ((src, e[2], e[3], e[4], e[1], e[5], "monitor", e[6]) for e in _of(rows, take, ALERT)),
    )


def _of(rows: Sequence[RowEvent], take: int | None, kind: str) -> Iterator:
    return (e for e in islice(rows, take) if e[0] == kind)


def is_store_failure(exc: BaseException) -> bool:
    """The store failed (locked, read-only, full, missing, corrupt: keep every event, retry),
    as opposed to a row it cannot take (IntegrityError, a value it cannot bind or encode)."""
    if isinstance(
        exc, sqlite3.OperationalError | sqlite3.InternalError | sqlite3.NotSupportedError | OSError
    ):
        return True
    return type(exc) in (sqlite3.DatabaseError, sqlite3.Error)  # "file is not a database", "malformed"


def repair(rows: list[RowEvent]) -> int:
    """Replace, in place, every value SQLite cannot take by a readable form of it (a lone
    surrogate becomes the text \\udc80, an int beyond 64 bits its digits): one bad event must
    never hold back the others. Returns how many rows changed."""
    replaced = 0
    for i, row in enumerate(rows):
        fixed = tuple(storable(v) for v in row)
        if fixed != row:
            rows[i] = fixed
            replaced += 1
    return replaced


def failing_rows(conn: sqlite3.Connection, run: RunInfo, rows: list[RowEvent]) -> list[RowEvent]:
    """The rows that fail on their own, each tried in a transaction rolled back. Empty when no
    row is to blame, or when the store cannot take even the run's own row: then it is not the
    rows, and nothing is to be dropped."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(RUN_INSERT, run.row())
        finally:
            conn.execute("ROLLBACK")
    except Exception:
        return []
    bad = []
    for row in rows:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                insert_events(conn, run, [row])
            finally:
                conn.execute("ROLLBACK")
        except Exception as exc:
            if is_store_failure(exc):
                return []
            bad.append(row)
    return bad
