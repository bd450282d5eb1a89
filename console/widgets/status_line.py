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
from health.codes import Status


def alert_state(status: str | None, firing: int, watchdog: bool | None) -> tuple[str, str]:
    """(text, style) of the alerts beside the status, for the status line and the header: when
    something is wrong and nothing fires, say why if it is that nobody watches."""
    if firing:
        return f"✖ {firing} alert{'s' if firing != 1 else ''} firing", "bold red"
    if status in (Status.UNHEALTHY, Status.DEGRADED) and watchdog is False:
        return "no alert sent: no watchdog running (health-console --watch)", "bold yellow"
    return "no alert firing", "green"


def _squeeze(text: str, room: int) -> str:
    """``text`` in ``room`` cells, its middle replaced by "…" if it must: "live: /srv/…/health.db"."""
    if len(text) <= room or room < 12:
        return text
    head = min(text.find(" ") + 1 if " " in text else 0, room // 3)
    tail = room - head - 1
    return text[:head] + "…" + text[len(text) - tail :]


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
    watchdog: reactive[bool | None] = reactive(None)
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
                line.append(*alert_state(self.status, self.firing, self.watchdog))
            line.append("  ")
        if state is not None:
            icon, style = STATE_STYLE.get(state.kind, ("✖", "bold red"))
            line.append(f"{icon} ", style=style)
            as_of = ""
            if state.kind == LIVE and self.updated is not None:
                as_of = f" · as of {hms(self.updated, self.tz)}"
            # A long store path gives way (in its middle) to the time the data is from; other
            # states are cut at the end (the issues panel shows them in full).
            text = state.text
            if as_of:
                text = _squeeze(text, self.content_size.width - line.cell_len - len(as_of))
            line.append_text(loop_text(text, style="" if state.kind == LIVE else style))
            line.append(as_of, style="dim")
        # One line, always: Textual would wrap a long Text onto a second, invisible line.
        line.truncate(max(1, self.content_size.width), overflow="ellipsis")
        return no_color(line) if self.app.no_color else line
