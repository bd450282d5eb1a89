"""The recorder's one-off item: the loop's calendar (store/calendars.py), written by the
writer thread in short steps between the loop's batches (store/recorder.py)."""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import time

from store import batch
from store.calendars import CalendarHeader, CalendarWriter, RowsFactory

log = logging.getLogger("production_health.store")

_CALENDAR_BUSY_MS = 100  # how long a step of the calendar's write waits for another writer's lock
_CALENDAR_STEP_S = 0.02  # the calendar's writing per writer cycle, between the loop's batches


class CalendarRecording:
    """``Recorder``'s calendar: the recorder gives ``path``, ``busy_timeout`` and ``_store``
    (its writer connection), and calls ``_write_calendar`` after each committed batch."""

    _calendar_job: CalendarWriter | None = None

    def record_calendar(self, header: CalendarHeader, rows: RowsFactory) -> None:
        """Have the writer record a calendar once, in steps of about 20 ms after each batch of
        the loop's events is committed and its flushes answered, so it never holds them back
        (store/calendars.py); at close, what is left at once. Skipped when the store holds
        this header already. ``rows`` is called once, on the writer thread. A step waits for
        another writer's lock only briefly and is tried again after the next batch; a recording
        that fails otherwise is logged and given up (readers then build the calendar)."""
        self._calendar_job = CalendarWriter(header, functools.cache(rows))

    def _write_calendar(self, closing: bool) -> None:
        job = self._calendar_job
        conn = None
        try:
            conn = self._store.get()
            conn.execute(f"PRAGMA busy_timeout = {_CALENDAR_BUSY_MS}")
            deadline = float("inf") if closing else time.monotonic() + _CALENDAR_STEP_S
            if job.step(conn, deadline) is None:
                return  # more after the next batch
        except Exception as exc:
            if batch.is_store_failure(exc):
                return  # locked by another writer, or failing: tried again after the next batch
            log.warning(
                "health store %s: calendar %s not recorded: %s: %s",
                self.path,
                job.header.code,
                type(exc).__name__,
                exc,
            )
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self._calendar_job = None
