"""The operations console: a Textual app over a health store it only ever reads.

- The store is watched by :class:`console.store_watch.StoreWatch` in a thread worker
  (read-only, change detection by ``PRAGMA data_version``); snapshots come back as messages
  and go down to the dashboard as attributes. The UI thread never runs SQLite.
- "Now" is an injected clock everywhere (the demo's accelerated clock, a test's pinned
  one); the default is the system clock.
- Several stores (a desk, ``--store`` repeated): one watch per store, each in its own
  worker, their messages carrying the store's index (console/desk.py); with one store the
  console is exactly the one-store console.
- Over SSH it must never outlive its terminal: :mod:`console.terminal` (signals, hang-up
  watch, the bound on shutdown) and :mod:`console.driver` (Textual's driver, safe on a
  terminal that goes away) do that for ``run_app``; the app only tells the guard it runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import get_current_worker

from console.desk import Desk, stores_and_calendars
from console.driver import guarded_driver
from console.first_snapshot import FirstLook
from console.screens.ack import AckRequest
from console.screens.browser import BrowserScreen, ReportView
from console.screens.context import ConsoleContext
from console.screens.dashboard import DashboardScreen
from console.screens.help import HelpScreen
from console.store_watch import (
    LIVE,
    SnapshotReady,
    StoreState,
    StoreStateChanged,
    StoreWatch,
    WatchdogSeen,
    watchdog_running,
)
from console.terminal import TerminalGuard, need_terminal
from console.widgets.desk_overview import DeskOverview
from console.widgets.issues_panel import IssuesPanel
from console.widgets.status_line import alert_state
from health.calendar import MarketCalendar
from health.live import LiveSnapshot
from health.process import process_alive

# How long the console waits for its first look at the store (console/first_snapshot.py)
# before it starts without it; the look takes tens of ms.
FIRST_LOOK_WAIT = 0.5


class HealthConsole(App[int]):
    """Live dashboard + date browser over one health store, or over a desk's stores."""

    TITLE = "Production Health"
    # The screens' stylesheets, loaded by the app (Textual loads a Screen's own CSS_PATH
    # only for pushed screens, not for the default one); rules are scoped by screen type.
    CSS_PATH: ClassVar[list[str]] = ["screens/dashboard.tcss", "screens/browser.tcss", "screens/period.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="Quit (the store is left exactly as it was)"),
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="This list of keys"),
    ]

    def __init__(
        self,
        store_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        calendar: str | MarketCalendar | Sequence[MarketCalendar] = "XNYS",
        clock: Callable[[], float] = time.time,
        source: str | None = None,
        browse: bool = False,
        start_day: date | None = None,
        store_label: str | None = None,
        poll_interval: float = 0.25,
        refresh_seconds: float = 5.0,
        min_gap: float = 0.4,
        alive: Callable = process_alive,
        watchdogs: Callable[[Path], bool | None] = watchdog_running,
        guard: TerminalGuard | None = None,
        first_snapshot: LiveSnapshot | None = None,
        store_labels: Sequence[str] | None = None,
    ) -> None:
        """``store_path``: a store, or several (a desk: ``calendar`` then one per store, or one
        for all; ``store_labels`` names them on screen). ``first_snapshot``: what the first
        screen shows, if the store was read before the app started
        (console/first_snapshot.py); the store watch takes over from there."""
        super().__init__(driver_class=guarded_driver(guard) if guard is not None else None)
        paths, cals = stores_and_calendars(store_path, calendar)
        self.browse_on_start = browse
        self.start_day = start_day
        self.guard = guard
        self.snapshot: LiveSnapshot | None = None
        options = dict(
            interval=poll_interval,
            refresh_seconds=refresh_seconds,
            min_gap=min_gap,
            alive=alive,
            watchdogs=watchdogs,
        )
        self.desk: Desk | None = None
        if len(paths) > 1:
            self.desk = Desk(paths, cals, clock, source=source, labels=store_labels, **options)
            self.ctx = self.desk.context(0)
            self.watches = self.desk.watches
        else:
            self.ctx = ConsoleContext(Path(paths[0]), cals[0], clock, source, store_label)
            self.watches = [
                StoreWatch(
                    self.ctx.store_path, cals[0], clock, source=source, label=self.ctx.store_label, **options
                )
            ]
        self.store_watch = self.watches[0]
        self.watchdog: bool | None = None
        self.dashboard = DashboardScreen(self.ctx.calendar, clock, source, desk=self.desk is not None)
        self.sub_title = "starting…"
        if first_snapshot is not None:
            self.snapshot = first_snapshot
            self.dashboard.set_reactive(DashboardScreen.snapshot, first_snapshot)
            # Live from the first screen on (the watch's own words for it): its own first
            # snapshot, a poll later, then changes nothing on screen.
            self.store_watch.state = StoreState(LIVE, f"live: {self.store_watch.label}")

    def get_default_screen(self) -> Screen:
        return self.dashboard

    def on_mount(self) -> None:
        self.dashboard.store_state = self.store_watch.state
        self._show_alert_state()
        for watch in self.watches:
            self._watch_store(watch)
        self._show_desk()
        if self.guard is not None:
            # SIGHUP, SIGTERM, a hang-up: exit (bounded by the guard). Not before the first
            # screen has been drawn: an exit while Textual is still mounting it crashes in its
            # Header (a title watcher runs after the header's children are gone): exit 1.
            self.call_after_refresh(self.guard.attach, self.exit)
        if self.browse_on_start:
            self.push_screen(BrowserScreen(self.ctx, self.start_day))

    # -- the store, watched in a thread ------------------------------------------------------
    @work(thread=True, group="store-watch", name="store-watch", exit_on_error=False)
    def _watch_store(self, watch: StoreWatch) -> None:
        worker = get_current_worker()
        watch.run(self.post_message, lambda: worker.is_cancelled)

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        snapshot = message.snapshot
        if self.desk is not None:
            self.desk.snapshots[message.key] = snapshot
            self._show_desk()
            if message.key != self.desk.current:
                return
        self.snapshot = snapshot
        self.dashboard.snapshot = snapshot
        if snapshot.report is not None:  # a backtest's store says so in the header
            self.title = f"{self.TITLE} · BACKTEST" if snapshot.report.backtest else self.TITLE
        self._show_alert_state()

    def on_watchdog_seen(self, message: WatchdogSeen) -> None:
        if self.desk is not None:
            self.desk.watchdogs[message.key] = message.running
            if message.key != self.desk.current:
                self._show_alert_state()
                return
        self.watchdog = self.dashboard.watchdog = message.running
        self._show_alert_state()

    # -- a desk (console/desk.py) -------------------------------------------------------------
    def _show_desk(self) -> None:
        if self.desk is not None:
            self.dashboard.show_desk(self.desk.rows(), self.desk.selected_key())

    def on_desk_overview_selected(self, event: DeskOverview.Selected) -> None:
        """Enter on a row: the panels show that loop, of its store, in its exchange's time."""
        desk = self.desk
        if desk is None:
            return
        desk.current, desk.current_source = event.store, event.source
        self.ctx = desk.context()
        self.store_watch = desk.watches[event.store]
        self.dashboard.use_calendar(self.ctx.calendar)
        self.dashboard.store_state = desk.states.get(event.store)
        self.watchdog = self.dashboard.watchdog = desk.watchdogs.get(event.store)
        self.dashboard.selected = event.source
        self.snapshot = desk.snapshots.get(event.store)
        self.dashboard.snapshot = self.snapshot
        self._show_desk()
        self._show_alert_state()

    def _show_alert_state(self) -> None:
        if self.desk is not None:  # the header speaks for the whole desk
            sub_title, _ = alert_state(self.desk.status(), self.desk.firing(), self.desk.watchdog())
            if sub_title != self.sub_title:
                self.sub_title = sub_title
            return
        snapshot = self.snapshot
        if snapshot is None:
            return
        status = snapshot.report.status if snapshot.report else None
        sub_title, _ = alert_state(status, len(snapshot.firing), self.watchdog)
        if sub_title != self.sub_title:
            self.sub_title = sub_title

    def on_store_state_changed(self, message: StoreStateChanged) -> None:
        if self.desk is not None:
            self.desk.states[message.key] = message.state
            self._show_desk()
            if message.key == self.desk.current:
                self.dashboard.store_state = message.state
            self._show_alert_state()
            return
        self.dashboard.store_state = message.state
        if message.state.kind != LIVE:
            self.sub_title = message.state.kind.replace("_", " ")

    # -- the one write: an operator's ack (docs/CONTRACT.md §5) ----------------------------------
    @work(thread=True, group="ack", name="ack", exit_on_error=False)
    def write_ack(self, request: AckRequest) -> None:
        """Off the UI thread, by its own short ``mode=rw`` connection (store/acks.py): never
        creating the store, never through the watch's read-only one."""
        from console.ack import who_am_i
        from store.acks import AckError, write_ack

        now = self.ctx.now()
        try:
            ack = write_ack(
                self.ctx.store_path,
                request.code,
                request.source,
                who_am_i(),
                request.reason,
                now,
                now + request.seconds,
            )
        except AckError as exc:
            self.call_from_thread(self.notify, self.ctx.relabel(str(exc)), severity="error", timeout=8)
            return
        until = self.ctx.calendar.fmt(ack.until, "%a %H:%M %Z")
        self.call_from_thread(
            self.notify, f"acknowledged {ack.code} ({ack.source or 'every loop'}) until {until}", timeout=5
        )
        self.store_watch.refresh()

    def exit(self, result: int | None = None, return_code: int = 0, message=None) -> None:  # type: ignore[override]
        for watch in self.watches:
            watch.stop()
        if self.guard is not None:
            self.guard.request_exit()  # the shutdown that follows is bounded
        super().exit(result, return_code, message)

    # -- actions ---------------------------------------------------------------------------------
    def action_browse(self) -> None:
        """Open the date browser on today (or go to today if it is open)."""
        if isinstance(self.screen, BrowserScreen):
            self.screen.action_today()
        else:
            self.push_screen(BrowserScreen(self.ctx))

    def open_replay(self, day: date) -> None:
        """``day`` on the dashboard as it was live, from its session's open (midnight on a day
        without one), paused, over this one (console/screens/replay.py)."""
        from console.replay_clock import ReplayClock
        from console.screens.replay import ReplayScreen
        from health.calendar import day_bounds

        session = self.ctx.calendar.session(day)
        start = session.open_ts if session else day_bounds(day, self.ctx.calendar.tz)[0]
        self.push_screen(ReplayScreen(self.ctx, ReplayClock(start, limit=self.ctx.now)))

    def action_dashboard(self) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self.dashboard:
            self.pop_screen()

    def action_refresh_store(self) -> None:
        for watch in self.watches:
            watch.refresh()
        self.notify(
            "re-reading the store…" if len(self.watches) == 1 else "re-reading the stores…", timeout=1.5
        )

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list]]:
        return [
            (
                "Everywhere",
                [*self.BINDINGS, ("ctrl+p", "command_palette", "Command palette: every action by name")],
            ),
            ("Dashboard", list(DashboardScreen.BINDINGS)),
            ("Issues panel", list(IssuesPanel.BINDINGS)),
            ("Replay (--at, or v in the date browser)", _replay_bindings()),
            *(
                [
                    (
                        "Desk (several stores)",
                        [*DeskOverview.BINDINGS, ("up,down", "cursor", "Move between loops")],
                    )
                ]
                if self.desk is not None
                else []
            ),
            (
                "Date browser",
                [*BrowserScreen.BINDINGS, ("enter", "submit", "In the date field: go to that date")],
            ),
            ("Report (scrolling)", list(ReportView.BINDINGS)),
        ]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Dashboard", "The live view of the store", self.action_dashboard)
        yield SystemCommand("Browse dates", "Any date's full report, starting today (b)", self.action_browse)
        if isinstance(screen, BrowserScreen):
            yield SystemCommand(
                "Previous trading day", "Skips weekends and holidays (p, ←)", screen.action_previous_day
            )
            yield SystemCommand("Next trading day", "Up to today (n, →)", screen.action_next_day)
            yield SystemCommand("Today", "Today's report so far (t)", screen.action_today)
            yield SystemCommand("Go to a date", "Type YYYY-MM-DD (g)", screen.action_goto)
            yield SystemCommand(
                "Run diagnostics", "Process, logs, store, disk, clock, sinks (d)", screen.action_diagnose
            )
            yield SystemCommand(
                "Cancel diagnostics", "Stop a diagnostics run (x)", screen.action_cancel_diagnostics
            )
        if isinstance(screen, DashboardScreen):
            yield SystemCommand("Pick a loop", "Which loop the panels show (s)", screen.action_pick_source)
            yield SystemCommand(
                "Acknowledge an alert",
                "No pages about it until an expiry or until it resolves (a)",
                screen.query_one(IssuesPanel).action_ack,
            )
        yield SystemCommand("Refresh", "Re-read the store now (r)", self.action_refresh_store)
        yield SystemCommand("Help: every key", "The keys of every screen (?)", self.action_help)
        yield from super().get_system_commands(screen)


