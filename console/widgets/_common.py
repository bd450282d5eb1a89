"""Small helpers shared by the panels: times in the exchange's zone, status glyphs, and a
base class for bordered panels that render one ``rich.text.Text``.

Every glyph carries the meaning on its own (✔ ▲ ✖ ● ○), so the panels read the same with
``NO_COLOR`` as with colour.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

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


class Panel(Widget):
    """A bordered panel whose content is one Rich ``Text`` built by :meth:`build`.

    ``render`` is called only when a reactive changed (or the size did), so building is
    cheap enough to do from scratch each time. :meth:`text` gives the plain content for tests.
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
    _last_plain: str | None = None

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

    def watch_now(self, old: float | None, new: float | None) -> None:
        """The clock ticks every second, but most of a panel does not: repaint (and send the
        terminal anything) only when the panel's text changed. Panels declare ``now`` with
        ``repaint=False`` so the tick itself repaints nothing."""
        if old is None or new is None or not self.is_mounted:
            self.refresh()
            return
        width = max(10, self.content_size.width or self.size.width - 4)
        if self.build(width).plain != self._last_plain:
            self.refresh()

    def render(self) -> Text:
        width = max(10, self.content_size.width or self.size.width - 4)
        text = self.build(width)
        self._last_plain = text.plain
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
