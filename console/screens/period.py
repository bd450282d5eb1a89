"""The date browser's range view: a month's health (the same text as ``check-production-health
--from --to``), one row per day and the month's totals; ←/→ move a month. Built in a thread
worker like the browser's reports, a late answer for a month already left dropped."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from console.screens.context import ConsoleContext
from console.widgets.report_view import ReportView

PERIOD_TITLE = "Production Health · month"


class PeriodLoaded(Message):
    def __init__(self, seq: int, report, error: str | None) -> None:
        super().__init__()
        self.seq, self.report, self.error = seq, report, error


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


class PeriodScreen(Screen):
    """A calendar month of days, from the browser (``m``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p,left", "previous_month", "Prev month", key_display="p/←"),
        Binding("n,right", "next_month", "Next month", key_display="n/→"),
        Binding("r", "reload", "Reload"),
        Binding("escape,m", "back", "Back", key_display="esc", tooltip="Back to the date browser"),
    ]

    def __init__(self, ctx: ConsoleContext, day: date) -> None:
        super().__init__(id="period")
        self.ctx = ctx
        self.first, self.last = month_of(day)
        self._seq = 0
        self.report = None
        self.error: str | None = None
        self.title = PERIOD_TITLE

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static(id="period-state")
        with ReportView(id="period-view"):
            yield Static(id="period-body")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(ReportView).focus()
        self._load()

    def _today(self) -> date:
        return self.ctx.calendar.local_date(self.ctx.now())

    def _load(self) -> None:
        self._seq += 1
        self.report = None
        self._state(Text(f"⟳ building {self.first:%B %Y}…", style="dim"))
        self._build(self._seq, self.first, self.last)

    @work(thread=True, group="period", exit_on_error=False)
    def _build(self, seq: int, first: date, last: date) -> None:
        from health.loader import ReportUnavailable, open_store
        from health.period import period_report

        report = error = None
        try:
            reader = open_store(self.ctx.store_path)
            try:
                now = self.ctx.now()
                report = period_report(reader, self.ctx.calendar, first, last, now, self.ctx.source)
            finally:
                reader.close()
        except ReportUnavailable as exc:
            error = self.ctx.relabel(str(exc))
        except Exception as exc:  # never a traceback on the operator's screen
            error = f"cannot build the month: {type(exc).__name__}: {exc}"
        self.post_message(PeriodLoaded(seq, report, error))

    def on_period_loaded(self, message: PeriodLoaded) -> None:
        if message.seq != self._seq:
            return  # the operator has moved on to another month
        from console.period_text import render_period

        body = self.query_one("#period-body", Static)
        self.report, self.error = message.report, message.error
        if message.report is not None:
            self.title = PERIOD_TITLE + (" · BACKTEST" if message.report.backtest else "")
            body.update(render_period(message.report))
            self._state(Text(f"{self.first:%B %Y} · ←/→ another month · esc back", style="dim"))
        else:
            body.update(Text(f"No report for {self.first:%B %Y}.\n\n{message.error}", style="magenta"))
            self._state(Text(f"✖ {message.error}", style="bold magenta"))
        self.query_one(ReportView).scroll_home(animate=False)

    def _state(self, text: Text) -> None:
        text.no_wrap, text.overflow = True, "ellipsis"
        self.query_one("#period-state", Static).update(text)

    def action_previous_month(self) -> None:
        self.first, self.last = month_of(self.first - timedelta(days=1))
        self._load()

    def action_next_month(self) -> None:
        nxt = self.last + timedelta(days=1)
        if nxt > self._today():
            self._state(Text(f"✖ {nxt:%B %Y} has not begun", style="yellow"))
            self.app.bell()
            return
        self.first, self.last = month_of(nxt)
        self._load()

    def action_reload(self) -> None:
        self._load()

    def action_back(self) -> None:
        self.app.pop_screen()
