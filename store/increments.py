"""What a live reader reads at each look (health/day_tail.py): only what the store gained
since the last one.

Signals, alerts and events are append-only rows with increasing ids: a live reader asks for
the rows after the last id it saw, and never reads a row twice. Gate buckets are updated in
place (store/batch.py): the recent ones are read again, the older ones are checked by a
fingerprint. Read through the reader's own connection and its error handling (a bad store is
``StoreUnavailable``), inside its read transaction when the caller holds one
(``StoreReader.consistent``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from store.reader import StoreReader, StoreUnavailable
from store.records import AlertRecord, EventRecord, GateRecord

_ALERT = "id, source, code, severity, message, at, resolved, origin, detail"


@contextmanager
def consistent(reader: StoreReader) -> Iterator[None]:
    """Every query inside reads the same commit: one read transaction, a WAL snapshot. It takes
    no lock a writer waits on; keep it short (a checkpoint cannot pass it)."""
    conn = reader.conn
    if conn.in_transaction:
        yield
        return
    try:
        conn.execute("BEGIN")
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read health store {reader.path}: {exc}") from None
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.rollback()  # nothing was written: ends the read transaction


def schema_cookie(reader: StoreReader) -> int:
    """Changes whenever the schema does (a migration): what was read before may no longer mean
    the same."""
    return int(reader._q("PRAGMA schema_version")[0][0])


def count_signals(reader: StoreReader, start: float, end: float, source: str | None = None) -> int:
    cond, params = reader._src(source)
    row = reader._q(f"SELECT count(*) FROM signals WHERE at >= ? AND at < ?{cond}", (start, end, *params))
    return int(row[0][0])


def last_ids(reader: StoreReader) -> tuple[int, int, int]:
    """The newest id of the signals, alerts and events tables (0 when empty)."""
    row = reader._q(
        "SELECT (SELECT coalesce(max(id), 0) FROM signals), (SELECT coalesce(max(id), 0) FROM alerts), "
        "(SELECT coalesce(max(id), 0) FROM events)"
    )
    return int(row[0][0]), int(row[0][1]), int(row[0][2])


def signals_after(
    reader: StoreReader, after_id: int, upto_id: int, source: str | None = None, batch: int = 10_000
) -> Iterator[list[tuple[int, str, float, float]]]:
    """(id, source, at, data_ts) of the signals with ``after_id < id <= upto_id``, by id, in
    batches (a day of a busy loop never sits in memory at once)."""
    cond, params = reader._src(source)
    yield from _batches(
        reader,
        f"SELECT id, source, at, data_ts FROM signals WHERE id > ? AND id <= ?{cond} ORDER BY id",
        (after_id, upto_id, *params),
        batch,
    )


def signal_times_upto(
    reader: StoreReader, start: float, end: float, source: str, upto_id: int, batch: int = 10_000
) -> Iterator[list[tuple[float, float]]]:
    """(at, data_ts) of one loop's signals in [start, end) with ``id <= upto_id``, in batches."""
    yield from _batches(
        reader,
        "SELECT at, data_ts FROM signals WHERE at >= ? AND at < ? AND source = ? AND id <= ?",
        (start, end, source, upto_id),
        batch,
    )


def alerts_after(
    reader: StoreReader, after_id: int, upto_id: int, start: float, end: float
) -> list[AlertRecord]:
    """Every loop's alerts with ``after_id < id <= upto_id`` and ``start <= at < end``."""
    rows = reader._q(
        f"SELECT {_ALERT} FROM alerts WHERE id > ? AND id <= ? AND at >= ? AND at < ? ORDER BY id",
        (after_id, upto_id, start, end),
    )
    return [AlertRecord(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]) for r in rows]


def events_after(
    reader: StoreReader, after_id: int, upto_id: int, start: float, end: float
) -> list[EventRecord]:
    """Every loop's events with ``after_id < id <= upto_id`` and ``start <= at < end``."""
    rows = reader._q(
        "SELECT id, source, run_id, at, kind, detail FROM events "
        "WHERE id > ? AND id <= ? AND at >= ? AND at < ? ORDER BY id",
        (after_id, upto_id, start, end),
    )
    return [EventRecord(*r) for r in rows]


def gate_since(reader: StoreReader, bucket: float) -> list[GateRecord]:
    """Every loop's gate buckets from ``bucket`` on, in ``StoreReader.gate``'s order. Buckets
    are updated in place (store/batch.py), so a live reader re-reads the recent ones."""
    rows = reader._q(
        "SELECT source, bucket, code, allowed, count, min_age, max_age, sum_age, first_at, "
        "last_at, last_reason, last_data_ts FROM gate WHERE bucket >= ? ORDER BY bucket, source, code",
        (bucket,),
    )
    return [GateRecord(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows]


def gate_fingerprint(reader: StoreReader, lo: float, hi: float) -> tuple[int, int]:
    """(buckets, decisions) with ``lo <= bucket < hi``. A bucket is only ever added, or
    updated by adding decisions to its count (store/batch.py), so while this pair stays the
    same, no bucket in the range changed."""
    row = reader._q("SELECT count(*), total(count) FROM gate WHERE bucket >= ? AND bucket < ?", (lo, hi))
    return int(row[0][0]), int(row[0][1])


def _batches(reader: StoreReader, sql: str, params: tuple, batch: int) -> Iterator[list[tuple]]:
    try:
        cursor = reader.conn.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield rows
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read health store {reader.path}: {exc}") from None
