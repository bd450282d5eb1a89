"""Every question the program asks a MarketCalendar, asked of two calendars: the one built
with exchange_calendars and the one read back from a loop's recording in the store must give
the same answer to each (health/calendar_record.py)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, timedelta

from health.calendar import CalendarError, MarketCalendar
from health.gate import Gate, closed_reason


def _ask(fn, *args):
    try:
        return fn(*args)
    except CalendarError as exc:  # the same refusal, in the same words
        return (type(exc).__name__, str(exc))


def day_answers(cal: MarketCalendar, day: date) -> tuple:
    return (
        _ask(cal.session, day),
        _ask(cal.is_trading_day, day),
        cal.is_weekend(day),
        cal.holiday_name(day),
        _ask(cal.next_trading_day, day),
        _ask(cal.previous_trading_day, day),
    )


def instant_answers(cal: MarketCalendar, t: float) -> tuple:
    return (
        _ask(cal.state, t),
        _ask(cal.bounds_at, t),
        cal.is_open(t),
        cal.previous_session_close(t),
        closed_reason(cal, t),
        cal.local_date(t),
        Gate(cal, 3600.0).evaluate(t, t - 30.0),
        Gate(cal, 3600.0).evaluate(t, t - 8 * 3600.0),
    )


def differences(
    recorded: MarketCalendar, built: MarketCalendar, days: Iterable[date], instants: Iterable[float]
) -> list[str]:
    """What the two calendars answer differently (empty when they agree on everything)."""
    found = []
    whole = ("code", "version", "tz_name", "first_day", "last_day", "weekmask", "special_weekmasks")
    for name in whole:
        if getattr(recorded, name) != getattr(built, name):
            found.append(f"{name}: {getattr(recorded, name)!r} vs {getattr(built, name)!r}")
    for day in days:
        a, b = day_answers(recorded, day), day_answers(built, day)
        if a != b:
            found.append(f"{day}: {a} vs {b}")
    for t in instants:
        a, b = instant_answers(recorded, t), instant_answers(built, t)
        if a != b:
            found.append(f"{built.fmt(t)} ({t}): {a} vs {b}")
    return found


def sampled(cal: MarketCalendar, rng: random.Random, n_days: int = 400, n_sessions: int = 60) -> tuple:
    """Days: every closure and early close or late open of the range, and random days; instants:
    every boundary (±1 s) of random sessions and of the special ones, and random instants."""
    span = (cal.last_day - cal.first_day).days
    days = {cal.first_day + timedelta(days=rng.randrange(span + 1)) for _ in range(n_days)}
    specials = []
    day = cal.first_day
    while day <= cal.last_day:
        if not cal.is_trading_day(day) and not cal.is_weekend(day):
            days.add(day)
        s = cal.session(day)
        if s is not None and (s.early_close or s.late_open):
            days.add(day)
            specials.append(s)
        day += timedelta(days=1)
    sessions = cal.sessions_between(cal.first_day, cal.last_day)
    chosen = rng.sample(sessions, min(n_sessions, len(sessions))) + rng.sample(
        specials, min(40, len(specials))
    )
    instants = [rng.uniform(sessions[0].open_ts, sessions[-1].close_ts) for _ in range(n_days)]
    for s in chosen:
        for edge in (s.open_ts, s.close_ts, s.break_start_ts, s.break_end_ts):
            if edge is not None:
                instants += [edge - 1.0, edge, edge + 1.0]
    return sorted(days), instants
