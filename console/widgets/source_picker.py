"""Several loops in one store: an overview row per source, and a picker.

``SourceOverview`` is a table (one row per loop: alive, heartbeat, data age, coverage, last
gate decision); it is shown only when the store holds more than one loop, and moving its
cursor selects the loop the panels show. ``SourcePicker`` is a modal list for the same
choice from anywhere (``s``).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, OptionList
from textual.widgets.option_list import Option

from console.sanitize import clean
from health.durations import fmt_duration
from health.live import LiveSource
from health.report import SourceAnalysis

Row = tuple[str, bool, float | None, float | None, float | None, str]


def overview_rows(
    sources: tuple[LiveSource, ...], analyses: dict[str, SourceAnalysis], now: float
) -> tuple[Row, ...]:
    """What the table shows, as plain values (so that unchanged data means no redraw)."""
    rows = []
    for s in sources:
        a = analyses.get(s.source)
        beat = None if s.last_beat is None else max(0.0, now - s.last_beat)
        last = s.last_decision
        data_age = None if last is None or last.last_data_ts is None else now - last.last_data_ts
        alive = s.up_at(now)
        rows.append(
            (
                s.source,
                alive,
                beat,
                data_age,
                None if a is None else a.uptime.rth_coverage_pct,
                "—" if last is None else ("✔ " if last.allowed else "✖ ") + last.code,
            )
        )
    return tuple(rows)


class SourceOverview(DataTable):
    """One row per loop; the cursor row is the selected loop."""

    DEFAULT_CSS = """
    SourceOverview {
        height: auto;
        max-height: 7;
        border: round $primary 60%;
        border-title-color: $text-accent;
        display: none;
    }
    SourceOverview.-multi {
        display: block;
    }
    SourceOverview:focus {
        border: round $accent;
    }
    """

    class Selected(Message):
        """The operator moved to another loop."""

        def __init__(self, source: str) -> None:
            super().__init__()
            self.source = source

    loops: reactive[tuple[Row, ...]] = reactive(())
    selected: reactive[str | None] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.border_title = "Loops"
        self.can_focus = False  # until there is more than one loop

    def on_mount(self) -> None:
        for label in ("loop", "state", "beat", "data age", "RTH cov.", "gate"):
            self.add_column(label)

    def watch_loops(self, old: tuple[Row, ...], rows: tuple[Row, ...]) -> None:
        multi = len(rows) > 1
        self.set_class(multi, "-multi")
        self.can_focus = multi  # hidden with a single loop: Tab must not land on it
        cells = [self._cells(row) for row in rows]
        if [r[0] for r in old] == [r[0] for r in rows] and self.row_count == len(rows):
            # Same loops: update in place, so the cursor (the selection) stays put.
            for row, values in zip(rows, cells, strict=True):
                for column, value in zip(self.columns, values, strict=True):
                    self.update_cell(row[0], column, value)
        else:
            self.clear()
            for row, values in zip(rows, cells, strict=True):
                self.add_row(*values, key=row[0])
        self._show_selected()

    @staticmethod
    def _cells(row: Row) -> tuple:
        name, alive, beat, age, cov, gate = row
        return (
            Text(clean(name, one_line=True)),
            Text("● up", style="green") if alive else Text("✖ down", style="red"),
            "—" if beat is None else fmt_duration(beat),
            "—" if age is None else fmt_duration(age),
            "—" if cov is None else f"{cov:.1f}%",
            Text(clean(gate, one_line=True)),
        )

    def watch_selected(self) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        names = [r[0] for r in self.loops]
        if self.selected in names:
            index = names.index(self.selected)
            if self.cursor_row != index:
                self.move_cursor(row=index)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if not self.has_focus:  # the cursor moved because rows were (re)loaded, not by a person
            return
        key = event.row_key.value if event.row_key is not None else None
        if key is not None and key != self.selected:
            self.post_message(self.Selected(key))


class SourcePicker(ModalScreen[str | None]):
    """Pick the loop the dashboard shows (Enter), or leave (Esc)."""

    DEFAULT_CSS = """
    SourcePicker {
        align: center middle;
    }
    SourcePicker > OptionList {
        width: 60;
        max-width: 90%;
        height: auto;
        max-height: 80%;
        border: round $accent;
    }
    SourcePicker > Label {
        width: 60;
        max-width: 90%;
        padding: 0 1;
        background: $boost;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, sources: list[str], selected: str | None) -> None:
        super().__init__()
        self.sources = sources
        self.selected = selected

    def compose(self) -> ComposeResult:
        yield Label("Show which loop? (↑/↓, Enter; Esc closes)")
        options = [Option(Text(clean(s, one_line=True)), id=s) for s in self.sources]
        yield OptionList(*options)

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.selected in self.sources:
            option_list.highlighted = self.sources.index(self.selected)
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
