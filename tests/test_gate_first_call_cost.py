"""No call of the loop's API does more than about a millisecond of its own work, on any day
of any calendar, the first call on a holiday included (docs/CONTRACT.md §2, amended): holiday names
are known before the loop needs them, and they are the calendar's real names.

"Own work" is the calling thread's CPU time (``time.thread_time``), with the garbage
collector held off during the call: what the hook itself computes, not what the machine's
other load or the loop's own garbage costs (README: ``gc.freeze()``)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import exchange_calendars as xcals
import pytest

from health import MonitorConfig, ProductionMonitor
from health.calendar import get_calendar
from health.gate import closed_reason
from health.simulation import SimClock

OWN_WORK_LIMIT = 0.001  # seconds of the caller's CPU per call


def own_work(call: Callable[[], object]) -> float:
    gc.disable()
    try:
        start = time.thread_time()
        call()
        return time.thread_time() - start
    finally:
        gc.enable()


def _holiday(code: str, after: date) -> date | None:
    """The first weekday in the trading week on or after ``after`` without a session."""
    cal = get_calendar(code)
    day = after
    while day <= cal.last_day:
        if not cal.is_weekend(day) and not cal.is_trading_day(day):
            return day
        day += timedelta(days=1)
    return None


def _noon(code: str, day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=get_calendar(code).tz).timestamp()


@pytest.mark.parametrize(
    ("code", "day", "name"),
    [
        ("XNYS", date(2025, 11, 27), "Thanksgiving"),
        ("XNYS", date(2025, 12, 25), "Christmas"),
        ("XKRX", date(2025, 10, 6), "Chuseok"),
        ("XKRX", date(2025, 1, 29), "Seollal"),
    ],
)
def test_the_first_refusal_on_a_holiday_is_cheap_and_named(code, day, name, tmp_path) -> None:
    get_calendar.cache_clear()  # a calendar no earlier test has asked about
    clock = SimClock(_noon(code, day))
    with ProductionMonitor(MonitorConfig(calendar=code, store_path=str(tmp_path / "h.db"), clock=clock)) as m:
        answer: list[tuple[bool, str]] = []
        spent = own_work(lambda: answer.append(m.should_generate_signals(clock.now - 5)))
        ((allowed, reason),) = answer
        assert not allowed
        assert name in reason and "market holiday" not in reason, reason
        assert spent < OWN_WORK_LIMIT, f"first call on {day} ({reason}) took {spent * 1e3:.2f} ms of CPU"
        # the other calls on that first minute too
        assert own_work(m.record_activity) < OWN_WORK_LIMIT
        assert own_work(lambda: m.record_signal("X", clock.now - 5)) < OWN_WORK_LIMIT


def test_every_calendar_first_call_on_a_holiday_is_cheap(tmp_path) -> None:
    """One monitor per calendar, its clock at noon on the calendar's first 2025 closure on a
    weekday of its trading week."""
    slow = []
    store = str(tmp_path / "h.db")
    for code in xcals.get_calendar_names(include_aliases=False):
        day = _holiday(code, date(2025, 1, 1))
        if day is None:
            continue  # 24/7 and 24/5 never close on a weekday
        clock = SimClock(_noon(code, day))
        with ProductionMonitor(MonitorConfig(calendar=code, store_path=store, clock=clock, source=code)) as m:
            answer: list[tuple[bool, str]] = []
            spent = own_work(lambda m=m, a=answer, t=clock.now - 5: a.append(m.should_generate_signals(t)))
        ((allowed, reason),) = answer
        assert not allowed, (code, day, reason)
        if spent >= OWN_WORK_LIMIT:
            slow.append(f"{code} {day}: {spent * 1e3:.2f} ms ({reason})")
    assert slow == []


def test_weekends_follow_the_exchanges_trading_week() -> None:
    """Riyadh trades Sunday to Thursday: its Friday is a weekend, its Sunday is not."""
    cal = get_calendar("XSAU")
    friday, sunday = date(2025, 9, 5), date(2025, 9, 7)
    assert cal.is_weekend(friday) and not cal.is_weekend(sunday)
    assert cal.is_trading_day(sunday)
    _, reason = closed_reason(cal, datetime(2025, 9, 5, 12, tzinfo=UTC).timestamp())
    assert "(weekend)" in reason, reason
