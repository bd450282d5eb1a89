"""The recorder of a monitor that keeps nothing (``MonitorConfig(store_path=":memory:")``): the
same calls as store.recorder.Recorder, none of which writes anywhere.

A backtest that only wants the gate's answers, or a test of the loop's own logic, pays for no
file, no thread and no SQLite; the monitor still knows its last heartbeat (the hang watch of a
non-backtest run reads it) and the newest signal and gate decision (its status line).
"""

from __future__ import annotations

from store.calendars import CalendarHeader, RowsFactory
from store.events import GATE, SIGNAL, Event
from store.records import RunInfo


class NullRecorder:
    failed = False
    failure: str | None = None
    written_events = 0
    dropped_events = 0
    replaced_events = 0

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self._last_beat = float("-inf")
        self.latest: dict[str, Event] = {}

    def put(self, event: Event) -> None:
        if event[0] in (GATE, SIGNAL):
            self.latest[event[0]] = event

    def start(self) -> None:
        """Nothing to start: as Recorder.start."""

    def beat(self, t: float) -> None:
        if t > self._last_beat:
            self._last_beat = t

    @property
    def last_beat(self) -> float:
        return self._last_beat

    def mark_stopped(self, t: float) -> None:
        pass

    def record_calendar(self, header: CalendarHeader, rows: RowsFactory) -> None:
        pass

    def flush(self, timeout: float) -> bool:
        return True

    def close(self, timeout: float = 5.0) -> bool:
        return True

    def reset_after_fork(self, run: RunInfo) -> None:
        self.run = run
