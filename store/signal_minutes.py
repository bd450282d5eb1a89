"""The signals summed up per loop and minute, kept by SQLite itself (schema v5).

A period's report sums a year's signals per piece of time (store/signal_sums.py). Read row by
row, its floor was one table lookup per signal (the only signal index is on ``at``): about
0.3 s for the one-year store's 1M signals. ``signal_minutes`` holds, per (source, minute), what
settles a piece without its rows: the count, the range of data ages (``at - data_ts``, as
store/signal_sums.py computes them), the range of data times, and how many ages are a
non-zero whole number of hours off (within 120 s: store/signal_sums.py's rule, computed here
with the same SQL arithmetic, so the same doubles).

Triggers keep it, not the writers: every writer (the recorder's batches, a backfill, a test's
fixture, a person with ``sqlite3``) keeps it exact in the signal's own transaction, and no
crash can leave the two disagreeing. Inserting is an upsert on the table's primary key; the
rare delete or update of a signal (nothing in production-health does either) recounts the
minutes it touched from their rows. Exact for times that are numbers, which is what every
writer stores (health/timestamps.py: finite epoch seconds).

``minute`` is the epoch second starting the signal's minute, ``floor(at / 60) * 60`` exactly:
the quotient is truncated (toward zero) after a rounded division, so it is corrected by one
whenever its minute starts after ``at`` — times before 1970, and any quotient rounded up.
"""

from __future__ import annotations

import sqlite3

TABLE = "signal_minutes"


def minute_of(at: str) -> str:
    """SQL: the start of the minute holding the time ``at`` (an SQL expression), as an integer."""
    k = f"CAST({at} / 60 AS INTEGER)"
    return f"(({k} - ({at} < {k} * 60)) * 60)"


def whole_hour_of(age: str) -> str:
    """SQL: 1 when the age ``age`` is off by a non-zero whole number of hours (within 120 s)."""
    hours = f"round(({age}) / 3600.0)"
    return f"({hours} != 0 AND abs(({age}) - {hours} * 3600) <= 120)"


# A signal whose age is not a number (both times infinite: SQLite makes inf - inf NULL; no
# writer here stores one) lies in no piece of time: it is left out, never refused.
_HAS_AGE = "at - data_ts IS NOT NULL"
_COLUMNS = "source, minute, count, min_age, max_age, min_data_ts, max_data_ts, whole_hour"
_AGG = (  # one row per (source, minute) from the signals in FROM … WHERE …
    f"SELECT source, {minute_of('at')}, count(*), min(at - data_ts), max(at - data_ts), "
    f"min(data_ts), max(data_ts), sum({whole_hour_of('at - data_ts')}) "
)


def _recount(row: str) -> str:
    """Trigger body statements: the minute of the ``row`` (OLD or NEW) counted again from its rows."""
    m = minute_of(f"{row}.at")
    return (
        f"DELETE FROM {TABLE} WHERE source = {row}.source AND minute = {m}; "
        f"INSERT INTO {TABLE} ({_COLUMNS}) {_AGG}FROM signals "
        f"WHERE source = {row}.source AND at >= {m} AND at < {m} + 60 GROUP BY 1, 2; "
    )


def create(conn: sqlite3.Connection) -> None:
    """The table, filled from the signals already stored, and its triggers: run inside the
    migration's transaction (store/schema.py), so no signal is written meanwhile."""
    conn.execute(
        f"CREATE TABLE {TABLE} (source TEXT NOT NULL, minute INTEGER NOT NULL, "
        "count INTEGER NOT NULL, min_age REAL NOT NULL, max_age REAL NOT NULL, "
        "min_data_ts REAL NOT NULL, max_data_ts REAL NOT NULL, whole_hour INTEGER NOT NULL, "
        "PRIMARY KEY (source, minute)) WITHOUT ROWID"
    )
    conn.execute(f"INSERT INTO {TABLE} ({_COLUMNS}) {_AGG}FROM signals WHERE {_HAS_AGE} GROUP BY 1, 2")
    age = "NEW.at - NEW.data_ts"  # as _HAS_AGE, of the new row
    conn.execute(
        f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON signals WHEN {age} IS NOT NULL BEGIN "
        f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (NEW.source, {minute_of('NEW.at')}, 1, "
        f"{age}, {age}, NEW.data_ts, NEW.data_ts, {whole_hour_of(age)}) "
        "ON CONFLICT (source, minute) DO UPDATE SET count = count + 1, "
        "min_age = min(min_age, excluded.min_age), max_age = max(max_age, excluded.max_age), "
        "min_data_ts = min(min_data_ts, excluded.min_data_ts), "
        "max_data_ts = max(max_data_ts, excluded.max_data_ts), "
        "whole_hour = whole_hour + excluded.whole_hour; END"
    )
    conn.execute(f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON signals BEGIN {_recount('OLD')}END")
    conn.execute(
        f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF source, at, data_ts ON signals BEGIN "
        f"{_recount('OLD')}{_recount('NEW')}END"
    )
