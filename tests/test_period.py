"""Health over a period (health/period.py, ``check-production-health --from --to``).

Every day of a range must say exactly what that day's own report says: the range report sums
the signals up in SQLite instead of reading them, so each test compares its rows with
``build_report`` of the same day, on real stores written by the real monitor on an injected clock.
"""

from __future__ import annotations

import gc
import json
import random
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from test_cli import assert_unknown, run

from health import loader
from health.calendar import get_calendar
from health.codes import ExitCode, IssueCode, Status
from health.gc_pause import cyclic_gc_paused
from health.loader import build_report, open_store
from health.period import DayRow, PeriodReport, period_report
from health.simulation import SimClock, at, monitor, run_loop

FIRST, LAST = date(2025, 11, 24), date(2025, 12, 2)
NOW = at(date(2025, 12, 3), 12, 0)


def _day(mon, clock: SimClock, day: date, start: tuple[int, int], end: tuple[int, int], **kw) -> None:
    clock.now = max(clock.now, at(day, *start))
    kw.setdefault("signal_every", 5)
    run_loop(mon, clock, at(day, *end), **kw)


@pytest.fixture(scope="module")
def awkward_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thanksgiving week on XNYS, one loop:
    Mon healthy, and a signal after the close; Tue down 11:00-12:00; Wed idle until 10:45 (one
    signal an hour, 6 expected: NO_SIGNALS), then down from 15:00 until
    Fri 10:00 (Thanksgiving between, Friday an early close at 13:00); Mon trades on 2-hour-old
    data without asking the gate; Tue's data is stamped 5 h ahead (naive UTC read as New York)."""
    store = tmp_path_factory.mktemp("period") / "health.db"
    clock = SimClock(at(FIRST, 9, 0))
    with monitor(store, clock, min_signals_per_hour=6) as mon:
        _day(mon, clock, FIRST, (9, 0), (16, 30))
        clock.now = at(FIRST, 18, 0)
        mon.record_signal("AAPL", clock.now - 5)
        tue = FIRST + timedelta(days=1)
        _day(mon, clock, tue, (9, 0), (11, 0))
        _day(mon, clock, tue, (12, 0), (16, 30))
        wed = FIRST + timedelta(days=2)
        _day(mon, clock, wed, (9, 0), (10, 45), signal_every=60)
        _day(mon, clock, wed, (10, 45), (15, 0))
        fri = FIRST + timedelta(days=4)
        _day(mon, clock, fri, (10, 0), (13, 30))
        _day(mon, clock, date(2025, 12, 1), (9, 0), (16, 30), data_lag=7200.0, gate=False)
        _day(mon, clock, LAST, (9, 0), (16, 30), data_lag=-5 * 3600.0, gate=False)
    return store


def _period(store: Path, start: date, end: date, code: str = "XNYS", now: float = NOW) -> PeriodReport:
    reader = open_store(store)
    try:
        return period_report(reader, get_calendar(code), start, end, now)
    finally:
        reader.close()


def _assert_each_day_as_its_report(store: Path, p: PeriodReport, code: str = "XNYS") -> None:
    assert p.days
    loader._learned.clear()  # the cadence the period learned must not stand in for the day's own
    for row in p.days:
        expected = DayRow.of(build_report(store, row.day, code, now=p.now))
        assert row == expected, row.day


def test_each_day_says_what_its_own_report_says(awkward_week: Path) -> None:
    p = _period(awkward_week, FIRST, LAST)
    assert [d.day for d in p.days] == [FIRST + timedelta(days=i) for i in range(9)]
    _assert_each_day_as_its_report(awkward_week, p)
    by_day = {d.day: d for d in p.days}
    thanksgiving = by_day[date(2025, 11, 27)]
    assert not thanksgiving.trading_day and thanksgiving.status == Status.CLOSED
    assert IssueCode.AFTER_HOURS_SIGNALS in {i.code for i in by_day[FIRST].issues}
    assert by_day[date(2025, 12, 1)].status == Status.UNHEALTHY  # stale data
    assert IssueCode.NO_SIGNALS in {i.code for i in by_day[date(2025, 11, 26)].issues}  # hours from SQLite
    assert by_day[date(2025, 12, 1)].signals_stale == by_day[date(2025, 12, 1)].signals > 0
    offset = [i for i in by_day[LAST].issues if i.code == IssueCode.TIMING_ANOMALY]
    assert offset and "5h 00m" in offset[0].message  # the whole-hour path: signals read one by one


