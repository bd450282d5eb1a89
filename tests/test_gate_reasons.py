"""The gate's refusals word for word (they end up in the loop's own log line), its cached
sentences and bounds across the instants where they change, ``in_rth`` on every edge of a
session, and the whole-hour hint of a future refusal on both sides of its 120 s slack — the same
slack the report applies to the same refusals (health/analysis.py)."""

from __future__ import annotations

from datetime import date

import pytest

from health.analysis import WHOLE_HOUR_SLACK, _gate_whole_hour_offset
from health.calendar import get_calendar
from health.gate import BREAK, CALENDAR, CLOSED, FUTURE, OK, PREVIOUS_SESSION, STALE, Gate, closed_reason
from health.simulation import at
from store.records import GateRecord

WED, THU = date(2025, 12, 10), date(2025, 12, 11)
FRI_EARLY, SAT, THANKSGIVING = date(2025, 11, 28), date(2025, 11, 29), date(2025, 11, 27)


def xnys(limit: float = 3600.0) -> Gate:
    return Gate(get_calendar("XNYS"), limit, 5.0)


@pytest.mark.parametrize(
    ("day", "hh", "mm", "code", "reason"),
    [
        (WED, 16, 0, CLOSED, "market closed at 16:00 EST: next open Thu 2025-12-11 09:30 EST"),
        (WED, 23, 59, CLOSED, "market closed at 16:00 EST: next open Thu 2025-12-11 09:30 EST"),
        (WED, 9, 29, CLOSED, "market closed: pre-market, next open Wed 2025-12-10 09:30 EST"),
        (WED, 0, 0, CLOSED, "market closed: pre-market, next open Wed 2025-12-10 09:30 EST"),
        (
            FRI_EARLY,
            13,
            0,
            CLOSED,
            "market closed at 13:00 EST (early close): next open Mon 2025-12-01 09:30 EST",
        ),
        (SAT, 11, 0, CLOSED, "market closed (weekend): next open Mon 2025-12-01 09:30 EST"),
        (THANKSGIVING, 11, 0, CLOSED, "market closed (Thanksgiving): next open Fri 2025-11-28 09:30 EST"),
    ],
)
def test_each_kind_of_closed_says_so_exactly(day, hh, mm, code, reason) -> None:
    now = at(day, hh, mm)
    decision = xnys().decide(now, now - 60)
    assert (decision.allowed, decision.code, decision.reason, decision.data_age) == (
        False,
        code,
        reason,
        60.0,
    )
    assert closed_reason(get_calendar("XNYS"), now) == (code, reason)


def test_the_midday_break_says_when_it_reopens() -> None:
    gate = Gate(get_calendar("XHKG"), 3600.0)
    now = at(WED, 12, 30, calendar="XHKG")
    assert gate.evaluate(now, now - 60) == (
        False,
        BREAK,
        "market closed for the midday break: reopens 13:00 HKT",
        60.0,
    )


def test_a_closed_market_with_no_next_session_in_the_calendar() -> None:
    """After the last session of the calendar's range: the reason says there is no next open."""
    cal = get_calendar("XNYS")
    last = cal.session(cal.last_day)
    code, reason = closed_reason(cal, last.close_ts + 60)
    assert code == CLOSED
    assert reason.endswith(": no next session in calendar"), reason
    assert reason.startswith(f"market closed at {cal.fmt(last.close_ts, '%H:%M %Z')}"), reason


def test_the_cached_sentence_changes_with_the_minute_it_was_made_for() -> None:
    """One gate, consecutive seconds around midnight between a Friday and a Saturday: the
    sentence cached for Friday's last minute is not reused on Saturday."""
    gate = xnys()
    friday_night = at(SAT, 0, 0) - 1
    for now, words in [
        (friday_night - 30, "market closed at 13:00 EST (early close)"),
        (friday_night, "market closed at 13:00 EST (early close)"),
        (at(SAT, 0, 0), "market closed (weekend)"),
        (at(SAT, 0, 0) + 1, "market closed (weekend)"),
    ]:
        allowed, code, reason, _ = gate.evaluate(now, now - 60)
        assert (allowed, code) == (False, CLOSED)
        assert reason.startswith(words), (now, reason)
    # and back: a different closed moment after a weekend one
    now = at(WED, 16, 30)
    assert gate.evaluate(now, now - 60)[2].startswith("market closed at 16:00 EST")


