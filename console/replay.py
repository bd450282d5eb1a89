"""`health-console --at TIME`: the console opened on a replay of that instant
(console/screens/replay.py); esc goes to the live dashboard beneath it."""

from __future__ import annotations

import time

from console.app import HealthConsole
from console.args import UsageError
from console.replay_clock import ReplayClock, parse_at
from console.screens.replay import ReplayScreen
from health.calendar import MarketCalendar


class ReplayConsole(HealthConsole):
    """The console with a replay pushed over its dashboard from the start."""

    def __init__(self, store_path, *, replay: ReplayClock, replay_poll: float = 0.25, **kwargs) -> None:
        super().__init__(store_path, **kwargs)
        self.replay_screen = ReplayScreen(self.ctx, replay, poll_interval=replay_poll)

    def on_mount(self) -> None:
        super().on_mount()
        self.push_screen(self.replay_screen)


def replay_clock(args, calendar: MarketCalendar) -> ReplayClock:
    """The clock ``--at`` and ``--speed`` ask for, paused at the instant."""
    return ReplayClock(parse_at(args.at, calendar, time.time()), args.speed or 60.0)


def run_replay(args) -> int:
    """``health-console --at TIME``: the calendar as the store recorded it, a bad ``--at`` said
    before the terminal is taken."""
    from console.terminal import TerminalGuard, need_terminal
    from health.loader import store_calendar
    from store.paths import resolve_store_path

    store = resolve_store_path(args.store)
    calendar = store_calendar(store, args.calendar, time.time())
    replay = replay_clock(args, calendar)
    need_terminal(UsageError)
    guard = TerminalGuard.install()
    app = ReplayConsole(store, calendar=calendar, replay=replay, source=args.source, guard=guard)
    app.run()
    return app.return_code or 0
