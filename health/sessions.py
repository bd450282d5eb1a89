"""A trading session and the market's state at an instant, and the calendar's errors: the plain
records health/calendar.py's ``MarketCalendar`` answers with (every other module imports them
from there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo


class CalendarError(ValueError):
    """A calendar question that cannot be answered (unknown code, date out of range)."""


class UnknownCalendarError(CalendarError):
    pass


class CalendarRangeError(CalendarError):
    pass


class CalendarBuildError(CalendarError):
    """exchange_calendars could not build a calendar it lists: a library bug or a version
    mismatch (pandas), reported in one line with the versions involved."""


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session; epoch floats for arithmetic, aware datetimes for people."""

    day: date
    open_ts: float
    close_ts: float
    break_start_ts: float | None
    break_end_ts: float | None
    early_close: bool
    late_open: bool
    tz: tzinfo

    @property
    def open(self) -> datetime:
        return datetime.fromtimestamp(self.open_ts, self.tz)

    @property
    def close(self) -> datetime:
        return datetime.fromtimestamp(self.close_ts, self.tz)

    @property
    def break_start(self) -> datetime | None:
        return None if self.break_start_ts is None else datetime.fromtimestamp(self.break_start_ts, self.tz)

    @property
    def break_end(self) -> datetime | None:
        return None if self.break_end_ts is None else datetime.fromtimestamp(self.break_end_ts, self.tz)

    def rth_intervals(self) -> list[tuple[float, float]]:
        """The session's trading time, the lunch break cut out."""
        if self.break_start_ts is None or self.break_end_ts is None:
            return [(self.open_ts, self.close_ts)]
        return [(self.open_ts, self.break_start_ts), (self.break_end_ts, self.close_ts)]

    @property
    def rth_seconds(self) -> float:
        return sum(end - start for start, end in self.rth_intervals())

    def contains(self, ts: float) -> bool:
        if not self.open_ts <= ts < self.close_ts:
            return False
        return self.break_start_ts is None or not self.break_start_ts <= ts < self.break_end_ts


@dataclass(frozen=True, slots=True)
class MarketState:
    """Where the market stands at one instant, for the gate and the console's RTH clock."""

    phase: str  # "open", "break", "pre_open" (trading day, before open), "post_close", "closed"
    session: Session | None  # the session ``ts`` falls on (trading day), else None
    previous: Session | None  # the last session that closed before ``ts``
    next: Session | None  # the next session whose open is after ``ts``

    @property
    def is_open(self) -> bool:
        return self.phase == "open"
