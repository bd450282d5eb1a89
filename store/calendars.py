"""The recorded calendars: one recording per calendar code, written by a loop's writer thread
and read back by the reports, the console and the watchdog, so that they need not build the
calendar themselves (docs/ARCHITECTURE.md, "The recorded calendar").

Plain rows, nothing of markets: a recording is a header (code, the version of the library
that produced it, its first and last day, its time zone, and the writer's own JSON) with a
row per session (day, open, close, break start and end, two flags) and a row per closure
(day, name or NULL). What the rows mean is the domain's (health/calendar_record.py).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections import deque
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


# Rows bound and inserted in one step (one short transaction): the writer thread shares the
# GIL with the trading loop's, and commits the loop's batches between steps.
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


class CalendarWriter:
    """Writes one recording in steps, so that the writer thread can commit the loop's own
    batches between them: built and written whole, a recording held the writer 0.3-0.4 s
    under a loop busy in Python, and the loop's events waited behind it (CONTRACT.md §2: what
    was recorded more than 1 s ago is in the store).

    The rows go first, a step at a time, under a staging code of this writer's own (the
    calendar's code, a unit separator, a unique tag), invisible to readers, who ask for the
    code itself. One short transaction then publishes them: it renames the staged rows, drops
    the old recording and any staging a crashed writer left, and writes the header, so a
    reader sees the old recording or the new one, never a part."""

    def __init__(self, header: CalendarHeader, rows: RowsFactory) -> None:
        self.header = header
        self._rows = rows
        self._staging = f"{header.code}{_STAGING_MARK}{os.getpid()}.{next(_tags)}"
        self._todo: deque[tuple[str, list[tuple]]] | None = None
        self._counts = (0, 0)

    def step(self, conn: sqlite3.Connection, deadline: float) -> bool | None:
        """Write until ``time.monotonic()`` passes ``deadline`` (at least one step). None while
        unfinished; True once published, False when there was nothing to write (the store
        holds this header already, or another writer's recording won the race). A failing
        statement raises, after rolling back its own step; the next call resumes there."""
        h = self.header
        if self._todo is None:
            if read_header(conn, h.code) == h:
                return False
            sessions, closures = self._rows()
            self._counts = (len(sessions), len(closures))
            self._todo = deque(
                (target, [(self._staging, *row) for row in kind[i : i + _ROWS_PER_STEP]])
                for target, kind in ((_SESSIONS, sessions), (_CLOSURES, closures))
                for i in range(0, len(kind), _ROWS_PER_STEP)
            )
            if time.monotonic() >= deadline:
                return None
        while self._todo:
            target, chunk = self._todo[0]
            _in_transaction(conn, insert_rows, conn, target, chunk)
            self._todo.popleft()
            if time.monotonic() >= deadline and self._todo:
                return None
        return self._publish(conn)

    def _publish(self, conn: sqlite3.Connection) -> bool:
        h, staging = self.header, self._staging
        published = False

        def swap() -> None:
            nonlocal published
            if read_header(conn, h.code) == h:  # another loop recorded it meanwhile
                _drop(conn, "= ?", (staging,))
                return
            _drop(conn, "= ?", (h.code,))
            renamed = tuple(
                conn.execute(f"UPDATE {table} SET code = ? WHERE code = ?", (h.code, staging)).rowcount
                for table in _TABLES
            )
            if renamed != self._counts:
                # Part of the staging was dropped as a crashed writer's by another writer's
                # publication: its recording stands, this one is given up.
                raise _Abandoned
            _drop(conn, "BETWEEN ? AND ?", (h.code + _STAGING_MARK, h.code + _STAGING_END))
            conn.execute(
                "INSERT OR REPLACE INTO calendars (code, version, first_day, last_day, timezone, "
                "detail, recorded_at) VALUES (?,?,?,?,?,?,?)",
                (h.code, h.version, h.first_day, h.last_day, h.timezone, h.detail, time.time()),
            )
            published = True

        try:
            _in_transaction(conn, swap)
        except _Abandoned:
            _in_transaction(conn, _drop, conn, "= ?", (staging,))
        self._todo = deque()
        return published


class _Abandoned(Exception):
    pass


_STAGING_MARK = "\x1f"  # ASCII unit separator: no calendar code holds it
_STAGING_END = "\x1f\U0010ffff"
_SESSIONS = "calendar_sessions (code, day, open, close, break_start, break_end, early_close, late_open)"
_CLOSURES = "calendar_closures (code, day, name)"
_TABLES = ("calendar_sessions", "calendar_closures")
_tags = itertools.count()


def _drop(conn: sqlite3.Connection, where: str, params: tuple) -> None:
    for table in _TABLES:
        conn.execute(f"DELETE FROM {table} WHERE code {where}", params)


def _in_transaction(conn: sqlite3.Connection, work: Callable[..., None], *args: object) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        work(*args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def write_calendar(conn: sqlite3.Connection, header: CalendarHeader, rows: RowsFactory) -> bool:
    """Record ``header`` and ``rows()`` at once, unless the store holds this very header
    (False): for tools that own their connection (bench/report.py); the recorder's writer
    uses CalendarWriter's steps."""
    writer = CalendarWriter(header, rows)
    while (done := writer.step(conn, float("inf"))) is None:
        pass
    return done
