"""The date browser: any date's full report (the same text as ``--report``), keyboard-first.

Previous/next *trading* day (weekends and holidays skipped by the exchange calendar), today,
or a typed date. The report is built in a thread worker and diagnostics run in another, with
their progress on screen and Esc/x to cancel: SQLite and the slow checks never run on the
UI thread, so the screen keeps answering keys while they work. Results come back as
messages tagged with a sequence number, so a late answer for a date the operator has already
left is dropped.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from console.screens.context import ConsoleContext
from console.styles import CHECK_STYLE, STATUS_STYLE
from console.widgets.date_input import DateInput, DateValidator
from console.widgets.report_view import ReportView
from health.calendar import CalendarError
from health.codes import CheckStatus
from health.report import HealthReport

WEEKDAY = "%a %Y-%m-%d"
BROWSER_TITLE = "Production Health · date browser"


class ReportLoaded(Message):
    def __init__(self, seq: int, day: date, report: HealthReport | None, error: str | None) -> None:
        super().__init__()
        self.seq, self.day, self.report, self.error = seq, day, report, error


class DiagnosticsProgress(Message):
    def __init__(self, seq: int, name: str, i: int, n: int) -> None:
        super().__init__()
        self.seq, self.name, self.i, self.n = seq, name, i, n


class DiagnosticsDone(Message):
    def __init__(self, seq: int, checks: list | None, cancelled: bool, error: str | None = None) -> None:
        super().__init__()
        self.seq, self.checks, self.cancelled, self.error = seq, checks, cancelled, error


def progress_bar(i: int, n: int, width: int = 12) -> str:
    done = int(width * max(0, i - 1) / max(1, n))
    return "█" * done + "░" * (width - done)


class BrowserScreen(Screen):
    """One date's report; keys move between trading days."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "p,left",
            "previous_day",
            "Prev",
            key_display="p/←",
            tooltip="Previous trading day (skips weekends and holidays)",
        ),
        Binding("n,right", "next_day", "Next", key_display="n/→", tooltip="Next trading day, up to today"),
        Binding("t", "today", "Today", tooltip="Today's report so far"),
        Binding(
            "g,slash",
            "goto",
            "Go to",
            key_display="g",
            tooltip="Type a date (YYYY-MM-DD, today, yesterday; Enter); Esc leaves the field",
        ),
        Binding(
            "d", "diagnose", "Diagnose", tooltip="Run diagnostics: process, logs, store, disk, clock, sinks"
        ),
        Binding("x", "cancel_diagnostics", "Cancel", tooltip="Cancel the running diagnostics"),
        Binding("r", "reload", "Reload", tooltip="Rebuild this date's report"),
        Binding("v", "replay", "Replay", tooltip="Replay this date on the dashboard, from its open"),
        Binding("m", "month", "Month", tooltip="This date's month: a row per day, the totals"),
        Binding(
            "escape",
            "back",
            "Back",
            key_display="esc",
            tooltip="Leave the date field, else cancel diagnostics, else back to the dashboard",
        ),
    ]

    day: reactive[date | None] = reactive(None)
    building: reactive[bool] = reactive(False)
    diagnosing: reactive[bool] = reactive(False)

    def __init__(self, ctx: ConsoleContext, day: date | None = None) -> None:
        super().__init__(id="browser")
        self.ctx = ctx
        self._initial = day
        self._seq = 0
        self._diag_seq = 0
        self._cancel: threading.Event | None = None
        self.report: HealthReport | None = None
        self.error: str | None = None
        self.checks: list | None = None
        self.title = BROWSER_TITLE  # the sub-title stays the firing count

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="nav"):
            yield Static(id="day-nav")
            yield DateInput(DateValidator(self.ctx.calendar, self.ctx.clock), id="goto", compact=True)
        yield Static(id="report-state")
        yield Static(id="diag-state")
        with ReportView(id="report-view"):
            yield Static(id="report")
            yield Static(id="diagnostics")
        yield Footer(compact=True, show_command_palette=False)  # 80 columns: the keys first

    def on_mount(self) -> None:
        self.query_one(ReportView).focus()
        self.day = self._initial or self.today()

    # -- dates ------------------------------------------------------------------------------
    def today(self) -> date:
        return self.ctx.calendar.local_date(self.ctx.now())

    def go_to(self, day: date) -> None:
        """Show ``day``'s report (rebuilt even if it is the day already shown)."""
        if day == self.day:
            self._load(day)
        else:
            self.day = day

    def watch_day(self, day: date | None) -> None:
        if day is not None:
            self._load(day)

    def _nav_text(self) -> Text:
        day = self.day
        cal = self.ctx.calendar
        text = Text(no_wrap=True, overflow="ellipsis")
        if day is None:
            return text
        try:
            prev = cal.previous_trading_day(day)
            text.append(f"◀ {prev:%a %m-%d}  ", style="dim")
        except CalendarError:
            pass
        text.append(day.strftime(WEEKDAY), style="bold reverse")
        if self.report is not None and self.report.day == day:
            icon, style = STATUS_STYLE.get(self.report.status, ("?", "bold"))
            text.append(f" {icon} {self.report.status}", style=style)
        elif self.building:
            text.append(" …", style="dim")
        elif self.error:
            text.append(" ? no report", style="bold magenta")
        if day == self.today():
            text.append(" today", style="cyan")
        try:
            nxt = cal.next_trading_day(day)
            if nxt <= self.today():
                text.append(f"  {nxt:%a %m-%d} ▶", style="dim")
        except CalendarError:
            pass
        return text

    def _refresh_nav(self) -> None:
        self.query_one("#day-nav", Static).update(self._nav_text())

    def _step(self, forward: bool) -> None:
        if self.day is None:
            return
        cal = self.ctx.calendar
        try:
            target = cal.next_trading_day(self.day) if forward else cal.previous_trading_day(self.day)
        except CalendarError as exc:
            self._state(Text(f"✖ {exc}", style="red"))
            self.app.bell()
            return
        if forward and target > self.today():
            self._state(Text(f"✖ {target:{WEEKDAY}} is in the future (t shows today)", style="yellow"))
            self.app.bell()
            return
        self.day = target

    # -- the report, built in a thread ------------------------------------------------------
    def _load(self, day: date) -> None:
        self._seq += 1
        self.building = True
        self._state(Text(f"⟳ building the report for {day:{WEEKDAY}}…", style="dim"))
        self._refresh_nav()
        self._build(self._seq, day)

    @work(thread=True, group="report", exit_on_error=False)
    def _build(self, seq: int, day: date) -> None:
        from health.loader import ReportUnavailable, build_report

        report = error = None
        try:
            report = build_report(
                self.ctx.store_path, day, self.ctx.calendar.code, self.ctx.source, self.ctx.now()
            )
        except ReportUnavailable as exc:
            error = self.ctx.relabel(str(exc))
        except Exception as exc:  # never a traceback on the operator's screen
            error = f"cannot build the report: {type(exc).__name__}: {exc}"
        self.post_message(ReportLoaded(seq, day, report, error))

    def on_report_loaded(self, message: ReportLoaded) -> None:
        if message.seq != self._seq:
            return  # the operator has moved on to another date
        from console.report_text import render_report

        self.building = False
        self.error = message.error
        body = self.query_one("#report", Static)
        if message.report is not None:
            self.report = self.ctx.relabel_report(message.report)
            self.title = BROWSER_TITLE + (" · BACKTEST" if self.report.backtest else "")
            body.update(render_report(self.report))
            hint = "↑/↓ PgUp/PgDn scroll · d diagnostics · g go to a date"
            self._state(Text(f"{message.day:{WEEKDAY}} · {hint}", style="dim"))
        else:
            self.report = None
            body.update(Text(f"No report for {message.day:{WEEKDAY}}.\n\n{message.error}", style="magenta"))
            self._state(Text(f"✖ {message.error}", style="bold magenta"))
        self.query_one(ReportView).scroll_home(animate=False)
        self._refresh_nav()

    def _state(self, text: Text) -> None:
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.query_one("#report-state", Static).update(text)

    # -- diagnostics, in a thread, cancellable --------------------------------------------
    def action_diagnose(self) -> None:
        if self.diagnosing:
            self.notify("diagnostics are already running (x cancels)")
            return
        self._diag_seq += 1
        self._cancel = threading.Event()
        self.diagnosing = True
        self._diag_state(Text("⟳ diagnostics: starting… (x or esc cancels)", style="yellow"))
        self._diagnose(self._diag_seq, self._cancel)

    @work(thread=True, group="diagnostics", exit_on_error=False)
    def _diagnose(self, seq: int, cancel: threading.Event) -> None:
        try:
            from health.diagnostics import run_diagnostics
        except ImportError as exc:
            self.post_message(DiagnosticsDone(seq, None, False, f"diagnostics are not available: {exc}"))
            return

        def progress(name: str, i: int, n: int) -> None:
            self.post_message(DiagnosticsProgress(seq, name, i, n))

        try:
            checks = run_diagnostics(
                self.ctx.store_path,
                self.ctx.calendar.code,
                source=self.ctx.source,
                now=self.ctx.now(),
                clock=self.ctx.clock,
                progress=progress,
                cancel=cancel,
            )
        except Exception as exc:
            self.post_message(DiagnosticsDone(seq, None, cancel.is_set(), f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(DiagnosticsDone(seq, list(checks), cancel.is_set()))

    def on_diagnostics_progress(self, message: DiagnosticsProgress) -> None:
        if message.seq != self._diag_seq or not self.diagnosing:
            return
        cancelling = self._cancel is not None and self._cancel.is_set()
        text = Text(
            f"⟳ diagnostics {progress_bar(message.i, message.n)} {message.i}/{message.n} ", style="yellow"
        )
        text.append(f"checking {message.name}…", style="bold")
        text.append(" cancelling…" if cancelling else " (x or esc cancels)", style="dim")
        self._diag_state(text)

    def on_diagnostics_done(self, message: DiagnosticsDone) -> None:
        if message.seq != self._diag_seq:
            return
        self.diagnosing = False
        self._cancel = None
        if message.error:
            self._diag_state(Text(f"✖ diagnostics: {message.error}", style="red"))
            return
        checks = message.checks or []
        self.checks = checks
        counts = {s: sum(1 for c in checks if c.status == s) for s in CheckStatus}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no checks"
        if message.cancelled:
            self._diag_state(
                Text(f"■ diagnostics cancelled after {len(checks)} check(s): {summary}", style="yellow")
            )
        else:
            style = CHECK_STYLE[CheckStatus.worst(c.status for c in checks)][1]
            self._diag_state(Text(f"✔ diagnostics done: {summary} (below the report)", style=style))
        if checks:
            from console.diagnostics_text import render_diagnostics

            body = self.query_one("#diagnostics", Static)
            body.update(render_diagnostics([self._relabel_check(c) for c in checks]))
            self.call_after_refresh(body.scroll_visible, animate=False)

    def _relabel_check(self, check):
        if not self.ctx.label or not dataclasses.is_dataclass(check):
            return check
        return dataclasses.replace(
            check,
            detail=self.ctx.relabel(check.detail),
            lines=tuple(self.ctx.relabel(line) for line in check.lines),
        )

    def _diag_state(self, text: Text) -> None:
        text.no_wrap = True
        text.overflow = "ellipsis"
        widget = self.query_one("#diag-state", Static)
        widget.update(text)
        widget.display = True

    def action_cancel_diagnostics(self) -> None:
        if self._cancel is not None and self.diagnosing:
            self._cancel.set()
            self._diag_state(Text("■ cancelling diagnostics…", style="yellow"))
        else:
            self.app.bell()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The footer swaps "d Diagnose" for "x Cancel" while a run is going (80 columns).
        if action == "cancel_diagnostics":
            return self.diagnosing
        if action == "diagnose":
            return not self.diagnosing
        return True

    def watch_diagnosing(self) -> None:
        self.refresh_bindings()

    # -- keys -------------------------------------------------------------------------------
    def action_previous_day(self) -> None:
        self._step(forward=False)

    def action_next_day(self) -> None:
        self._step(forward=True)

    def action_today(self) -> None:
        self.go_to(self.today())

    def action_replay(self) -> None:
        if self.day is not None:
            self.app.open_replay(self.day)

    def action_reload(self) -> None:
        if self.day is not None:
            self._load(self.day)

    def action_month(self) -> None:
        from console.screens.period import PeriodScreen

        self.app.push_screen(PeriodScreen(self.ctx, self.day or self.today()))

    def action_goto(self) -> None:
        self.query_one("#goto", Input).focus()

    def action_back(self) -> None:
        """Esc: leave the date field, else cancel diagnostics, else back to the dashboard."""
        field = self.query_one("#goto", Input)
        if field.has_focus:
            field.value = ""
            self.query_one(ReportView).focus()
        elif self.diagnosing:
            self.action_cancel_diagnostics()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        result = event.validation_result
        if result is not None and not result.is_valid:
            self._state(Text(f"✖ {result.failure_descriptions[0]}", style="bold red"))
            self.app.bell()
            return
        day = event.input.validators[0].day(event.value)
        event.input.value = ""
        self.query_one(ReportView).focus()
        self.go_to(day)
