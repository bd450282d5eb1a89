"""The console's first look at the store, taken while Textual is still being imported.

Importing Textual is most of the console's start; the calendar and the first snapshot need
none of it. So ``health-console`` starts this thread before the import (console/cli.py) and
the app paints its first screen with what it found (waiting for it a moment at most: a first
screen without data costs a second full render when the data comes); the store watch
(console/store_watch.py) takes over from there with its own connection. Read-only like every
reader here (docs/CONTRACT.md §5); never raises: a store it cannot read is left to the watch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from health.calendar import MarketCalendar
from health.calendar_record import calendar_for
from health.live import LiveSnapshot, take_snapshot
from health.loader import recorded_code
from store.reader import StoreReader


class FirstLook:
    """The calendar for the store (as its loop recorded it) and a first snapshot, from a thread.
    Everything it imports is imported before the thread starts: two threads importing the same
    modules at once can see each other's half-initialised modules."""

    def __init__(
        self, store: Path, calendar_code: str | None, clock: Callable[[], float], source: str | None
    ) -> None:
        self.store = store
        self.calendar_code = calendar_code
        self.clock = clock
        self.source = source
        self.calendar: MarketCalendar | None = None
        self.snapshot: LiveSnapshot | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, name="console-first-look", daemon=True).start()

    def _run(self) -> None:
        try:
            if not self.store.exists():
                return
            with StoreReader(self.store) as reader:
                code = self.calendar_code or recorded_code(reader) or "XNYS"
                now = float(self.clock())
                self.calendar = calendar_for(reader, code, now=now)
                self.snapshot = take_snapshot(reader, self.calendar, now, self.source)
        except Exception:  # the store watch says what is wrong, in its own words
            self.snapshot = None
        finally:
            self._done.set()

    def wait(self, timeout: float) -> bool:
        """Done (found something or not) within ``timeout`` seconds?"""
        return self._done.wait(timeout)
