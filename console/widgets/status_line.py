"""The status line under the header: today's overall status, how many alerts are firing,
and the state of the store (live, waiting for it, schema too new, reopening).

It is the one line an operator reads first, so the store's state is spelled out here rather
than hidden in a log: "waiting for store at PATH" is not an error, a newer schema is.
"""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from console.store_watch import LIVE, REOPENING, SCHEMA_TOO_NEW, STARTING, WAITING, StoreState
from console.styles import STATUS_STYLE
from console.widgets._common import hms, loop_text, no_color

STATE_STYLE = {
    STARTING: ("…", "dim"),
    WAITING: ("⧗", "bold yellow"),
    LIVE: ("●", "green"),
    REOPENING: ("↻", "bold yellow"),
    SCHEMA_TOO_NEW: ("✖", "bold red"),
}


class StatusLine(Widget):
    """One line: status · firing alerts · store state."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    """

    store_state: reactive[StoreState | None] = reactive(None)
    status: reactive[str | None] = reactive(None)
    firing: reactive[int] = reactive(0)
    updated: reactive[float | None] = reactive(None)

    def __init__(self, tz: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        state = self.store_state
        if self.status and (state is None or state.kind == LIVE):
            icon, style = STATUS_STYLE.get(self.status, ("?", "bold"))
            line.append(f"{icon} {self.status}", style=style)
            line.append("  ")
            if self.firing:
                line.append(f"✖ {self.firing} firing", style="bold red")
            else:
                line.append("no alert firing", style="green")
            line.append("  ")
        if state is not None:
            icon, style = STATE_STYLE.get(state.kind, ("✖", "bold red"))
            line.append(f"{icon} ", style=style)
            line.append_text(loop_text(state.text, style="" if state.kind == LIVE else style))
            if state.kind == LIVE and self.updated is not None:
                line.append(f" · as of {hms(self.updated, self.tz)}", style="dim")
        # One line, always: Textual would wrap a long Text onto a second, invisible line.
        line.truncate(max(1, self.content_size.width), overflow="ellipsis")
        return no_color(line) if self.app.no_color else line
