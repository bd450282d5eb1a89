"""The RTH clock: exchange time, where the market stands, and how long until it changes.

Computed from the calendar alone (a bisect over preloaded sessions), so it keeps ticking
while the store is missing. ``now`` is set once a second from the app's injected clock,
rounded to the second: the widget redraws once a second and no more.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.reactive import reactive

from console.widgets._common import Panel
from health.calendar import CalendarError, MarketCalendar, Session
from health.durations import fmt_duration
from health.live import CLOSING_SOON_SECONDS


def _countdown(seconds: float) -> str:
    """ "1h 27m", "12m 03s", "45s": precise to the second in the last hour."""
    return fmt_duration(max(0.0, seconds))


class RthClock(Panel):
    """Exchange time, phase (pre-market / open / closing soon / closed / holiday / early
    close), countdown to the next open or close, and the next session."""

    DEFAULT_CSS = """
    RthClock {
        height: 4;
    }
    """

    now: reactive[float | None] = reactive(None, repaint=False)  # see Panel.watch_now

    def __init__(self, calendar: MarketCalendar, *, id: str | None = None) -> None:
        super().__init__(calendar.tz, id=id)
        self.calendar = calendar
        self.border_title = f"Market · {calendar.code}"
        self._holidays: dict[date, str | None] = {}

    def _holiday(self, day: date) -> str | None:
        # exchange_calendars is slow here (pandas); a day's answer never changes.
        if day not in self._holidays:
            self._holidays[day] = self.calendar.holiday_name(day)
        return self._holidays[day]

    def _hours(self, s: Session) -> str:
        cal = self.calendar
        text = f"{cal.fmt(s.open_ts, '%H:%M')}–{cal.fmt(s.close_ts, '%H:%M %Z')}"
        if s.break_start_ts is not None and s.break_end_ts is not None:
            text += f" (break {cal.fmt(s.break_start_ts, '%H:%M')}–{cal.fmt(s.break_end_ts, '%H:%M')})"
        if s.early_close:
            text += " early close"
        return text

    def build(self, width: int) -> Text:
        cal = self.calendar
        now = self.now
        if now is None:
            return Text("…", style="dim")
        try:
            state = cal.state(now)
        except CalendarError as exc:
            return Text(f"{cal.fmt(now, '%H:%M:%S %Z')}  {exc}", style="red")
        head = Text()
        head.append(cal.fmt(now, "%H:%M:%S %Z"), style="bold")
        head.append(cal.fmt(now, "  %a %Y-%m-%d   "), style="dim")
        session = state.session
        nxt = state.next
        if state.phase == "open" and session is not None:
            left = session.close_ts - now
            if left <= CLOSING_SOON_SECONDS:
                head.append("◐ CLOSING SOON", style="bold yellow")
            else:
                head.append("● OPEN", style="bold green")
            head.append(f"  closes in {_countdown(left)}")
            if session.early_close:
                head.append(" (early close)", style="yellow")
        elif state.phase == "break" and session is not None and session.break_end_ts is not None:
            head.append("◌ LUNCH BREAK", style="bold yellow")
            head.append(f"  reopens in {_countdown(session.break_end_ts - now)}")
        elif state.phase == "pre_open" and session is not None:
            head.append("○ PRE-MARKET", style="bold cyan")
            head.append(f"  opens in {_countdown(session.open_ts - now)}")
        else:
            holiday = None if state.phase == "post_close" else self._holiday(cal.local_date(now))
            if holiday:
                head.append(f"○ CLOSED · holiday: {holiday}", style="bold blue")
            elif state.phase == "post_close":
                head.append("○ CLOSED · after hours", style="bold blue")
            else:
                head.append("○ CLOSED · weekend", style="bold blue")
            if nxt is not None:
                head.append(f"  opens in {_countdown(nxt.open_ts - now)}")
        line2 = Text(style="dim")
        if session is not None:
            line2.append(f"today {self._hours(session)}")
        else:
            line2.append("no session today")
        if nxt is not None and (session is None or nxt.day != session.day):
            line2.append(f" · next {cal.fmt(nxt.open_ts, '%a %Y-%m-%d')} {self._hours(nxt)}")
        return Text("\n").join([head, line2])
