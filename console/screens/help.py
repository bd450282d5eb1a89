"""The ``?`` screen: every key, generated from the BINDINGS themselves so it cannot drift."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Production Health console. Everything works from the keyboard; the footer shows the keys "
    "of the current screen, ctrl+p opens the command palette."
)


def _keys(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    names = {
        "question_mark": "?",
        "slash": "/",
        "escape": "esc",
        "left": "←",
        "right": "→",
        "up": "↑",
        "down": "↓",
        "pageup": "PgUp",
        "pagedown": "PgDn",
    }
    return "/".join(names.get(k.strip(), k.strip()) for k in binding.key.split(","))


def bindings_table(sections: list[tuple[str, list[Binding | tuple]]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, bindings in sections:
        table.add_row(Text(title, style="bold underline"), "")
        for b in bindings:
            binding = b if isinstance(b, Binding) else Binding(*b)
            text = binding.tooltip or binding.description or binding.action.replace("_", " ")
            table.add_row(_keys(binding), text)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the bindings of the app and of each screen; any of esc, q, ? closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-color: $text-accent;
        padding: 0 1;
        background: $surface;
        overflow-x: hidden;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
        Binding("up,k", "scroll_up", "Scroll up", show=False),
        Binding("down,j", "scroll_down", "Scroll down", show=False),
    ]

    def __init__(self, sections: list[tuple[str, list[Binding | tuple]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys"
            yield Static(Text(INTRO, style="dim"))
            yield Static(bindings_table(self.sections), id="help-table")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up()

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down()
