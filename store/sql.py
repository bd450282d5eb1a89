"""SQL helpers for the writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from itertools import islice

_ROWS_PER_INSERT = 500


def insert_rows(conn: sqlite3.Connection, target: str, rows: Iterable[tuple]) -> None:
    """Multi-row INSERTs, 500 rows a statement. ``executemany`` gives up and takes back the
    GIL around every row; while the trading loop's thread is busy in Python each hand-back
    waits a whole switch interval, and commits fell seconds behind (bench/recorder.py).

    ``rows`` is consumed 500 at a time: the writer never holds a young list of a whole
    backlog, which every young-generation garbage collection would walk while holding the
    GIL the loop waits for (RELIABILITY.md, "locked 30 s")."""
    it = iter(rows)
    chunk = list(islice(it, _ROWS_PER_INSERT))
    if not chunk:
        return
    one = "(" + ",".join("?" * len(chunk[0])) + ")"
    full_sql = f"INSERT INTO {target} VALUES " + ",".join([one] * _ROWS_PER_INSERT)
    while chunk:
        sql = (
            full_sql
            if len(chunk) == _ROWS_PER_INSERT
            else f"INSERT INTO {target} VALUES " + ",".join([one] * len(chunk))
        )
        conn.execute(sql, [v for row in chunk for v in row])
        chunk = list(islice(it, _ROWS_PER_INSERT))


_INT64 = (-(2**63), 2**63 - 1)


def storable(value: object) -> object:
    """``value`` as SQLite can store it, readable: a lone surrogate becomes the text \\udc80,
    an int beyond 64 bits its digits. What the writer falls back to for a row that failed
    (the hot path never pays for the check), and the run's own row, whose host name or argv
    may carry surrogateescape'd bytes."""
    if value is None or isinstance(value, float | bytes):
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, int):
        return int(value) if _INT64[0] <= value <= _INT64[1] else str(value)
    return storable(str(value))
