"""Pick the loop the dashboard shows, from anywhere (``s``): a modal list of the store's loops."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.sanitize import clean


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
