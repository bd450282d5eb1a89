"""The clock a replay runs on, and the instant it starts from (console/screens/replay.py).

Plain Python, no Textual: the CLI parses ``--at`` with it before any terminal work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from console.args import UsageError
from health.calendar import MarketCalendar

SPEEDS = (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0)  # simulated seconds per real second
STEP = 60.0  # seconds a minute's step moves


class ReplayClock:
    """Simulated time from ``start``: paused, or running at ``speed`` simulated seconds per
    second of ``real`` (a monotonic clock, injected in tests); never beyond ``limit`` (the
    present: a replay cannot show what has not happened)."""

    def __init__(
        self,
        start: float,
        speed: float = 60.0,
        *,
        real: Callable[[], float] = time.monotonic,
        limit: Callable[[], float] = time.time,
    ) -> None:
        self.speed = speed
        self._real = real
        self._limit = limit
        self._at = start  # the simulated time when last paused or set
        self._since: float | None = None  # real time it started playing, None while paused

    def __call__(self) -> float:
        t = self._at if self._since is None else self._at + (self._real() - self._since) * self.speed
        return min(t, self._limit())

    @property
    def playing(self) -> bool:
        return self._since is not None

    def play(self) -> None:
        if self._since is None:
            self._since = self._real()

    def pause(self) -> None:
        self._at = self()
        self._since = None

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step(self, seconds: float) -> None:
        """Move by ``seconds`` (back when negative), playing on if it was playing."""
        playing = self.playing
        self._at = min(self() + seconds, self._limit())
        self._since = self._real() if playing else None

    def set_speed(self, speed: float) -> None:
        playing = self.playing
        self.pause()
        self.speed = speed
        if playing:
            self.play()

    def faster(self, up: bool) -> None:
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
        self.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, i + (1 if up else -1)))])

    def label(self) -> str:
        return f"{'▶' if self.playing else '❚❚'} ×{self.speed:g}"


def parse_at(text: str, calendar: MarketCalendar, now: float) -> float:
    """``--at``: an ISO 8601 instant (with an offset, or naive: the calendar's zone), or a date
    alone (that day's open; midnight on a day without a session). Never after ``now``."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f'--at: not a date and time: {text!r} (e.g. "2025-12-11 10:30")') from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=calendar.tz)
    t = dt.timestamp()
    if len(text.strip()) == 10:  # a date alone
        session = calendar.session(dt.date())
        if session is not None:
            t = session.open_ts
    if t > now:
        raise UsageError(f"--at: {calendar.fmt(t)} is after now: a replay shows the past")
    return t
