"""Several loops in one store: a table with a row per loop (up, heartbeat, data age,
coverage, last gate decision). It is shown only when the store holds more than one loop, and
moving its cursor selects the loop the panels show (console/screens/source_picker.py makes the
same choice from anywhere, ``s``).
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

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
        data_age = s.data_age_at(now)
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
