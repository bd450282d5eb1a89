"""What the command lines' arguments mean: an instant (``--now``), a clock, a day as people
type it (``--date``, ``--from``, the browser's go-to field), a calendar code. One reading of
each, shared by the CLIs, the Textual app and the watchdog; a bad value is a
:class:`console.args.UsageError` (one stderr line, exit 3).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo

from console.args import UsageError


def parse_instant(text: str | None, flag: str = "--now") -> float | None:
    """An ISO 8601 instant with a UTC offset, as epoch seconds; None when not given."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: not an ISO 8601 instant: {text!r}") from None
    if dt.tzinfo is None:
        raise UsageError(f"{flag} needs a UTC offset, e.g. 2025-12-11T10:00:00-05:00")
    return dt.timestamp()


class RunningClock:
    """A clock set to ``start`` that runs on at ``speed`` simulated seconds per real second
    (1 unless ``--speed`` says otherwise): ``--now`` and ``--clock-start``. The soak runs
    (tests/faultkit/soak.py) drive loops, the console and the watchdog on one such clock."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self._real_start = time.time()

    def __call__(self) -> float:
        return self.start + (time.time() - self._real_start) * self.speed


def clock_of(args: argparse.Namespace) -> Callable[[], float]:
    """The clock the arguments ask for: ``--now`` or ``--clock-start`` (at ``--speed``), else
    the system's."""
    start = parse_instant(args.now, "--now")
    if start is None:
        start = parse_instant(getattr(args, "clock_start", None), "--clock-start")
    speed = getattr(args, "speed", None) or 1.0
    return time.time if start is None else RunningClock(start, speed)


def instant_of(clock: Callable[[], float]) -> float:
    """The "now" of a one-shot report: exactly the instant asked for, if one was."""
    return clock.start if isinstance(clock, RunningClock) else clock()


_ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")
RELATIVE_DAYS = ("today", "yesterday")


def read_day(text: str, tz: tzinfo, now: float) -> date:
    """A day as people type it, in the CLIs' ``--date`` and the browser's go-to field alike:
    YYYY-MM-DD, 'today' or 'yesterday' (the calendar day before, in the calendar's zone)."""
    text = text.strip()
    today = datetime.fromtimestamp(now, tz).date()
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if not _ISO_DAY.fullmatch(text):
        raise ValueError(f"not a date: {text!r} (YYYY-MM-DD, 'today' or 'yesterday')")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:  # the right form, not a day: say which part is wrong
        raise ValueError(f"not a date: {text!r} ({exc})") from None


def parse_day(text: str | None, tz: tzinfo, now: float) -> date | None:
    """``--date``: None for today (the report's default), else the day."""
    if text is None or text == "today":
        return None
    try:
        return read_day(text, tz, now)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None


def known_calendar(code: str):
    """exchange_calendars' calendar ``code``; a bad code is a usage error."""
    from health.calendar import CalendarError, get_calendar

    try:
        return get_calendar(code)
    except CalendarError as exc:
        raise UsageError(str(exc)) from None


def store_calendar_code(args: argparse.Namespace, reader) -> str:
    """``--calendar``, else the one the store's loops recorded, else XNYS: read on the
    connection the command already holds (health/loader.py)."""
    from health.loader import recorded_code

    return args.calendar or recorded_code(reader) or "XNYS"


def read_flag_day(flag: str, text: str, tz: tzinfo, now: float) -> date:
    """A day flag (``--from``, ``--to``) as ``read_day`` reads it; a bad one is a usage error."""
    try:
        return read_day(text, tz, now)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
