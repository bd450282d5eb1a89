"""What every check is given: the store (opened read-only, each check its own connection),
the calendar, "now", the environment, and the deadline's scope."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from health.calendar import MarketCalendar, get_calendar
from health.calendar_record import recorded_calendar
from health.durations import fmt_duration
from store.reader import StoreReader, StoreUnavailable
from store.records import RunRecord


class Skip(Exception):
    """The check cannot run (the store it needs is unavailable): becomes its WARN/FAIL."""


@dataclass
class Scope:
    """What one check opened, so that a timed-out check can be interrupted."""

    readers: list[StoreReader] = field(default_factory=list)
    opening: bool = False


class Context:
    def __init__(
        self,
        store_path: Path,
        calendar_code: str,
        source: str | None,
        log_globs: Sequence[str],
        now: float,
        environ: Mapping[str, str],
        timeout: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store_path = store_path
        self.calendar_code = calendar_code
        self.source = source
        self.log_globs = tuple(log_globs)
        self._now = now
        self._clock = clock
        self.environ = environ
        self.timeout = timeout
        self.hostname = socket.gethostname()
        self._store_error: str | None = None
        self._store_hung = False
        self._lock = threading.Lock()
        self._cal_locks: dict[str, threading.Lock] = {}
        self._calendars: dict[str, MarketCalendar] = {}

    @property
    def now(self) -> float:
        """The time the checks judge the store's data at (file ages stay real)."""
        return self._now if self._clock is None else float(self._clock())

    # The store: each check opens its own read-only connection (so a hung check holds only
    # its own), but an unavailable or hung store is discovered once and then skipped.
    def open_reader(self, scope: Scope) -> StoreReader:
        if self._store_error is not None:
            raise Skip(self._store_error)
        if self._store_hung:
            raise Skip(f"the health store {self.store_path} did not answer in time")
        scope.opening = True
        try:
            reader = StoreReader(self.store_path, timeout=min(1.0, self.timeout), snapshot=True)
        except StoreUnavailable as exc:
            self._store_error = str(exc)
            raise Skip(str(exc)) from None
        except OSError as exc:
            self._store_error = f"cannot read health store {self.store_path}: {exc}"
            raise Skip(self._store_error) from None
        finally:
            scope.opening = False
        scope.readers.append(reader)
        return reader

    def abandon(self, scope: Scope) -> None:
        """A check timed out: stop its queries; its own thread closes its connections."""
        if scope.opening:
            self._store_hung = True
        for reader in scope.readers:
            with contextlib.suppress(Exception):
                reader.conn.interrupt()

    def latest_runs(self, reader: StoreReader) -> list[RunRecord]:
        runs = reader.latest_runs()
        if self.source is not None:
            runs = [r for r in runs if r.source == self.source]
        return runs

    def calendar(self, code: str | None = None, recorded: bool = True) -> MarketCalendar:
        """The calendar as a loop recorded it in the store (unless ``recorded`` is False), else
        get_calendar; one builder per code (a second caller waits for the first)."""
        code = code or self.calendar_code
        if not recorded:
            return get_calendar(code)
        with self._lock:
            lock = self._cal_locks.setdefault(code, threading.Lock())
        with lock:
            cal = self._calendars.get(code)
            if cal is None:
                cal = self._calendars[code] = self._recorded(code) or get_calendar(code)
            return cal

    def _recorded(self, code: str) -> MarketCalendar | None:
        try:
            with StoreReader(self.store_path, timeout=min(1.0, self.timeout), snapshot=True) as reader:
                return recorded_calendar(reader, code, now=self.now)
        except (StoreUnavailable, OSError):
            return None

    def fmt(self, ts: float | None, code: str | None = None) -> str:
        if ts is None:
            return "never"
        try:
            return self.calendar(code).fmt(ts, "%a %Y-%m-%d %H:%M:%S %Z")
        except Exception:
            return datetime.fromtimestamp(ts).astimezone().strftime("%a %Y-%m-%d %H:%M:%S %Z")

    def ago(self, ts: float | None) -> str:
        if ts is None:
            return "never"
        delta = self.now - ts
        return f"{fmt_duration(delta)} ago" if delta >= 0 else f"in {fmt_duration(delta)}"


def quietly(fn: Callable, *args: object) -> None:
    with contextlib.suppress(Exception):
        fn(*args)
