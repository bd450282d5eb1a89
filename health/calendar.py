"""Regular trading hours for any exchange_calendars code, as epoch floats and aware datetimes.

exchange_calendars answers every question we have, but at ~100 µs a call; the gate runs in
the trading loop's hot path. So each calendar's sessions are read once into plain lists of
epoch floats and every query is a bisect. Boundaries follow exchange_calendars: the open
minute is inside the session, the close minute is outside.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from health.sessions import (
    CalendarBuildError,
    CalendarError,
    CalendarRangeError,
    MarketState,
    Session,
    UnknownCalendarError,
)

__all__ = [
    "CalendarBuildError",
    "CalendarError",
    "CalendarRangeError",
    "MarketCalendar",
    "MarketState",
    "Session",
    "UnknownCalendarError",
    "day_bounds",
    "get_calendar",
]


class MarketCalendar:
    """Sessions of one exchange calendar, preloaded as floats.

    ``MarketCalendar(code)`` builds them with exchange_calendars (health/calendar_xcals.py);
    ``MarketCalendar.from_arrays`` takes them as plain arrays, as a loop recorded them in the
    store (health/calendar_record.py). Every answer depends on these arrays alone."""

    def __init__(self, code: str = "XNYS") -> None:
        from health.calendar_xcals import BuildFailed, UnknownCode, build_arrays, build_failure

        try:
            arrays = build_arrays(code)  # pandas and exchange_calendars: imported only here
        except UnknownCode:
            raise UnknownCalendarError(
                f"unknown exchange calendar {code!r} (see exchange_calendars.get_calendar_names())"
            ) from None
        except BuildFailed as exc:
            raise CalendarBuildError(str(exc)) from exc.__cause__
        try:
            self._set(**arrays)
        except Exception as exc:
            raise CalendarBuildError(build_failure(code, exc)) from exc

    @classmethod
    def from_arrays(cls, **arrays) -> MarketCalendar:
        """A calendar from its sessions as plain arrays (``_set``'s arguments, what ``arrays()``
        returns): one entry per session, in order."""
        self = cls.__new__(cls)
        self._set(**arrays)
        return self

    def _set(
        self,
        *,
        code: str,
        version: str,
        tz_name: str,
        days: list[date],
        opens: list[float],
        closes: list[float],
        break_starts: list[float | None],
        break_ends: list[float | None],
        early: set[date],
        late: set[date],
        weekmask: str,
        special_weekmasks: list[tuple[date | None, date | None, str]],
        holiday_names: dict[date, str] | None = None,
        name_holidays: Callable[[date, date], dict[date, str]] | None = None,
        recorded: bool = False,
    ) -> None:
        """Holiday names are given, or computed once, when first needed, by
        ``name_holidays(first_day, last_day)``. ``recorded``: read back from a loop's
        recording in the store rather than built here."""
        if not days or not len(days) == len(opens) == len(closes) == len(break_starts) == len(break_ends):
            raise ValueError(f"calendar {code}: sessions of unequal or zero length")
        self.code = code
        self.version = version  # of exchange_calendars, which produced the sessions
        self.recorded = recorded
        self.tz: tzinfo = ZoneInfo(tz_name)
        self.tz_name = tz_name
        self._days = days
        self._day_index = {d: i for i, d in enumerate(days)}
        self._opens = opens
        self._closes = closes
        self._break_starts = break_starts
        self._break_ends = break_ends
        self._early = early
        self._late = late
        self._holiday_names = holiday_names  # the whole range, once needed
        self._name_holidays = name_holidays
        self._weekmask = weekmask
        self._special_weekmasks = special_weekmasks
        self.first_day: date = days[0]
        self.last_day: date = days[-1]
        self._sessions: dict[int, Session] = {}

    def __repr__(self) -> str:
        return f"MarketCalendar({self.code!r}, {self.first_day}..{self.last_day})"

    # -- sessions by date -------------------------------------------------------------
    def check_range(self, day: date) -> None:
        if not self.first_day <= day <= self.last_day:
            raise CalendarRangeError(
                f"{day.isoformat()} is outside the {self.code} calendar's range "
                f"({self.first_day.isoformat()} to {self.last_day.isoformat()})"
            )

    def _session(self, i: int) -> Session:
        # Built once per session (it is frozen): a period asks for each again and again.
        sess = self._sessions.get(i)
        if sess is None:
            sess = self._sessions[i] = self._build_session(i)
        return sess

    def _build_session(self, i: int) -> Session:
        day = self._days[i]
        return Session(
            day=day,
            open_ts=self._opens[i],
            close_ts=self._closes[i],
            break_start_ts=self._break_starts[i],
            break_end_ts=self._break_ends[i],
            early_close=day in self._early,
            late_open=day in self._late,
            tz=self.tz,
        )

    def session(self, day: date) -> Session | None:
        """The session on ``day``, or None if the exchange does not trade that day."""
        self.check_range(day)
        i = self._day_index.get(day)
        return None if i is None else self._session(i)

    def is_trading_day(self, day: date) -> bool:
        self.check_range(day)
        return day in self._day_index

    def next_trading_day(self, day: date) -> date:
        i = bisect.bisect_right(self._days, day)
        if i >= len(self._days):
            raise CalendarRangeError(f"no {self.code} session after {day} in the calendar's range")
        return self._days[i]

    def previous_trading_day(self, day: date) -> date:
        i = bisect.bisect_left(self._days, day) - 1
        if i < 0:
            raise CalendarRangeError(f"no {self.code} session before {day} in the calendar's range")
        return self._days[i]

    def sessions_between(self, start: date, end: date) -> list[Session]:
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return [self._session(i) for i in range(lo, hi)]

    def is_weekend(self, day: date) -> bool:
        """Outside the exchange's trading week (its weekmask: Friday/Saturday in Riyadh, and
        the special weeks exchange_calendars knows)."""
        mask = self._weekmask
        for start, end, special in self._special_weekmasks:
            if (start is None or start <= day) and (end is None or day <= end):
                mask = special
                break
        return mask[day.weekday()] == "0"

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name on a weekday without a session ("market holiday" for a closure
        the calendar does not name); None on a trading day or a weekend. A dict look-up once
        ``load_holiday_names`` has run: the gate's refusal path on a holiday uses it."""
        if day in self._day_index or self.is_weekend(day):
            return None
        names = self._holiday_names
        if names is None:
            names = self.load_holiday_names()
        return names.get(day) or "market holiday"

    def load_holiday_names(self) -> dict[date, str]:
        """Every holiday name of the calendar's range, computed in one pass (from
        exchange_calendars' rules: 5-25 ms; XKRX 0.3 s, its lunar holidays are only named when
        computed over whole years). Asked for one day the same rules cost as much and lose the
        lunar names, so the monitor calls this at construction, never in a loop call
        (docs/CONTRACT.md §2: ~1 ms a call)."""
        if self._holiday_names is not None:
            return self._holiday_names
        names: dict[date, str] = {}
        if self._name_holidays is not None:
            try:
                names = self._name_holidays(self.first_day, self.last_day)
            except Exception:  # a calendar whose rules cannot name its holidays: unnamed closures
                names = {}
        self._holiday_names = names
        return names

    @property
    def weekmask(self) -> str:
        """The exchange's regular trading week, Monday first ("1111100")."""
        return self._weekmask

    @property
    def special_weekmasks(self) -> list[tuple[date | None, date | None, str]]:
        """(first day or None, last day or None, weekmask) where the week differed."""
        return list(self._special_weekmasks)

    def arrays(self) -> dict:
        """The sessions as plain arrays, ``from_arrays``' arguments (holiday names computed)."""
        return {
            "code": self.code,
            "version": self.version,
            "tz_name": self.tz_name,
            "days": self._days,
            "opens": self._opens,
            "closes": self._closes,
            "break_starts": self._break_starts,
            "break_ends": self._break_ends,
            "early": self._early,
            "late": self._late,
            "weekmask": self._weekmask,
            "special_weekmasks": self._special_weekmasks,
            "holiday_names": self.load_holiday_names(),
        }

    # -- sessions by instant (hot path) ------------------------------------------------
    def local_date(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.tz).date()

    def state(self, ts: float) -> MarketState:
        """Market phase at ``ts``: a bisect over preloaded closes, no pandas."""
        closes = self._closes
        i = bisect.bisect_right(closes, ts)  # first session whose close is after ts
        if i >= len(closes):
            if ts >= closes[-1] and self.local_date(ts) > self.last_day:
                raise CalendarRangeError(
                    f"{self.local_date(ts).isoformat()} is after the {self.code} calendar's "
                    f"last session {self.last_day.isoformat()}"
                )
            # After the last session's close, on its day (a later day raised above): that
            # session is the day's, as on any other day.
            prev = self._session(len(closes) - 1)
            return MarketState("post_close", prev, prev, None)
        if i == 0 and ts < self._opens[0]:
            raise CalendarRangeError(
                f"{self.local_date(ts).isoformat()} is before the {self.code} calendar's "
                f"first session {self.first_day.isoformat()}"
            )
        prev = self._session(i - 1) if i > 0 else None
        if ts >= self._opens[i]:
            sess = self._session(i)
            bs, be = self._break_starts[i], self._break_ends[i]
            if bs is not None and be is not None and bs <= ts < be:
                return MarketState("break", sess, prev, self._session(i + 1) if i + 1 < len(closes) else None)
            nxt = self._session(i + 1) if i + 1 < len(closes) else None
            return MarketState("open", sess, prev, nxt)
        nxt = self._session(i)
        if nxt.day == self.local_date(ts):
            return MarketState("pre_open", nxt, prev, nxt)
        if prev is not None and prev.day == self.local_date(ts):
            return MarketState("post_close", prev, prev, nxt)
        return MarketState("closed", None, prev, nxt)

    def bounds_at(self, ts: float) -> tuple[float, float, float, float, float, float]:
        """(open, close, break_start, break_end, previous_close, previous_session_cutoff) of
        the session that closes next after ``ts``; breaks absent are (inf, inf). For the
        gate's per-session cache; the cutoff is ``previous_session_close``'s."""
        i = bisect.bisect_right(self._closes, ts)
        if i >= len(self._closes) or (i == 0 and ts < self._opens[0]):
            raise CalendarRangeError(
                f"{datetime.fromtimestamp(ts, self.tz):%Y-%m-%d %H:%M %Z} is outside the "
                f"{self.code} calendar's range ({self.first_day} to {self.last_day})"
            )
        bs = self._break_starts[i]
        be = self._break_ends[i]
        prev_close = self._closes[i - 1] if i > 0 else float("-inf")
        return (
            self._opens[i],
            self._closes[i],
            float("inf") if bs is None else bs,
            float("inf") if be is None else be,
            prev_close,
            self._cutoff(i),
        )

    def _cutoff(self, i: int) -> float:
        """Data stamped at or before this is from the session before session ``i``: its
        close, when the market was closed between the two; -inf where they abut (CMES, 24/7:
        the close is the next open), as data then is judged by its age alone (docs/CONTRACT.md §2)."""
        if i == 0 or self._closes[i - 1] >= self._opens[i]:
            return float("-inf")
        return self._closes[i - 1]

    def previous_session_close(self, ts: float) -> float:
        """For data used at ``ts``: the cutoff of the session that closes next after ``ts``
        (see ``_cutoff``); -inf outside the calendar's range."""
        i = bisect.bisect_right(self._closes, ts)
        if i >= len(self._closes):
            return float("-inf")
        return self._cutoff(i)

    def is_open(self, ts: float) -> bool:
        """Is ``ts`` inside a session, breaks excluded (whichever day the session is labelled)?"""
        i = bisect.bisect_right(self._closes, ts)
        if i >= len(self._closes) or ts < self._opens[i]:
            return False
        bs, be = self._break_starts[i], self._break_ends[i]
        return bs is None or be is None or not bs <= ts < be

    def stretch_at(self, ts: float) -> tuple[float, float, bool, float]:
        """(start, end, is_open, cutoff): the half-open stretch [start, end) around ``ts`` over
        which ``is_open`` and ``previous_session_close`` keep the values they have at ``ts``.
        Signals come in time order, so an analysis that remembers the stretch classifies
        most of them with two comparisons instead of two bisects."""
        closes = self._closes
        i = bisect.bisect_right(closes, ts)
        if i >= len(closes):
            return (closes[-1] if closes else float("-inf")), float("inf"), False, float("-inf")
        lo = closes[i - 1] if i > 0 else float("-inf")
        cutoff = self._cutoff(i)
        opens, close = self._opens[i], closes[i]
        if ts < opens:
            return lo, opens, False, cutoff
        bs, be = self._break_starts[i], self._break_ends[i]
        if bs is not None and be is not None and bs < be:
            if ts < bs:
                return opens, bs, True, cutoff
            if ts < be:
                return bs, be, False, cutoff
            return be, close, True, cutoff
        return opens, close, True, cutoff

    def open_intervals(self, start: float, end: float) -> list[tuple[float, float]]:
        """The parts of [start, end) inside a session, breaks cut out (``is_open``'s set)."""
        out: list[tuple[float, float]] = []
        t = start
        while t < end:
            _, hi, is_open, _ = self.stretch_at(t)
            if is_open:
                out.append((t, min(hi, end)))
            t = hi
        return out

    def rth_parts(self, start: float, end: float) -> list[tuple[float, float, float]]:
        """The RTH inside [start, end) as (lo, hi, cutoff) pieces, breaks cut out: every instant
        of a piece is one ``is_open`` says is open, and ``previous_session_close`` of it is the
        piece's cutoff. For aggregating a window's signals without asking per signal."""
        out: list[tuple[float, float, float]] = []
        i = bisect.bisect_right(self._closes, start)
        while i < len(self._closes) and self._opens[i] < end:
            lo, hi = max(self._opens[i], start), min(self._closes[i], end)
            bs, be = self._break_starts[i], self._break_ends[i]
            pieces = [(lo, hi)] if bs is None or be is None else [(lo, min(hi, bs)), (max(lo, be), hi)]
            out += [(a, b, self._cutoff(i)) for a, b in pieces if a < b]
            i += 1
        return out

    def fmt(self, ts: float, pattern: str = "%a %Y-%m-%d %H:%M %Z") -> str:
        return datetime.fromtimestamp(ts, self.tz).strftime(pattern)


@functools.lru_cache(maxsize=16)
def get_calendar(code: str = "XNYS") -> MarketCalendar:
    """Shared, cached calendars: building one costs ~0.1 s."""
    return MarketCalendar(code)


@functools.lru_cache(maxsize=4096)
def day_bounds(day: date, tz: tzinfo) -> tuple[float, float]:
    """Epoch bounds of a calendar day in the exchange's time zone (DST-correct). Kept: a
    period's every day asks for them again in each of its steps."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return start.timestamp(), end.timestamp()
