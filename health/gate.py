"""The real-time gate: may the loop generate signals from data stamped ``data_ts`` now?

Runs in the trading loop on every iteration, so it works on the calendar's preloaded epoch
floats and keeps the bounds of the current session in attributes: the common case (market
open, fresh data) is a handful of float comparisons. Each refusal is one sentence with the
numbers in it, because it ends up in the loop's own log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from health.calendar import CalendarError, MarketCalendar
from health.durations import fmt_duration, fmt_limit

# Reason codes: stable keys for aggregation and for the console's "blocked by reason".
OK = "ok"
FUTURE = "future"
CLOSED = "closed"
BREAK = "break"
PREVIOUS_SESSION = "previous_session"
STALE = "stale"
CALENDAR = "calendar"

REASON_CODES = (OK, FUTURE, CLOSED, BREAK, PREVIOUS_SESSION, STALE, CALENDAR)

# Seconds around a whole-hour offset still read as a time-zone label error: here in a future
# refusal's sentence, and by the report over the same refusals (health/analysis.py).
WHOLE_HOUR_SLACK = 120.0


@dataclass(frozen=True, slots=True)
class GateDecision:
    allowed: bool
    code: str
    reason: str
    data_age: float  # seconds; negative when the data is stamped in the future


class Gate:
    """Evaluates the contract's rules with the current session's bounds cached."""

    def __init__(
        self,
        calendar: MarketCalendar,
        max_data_age_seconds: float,
        future_tolerance_seconds: float = 5.0,
    ) -> None:
        self.calendar = calendar
        self.max_age = float(max_data_age_seconds)
        self.tolerance = float(future_tolerance_seconds)
        self._limit_text = fmt_limit(self.max_age)
        # Bounds valid for now in [_valid_from, _close): the session closing next.
        self._valid_from = float("inf")
        self._open = self._close = self._bs = self._be = 0.0
        self._prev_cutoff = float("-inf")  # data at or before this is the previous session's
        self._closed_minute = -1
        self._closed_reason = ("", "")
        self._ok_key = None  # what the last "ok" sentence was made for (see _ok)
        self._ok_reason = ""

    def _load(self, now: float) -> None:
        (self._open, self._close, self._bs, self._be, self._valid_from, self._prev_cutoff) = (
            self.calendar.bounds_at(now)
        )

    def evaluate(self, now: float, data_ts: float) -> tuple[bool, str, str, float]:
        """Return (allowed, code, reason, data_age). Never raises for a calendar gap."""
        age = now - data_ts
        if age < -self.tolerance:
            return False, FUTURE, self._future_reason(-age), age
        if not self._valid_from <= now < self._close:
            try:
                self._load(now)
            except CalendarError as exc:
                return False, CALENDAR, f"market calendar cannot answer: {exc}", age
        if now < self._open or self._bs <= now < self._be:
            return (False, *self._closed(now), age)
        if data_ts <= self._prev_cutoff:  # -inf where sessions abut (docs/CONTRACT.md §2)
            return (
                False,
                PREVIOUS_SESSION,
                (
                    f"data is from the previous session ({self.calendar.fmt(data_ts)}, "
                    f"{fmt_duration(age)} old)"
                ),
                age,
            )
        if age > self.max_age:
            return False, STALE, f"data is {fmt_duration(age)} old (limit {self._limit_text})", age
        # The allowed path, the loop's usual one: the sentence depends on the age only through
        # what fmt_duration shows of it (whole seconds under a minute, else the seconds' floor),
        # so it is made once per shown value, not on every call (bench/recorder.py).
        a = age if age >= 0 else -age
        key = int(a) if a >= 60 else -1 - round(a)
        if key != self._ok_key:
            self._ok_key = key
            self._ok_reason = f"ok: market open, data {fmt_duration(age)} old"
        return True, OK, self._ok_reason, age

    def in_rth(self, now: float) -> bool:
        """Is ``now`` inside a session (breaks excluded)? The cached bounds, no allocation."""
        if not self._valid_from <= now < self._close:
            try:
                self._load(now)
            except CalendarError:
                return False
        return self._open <= now and not self._bs <= now < self._be

    def decide(self, now: float, data_ts: float) -> GateDecision:
        return GateDecision(*self.evaluate(now, data_ts))

    def _future_reason(self, ahead: float) -> str:
        hours = ahead / 3600
        hint = ""
        # In whole seconds, as the report judges it: in hours, 1h 02m 00s came out 120.0000000004 s.
        if hours >= 0.95 and abs(ahead - round(hours) * 3600) <= WHOLE_HOUR_SLACK:
            hint = f" — a whole {round(hours)}h offset: a time-zone label error?"
        return (
            f"data timestamp is {fmt_duration(ahead)} in the future "
            f"(tolerance {fmt_duration(self.tolerance)}){hint}"
        )

    def _closed(self, now: float) -> tuple[str, str]:
        minute = int(now // 60)
        if minute == self._closed_minute:
            return self._closed_reason
        self._closed_minute = minute
        self._closed_reason = closed_reason(self.calendar, now)
        return self._closed_reason


def closed_reason(calendar: MarketCalendar, now: float) -> tuple[str, str]:
    """(code, sentence) for a moment outside RTH: which kind of closed, and when it opens."""
    try:
        state = calendar.state(now)
    except CalendarError as exc:
        return CALENDAR, f"market calendar cannot answer: {exc}"
    fmt = calendar.fmt
    if state.phase == "break" and state.session is not None:
        return BREAK, (
            f"market closed for the midday break: reopens {fmt(state.session.break_end_ts, '%H:%M %Z')}"
        )
    nxt = f"next open {fmt(state.next.open_ts)}" if state.next else "no next session in calendar"
    if state.phase == "pre_open":
        return CLOSED, f"market closed: pre-market, {nxt}"
    if state.phase == "post_close" and state.session is not None:
        early = " (early close)" if state.session.early_close else ""
        return CLOSED, f"market closed at {fmt(state.session.close_ts, '%H:%M %Z')}{early}: {nxt}"
    day = calendar.local_date(now)
    why = "weekend" if calendar.is_weekend(day) else (calendar.holiday_name(day) or "not a trading day")
    return CLOSED, f"market closed ({why}): {nxt}"
