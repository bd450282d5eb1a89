"""The signals summed up per loop and bucket of time, kept by SQLite itself: per minute
(``signal_minutes``, schema v5) and per quarter hour (``signal_quarters``, schema v6).

A period's report sums a year's signals per piece of time (store/signal_sums.py). Read row by
row, its floor was one table lookup per signal (the only signal index is on ``at``): about
0.3 s for the one-year store's 1M signals. Each table holds, per (source, bucket), what settles
a piece without its rows: the count, the range of data ages (``at - data_ts``, as
store/signal_sums.py computes them), the range of data times, and how many ages are a non-zero
whole number of hours off (within 120 s: store/signal_sums.py's rule, computed here with the
same SQL arithmetic, so the same doubles). The minutes answer any piece's whole minutes; the
quarters answer a year's pieces (each day's RTH and the stretches outside it) in a fifteenth of
the rows, the minutes only their edges, and a period counts its session hours' signals from
them (health/period_pieces.py). Both tables come from one definition, :class:`Buckets`.

Triggers keep them, not the writers: every writer (the recorder's batches, a test's fixture, a
person with ``sqlite3``) keeps them exact in the signal's own transaction, and no crash can
leave them and the rows disagreeing. A writer adding many signals in one transaction (a
backfill) has the insert triggers step aside and adds the new rows' sums at its end, in that
same transaction (``summed_at_the_end``). Inserting is an upsert on the table's primary
key; the rare delete or update of a signal (nothing in production-health does either) recounts
the buckets it touched from their rows. Exact for times that are numbers, which is what every
writer stores (health/timestamps.py: finite epoch seconds).

A bucket's key is the epoch second starting it, ``floor(at / seconds) * seconds`` exactly: the
quotient is truncated (toward zero) after a rounded division, so it is corrected by one
whenever its bucket starts after ``at`` — times before 1970, and any quotient rounded up.
A quarter is whole minutes, so its sums are its minutes' sums: v6 fills ``signal_quarters``
from ``signal_minutes`` (store/schema.py), not from the rows.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Buckets:
    """One table of sums: its name, its key column, and the seconds its buckets last."""

    table: str
    key: str
    seconds: int


MINUTES = Buckets("signal_minutes", "minute", 60)
QUARTERS = Buckets("signal_quarters", "quarter", 900)
TABLE = MINUTES.table


def bucket_of(at: str, seconds: int) -> str:
    """SQL: the start of the ``seconds`` bucket holding the time ``at`` (an SQL expression),
    as an integer."""
    k = f"CAST({at} / {seconds} AS INTEGER)"
    return f"(({k} - ({at} < {k} * {seconds})) * {seconds})"


def whole_hour_of(age: str) -> str:
    """SQL: 1 when the age ``age`` is off by a non-zero whole number of hours (within 120 s)."""
    hours = f"round(({age}) / 3600.0)"
    return f"({hours} != 0 AND abs(({age}) - {hours} * 3600) <= 120)"


# A signal whose age is not a number (both times infinite: SQLite makes inf - inf NULL; no
# writer here stores one) lies in no piece of time: it is left out, never refused.
_HAS_AGE = "at - data_ts IS NOT NULL"
_SUMS = "count, min_age, max_age, min_data_ts, max_data_ts, whole_hour"


def _columns(b: Buckets) -> str:
    return f"source, {b.key}, {_SUMS}"


def _agg(b: Buckets) -> str:
    """One row per (source, bucket) from the signals in FROM … WHERE …"""
    return (
        f"SELECT source, {bucket_of('at', b.seconds)}, count(*), min(at - data_ts), max(at - data_ts), "
        f"min(data_ts), max(data_ts), sum({whole_hour_of('at - data_ts')}) "
    )


def _from_minutes(b: Buckets, table: str) -> str:
    """One row per (source, bucket of ``b``) from the per-minute sums in ``table``: a bucket of
    whole minutes holds its minutes' sums."""
    assert b.seconds % MINUTES.seconds == 0, "a bucket of whole minutes"
    return (
        f"SELECT source, {bucket_of(MINUTES.key, b.seconds)}, "
        "sum(count), min(min_age), max(max_age), min(min_data_ts), max(max_data_ts), "
        f"sum(whole_hour) FROM {table} GROUP BY 1, 2"
    )


def _recount(b: Buckets, row: str) -> str:
    """Trigger body statements: the bucket of the ``row`` (OLD or NEW) counted again from its rows."""
    m = bucket_of(f"{row}.at", b.seconds)
    return (
        f"DELETE FROM {b.table} WHERE source = {row}.source AND {b.key} = {m}; "
        f"INSERT INTO {b.table} ({_columns(b)}) {_agg(b)}FROM signals "
        f"WHERE source = {row}.source AND at >= {m} AND at < {m} + {b.seconds} GROUP BY 1, 2; "
    )