def test_the_totals_a_desk_reports(awkward_week: Path) -> None:
    p = _period(awkward_week, FIRST, LAST)
    cal = get_calendar("XNYS")
    assert len(p.trading_days) == 6  # Thanksgiving and the weekend are not
    by = p.days_by_status()
    assert sum(by.values()) == 6 and by == {
        s: sum(d.status == s for d in p.trading_days) for s in ("HEALTHY", "DEGRADED", "UNHEALTHY")
    }
    assert p.status == Status.UNHEALTHY and p.exit_code == ExitCode.CRITICAL
    # Session-weighted: Friday's early close weighs 3.5 h, a full day 6.5 h.
    rth = {d.day: d.rth_seconds for d in p.trading_days}
    assert rth[date(2025, 11, 28)] == 3.5 * 3600 and rth[FIRST] == 6.5 * 3600
    weighted = sum(d.rth_coverage_pct * d.rth_seconds for d in p.trading_days) / sum(rth.values())
    assert p.rth_coverage_pct == pytest.approx(weighted)
    assert p.rth_coverage_pct < min(100.0, *(d.rth_coverage_pct for d in p.trading_days if d.day == FIRST))
    # Two incidents: Tuesday's hour, and Wednesday 15:00 to Friday 10:00 as one.
    assert len(p.incidents) == 2
    tue, wed = p.incidents
    assert cal.local_date(tue.start) == FIRST + timedelta(days=1)
    assert 60 * 60 <= tue.rth_seconds <= 62 * 60  # from the last heartbeat, 10:59, to 12:00
    assert cal.local_date(wed.start) == date(2025, 11, 26) and cal.local_date(wed.end) == date(2025, 11, 28)
    assert wed.end == pytest.approx(at(date(2025, 11, 28), 10, 0), abs=60)
    assert wed.rth_seconds == pytest.approx(3660 + 1800)  # Wed 14:59-16:00 + Fri 09:30-10:00
    assert wed.recovery_seconds > 40 * 3600 and not wed.ongoing
    assert p.downtime_seconds == tue.rth_seconds + wed.rth_seconds
    # Ending the period on Wednesday: the loop is not back by its end, so still down.
    (*_, cut) = _period(awkward_week, FIRST, date(2025, 11, 26)).incidents
    assert cut.ongoing and cut.end == at(date(2025, 11, 27), 0, 0) and cut.rth_seconds == 3660


@pytest.mark.parametrize("code", ["CMES", "XHKG", "XNYS"])
def test_signals_summed_in_sqlite_match_reading_them_one_by_one(tmp_path: Path, code: str) -> None:
    """Signals anywhere (an evening that belongs to the next CMES session, lunch breaks, the
    boundaries to the second, data exactly at the previous session's close and at the age
    limit, ahead of the clock): every day's counts as the day report's."""
    cal = get_calendar(code)
    rng = random.Random(zlib.crc32(code.encode()))
    first = date(2025, 3, 3)
    days = [first + timedelta(days=i) for i in range(12)]  # a DST change for XNYS and CMES
    a = cal.arrays()
    lo, hi = at(first, 0, 0, calendar=code), at(days[-1], 23, 59, calendar=code)
    edges = [
        v
        for key in ("opens", "closes", "break_starts", "break_ends")
        for v in a[key]
        if v is not None and lo <= v < hi
    ]
    store = tmp_path / "health.db"
    clock = SimClock(lo)
    moments = sorted(
        rng.choice(edges) + rng.choice((-1.0, 0.0, 1.0)) if rng.random() < 0.4 else rng.uniform(lo, hi)
        for _ in range(1500)
    )
    with monitor(store, clock, calendar=code) as mon:
        for t in moments:
            clock.now = t
            mon.record_activity()
            kind = rng.random()
            if kind < 0.5:
                data = t - rng.uniform(0, 120)
            elif kind < 0.65:
                data = cal.previous_session_close(t) + rng.choice((-1.0, 0.0, 1.0))
                if not data > 0:
                    data = t - 30
            elif kind < 0.8:
                data = t - 3600 + rng.choice((-1.0, 0.0, 1.0))
            elif kind < 0.9:
                data = t + rng.choice((4.0, 5.0, 6.0, 100.0))
            else:
                data = t - rng.uniform(0, 3 * 86400)
            mon.record_signal("ES", data)
    now = at(days[-1] + timedelta(days=2), 12, 0, calendar=code)
    p = _period(store, days[0], days[-1], code, now)
    _assert_each_day_as_its_report(store, p, code)
    assert sum(d.signals for d in p.days) == 1500
    assert sum(d.signals_stale for d in p.days) > 100 and sum(d.signals_after_hours for d in p.days) > 100


