"""A desk's loops: one row per loop of every store the console was given (``--store``
repeated), with its status, up or down, data age, last signal and the alerts firing for it;
a store that cannot be read is one row saying so in a word (the panels say why, in full, when
it is chosen). ↑/↓ move, Enter shows that loop in the
panels below (the row marked ▸).

Rows are plain values computed from the stores' snapshots (:func:`desk_rows`); the ages that
grow with time are computed from ``now`` (the dashboard's one-second tick) by the liveness rules
every view shares (health/liveness.py through :class:`~health.live.LiveSource`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from console.sanitize import clean
from console.store_watch import LIVE, REOPENING, SCHEMA_TOO_NEW, STARTING, WAITING, StoreState
from console.styles import STATUS_STYLE
from health.codes import Status
from health.durations import fmt_duration
from health.live import LiveSnapshot, LiveSource

COLUMNS = ("store", "loop", "status", "up", "data age", "last signal", "firing")
# A store with no loop to show says why in its status cell, in a word or two; the whole
# reason is in the panels when its row is chosen (the status line and the issues panel).
_STATE_WORDS = {
    STARTING: ("… opening", "dim"),
    LIVE: ("— no loop", "dim"),
    WAITING: ("⧗ no file", "bold yellow"),
    REOPENING: ("↻ reopening", "bold yellow"),
    SCHEMA_TOO_NEW: ("✖ newer schema", "bold red"),
}
_UNREADABLE = ("✖ unreadable", "bold red")


@dataclass(frozen=True)
class DeskRow:
    """One line of the table: a loop of a store, or a store with no loop to show (``note``)."""

    store: int  # the store's index, in the order given
    label: str
    source: str | None
    status: Status | None = None
    live: LiveSource | None = None  # its ages stripped: they are computed from ``now``
    firing: int = 0
    state: str = LIVE  # the store watch's state kind (console/store_watch.py)
    note: str | None = None  # why there is no loop to show: the store watch's line

    @property
    def key(self) -> str:
        return f"{self.store}/{self.source or ''}"


def short_labels(paths: Sequence[str]) -> list[str]:
    """Each store by the fewest trailing path parts that tell it from the others:
    ``a.db``, ``b.db``; ``desk1/health.db``, ``desk2/health.db``."""
    parts = [[p for p in path.replace("\\", "/").split("/") if p] or [path] for path in paths]
    for k in range(1, max((len(p) for p in parts), default=1) + 1):
        labels = ["/".join(p[-k:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return list(paths)


def desk_rows(
    labels: Sequence[str],
    snapshots: dict[int, LiveSnapshot],
    states: dict[int, StoreState],
    source: str | None = None,
) -> tuple[DeskRow, ...]:
    """Every store's loops (only those named ``source`` if given: ``--source``), in the order
    the stores were given, loops by name."""
    rows: list[DeskRow] = []
    for index, label in enumerate(labels):
        state = states.get(index) or StoreState(STARTING, "opening…")
        snap = snapshots.get(index)
        loops = [s for s in snap.sources if source in (None, s.source)] if snap is not None else []
        if state.kind in (LIVE, STARTING) and loops:
            firing: dict[str, int] = {}
            for a in snap.firing:
                firing[a.source] = firing.get(a.source, 0) + 1
            for s in loops:
                stable = dataclasses.replace(s, beat_age=None, data_age=None)
                rows.append(
                    DeskRow(index, label, s.source, snap.status_of(s.source), stable, firing.get(s.source, 0))
                )
            continue
        note = state.text
        if state.kind == LIVE:
            note = (
                f"no loop named {source} in this store"
                if source
                else "no loop has recorded into this store yet"
            )
        rows.append(DeskRow(index, label, None, state=state.kind, note=note))
    return tuple(rows)


class DeskOverview(DataTable):
    """The desk's loops; Enter selects the loop the panels show."""

    DEFAULT_CSS = """
    DeskOverview {
        height: auto;
        max-height: 8;
        border: round $primary 60%;
        border-title-color: $text-accent;
    }
    DeskOverview:focus {
        border: round $accent;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Show loop", tooltip="Show this loop in the panels below"),
    ]

    class Selected(Message):
        """The operator chose the loop the panels show."""

        def __init__(self, store: int, source: str | None) -> None:
            super().__init__()
            self.store = store
            self.source = source

    loops: reactive[tuple[DeskRow, ...]] = reactive(())  # not `rows`: DataTable's own
    selected: reactive[str | None] = reactive(None)  # the key of the row the panels show
    now: reactive[float | None] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.border_title = "Desk"

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    def _refill(self, old_keys: list[str]) -> None:
        cells = [self._cells(row) for row in self.loops]
        keys = [r.key for r in self.loops]
        if old_keys == keys and self.row_count == len(keys):
            # Same rows: update the cells that changed, so the cursor stays where it is.
            for key, values in zip(keys, cells, strict=True):
                for column, value in zip(COLUMNS, values, strict=True):
                    if self.get_cell(key, column) != value:
                        self.update_cell(key, column, value)
            return
        cursor = old_keys[self.cursor_row] if 0 <= self.cursor_row < len(old_keys) else None
        self.clear()
        for key, values in zip(keys, cells, strict=True):
            self.add_row(*values, key=key)
        target = cursor if cursor in keys else self.selected
        if target in keys:
            self.move_cursor(row=keys.index(target), animate=False)

    def watch_loops(self, old: tuple[DeskRow, ...], new: tuple[DeskRow, ...]) -> None:
        self._refill([r.key for r in old])

    def watch_selected(self) -> None:
        self._refill([r.key for r in self.loops])

    def watch_now(self) -> None:
        self._refill([r.key for r in self.loops])

    def _cells(self, row: DeskRow) -> tuple:
        now = self.now
        mark = "▸ " if row.key == self.selected else "  "
        store = Text(mark + clean(row.label, one_line=True), style="bold" if mark.strip() else "")
        if row.source is None:
            word, style = _STATE_WORDS.get(row.state, _UNREADABLE)
            return (store, "—", Text(word, style=style), "—", "—", "—", "—")
        symbol, status_style = STATUS_STYLE.get(row.status or Status.UNKNOWN, ("?", ""))
        live = row.live
        up = live is not None and now is not None and live.up_at(now)
        age = live.data_age_at(now) if live is not None and now is not None else None
        signal = live.last_signal if live is not None else None
        return (
            store,
            Text(clean(row.source, one_line=True)),
            Text(f"{symbol} {row.status}", style=status_style),
            Text("● up", style="green") if up else Text("✖ down", style="red"),
            "—" if age is None else ("-" if age < 0 else "") + fmt_duration(age),
            "—" if signal is None or now is None else f"{fmt_duration(max(0.0, now - signal))} ago",
            Text(f"✖ {row.firing}", style="bold red") if row.firing else Text("none", style="green"),
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value if event.row_key is not None else None
        for row in self.loops:
            if row.key == key:
                self.post_message(self.Selected(row.store, row.source))
                return
