"""Small helpers shared by the panels: times in the exchange's zone, status glyphs, and a
base class for bordered panels that render one ``rich.text.Text``.

Every glyph carries the meaning on its own (✔ ▲ ✖ ● ○), so the panels read the same with
``NO_COLOR`` as with colour.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import ClassVar

from rich.style import Style
from rich.text import Span, Text
from textual.widget import Widget

from console.sanitize import clean

PLACEHOLDER = "no data yet"


def hms(ts: float | None, tz: tzinfo, fmt: str = "%H:%M:%S") -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts, tz).strftime(fmt)


def loop_text(value: object, style: str = "") -> Text:
    """Text that came from the trading loop: literal (never markup), controls made visible."""
    return Text(clean(value, one_line=True), style=style)


def _mono(style: str | Style) -> Style:
    """One colour style → what carries the same weight in greyscale."""
    st = Style.parse(style) if isinstance(style, str) else style
    name = st.color.name if st.color is not None else ""
    if "red" in name or "magenta" in name:
        return Style(bold=True, reverse=True)
    if "yellow" in name:
        return Style(bold=True, underline=True)
    return Style(bold=st.bold, dim=st.dim, italic=st.italic)


def no_color(text: Text) -> Text:
    """For NO_COLOR: Textual turns colours into greys, and red on a dark background becomes
    nearly invisible. Keep the emphasis instead: red → reverse, yellow → underline."""
    out = text.copy()
    out.style = _mono(text.style) if text.style else ""
    out.spans = [Span(s.start, s.end, _mono(s.style)) for s in text.spans]
    return out


class StepScroll:
    """Scroll actions that take effect at once, for scrollable containers.

    Textual's defaults defer (or animate) each step until the next refresh, so a burst of
    keys arriving in one read (key repeat over SSH) moves one line, and content replaced
    several times a second (a live panel) restarts the animation. Mix in before the
    container class."""

    def _step(self, lines: int) -> None:
        self.scroll_relative(y=lines, animate=False, immediate=True)  # type: ignore[attr-defined]

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)  # type: ignore[attr-defined]

    def action_scroll_down(self) -> None:
        self._step(1)

    def action_scroll_up(self) -> None:
        self._step(-1)

    def action_page_down(self) -> None:
        self._step(self._page())

    def action_page_up(self) -> None:
        self._step(-self._page())


def same_text(a: Text | None, b: Text | None) -> bool:
    """The same characters in the same styles (``Text ==`` ignores the base style)."""
    if a is None or b is None:
        return a is b
    return a.plain == b.plain and a.spans == b.spans and a.style == b.style


class Panel(Widget):
    """A bordered panel whose content is one Rich ``Text`` built by :meth:`build`.

    The data a panel shows are reactives named in ``CONTENT``, declared with
    ``repaint=False``: when one changes, the panel builds its text and repaints only if the
    text changed (a snapshot with one more heartbeat leaves "last beat 0s ago" as it was, and
    the terminal is sent nothing). So is ``now``, set every second. :meth:`text` gives the
    plain content for tests.
    """

    DEFAULT_CSS = """
    Panel {
        border: round $primary 60%;
        border-title-color: $text-accent;
        border-title-style: bold;
        padding: 0 1;
        height: 1fr;
        overflow: hidden hidden;
    }
    """

    TITLE = ""
    CONTENT: ClassVar[tuple[str, ...]] = ()  # the data reactives (repaint=False)
    _last_text: Text | None = None  # as last rendered

    def __init__(self, tz: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz  # the exchange's: every time on the panel is shown in it
        self.border_title = self.TITLE

    def show_source(self, source: str | None) -> None:
        """Name the loop in the title when the store holds several (literal text)."""
        title = Text(self.TITLE)
        if source:
            title.append(" · ")
            title.append_text(loop_text(source))
        if title.plain != getattr(self, "_title_plain", None):
            self._title_plain = title.plain
            self.border_title = title

    def build(self, width: int) -> Text:
        raise NotImplementedError

    def on_mount(self) -> None:
        for name in self.CONTENT:
            self.watch(self, name, self.content_changed, init=False)

    def watch_now(self) -> None:
        """The clock ticks every second, but most of a panel does not (see the class)."""
        self.content_changed()

    def content_changed(self) -> None:
        """Repaint (and send the terminal anything) only if the panel's text changed."""
        last = self._last_text
        if not self.is_mounted or last is None or not same_text(self.build(self._width()), last):
            self.refresh()

    def _width(self) -> int:
        return max(10, self.content_size.width or self.size.width - 4)

    def render(self) -> Text:
        width = self._width()
        text = self.build(width)
        self._last_text = text.copy()
        text.no_wrap = False
        text.overflow = "fold"
        text = self._fit(text, width, self.content_size.height)
        return no_color(text) if self.app.no_color else text

    def _fit(self, text: Text, width: int, height: int) -> Text:
        """The lines are ordered most urgent first; when they do not all fit, the last line
        that fits says how many more there are, so nothing goes missing without a hint."""
        if height < 2:
            return text
        lines = text.wrap(self.app.console, width, overflow="fold")
        if len(lines) <= height:
            return text
        hidden = len(lines) - height + 1
        fitted = Text("\n").join(lines[: height - 1])
        fitted.append(f"\n… {hidden} more line{'s' if hidden > 1 else ''} (taller terminal)", style="dim")
        return fitted

    def text(self, width: int = 60) -> str:
        """The panel's content as plain text (what an operator reads), for tests."""
        return self.build(width).plain
