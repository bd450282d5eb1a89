"""Where sessions abut (one session's close is the next one's open: CMES at 17:00 Chicago,
24/7 and 24/5 at 00:00 UTC) the previous-session rule does not apply: data stamped at or after
the open belongs to the new session, data from just before the changeover is judged by the age
limit alone (docs/CONTRACT.md §2, amended). Where the market was closed between two sessions the rule
stands."""

from __future__ import annotations

from datetime import UTC, date, datetime

import exchange_calendars as xcals
import pytest
from conftest import FakeClock

from health.calendar import get_calendar
from health.codes import IssueCode
from health.gate import OK, PREVIOUS_SESSION, Gate
from health.loader import build_report


def _changeover(code: str, day: str) -> float:
    """The open of ``day``'s session, which is the previous session's close."""
    cal = xcals.get_calendar(code)
    session = cal.date_to_session(day, direction="next")
    opened = cal.session_open(session)
    assert cal.session_close(cal.previous_session(session)) == opened, f"{code} {day}: no abutting"
    return opened.timestamp()


ABUTTING = [
    ("CMES", "2025-06-03"),
    ("24/7", "2025-06-03"),
    ("24/5", "2025-06-03"),
    ("us_futures", "2025-06-04"),
]


@pytest.mark.parametrize(("code", "day"), ABUTTING)
@pytest.mark.parametrize(
    ("now_after", "data_after"),
    [(0.0, 0.0), (0.5, 0.0), (30.0, 0.0), (30.0, -1.0), (1.0, -1.0), (59.0, -0.5), (600.0, -60.0)],
)
def test_data_around_an_abutting_changeover_is_judged_by_age_alone(code, day, now_after, data_after) -> None:
    edge = _changeover(code, day)
    gate = Gate(get_calendar(code), 3600)
    decision = gate.decide(edge + now_after, edge + data_after)
    assert (decision.allowed, decision.code) == (True, OK), decision.reason


@pytest.mark.parametrize(("code", "day"), ABUTTING)
def test_old_data_across_an_abutting_changeover_is_still_stale(code, day) -> None:
    edge = _changeover(code, day)
    gate = Gate(get_calendar(code), 3600)
    decision = gate.decide(edge + 60, edge - 3600)
    assert (decision.allowed, decision.code) == (False, "stale"), decision.reason


def test_cmes_after_a_weekend_keeps_the_previous_session_rule() -> None:
    """Sunday 17:00's session follows Friday 16:00's close: the market was closed between."""
    cal = xcals.get_calendar("CMES")
    monday = cal.date_to_session("2025-06-09", direction="next")
    sunday_open = cal.session_open(monday)
    friday_close = cal.session_close(cal.previous_session(monday))
    assert friday_close < sunday_open
    gate = Gate(get_calendar("CMES"), 72 * 3600)  # the age limit alone would accept it
    decision = gate.decide(sunday_open.timestamp() + 60, friday_close.timestamp() - 60)
    assert (decision.allowed, decision.code) == (False, PREVIOUS_SESSION), decision.reason


def test_no_stale_alert_at_the_cme_changeover(make_monitor, alerts, store_path) -> None:
    """A loop polling every 10 s through 17:00 Chicago, its data 1-9 s old: never refused."""
    edge = _changeover("CMES", "2025-06-03")
    clock = FakeClock(datetime.fromtimestamp(edge - 120, UTC))
    monitor = make_monitor(clock=clock, calendar="CMES", alert_callback=alerts, check_interval_seconds=10)
    refused = []
    for step in range(24):
        now = clock.epoch
        bar = now - (now % 10) - 1  # the last 10-s bar, stamped a second before it closed
        allowed, reason = monitor.should_generate_signals(bar)
        if allowed:
            monitor.record_signal("ES", bar)
        else:
            refused.append((step, reason))
        clock.advance(10)
    assert monitor.flush(5.0)
    assert refused == []
    assert alerts.of(IssueCode.STALE_DATA) == []


def test_the_report_counts_no_stale_signal_at_the_changeover(make_monitor, store_path) -> None:
    """24/7 changes session at 00:00 UTC, which is also where the report's day starts: a loop
    whose data is 2 s old has no stale signal on either side of midnight."""
    edge = _changeover("24/7", "2025-06-03")
    clock = FakeClock(datetime.fromtimestamp(edge - 300, UTC))
    monitor = make_monitor(clock=clock, calendar="24/7", check_interval_seconds=10)
    for _ in range(60):
        monitor.record_activity()
        monitor.record_signal("BTC", clock.epoch - 2)
        clock.advance(10)
    monitor.close()
    later = edge + 3 * 86400
    for day in (date(2025, 6, 2), date(2025, 6, 3)):
        report = build_report(store_path, day, "24/7", now=later).to_json()
        assert report["signals"]["total"] == 30
        assert report["signals"]["stale"] == 0, (day, report["signals"], report["issues"])
        assert IssueCode.STALE_DATA not in {i["code"] for i in report["issues"]}
