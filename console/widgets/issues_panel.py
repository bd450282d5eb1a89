"""Issues: today's issues with their severity (the same rules as the report), then the
alert log (firing and resolved transitions, newest first).

It can hold more than fits at 80×24, so it scrolls: Tab to it, then ↑/↓/PgUp/PgDn.
Messages embed loop-supplied text (symbols, reasons): shown literally.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from console.styles import SEVERITY_STYLE, STATUS_STYLE
from console.widgets._common import (
    PLACEHOLDER,
    StepScroll,
    hms,
    loop_text,
    no_color,
)
from health.acks import AckState, in_force
from health.report import Issue
from store.records import AlertRecord


class IssuesPanel(StepScroll, VerticalScroll):
    """Current issues and the alert log, scrollable."""

    DEFAULT_CSS = """
    IssuesPanel {
        border: round $primary 60%;
        border-title-color: $text-accent;
        border-title-style: bold;
        padding: 0 1;
        height: 1fr;
        min-height: 5;
        scrollbar-size-vertical: 1;
    }
    IssuesPanel:focus {
        border: round $accent;
    }
    IssuesPanel > Static {
        width: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a",
            "ack",
            "Ack",
            tooltip="Acknowledge an alert: no more pages about it for a while (how long and why are asked)",
        )
    ]

    class AckRequested(Message):
        """The operator asked to acknowledge one of the panel's alerts (the screen asks which)."""

    issues: reactive[tuple[Issue, ...] | None] = reactive(None)
    acks: reactive[tuple[AckState, ...]] = reactive(())
    alerts: reactive[tuple[AlertRecord, ...]] = reactive(())
    status: reactive[str | None] = reactive(None)
    multi: reactive[bool] = reactive(False)
    notice: reactive[str | None] = reactive(None)  # the store's state when it is not live

    def __init__(self, tz: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.border_title = "Issues & alerts"

    def compose(self) -> ComposeResult:
        yield Static(Text(PLACEHOLDER, style="dim"), id="issues-body")

    def _changed(self) -> None:
        if self.is_mounted:
            body = self.build()
            self.query_one("#issues-body", Static).update(no_color(body) if self.app.no_color else body)
            if self.status:
                icon, style = STATUS_STYLE.get(self.status, ("?", "bold"))
                self.border_title = Text.assemble("Issues · ", (f"{icon} {self.status}", style))
            else:
                self.border_title = "Issues & alerts"

    def watch_issues(self) -> None:
        self._changed()

    def watch_alerts(self) -> None:
        self._changed()

    def watch_status(self) -> None:
        self._changed()

    def watch_multi(self) -> None:
        self._changed()

    def watch_notice(self) -> None:
        self._changed()

    def watch_acks(self) -> None:
        self._changed()

    def action_ack(self) -> None:
        self.post_message(self.AckRequested())

    def on_mount(self) -> None:
        self._changed()

    def build(self) -> Text:
        lines: list[Text] = []
        if self.notice:
            # Wrapped here in full (the status line may have to cut a long path).
            lines.append(loop_text(self.notice, style="bold yellow"))
        if self.issues is None:
            lines.append(Text(PLACEHOLDER, style="dim"))
            return Text("\n").join(lines)
        if not self.issues:
            lines.append(Text("✔ no issues today", style="green"))
        for issue in self.issues:
            icon, style = SEVERITY_STYLE.get(issue.severity, ("●", ""))
            head = Text.assemble((f"{icon} {issue.severity} ", style), (issue.code, "bold"))
            if self.multi and issue.source:
                head.append(" · ")
                head.append_text(loop_text(issue.source, style="dim"))
            lines.append(head)
            lines.append(loop_text(issue.message))
            acked = in_force(self.acks, issue.source, issue.code)
            if acked is not None:
                lines.append(self._ack_line(acked))
        shown = {(i.source, i.code) for i in self.issues}
        for state in self.acks:
            if state.in_force() and not any(state.ack.covers(s or "", c) for s, c in shown):
                lines.append(self._ack_line(state))
        lines.append(Text(f"alert log today ({len(self.alerts)})", style="bold dim"))
        if not self.alerts:
            lines.append(Text("  no alerts", style="dim"))
        for a in self.alerts:
            icon, style = ("✔", "green") if a.resolved else SEVERITY_STYLE.get(a.severity, ("●", ""))
            row = Text(f"{hms(a.at, self.tz, '%H:%M')} ", style="dim")
            row.append(f"{icon} {a.code} ", style=style)
            row.append("resolved" if a.resolved else "firing", style="dim")
            if a.muted is not None:
                row.append(" · not paged", style="dim italic")
            if self.multi and a.source:
                row.append(" · ", style="dim")
                row.append_text(loop_text(a.source, style="dim"))
            lines.append(row)
            lines.append(loop_text(a.message, style="dim"))
        return Text("\n").join(lines)

    def _ack_line(self, state: AckState) -> Text:
        a = state.ack
        line = Text("⏸ acked ", style="yellow")
        if not self.issues or not any(a.covers(i.source or "", i.code) for i in self.issues):
            line.append(f"{a.code} ", style="bold yellow")
        line.append_text(
            loop_text(f"by {a.by} until {hms(a.until, self.tz, '%a %H:%M')}: {a.reason}", style="yellow")
        )
        return line

    def text(self) -> str:
        """The panel's content as plain text, for tests."""
        return self.build().plain
