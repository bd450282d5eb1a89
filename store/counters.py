"""Cumulative counts of what a store holds, for counters that only ever grow (the watchdog's
Prometheus metrics): the store is the memory, so a counter survives a day's end and a restart
of the watchdog. Signals are counted incrementally by row id (ids only grow: nothing deletes
a signal); the gate's aggregate rows are few (one per reason and 5 minutes) and summed whole.
"""

from __future__ import annotations

import sqlite3

from store.reader import StoreReader, StoreUnavailable


def _q(reader: StoreReader, sql: str, params: tuple = ()) -> list[tuple]:
    try:
        return reader.conn.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read health store {reader.path}: {exc}") from None


def signals_after(reader: StoreReader, after_id: int) -> tuple[list[tuple[str, int, float]], int]:
    """(source, count, newest at) of the signals with an id above ``after_id``, and the
    highest id seen (``after_id`` when there are none)."""
    rows = _q(
        reader,
        "SELECT source, count(*), max(at), max(id) FROM signals WHERE id > ? GROUP BY source",
        (after_id,),
    )
    top = max((r[3] for r in rows), default=after_id)
    return [(r[0], r[1], r[2]) for r in rows], top


def gate_totals(reader: StoreReader) -> list[tuple[str, bool, str, int]]:
    """(source, allowed, reason code, decisions) over the whole store."""
    rows = _q(reader, "SELECT source, allowed, code, sum(count) FROM gate GROUP BY source, allowed, code")
    return [(r[0], bool(r[1]), r[2], int(r[3] or 0)) for r in rows]


def run_last_beats(reader: StoreReader) -> dict[str, float]:
    """The last heartbeat of every run (by the spans' primary key, run_id first)."""
    return dict(_q(reader, "SELECT run_id, max(end) FROM spans GROUP BY run_id"))