def create(conn: sqlite3.Connection, b: Buckets = MINUTES, *, from_minutes: bool = False) -> None:
    """The table, filled from the signals already stored (or, for whole minutes' buckets,
    ``from_minutes``: from ``signal_minutes``, a GROUP BY over far fewer rows), and its
    triggers: run inside the migration's transaction (store/schema.py), so no signal is written
    meanwhile."""
    conn.execute(
        f"CREATE TABLE {b.table} (source TEXT NOT NULL, {b.key} INTEGER NOT NULL, "
        "count INTEGER NOT NULL, min_age REAL NOT NULL, max_age REAL NOT NULL, "
        "min_data_ts REAL NOT NULL, max_data_ts REAL NOT NULL, whole_hour INTEGER NOT NULL, "
        f"PRIMARY KEY (source, {b.key})) WITHOUT ROWID"
    )
    if from_minutes:
        conn.execute(f"INSERT INTO {b.table} ({_columns(b)}) {_from_minutes(b, MINUTES.table)}")
    else:
        conn.execute(
            f"INSERT INTO {b.table} ({_columns(b)}) {_agg(b)}FROM signals WHERE {_HAS_AGE} GROUP BY 1, 2"
        )
    _insert_trigger(conn, b)
    conn.execute(f"CREATE TRIGGER {b.table}_delete AFTER DELETE ON signals BEGIN {_recount(b, 'OLD')}END")
    conn.execute(
        f"CREATE TRIGGER {b.table}_update AFTER UPDATE OF source, at, data_ts ON signals BEGIN "
        f"{_recount(b, 'OLD')}{_recount(b, 'NEW')}END"
    )


# Adding sums to a bucket's: what the insert trigger does for one signal, for many at once.
_ADD = (
    "count = count + excluded.count, min_age = min(min_age, excluded.min_age), "
    "max_age = max(max_age, excluded.max_age), min_data_ts = min(min_data_ts, excluded.min_data_ts), "
    "max_data_ts = max(max_data_ts, excluded.max_data_ts), whole_hour = whole_hour + excluded.whole_hour"
)


def _insert_trigger(conn: sqlite3.Connection, b: Buckets) -> None:
    age = "NEW.at - NEW.data_ts"  # as _HAS_AGE, of the new row
    conn.execute(
        f"CREATE TRIGGER {b.table}_insert AFTER INSERT ON signals WHEN {age} IS NOT NULL BEGIN "
        f"INSERT INTO {b.table} ({_columns(b)}) VALUES (NEW.source, {bucket_of('NEW.at', b.seconds)}, 1, "
        f"{age}, {age}, NEW.data_ts, NEW.data_ts, {whole_hour_of(age)}) "
        f"ON CONFLICT (source, {b.key}) DO UPDATE SET {_ADD}; END"
    )


@contextlib.contextmanager
def summed_at_the_end(conn: sqlite3.Connection) -> Iterator[None]:
    """For a writer adding many signals inside one write transaction (store/backfill.py): the
    per-signal insert triggers step aside while it inserts, and the new rows' sums are added
    to the buckets at the end, in the same transaction — one GROUP BY over the new rows
    instead of an upsert per signal (a million-line import: ~2 s less). The triggers are the
    schema's again before the block ends, whatever happens in it; a block that raises must
    roll the transaction back (its rows' sums were not added), as every writer here does."""
    first = conn.execute("SELECT coalesce(max(id), 0) FROM signals").fetchone()[0]
    for b in (MINUTES, QUARTERS):
        conn.execute(f"DROP TRIGGER {b.table}_insert")
    try:
        yield
        # The new rows' minutes once, then each table's buckets added to from them (a quarter
        # is whole minutes: its sums are its minutes' sums, as v6's migration fills it).
        new = "temp.new_signal_minutes"
        conn.execute(f"CREATE TEMP TABLE new_signal_minutes ({_columns(MINUTES)})")
        conn.execute(
            f"INSERT INTO {new} ({_columns(MINUTES)}) {_agg(MINUTES)}FROM signals "
            f"WHERE id > ? AND {_HAS_AGE} GROUP BY 1, 2",
            (first,),
        )
        conn.execute(
            f"INSERT INTO {MINUTES.table} ({_columns(MINUTES)}) SELECT {_columns(MINUTES)} FROM {new} "
            f"WHERE true ON CONFLICT (source, {MINUTES.key}) DO UPDATE SET {_ADD}"
        )
        conn.execute(
            f"INSERT INTO {QUARTERS.table} ({_columns(QUARTERS)}) {_from_minutes(QUARTERS, new)} "
            f"ON CONFLICT (source, {QUARTERS.key}) DO UPDATE SET {_ADD}"
        )
        conn.execute(f"DROP TABLE {new}")
    finally:
        for b in (MINUTES, QUARTERS):
            _insert_trigger(conn, b)
