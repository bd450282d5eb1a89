"""Replay: the dashboard as it was at a past instant (`health-console --at "2025-12-11 10:30"`),
stepped or played forward at a chosen speed (README, "Replay a past moment").

The live dashboard already answers for any "now" from the store alone: every query of a
snapshot is bounded by it (health/live.py), so a replay is the same app on a clock the operator
drives. What only the present can tell is left out: whether a process is alive now, or a
watchdog runs now, says nothing about then, so a replay never asks (shown as unknown).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.binding import Binding, BindingType

from console.app import HealthConsole
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


class ReplayConsole(HealthConsole):
    """The dashboard on a :class:`ReplayClock`: space plays or pauses, ``.``/``,`` step a minute
    forward or back, ``>``/``<`` a quarter of an hour, ``+``/``-`` change the speed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "replay_toggle", "Play/pause", tooltip="Play the replay forward, or pause it"),
        Binding("full_stop", "replay_step(1)", "+1 min", key_display=".", tooltip="One minute forward"),
        Binding("comma", "replay_step(-1)", "-1 min", key_display=",", tooltip="One minute back"),
        Binding(
            "greater_than_sign", "replay_step(15)", "+15 min", key_display=">", tooltip="15 minutes forward"
        ),
        Binding("less_than_sign", "replay_step(-15)", "-15 min", key_display="<", tooltip="15 minutes back"),
        Binding("plus", "replay_speed(1)", "Faster", key_display="+", tooltip="Play faster (up to ×3600)"),
        Binding("minus", "replay_speed(-1)", "Slower", key_display="-", tooltip="Play slower (down to ×1)"),
    ]

    def __init__(self, store_path, *, clock: ReplayClock, **kwargs) -> None:
        kwargs.setdefault("refresh_seconds", 0.5)  # the snapshot follows the moving clock
        kwargs.setdefault("alive", lambda run: None)  # a process alive now says nothing of then
        kwargs.setdefault("watchdogs", lambda path: None)
        super().__init__(store_path, clock=clock, **kwargs)
        self.replay = clock
        self.store_watch.live_word = "replay"

    def on_mount(self) -> None:
        super().on_mount()
        self._show_replay()
        self.set_interval(0.25, self._show_replay)

    def _show_replay(self) -> None:
        """The title says when and how it plays; the panels' clock follows at once (live, it
        moves once a second, which is a minute of a replay at ×60)."""
        self.dashboard._tick()
        at = self.ctx.calendar.fmt(self.replay(), "%a %Y-%m-%d %H:%M:%S %Z")
        title = f"REPLAY {at} {self.replay.label()}"
        if title != self.title:
            self.title = title

    def _moved(self) -> None:
        self._show_replay()
        self.store_watch.refresh()

    def action_replay_toggle(self) -> None:
        self.replay.toggle()
        self._moved()

    def action_replay_step(self, minutes: int) -> None:
        self.replay.step(minutes * STEP)
        self._moved()

    def action_replay_speed(self, direction: int) -> None:
        self.replay.faster(direction > 0)
        self._moved()


def replay_clock(args, calendar: MarketCalendar) -> ReplayClock:
    """The clock ``--at`` and ``--speed`` ask for, paused at the instant."""
    return ReplayClock(parse_at(args.at, calendar, time.time()), args.speed or 60.0)


def run_replay(args) -> int:
    """``health-console --at TIME``: the calendar as the store recorded it, a bad ``--at`` said
    before the terminal is taken."""
    from console.app import _need_terminal
    from console.terminal import TerminalGuard
    from health.loader import store_calendar
    from store.paths import resolve_store_path

    store = resolve_store_path(args.store)
    calendar = store_calendar(store, args.calendar, time.time())
    replay = replay_clock(args, calendar)
    _need_terminal(UsageError)
    guard = TerminalGuard.install()
    app = ReplayConsole(store, calendar=calendar, clock=replay, source=args.source, guard=guard)
    app.run()
    return app.return_code or 0
