"""Acknowledge an alert from the dashboard (``a`` in the issues panel): which one, for how long,
and why. The same ack as ``health-console --ack``: the watchdog stops repeating that alert
until the expiry or until it resolves. The screen only asks; the app writes the ack off the
UI thread (console/app.py, store/acks.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from console.args import parse_duration
from console.sanitize import clean

DEFAULT_FOR = "1h"
OPTION_WIDTH = 66  # one line per choice in the 76-column box, so that several fit


@dataclass(frozen=True)
class AckChoice:
    code: str
    source: str | None
    message: str
    acked: str | None = None  # an ack already in force, described


@dataclass(frozen=True)
class AckRequest:
    code: str
    source: str | None
    seconds: float
    reason: str


def _short(text: str, limit: int = 50) -> str:
    """One line per choice, so that several fit: the full message is in the issues panel."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AckScreen(ModalScreen[AckRequest | None]):
    """Pick the alert (↑/↓), then type how long and why; Enter in the reason acknowledges,
    Esc leaves without writing anything."""

    DEFAULT_CSS = """
    AckScreen {
        align: center middle;
    }
    AckScreen > Vertical {
        width: 76;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    AckScreen OptionList {
        height: auto;
        max-height: 10;
    }
    AckScreen #ack-error {
        color: $error;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, choices: list[AckChoice]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Acknowledge which alert? No pages until the expiry, or until it resolves.")
            options = []
            for i, c in enumerate(self.choices):
                text = Text(f"{c.code}", style="bold")
                if c.source:
                    text.append(f" · {clean(c.source, one_line=True)}")
                room = max(10, OPTION_WIDTH - len(text.plain) - 3)
                text.append(f" — {_short(clean(c.message, one_line=True), room)}", style="dim")
                if c.acked:
                    text.append(f" (acked: {clean(c.acked, one_line=True)})", style="yellow")
                options.append(Option(text, id=str(i)))
            yield OptionList(*options, id="ack-choice")
            yield Input(DEFAULT_FOR, placeholder="for how long: 30m, 2h, 1h30m (at most 7d)", id="ack-for")
            yield Input(placeholder="why (required; shown in the alert log and the report)", id="ack-reason")
            yield Label("", id="ack-error")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#ack-for", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "ack-for":
            self.query_one("#ack-reason", Input).focus()
            return
        self.submit()

    def submit(self) -> None:
        error = self.query_one("#ack-error", Label)
        index = self.query_one(OptionList).highlighted
        if index is None:
            error.update("pick the alert to acknowledge")
            return
        try:
            seconds = parse_duration(self.query_one("#ack-for", Input).value)
        except ValueError as exc:
            error.update(f"for: {exc}")
            self.query_one("#ack-for", Input).focus()
            return
        reason = " ".join(self.query_one("#ack-reason", Input).value.split())
        if not reason:
            error.update("a reason is required: whoever reads the alert log must learn why")
            self.query_one("#ack-reason", Input).focus()
            return
        choice = self.choices[index]
        self.dismiss(AckRequest(choice.code, choice.source, seconds, reason))