def _replay_bindings() -> list:
    from console.screens.replay import ReplayScreen

    return list(ReplayScreen.BINDINGS)


def run_app(args, clock: Callable[[], float] = time.time, first: FirstLook | None = None) -> int:
    """``health-console`` without ``--report``/``--watch``/``--demo``/``--at``: the dashboard or
    the date browser (``--date``). Usage problems raise ``UsageError`` (one line,
    exit 3, printed by the CLI). ``first``: the store's first look, taken while Textual was
    imported (console/first_snapshot.py); used if it is ready in time."""
    from console.arg_values import parse_day
    from console.args import UsageError
    from health.loader import store_calendar
    from store.paths import resolve_store_path

    stores = [resolve_store_path(s) for s in getattr(args, "stores", None) or [args.store]]
    store = stores[0]
    # As the loop recorded it in the store when it can answer (no pandas on start).
    ready = first is not None and first.wait(FIRST_LOOK_WAIT) and first.calendar is not None
    calendar = first.calendar if ready else store_calendar(store, args.calendar, clock())
    # A desk: each store read with the calendar its own loops recorded.
    calendars = [calendar, *(store_calendar(s, args.calendar, clock()) for s in stores[1:])]
    day = parse_day(args.date, calendar.tz, clock()) if args.date else None
    need_terminal(UsageError)
    guard = TerminalGuard.install()
    app = HealthConsole(
        store if len(stores) == 1 else stores,
        calendar=calendar if len(stores) == 1 else calendars,
        clock=clock,
        source=args.source,
        browse=args.date is not None,
        start_day=day,
        guard=guard,
        first_snapshot=first.snapshot if ready else None,
    )
    app.run()
    return app.return_code or 0
