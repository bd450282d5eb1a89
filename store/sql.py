"""SQL helpers for the writer."""

from __future__ import annotations

import sqlite3

_ROWS_PER_INSERT = 500


def insert_rows(conn: sqlite3.Connection, target: str, rows: list[tuple]) -> None:
    """Multi-row INSERTs, 500 rows a statement. ``executemany`` gives up and takes back the
    GIL around every row; while the trading loop's thread is busy in Python each hand-back
    waits a whole switch interval, and commits fell seconds behind (bench/recorder.py)."""
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ",".join("?" * width) + ")"
    full_sql = None
    for i in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[i : i + _ROWS_PER_INSERT]
        if len(chunk) == _ROWS_PER_INSERT:
            full_sql = full_sql or f"INSERT INTO {target} VALUES " + ",".join([one] * _ROWS_PER_INSERT)
            sql = full_sql
        else:
            sql = f"INSERT INTO {target} VALUES " + ",".join([one] * len(chunk))
        conn.execute(sql, [v for row in chunk for v in row])