# -- the command line -------------------------------------------------------------------------
NOW_FLAG = "--now=2025-12-03T12:00:00-05:00"


def test_the_command_line_text_and_json(awkward_week: Path) -> None:
    args = ("--store", str(awkward_week), "--from", "2025-11-20", "--to", "2025-12-02", NOW_FLAG)
    text = run(*args)
    assert text.code == ExitCode.CRITICAL, text.stderr  # the worst day's
    out = text.stdout
    assert "PRODUCTION HEALTH: 2025-11-24 → 2025-12-02" in out  # from the store's first record
    assert "2025-12-01 Mon ✖ UNHEALTHY" in out and "STALE_DATA" in out
    assert "6 of 9 days: " in out and "Incidents     2:" in out
    assert "2025-11-27" not in out.split("DAYS")[1]  # Thanksgiving: nothing happened, not listed
    j = run(*args, "--json")
    assert j.code == ExitCode.CRITICAL
    data = json.loads(j.stdout)
    assert data["status"] == "UNHEALTHY" and data["exit_code"] == 2 and "backtest" not in data
    assert data["days"][0]["date"] == "2025-11-24" and len(data["days"]) == 9
    assert data["totals"]["trading_days"] == 6 and data["totals"]["incidents"]["count"] == 2
    thanksgiving = data["days"][3]
    assert thanksgiving["holiday"] and thanksgiving["status"] == "CLOSED"
    wed = data["incidents"][1]  # the last heartbeat at 14:59, back on Friday at 10:00
    assert (wed["start"], wed["end"]) == ("2025-11-26T14:59:00-05:00", "2025-11-28T10:00:00-05:00")
    assert wed["downtime_minutes"] == 91.0 and wed["recovery_minutes"] == 43 * 60 + 1


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--from", "2025-12-02", "--to", "2025-11-24"), "before --from"),
        (("--from", "2025-11-24", "--nagios"), "--nagios is for one day"),
        (("--from", "2025-11-24", "--date", "2025-11-25"), "--date is for one day"),
        (("--to", "2025-11-24"), "--to needs --from"),
        (("--from", "2025-13-01"), "--from: not a date"),
        (("--from", "2025-01-01", "--to", "2025-02-01"), "before the store's first record"),
        (("--from", "2025-11-24", "--source", "nope"), "no loop named 'nope'"),
    ],
)
def test_bad_ranges_are_one_line_and_exit_3(awkward_week: Path, extra, says) -> None:
    r = run("--store", str(awkward_week), NOW_FLAG, *extra)
    assert_unknown(r)
    assert says in r.stderr


@pytest.mark.parametrize("code", ["XNYS", "CMES"])
def test_the_cadence_learned_from_past_sessions_as_the_day_report_learns_it(
    tmp_path: Path, code: str
) -> None:
    """Three weeks of sessions at a cadence that changes week to week, then idle hours: each
    day's NO_SIGNALS names the cadence it learned from its own last ten sessions (CMES' run
    overnight, across the calendar days), and the period's must be the same."""
    cal = get_calendar(code)
    sessions = cal.sessions_between(date(2025, 4, 28), date(2025, 5, 16))
    store = tmp_path / "health.db"
    clock = SimClock(sessions[0].open_ts)
    with monitor(store, clock, calendar=code) as mon:
        for i, sess in enumerate(sessions):
            clock.now = sess.open_ts
            every = (2, 3, 4)[i // 5 % 3]
            if i >= len(sessions) - 5:  # the last five: two slow hours, 4 h before the close
                run_loop(mon, clock, sess.close_ts - 4 * 3600, signal_every=every)
                run_loop(mon, clock, sess.close_ts - 2 * 3600, signal_every=60)
            run_loop(mon, clock, sess.close_ts, signal_every=every)
    first, last = sessions[-6].day, sessions[-1].day
    p = _period(store, first, last, code, sessions[-1].close_ts + 86400)
    _assert_each_day_as_its_report(store, p, code)
    idle = [i for d in p.days for i in d.issues if i.code == IssueCode.NO_SIGNALS]
    assert len(idle) >= 3 and all("expected cadence of" in i.message for i in idle)
    assert len({i.message.split("cadence of ")[1].split(":")[0] for i in idle}) >= 2  # learned anew each day


def test_the_cycle_collector_waits_only_while_a_period_is_reported() -> None:
    """health/gc_pause.py (the period's days, and console/period_cli.py's whole report) gives
    the process back as it found it, a failed report included."""
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("the report failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
