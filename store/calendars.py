"""The recorded calendars: one recording per calendar code, written by a loop's writer thread
and read back by the reports, the console and the watchdog, so that they need not build the
calendar themselves (docs/ARCHITECTURE.md, "The recorded calendar").

Plain rows, nothing of markets: a recording is a header (code, the version of the library
that produced it, its first and last day, its time zone, and the writer's own JSON) with a
row per session (day, open, close, break start and end, two flags) and a row per closure
(day, name or NULL). What the rows mean is the domain's (health/calendar_record.py).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from store.sql import insert_rows

# (day, open, close, break_start, break_end, early_close, late_open); a missing break is None.
SessionRow = tuple[str, float, float, float | None, float | None, int, int]
# (day, name); a closure without a name has None.
ClosureRow = tuple[str, str | None]
# Builds a recording's rows when it is written: (sessions, closures).
RowsFactory = Callable[[], tuple[Sequence[SessionRow], Sequence[ClosureRow]]]


@dataclass(frozen=True, slots=True)
class CalendarHeader:
    """What identifies a recording: equal headers mean equal rows."""

    code: str
    version: str  # of the library that produced the rows
    first_day: str  # ISO dates, inclusive
    last_day: str
    timezone: str  # IANA name
    detail: str  # the writer's JSON: whatever else the domain needs to answer like the original


@dataclass(frozen=True, slots=True)
class CalendarRows:
    header: CalendarHeader
    sessions: Sequence[SessionRow]
    closures: Sequence[ClosureRow]


# Rows bound and inserted between two releases of the GIL: the writer thread shares it with
# the trading loop's, which must never wait a whole switch interval (5 ms) for a recording.
_ROWS_PER_STEP = 500

_HEADER = "SELECT code, version, first_day, last_day, timezone, detail FROM calendars WHERE code = ?"


def read_header(conn: sqlite3.Connection, code: str) -> CalendarHeader | None:
    row = conn.execute(_HEADER, (code,)).fetchone()
    return None if row is None else CalendarHeader(*row)


def read_rows(conn: sqlite3.Connection, header: CalendarHeader) -> CalendarRows | None:
    """The sessions and closures of ``header``'s recording, read in one transaction so that
    they are its rows; None if the recording was replaced since the header was read."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        if read_header(conn, header.code) != header:
            return None
        sessions = conn.execute(
            "SELECT day, open, close, break_start, break_end, early_close, late_open "
            "FROM calendar_sessions WHERE code = ? ORDER BY day",
            (header.code,),
        ).fetchall()
        closures = conn.execute(
            "SELECT day, name FROM calendar_closures WHERE code = ? ORDER BY day", (header.code,)
        ).fetchall()
    finally:
        if own:
            conn.execute("COMMIT")
    return CalendarRows(header, sessions, closures)


def write_calendar(conn: sqlite3.Connection, header: CalendarHeader, rows: RowsFactory) -> bool:
    """Replace the recording of ``header.code`` by ``header`` and ``rows()`` in one transaction,
    unless the store already holds this very header: then nothing is built or written (False).
    The rows are built only when they are written, by the caller's thread (the writer's)."""
    if read_header(conn, header.code) == header:
        return False
    sessions, closures = rows()
    h = header
    conn.execute("BEGIN IMMEDIATE")
    try:
        if read_header(conn, h.code) == h:  # another loop recorded it meanwhile
            conn.execute("ROLLBACK")
            return False
        conn.execute("DELETE FROM calendar_sessions WHERE code = ?", (h.code,))
        conn.execute("DELETE FROM calendar_closures WHERE code = ?", (h.code,))
        conn.execute(
            "INSERT OR REPLACE INTO calendars (code, version, first_day, last_day, timezone, detail, "
            "recorded_at) VALUES (?,?,?,?,?,?,?)",
            (h.code, h.version, h.first_day, h.last_day, h.timezone, h.detail, time.time()),
        )
        for target, rows_of_kind in (
            (
                "calendar_sessions (code, day, open, close, break_start, break_end, early_close, late_open)",
                sessions,
            ),
            ("calendar_closures (code, day, name)", closures),
        ):
            for i in range(0, len(rows_of_kind), _ROWS_PER_STEP):
                insert_rows(conn, target, [(h.code, *row) for row in rows_of_kind[i : i + _ROWS_PER_STEP]])
                time.sleep(0)  # the GIL to the loop's thread between steps (store/recorder.py)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
