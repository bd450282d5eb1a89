"""Data acquisition for the live dashboard, kept apart from the widgets.

One thread polls the store the cheapest way SQLite allows: ``PRAGMA data_version`` (changes
only when another connection commits; answered from memory) and the file's (device, inode)
(changes when the file is deleted or replaced). Only when one of them moves, or when the
snapshot has aged ``refresh_seconds`` (RTH coverage "so far" changes with time alone), does
it take a new :class:`~health.live.LiveSnapshot` — still on this thread, so the UI thread
never touches SQLite. Results travel as Textual messages (posting is thread-safe).

Safety (docs/CONTRACT.md §5): the store is opened only through :class:`store.reader.StoreReader`
(``mode=ro``): never created, never written, no write lock ever taken. A store that does not
exist yet is waited for, politely and without creating anything.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.message import Message

from health.calendar import MarketCalendar
from health.live import LiveSnapshot, take_snapshot
from health.process import process_alive, watchdog_pids
from store.paths import file_identity
from store.reader import SchemaTooNew, StoreReader, StoreUnavailable

#: States of the watch, for the status line: what the operator needs to know first.
STARTING = "starting"
WAITING = "waiting"  # no file at the path yet
LIVE = "live"
UNAVAILABLE = "unavailable"  # exists but cannot be read as a store (yet)
SCHEMA_TOO_NEW = "schema_too_new"
REOPENING = "reopening"  # the file was deleted or replaced


@dataclass(frozen=True)
class StoreState:
    """Where the watch stands; ``text`` is one human line (paths shown by their label)."""

    kind: str
    text: str


class SnapshotReady(Message):
    """A new live snapshot of the store (posted from the watch thread). ``key``: which store,
    when the console watches several (the index of its ``--store``)."""

    def __init__(self, snapshot: LiveSnapshot, key: int = 0) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.key = key


class WatchdogSeen(Message):
    """Whether a watchdog (``health-console --watch``) runs for this store on this host."""

    def __init__(self, running: bool | None, key: int = 0) -> None:
        super().__init__()
        self.running = running
        self.key = key


def watchdog_running(path: Path) -> bool | None:
    """A ``health-console --watch`` process for this store here? None when it cannot be told."""
    try:
        ours, _ = watchdog_pids(path)
    except Exception:
        return None
    return bool(ours)


class StoreStateChanged(Message):
    """The watch changed state: waiting, live, schema too new, reopening..."""

    def __init__(self, state: StoreState, key: int = 0) -> None:
        super().__init__()
        self.state = state
        self.key = key


class StoreWatch:
    """Polls one store and posts :class:`SnapshotReady` / :class:`StoreStateChanged`.

    Run :meth:`run` in a thread; :meth:`stop` (or the ``should_stop`` callable) ends it within
    one poll interval. :meth:`refresh` asks for a snapshot at the next poll.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        calendar: MarketCalendar,
        clock: Callable[[], float],
        *,
        source: str | None = None,
        label: str | None = None,
        interval: float = 0.25,
        refresh_seconds: float = 5.0,
        alive: Callable = process_alive,
        watchdogs: Callable[[Path], bool | None] = watchdog_running,
        watchdog_every: float = 30.0,
        key: int = 0,
    ) -> None:
        """``watchdogs(path)`` is asked every ``watchdog_every`` seconds (a process scan: rare);
        ``key`` goes with every message, to tell several stores' watches apart."""
        self.key = key
        self.path = Path(path)
        self.watchdogs = watchdogs
        self.watchdog_every = watchdog_every
        self.calendar = calendar
        self.clock = clock
        self.source = source
        self.label = label or str(self.path)
        self.interval = interval
        self.refresh_seconds = refresh_seconds
        self.alive = alive
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._force = False
        self.state = StoreState(STARTING, f"opening {self.label}…")
        self.live_word = "live"  # "replay" under console/replay.py: the status line says which

    # -- control (any thread) ----------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def refresh(self) -> None:
        """Take a new snapshot now, changed or not (the operator pressed "refresh")."""
        self._force = True
        self._wake.set()

    # -- the loop (its own thread) --------------------------------------------------------
    def run(self, post: Callable[[Message], object], should_stop: Callable[[], bool] = lambda: False) -> None:
        reader: StoreReader | None = None
        ident: tuple[int, int] | None = None
        version: int | None = None
        taken_at = 0.0
        watchdog_at = float("-inf")
        watchdog: object = ...  # nothing posted yet

        def set_state(kind: str, text: str) -> None:
            state = StoreState(kind, text)
            if state != self.state:
                self.state = state
                post(StoreStateChanged(state, self.key))

        try:
            while not (self._stop.is_set() or should_stop()):
                # Not before the first snapshot (or word on the store): the process scan and
                # its psutil import would hold back the first full screen (bench/startup.py).
                if self.state.kind != STARTING and time.monotonic() - watchdog_at >= self.watchdog_every:
                    watchdog_at = time.monotonic()
                    running = self.watchdogs(self.path)
                    if running != watchdog:
                        watchdog = running
                        post(WatchdogSeen(running, self.key))
                if reader is None:
                    reader, wait = self._open(set_state)
                    if reader is None:
                        self._sleep(wait)
                        continue
                    ident = file_identity(self.path)
                    version = None
                now_ident = file_identity(self.path)
                if now_ident != ident:
                    # Deleted or replaced (e.g. restored from a backup): the open handle would
                    # keep showing the old file forever. Start again from the path.
                    reader.close()
                    reader = None
                    set_state(REOPENING, f"store {self.label} was deleted or replaced: reopening…")
                    continue
                try:
                    current = reader.data_version()
                except (StoreUnavailable, sqlite3.Error) as exc:
                    reader.close()
                    reader = None
                    set_state(UNAVAILABLE, self._relabel(str(exc)))
                    self._sleep(1.0)
                    continue
                due = time.monotonic() - taken_at >= self.refresh_seconds
                if current != version or due or self._force:
                    self._force = False
                    version = current
                    taken_at = time.monotonic()
                    try:
                        snapshot = take_snapshot(
                            reader, self.calendar, float(self.clock()), self.source, alive=self.alive
                        )
                    except StoreUnavailable as exc:
                        reader.close()
                        reader = None
                        set_state(UNAVAILABLE, self._relabel(str(exc)))
                        self._sleep(1.0)
                        continue
                    except Exception as exc:  # a bug must not kill the watch silently
                        set_state(UNAVAILABLE, f"cannot analyse {self.label}: {type(exc).__name__}: {exc}")
                    else:
                        set_state(LIVE, f"{self.live_word}: {self.label}")
                        post(SnapshotReady(snapshot, self.key))
                self._sleep(self.interval)
        finally:
            if reader is not None:
                reader.close()

    def _open(self, set_state: Callable[[str, str], None]) -> tuple[StoreReader | None, float]:
        """Open read-only, or say why not and how long to wait before trying again."""
        if not self.path.exists():
            set_state(
                WAITING,
                f"waiting for store at {self.label} (it does not exist yet; the console never creates it)",
            )
            return None, max(self.interval, 0.5)
        try:
            return StoreReader(self.path), 0.0
        except SchemaTooNew as exc:
            set_state(SCHEMA_TOO_NEW, f"schema too new: {self._relabel(str(exc))}")
            return None, 2.0
        except StoreUnavailable as exc:
            # Exists but is not a store yet: the loop may be creating it right now.
            set_state(UNAVAILABLE, self._relabel(str(exc)))
            return None, max(self.interval, 0.5)

    def _relabel(self, text: str) -> str:
        """Errors name the store by its label (a temporary demo path means nothing)."""
        return text.replace(str(self.path.resolve()), self.label).replace(str(self.path), self.label)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()