def test_data_stamped_exactly_at_the_previous_close_is_the_previous_sessions() -> None:
    gate = xnys(limit=24 * 3600.0)  # within the age limit: only the session rule can refuse it
    now = at(THU, 9, 45)
    decision = gate.decide(now, at(WED, 16, 0))
    assert (decision.allowed, decision.code) == (False, PREVIOUS_SESSION)
    assert decision.reason == "data is from the previous session (Wed 2025-12-10 16:00 EST, 17h 45m old)"
    after = gate.decide(now, at(THU, 9, 30))
    assert (after.allowed, after.code) == (True, OK)


def test_stale_refusal_sentence() -> None:
    now = at(WED, 11, 0)
    assert xnys().evaluate(now, now - 3601) == (False, STALE, "data is 1h 00m old (limit 1h 00m)", 3601.0)
    assert xnys().evaluate(now, now - 3600)[:2] == (True, OK)


@pytest.mark.parametrize(
    ("calendar", "day", "hms", "inside"),
    [
        ("XNYS", WED, (9, 29, 59), False),
        ("XNYS", WED, (9, 30, 0), True),
        ("XNYS", WED, (15, 59, 59), True),
        ("XNYS", WED, (16, 0, 0), False),
        ("XNYS", SAT, (11, 0, 0), False),
        ("XHKG", WED, (11, 59, 59), True),
        ("XHKG", WED, (12, 0, 0), False),
        ("XHKG", WED, (12, 59, 59), False),
        ("XHKG", WED, (13, 0, 0), True),
    ],
)
def test_in_rth_on_every_edge_of_a_session(calendar, day, hms, inside) -> None:
    cal = get_calendar(calendar)
    now = at(day, *hms, calendar=calendar)
    fresh = Gate(cal, 3600.0)
    assert fresh.in_rth(now) is inside
    # the same answer from a gate whose bounds were cached a second earlier and later
    warm = Gate(cal, 3600.0)
    warm.in_rth(now - 1)
    assert warm.in_rth(now) is inside
    assert warm.in_rth(now) is cal.is_open(now)


def test_in_rth_at_the_close_after_a_session_in_cache() -> None:
    gate = xnys()
    assert gate.in_rth(at(WED, 15, 59, 59))
    assert not gate.in_rth(at(WED, 16, 0))
    assert gate.in_rth(at(THU, 9, 30))


def test_in_rth_outside_the_calendars_range_is_false() -> None:
    cal = get_calendar("XNYS")
    gate = Gate(cal, 3600.0)
    assert gate.in_rth(cal.session(cal.last_day).close_ts + 7 * 86400) is False
    now = cal.session(cal.first_day).open_ts - 7 * 86400
    assert gate.in_rth(now) is False
    assert gate.evaluate(now, now - 60)[1] == CALENDAR


def _future_reason(ahead: float) -> str:
    now = at(WED, 11, 0)
    allowed, code, reason, age = xnys().evaluate(now, now + ahead)
    assert (allowed, code, age) == (False, FUTURE, -ahead)
    return reason


@pytest.mark.parametrize(
    ("ahead", "hint"),
    [
        (3600.0, 1),
        (3600.0 - WHOLE_HOUR_SLACK, 1),
        (3600.0 + WHOLE_HOUR_SLACK, 1),
        (3600.0 - WHOLE_HOUR_SLACK - 1, None),
        (3600.0 + WHOLE_HOUR_SLACK + 1, None),
        (2 * 3600.0 + WHOLE_HOUR_SLACK, 2),
        (2 * 3600.0 - WHOLE_HOUR_SLACK, 2),
        (2 * 3600.0 + WHOLE_HOUR_SLACK + 1, None),
        (5 * 3600.0, 5),
        (2000 * 3600.0, 2000),  # 83 days: still a whole number of hours
        (1.5 * 3600.0, None),  # half way between two whole hours
        (0.95 * 3600.0, None),  # 3 minutes short of an hour
        (600.0, None),
    ],
)
def test_the_whole_hour_hint_has_the_reports_slack(ahead: float, hint: int | None) -> None:
    reason = _future_reason(ahead)
    if hint is None:
        assert "offset" not in reason, reason
    else:
        assert reason.endswith(f" — a whole {hint}h offset: a time-zone label error?"), reason
    # the report reads the same refusals the same way (health/analysis.py)
    bucket = GateRecord("loop", 0, FUTURE, False, 1, -ahead, -ahead, -ahead, 0.0, 0.0, reason, None)
    hours, _ = _gate_whole_hour_offset((bucket,), 1)
    assert hours == (None if hint is None else -hint)


def test_the_future_sentence_word_for_word() -> None:
    assert _future_reason(3600.0) == (
        "data timestamp is 1h 00m in the future (tolerance 5s) — a whole 1h offset: a time-zone label error?"
    )
    assert _future_reason(90.0) == "data timestamp is 1m 30s in the future (tolerance 5s)"
