"""In-process hang detection (health/hang.py) on an injected clock: NO_ACTIVITY once when the
loop has made no call for longer than max_uptime_gap_minutes of RTH, resolved when calls
resume; never outside RTH, on a holiday or in a lunch break."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health.calendar import get_calendar
from health.codes import IssueCode
from health.hang import rth_seconds_between
from tests.conftest import HK, count, ny

NO_ACTIVITY = IssueCode.NO_ACTIVITY


def test_fires_once_after_the_limit_and_resolves_when_calls_resume(make_monitor, clock, alerts, store_path):
    mon = make_monitor(clock=clock, max_uptime_gap_minutes=30, alert_callback=alerts, source="hung")
    mon.record_activity()  # Wed 2025-12-10 11:00
    clock.advance(29 * 60)
    assert mon.hang.check() is None
    clock.advance(2 * 60)  # 31 minutes of RTH without a call
    assert mon.hang.check() == "firing"
    fired = alerts.wait_for(NO_ACTIVITY, resolved=False)
    assert len(fired) == 1
    assert "31m 00s of RTH (limit 0h 30m)" in fired[0].message
    assert "11:00:00" in fired[0].message and fired[0].source == "hung"
    for _ in range(5):  # once: no repeats while it stays hung
        clock.advance(600)
        assert mon.hang.check() is None
    mon.record_activity()
    assert mon.hang.check() == "resolved"
    assert len(alerts.wait_for(NO_ACTIVITY, resolved=True)) == 1
    assert len(alerts.of(NO_ACTIVITY, resolved=False)) == 1
    mon.flush()
    assert count(store_path, "alerts", "code = ? AND origin = 'monitor'", (NO_ACTIVITY,)) == 2


def test_a_loop_that_never_calls_after_construction_is_hung_too(make_monitor, clock, alerts):
    mon = make_monitor(clock=clock, max_uptime_gap_minutes=30, alert_callback=alerts)
    clock.advance(31 * 60)
    assert mon.hang.check() == "firing"


def test_not_after_the_close_and_the_night_counts_for_nothing(make_monitor, clock, alerts):
    clock.set(ny(2025, 12, 10, 15, 50))
    mon = make_monitor(clock=clock, max_uptime_gap_minutes=30, alert_callback=alerts)
    mon.record_activity()  # the loop stops calling 10 minutes before the close
    for when in (ny(2025, 12, 10, 16, 30), ny(2025, 12, 10, 23, 0), ny(2025, 12, 11, 9, 0)):
        clock.set(when)
        assert mon.hang.check() is None
    clock.set(ny(2025, 12, 11, 9, 49))  # 10 + 19 minutes of RTH
    assert mon.hang.check() is None
    clock.set(ny(2025, 12, 11, 9, 51))  # 10 + 21 minutes
    assert mon.hang.check() == "firing"
    assert "31m 00s of RTH" in alerts.wait_for(NO_ACTIVITY, resolved=False)[0].message


def test_not_on_a_holiday(make_monitor, clock, alerts):
    clock.set(ny(2025, 11, 26, 15, 45))
    mon = make_monitor(clock=clock, max_uptime_gap_minutes=30, alert_callback=alerts)
    mon.record_activity()
    for hour in (9, 12, 15):  # Thanksgiving: closed all day
        clock.set(ny(2025, 11, 27, hour, 40))
        assert mon.hang.check() is None
    clock.set(ny(2025, 11, 28, 9, 44))  # 15 + 14 minutes of RTH
    assert mon.hang.check() is None
    clock.set(ny(2025, 11, 28, 9, 46))
    assert mon.hang.check() == "firing"


def test_not_during_a_lunch_break(make_monitor, alerts):
    from tests.conftest import FakeClock

    hk = FakeClock(datetime(2025, 12, 10, 11, 50, tzinfo=HK))
    mon = make_monitor(clock=hk, calendar="XHKG", max_uptime_gap_minutes=30, alert_callback=alerts)
    mon.record_activity()  # stops 10 minutes before the break (12:00-13:00)
    for hh, mm in ((12, 30), (12, 59), (13, 1), (13, 19)):
        hk.set(datetime(2025, 12, 10, hh, mm, tzinfo=HK))
        assert mon.hang.check() is None, (hh, mm)
    hk.set(datetime(2025, 12, 10, 13, 21, tzinfo=HK))
    assert mon.hang.check() == "firing"


def test_the_monitors_own_thread_raises_it(make_monitor, clock, alerts):
    """The background thread looks every check interval (here 50 ms of real time); the
    injected clock jumps, nothing sleeps for the simulated half hour."""
    mon = make_monitor(
        clock=clock, check_interval_seconds=0.05, max_uptime_gap_minutes=30, alert_callback=alerts
    )
    mon.record_activity()
    clock.advance(31 * 60)
    assert alerts.wait_for(NO_ACTIVITY, resolved=False, timeout=10)
    mon.record_activity()
    assert alerts.wait_for(NO_ACTIVITY, resolved=True, timeout=10)
    assert len(alerts.of(NO_ACTIVITY)) == 2


def test_rth_seconds_between_cuts_out_nights_weekends_and_breaks():
    xnys, xhkg = get_calendar("XNYS"), get_calendar("XHKG")
    fri_close = ny(2025, 12, 12, 15, 0).timestamp()
    mon_open = ny(2025, 12, 15, 9, 45).timestamp()
    assert rth_seconds_between(xnys, fri_close, mon_open) == 75 * 60  # 60 Friday + 15 Monday
    a = datetime(2025, 12, 10, 11, 0, tzinfo=HK).timestamp()
    b = datetime(2025, 12, 10, 14, 0, tzinfo=HK).timestamp()
    assert rth_seconds_between(xhkg, a, b) == 2 * 3600  # 11-12 and 13-14
    assert rth_seconds_between(xnys, b, a) == 0.0


def _rth_seconds_by_dates(calendar, start: float, end: float) -> float:
    """The definition by the sessions' dates (each session's RTH clipped), beside the
    calendar's own pieces that ``rth_seconds_between`` sums."""
    if end <= start:
        return 0.0
    start = max(start, end - 31 * 86400)
    first = max(calendar.first_day, calendar.local_date(start) - timedelta(days=1))
    last = min(calendar.last_day, calendar.local_date(end) + timedelta(days=1))
    total = 0.0
    for session in calendar.sessions_between(first, last):
        for a, b in session.rth_intervals():
            total += max(0.0, min(b, end) - max(a, start))
    return total


@settings(max_examples=300, deadline=None)
@given(
    code=st.sampled_from(["XNYS", "XHKG", "XTKS", "CMES", "XLON"]),
    start=st.floats(1.70e9, 1.80e9),
    length=st.one_of(st.floats(0, 4 * 86400), st.floats(0, 40 * 86400)),
)
def test_rth_seconds_between_is_every_session_clipped(code, start, length):
    cal = get_calendar(code)
    assert rth_seconds_between(cal, start, start + length) == pytest.approx(
        _rth_seconds_by_dates(cal, start, start + length), abs=1e-6
    )


def test_rth_seconds_between_is_a_float_even_when_none():
    # The report's JSON says 0.0 seconds of RTH downtime, not 0.
    xnys = get_calendar("XNYS")
    sat = ny(2025, 12, 13, 12, 0).timestamp()
    assert repr(rth_seconds_between(xnys, sat, sat + 3600)) == "0.0"
