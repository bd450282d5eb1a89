"""Issues: today's issues with their severity (the same rules as the report), then the
alert log (firing and resolved transitions, newest first).

It can hold more than fits at 80×24, so it scrolls: Tab to it, then ↑/↓/PgUp/PgDn.
Messages embed loop-supplied text (symbols, reasons): shown literally.
"""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
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

    issues: reactive[tuple[Issue, ...] | None] = reactive(None)
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

    def text(self) -> str:
        """The panel's content as plain text, for tests."""
        return self.build().plain
