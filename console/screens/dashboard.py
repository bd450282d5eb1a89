"""The live dashboard: market clock, uptime, data age, gating, issues, and one row per loop
when the store holds several — or, for a desk (``--store`` repeated), one row per loop of every
store (console/widgets/desk_overview.py), Enter choosing the loop the panels show.

The screen receives whole :class:`~health.live.LiveSnapshot` objects (attributes down, from
the app) and hands each widget only the part it shows. Ages that grow with time (heartbeat,
newest data) are stripped from what the widgets compare and recomputed by them from ``now``,
which ticks once a second; so an unchanged store redraws the clock and the two ages, nothing
else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import suppress
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header

from console.screens.ack import AckChoice, AckRequest, AckScreen
from console.screens.source_picker import SourcePicker
from console.store_watch import LIVE, STARTING, StoreState
from console.widgets import (
    DataAgePanel,
    DeskOverview,
    GatingPanel,
    IssuesPanel,
    RthClock,
    SourceOverview,
    StatusLine,
    UptimePanel,
)
from console.widgets._common import Panel, hms
from console.widgets.desk_overview import DeskRow
from console.widgets.source_overview import overview_rows
from health.acks import in_force
from health.calendar import MarketCalendar
from health.live import LiveSnapshot, LiveSource


class DashboardScreen(Screen):
    """Live view of the store."""

    AUTO_FOCUS = "#issues"  # the one panel that scrolls: ↑/↓ work at once
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (30, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "b", "app.browse", "Browse dates", tooltip="The date browser, on today: any date's full report"
        ),
        Binding(
            "s", "pick_source", "Loop", tooltip="Pick the loop the panels show (stores with several loops)"
        ),
        Binding("r", "app.refresh_store", "Refresh", tooltip="Re-read the store now"),
        Binding(
            "tab",
            "app.focus_next",
            "Next panel",
            show=False,
            tooltip="Focus the next scrollable panel (then ↑/↓)",
        ),
    ]

    snapshot: reactive[LiveSnapshot | None] = reactive(None, always_update=True)
    store_state: reactive[StoreState | None] = reactive(None)
    watchdog: reactive[bool | None] = reactive(None)
    selected: reactive[str | None] = reactive(None)

    def __init__(
        self,
        calendar: MarketCalendar,
        clock: Callable[[], float],
        source: str | None = None,
        *,
        id: str = "dashboard",
        desk: bool = False,
    ) -> None:
        """``desk``: the console watches several stores; the desk's table replaces the one
        store's loop table, and the panels show the loop chosen there."""
        super().__init__(id=id)
        self.calendar = calendar
        self.clock = clock
        self.desk = desk
        self._desk_rows: tuple[DeskRow, ...] = ()
        self._desk_key: str | None = None
        self.set_reactive(DashboardScreen.selected, source)
        self._widgets_ready = False  # widgets composed and mounted: data can go down

    def compose(self) -> ComposeResult:
        tz = self.calendar.tz
        yield Header(show_clock=False, icon="◆")
        yield StatusLine(tz, id="status")
        if self.desk:
            yield DeskOverview(id="desk")
        else:
            yield SourceOverview(id="overview")
        with Grid(id="panels"):
            yield RthClock(self.calendar, id="clock")
            yield UptimePanel(tz, id="uptime")
            yield DataAgePanel(tz, id="data-age")
            yield IssuesPanel(tz, id="issues")
            yield GatingPanel(tz, id="gating")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick, name="rth-clock")
        # Data may have arrived before the widgets existed.
        self._widgets_ready = True
        self.watch_store_state(self.store_state)
        self.watch_watchdog(self.watchdog)
        self.watch_snapshot(self.snapshot)
        if self.desk:
            self.show_desk(self._desk_rows, self._desk_key)
            self.query_one(DeskOverview).focus()  # ↑/↓ and Enter work at once

    def _tick(self) -> None:
        """Once a second: the clock and the two ages move; rounding makes equal seconds no-ops."""
        now = float(int(self.clock()))
        with suppress(NoMatches):  # the app is closing: the panels are gone
            self.query_one(RthClock).now = now
            self.query_one(UptimePanel).now = now
            self.query_one(DataAgePanel).now = now
            if self.desk:
                self.query_one(DeskOverview).now = now

    # -- data down ------------------------------------------------------------------------
    def watch_store_state(self, state: StoreState | None) -> None:
        if self._widgets_ready:
            with suppress(NoMatches):  # the app is closing: the panels are gone
                self.query_one(StatusLine).store_state = state
                live = state is None or state.kind in (LIVE, STARTING)
                self.query_one(IssuesPanel).notice = None if live else state.text

    def watch_watchdog(self, running: bool | None) -> None:
        if self._widgets_ready:
            with suppress(NoMatches):
                self.query_one(StatusLine).watchdog = running

    def watch_snapshot(self, snapshot: LiveSnapshot | None) -> None:
        # On a desk a store without a snapshot yet is shown empty, not as the last one shown.
        if (snapshot is not None or self.desk) and self._widgets_ready:
            with suppress(NoMatches):  # a late snapshot while the app closes
                self._show(snapshot)

    def watch_selected(self) -> None:
        if self.snapshot is not None and self._widgets_ready:
            with suppress(NoMatches):
                self._show(self.snapshot)

    def _current(self, snapshot: LiveSnapshot | None) -> LiveSource | None:
        if snapshot is None:
            return None
        for s in snapshot.sources:
            if s.source == self.selected:
                return s
        return snapshot.sources[0] if snapshot.sources else None

    def _show(self, snapshot: LiveSnapshot | None) -> None:
        report = snapshot.report if snapshot is not None else None
        src = self._current(snapshot)
        analyses = {a.source: a for a in report.sources} if report else {}
        analysis = analyses.get(src.source) if src else None
        # Ages are recomputed by the widgets from `now`; keeping them out of the compared
        # value means a new snapshot with the same data does not redraw anything.
        stable = dataclasses.replace(src, beat_age=None, data_age=None) if src else None
        status = self.query_one(StatusLine)
        status.status = report.status if report else None
        status.firing = len(snapshot.firing) if snapshot is not None else 0
        status.updated = snapshot.now if snapshot is not None else None
        if not self.desk:
            overview = self.query_one(SourceOverview)
            overview.loops = overview_rows(snapshot.sources, analyses, snapshot.now)
            overview.selected = src.source if src else None
        uptime = self.query_one(UptimePanel)
        uptime.source = stable
        uptime.analysis = analysis
        uptime.session = snapshot.market.session if snapshot is not None else None
        age = self.query_one(DataAgePanel)
        age.source = stable
        age.analysis = analysis
        gating = self.query_one(GatingPanel)
        gating.decisions = src.recent if src else (None if snapshot is None else ())
        gating.allowed = analysis.gate.allowed if analysis else 0
        gating.blocked_by = tuple(sorted((analysis.gate.by_code if analysis else {}).items()))
        gating.signals = analysis.signals.total if analysis else 0
        issues = self.query_one(IssuesPanel)
        issues.multi = snapshot is not None and len(snapshot.sources) > 1
        issues.issues = report.issues if report else (None if snapshot is None else ())
        issues.acks = report.acks if report else ()
        issues.alerts = snapshot.alerts if snapshot is not None else ()
        issues.status = report.status if report else None
        for panel in (uptime, age, gating):
            panel.show_source(src.source if src and (issues.multi or self.desk) else None)

    # -- a desk ----------------------------------------------------------------------------
    def show_desk(self, rows: tuple[DeskRow, ...], key: str | None) -> None:
        """The desk's rows, and which one the panels show (the app sends both)."""
        self._desk_rows, self._desk_key = rows, key
        if self._widgets_ready:
            with suppress(NoMatches):
                table = self.query_one(DeskOverview)
                table.selected = key
                table.loops = rows

    def use_calendar(self, calendar: MarketCalendar) -> None:
        """Show another store's loop: its exchange's clock and time zone (stores may record
        different calendars)."""
        if calendar is self.calendar:
            return
        self.calendar = calendar
        with suppress(NoMatches):
            clock = self.query_one(RthClock)
            clock.calendar = calendar
            clock._holidays = {}
            clock.border_title = f"Market · {calendar.code}"
            for widget in (clock, *self.query(StatusLine), *self.query(Panel)):
                widget.tz = calendar.tz
                widget.refresh()
            issues = self.query_one(IssuesPanel)
            issues.tz = calendar.tz
            issues._changed()

    # -- actions ----------------------------------------------------------------------------
    def action_pick_source(self) -> None:
        if self.desk:  # a desk chooses its loop in its table, across the stores
            self.query_one(DeskOverview).focus()
            return
        if self.snapshot is None or not self.snapshot.sources:
            self.notify("no loop has recorded into this store yet", severity="warning")
            return
        names = [s.source for s in self.snapshot.sources]

        def picked(name: str | None) -> None:
            if name:
                self.selected = name

        self.app.push_screen(SourcePicker(names, self.selected or names[0]), picked)

    def on_source_overview_selected(self, event: SourceOverview.Selected) -> None:
        self.selected = event.source

    def on_issues_panel_ack_requested(self, event: IssuesPanel.AckRequested) -> None:
        """``a`` in the issues panel: which alert, for how long, why (console/screens/ack.py);
        the app writes the ack (the only thing the console ever writes, docs/CONTRACT.md §5)."""
        choices = ack_choices(self.snapshot)
        if not choices:
            self.notify("nothing to acknowledge: no issue and no alert firing today", severity="warning")
            return

        def chosen(request: AckRequest | None) -> None:
            if request is not None:
                self.app.write_ack(request)

        self.app.push_screen(AckScreen(choices), chosen)


def ack_choices(snapshot: LiveSnapshot | None) -> list[AckChoice]:
    """Today's issues and the watchdog's firing alerts, one choice per (loop, code)."""
    if snapshot is None:
        return []
    report = snapshot.report
    acks = report.acks if report else ()
    out: dict[tuple, AckChoice] = {}
    tz = snapshot.tz
    pairs = [(i.source, i.code, i.message) for i in (report.issues if report else ())]
    pairs += [(a.source, a.code, a.message) for a in snapshot.firing]
    for source, code, message in pairs:
        if (source, code) in out:
            continue
        acked = in_force(acks, source, code)
        until = None if acked is None else f"by {acked.ack.by} until {hms(acked.ack.until, tz, '%a %H:%M')}"
        out[(source, code)] = AckChoice(code, source, message, until)
    return list(out.values())
