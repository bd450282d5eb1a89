"""Alive but idle (NO_SIGNALS) and two processes for one loop (DUPLICATE_LOOP), from stores
written by the real recorder on simulated clocks: the report, its JSON and text, the
watchdog's conditions and the metrics. The awkward days: the day after Thanksgiving (13:00
close), a Monday after a holiday (Good Friday), an XHKG lunch break."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from health.alerts import evaluate_conditions
from health.cadence import Cadence, judge_hours, learn, session_hours
from health.calendar import get_calendar
from health.codes import IssueCode, Severity
from health.live import take_snapshot
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop
from store.reader import StoreReader

WED = date(2025, 12, 10)
DAY_AFTER_THANKSGIVING = date(2025, 11, 28)  # closes 13:00
EASTER_MONDAY = date(2025, 4, 21)  # XNYS: the Monday after Good Friday (04-18)


def beat_only(mon, clock: SimClock, until: float, step: float = 120.0) -> None:
    """The loop asks the gate and beats, and generates nothing (idle)."""
    while clock.now < until:
        mon.should_generate_signals(clock.now - 5)
        mon.record_activity()
        clock.advance(step)


def day_of_signals(store: Path, day: date, calendar: str = "XNYS", step: float = 120.0, **config) -> None:
    """A healthy gated session: one signal every ``step`` seconds from the open to the close."""
    clock = SimClock(at(day, 9, 20, calendar=calendar))
    mon = monitor(store, clock, calendar=calendar, check_interval_seconds=step, **config)
    cal = get_calendar(calendar)
    run_loop(mon, clock, cal.session(day).close_ts + 300, step=step)
    mon.close()


def history(store: Path, day: date, sessions: int = 10, calendar: str = "XNYS") -> list[date]:
    cal = get_calendar(calendar)
    days = [s.day for s in cal.sessions_between(date(day.year - 1, 12, 1), day)][-sessions - 1 : -1]
    for d in days:
        day_of_signals(store, d, calendar)
    return days


def codes(report) -> list[str]:
    return [i.code for i in report.issues]


# -- session hours ----------------------------------------------------------------------------
def test_session_hours_skip_the_xhkg_lunch_break():
    cal = get_calendar("XHKG")
    hours = session_hours(cal.session(WED))
    hk = [(cal.fmt(h.start, "%H:%M"), cal.fmt(h.end, "%H:%M"), h.rth_seconds / 60) for h in hours]
    assert hk == [
        ("09:30", "10:30", 60),
        ("10:30", "11:30", 60),
        ("11:30", "13:30", 60),  # 11:30-12:00 and 13:00-13:30: the break is not an hour of trading
        ("13:30", "14:30", 60),
        ("14:30", "15:30", 60),
        ("15:30", "16:00", 30),
    ]
    assert hours[2].parts == (
        (at(WED, 11, 30, calendar="XHKG"), at(WED, 12, 0, calendar="XHKG")),
        (at(WED, 13, 0, calendar="XHKG"), at(WED, 13, 30, calendar="XHKG")),
    )


def test_session_hours_end_at_the_early_close():
    cal = get_calendar("XNYS")
    hours = session_hours(cal.session(DAY_AFTER_THANKSGIVING))
    assert [(cal.fmt(h.start, "%H:%M"), cal.fmt(h.end, "%H:%M")) for h in hours] == [
        ("09:30", "10:30"),
        ("10:30", "11:30"),
        ("11:30", "12:30"),
        ("12:30", "13:00"),
    ]


def test_learning_needs_enough_hours_and_halves_the_tenth_percentile():
    sess = get_calendar("XNYS").session(WED)
    full = [(sess.open_ts, sess.close_ts)]
    busy = [(t, 1) for t in range(int(sess.open_ts), int(sess.close_ts), 60)]  # 60 an hour
    one = judge_hours(sess, sess.close_ts, busy, full, (), None)
    assert [h.signals for h in one] == [60] * 6 + [30] and all(h.qualifies for h in one)
    assert learn([one]) is None  # 7 hours: too few to learn from
    learned = learn([one, one])
    assert learned == Cadence(30.0, "learned", 2, 14)
    quiet = judge_hours(sess, sess.close_ts, busy[:120], full, (), None)  # silent from 11:30
    assert learn([quiet, quiet]).per_hour == 0  # quiet hours are usual: nothing expected


# -- NO_SIGNALS in the report -------------------------------------------------------------------
def test_configured_cadence_flags_idle_hours(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, min_signals_per_hour=10)
    run_loop(mon, clock, at(WED, 11, 30))  # a signal a minute ...
    beat_only(mon, clock, at(WED, 13, 30), step=60)  # ... then two hours of nothing, still up
    run_loop(mon, clock, at(WED, 16, 5))
    mon.close()
    rep = build_report(store, WED, "XNYS", now=at(WED, 20, 0))
    assert codes(rep) == [IssueCode.NO_SIGNALS] and rep.status == "DEGRADED" and rep.exit_code == 1
    issue = rep.issues[0]
    assert issue.severity == Severity.WARNING
    assert "2 session hours below the expected cadence of 10/h (MonitorConfig.min_signals_per_hour)" in (
        issue.message
    )
    assert (
        "11:30 EST–12:30 EST (0 of ≥10)" in issue.message
        and "12:30 EST–13:30 EST (0 of ≥10)" in issue.message
    )
    j = rep.to_json()
    cad = j["sources"][0]["cadence"]
    assert cad["origin"] == "config" and cad["min_signals_per_hour"] == 10
    assert cad["hours_judged"] == 7
    assert [(h["start"], h["signals"]) for h in cad["hours_below"]] == [
        ("2025-12-10T11:30:00-05:00", 0),
        ("2025-12-10T12:30:00-05:00", 0),
    ]
    rec = next(r for r in j["recommendations"] if r["code"] == IssueCode.NO_SIGNALS)
    assert "alive but idle" in rec["title"] and any("min_signals_per_hour" in s for s in rec["steps"])


def test_cadence_zero_turns_the_check_off(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=120, min_signals_per_hour=0)
    beat_only(mon, clock, at(WED, 16, 5))
    mon.close()
    rep = build_report(store, WED, "XNYS", now=at(WED, 20, 0))
    assert rep.status == "HEALTHY", codes(rep)


def test_learned_cadence_on_a_monday_after_good_friday(tmp_path):
    """Ten sessions of a signal every 2 minutes (30 an hour) before Easter Monday, Good
    Friday skipped: 15 an hour is expected; a morning without signals is two idle hours."""
    store = tmp_path / "h.db"
    days = history(store, EASTER_MONDAY)
    assert date(2025, 4, 18) not in days and days[-1] == date(2025, 4, 17)
    clock = SimClock(at(EASTER_MONDAY, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=120)
    beat_only(mon, clock, at(EASTER_MONDAY, 11, 30))
    run_loop(mon, clock, at(EASTER_MONDAY, 16, 5), step=120)
    mon.close()
    rep = build_report(store, EASTER_MONDAY, "XNYS", now=at(EASTER_MONDAY, 20, 0))
    assert codes(rep) == [IssueCode.NO_SIGNALS]
    assert "15/h (learned from 70 hours of 10 sessions)" in rep.issues[0].message
    below = rep.sources[0].cadence.below
    assert [get_calendar("XNYS").fmt(h.start, "%H:%M") for h in below] == ["09:30", "10:30"]
    # the sessions it learned from were healthy, so the cadence did not condemn them
    for d in days[-2:]:
        assert build_report(store, d, "XNYS", now=at(EASTER_MONDAY, 20, 0)).status == "HEALTHY"


def test_idle_hours_when_down_or_refused_are_not_idle(tmp_path):
    """An hour the loop was down for is a gap's, an hour of stale data STALE_DATA's: neither
    is called idle."""
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, min_signals_per_hour=10)
    run_loop(mon, clock, at(WED, 10, 30))
    clock.now = at(WED, 11, 40)  # down 10:30-11:40
    run_loop(mon, clock, at(WED, 12, 30))
    run_loop(mon, clock, at(WED, 13, 30), data_ts_fn=lambda now: now - 7200)  # the gate refuses
    run_loop(mon, clock, at(WED, 16, 5))
    mon.close()
    rep = build_report(store, WED, "XNYS", now=at(WED, 20, 0))
    assert IssueCode.NO_SIGNALS not in codes(rep)
    assert {IssueCode.UPTIME_GAP, IssueCode.STALE_DATA} <= set(codes(rep))


def test_early_close_day_judges_its_last_half_hour(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(DAY_AFTER_THANKSGIVING, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, min_signals_per_hour=20)
    run_loop(mon, clock, at(DAY_AFTER_THANKSGIVING, 12, 30))
    beat_only(mon, clock, at(DAY_AFTER_THANKSGIVING, 13, 5), step=60)
    mon.close()
    rep = build_report(store, DAY_AFTER_THANKSGIVING, "XNYS", now=at(DAY_AFTER_THANKSGIVING, 20, 0))
    assert codes(rep) == [IssueCode.NO_SIGNALS]
    assert "12:30 EST–13:00 EST (0 of ≥10)" in rep.issues[0].message  # half an hour, half the cadence


def test_xhkg_lunch_break_signals_do_not_count_and_the_straddling_hour_is_judged(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20, calendar="XHKG"))
    mon = monitor(store, clock, calendar="XHKG", check_interval_seconds=60, min_signals_per_hour=20)
    run_loop(mon, clock, at(WED, 11, 30, calendar="XHKG"))
    beat_only(mon, clock, at(WED, 13, 30, calendar="XHKG"), step=60)  # idle across the break
    run_loop(mon, clock, at(WED, 16, 5, calendar="XHKG"))
    mon.close()
    rep = build_report(store, WED, "XHKG", now=at(WED, 20, 0, calendar="XHKG"))
    assert codes(rep) == [IssueCode.NO_SIGNALS], codes(rep)
    assert "11:30 HKT–13:30 HKT (0 of ≥20)" in rep.issues[0].message
    assert len(rep.sources[0].cadence.below) == 1


def test_today_judges_only_the_hours_that_have_passed(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, min_signals_per_hour=10)
    run_loop(mon, clock, at(WED, 10, 30))
    beat_only(mon, clock, at(WED, 11, 29), step=60)
    assert mon.flush(5.0)
    rep = build_report(store, WED, "XNYS", now=at(WED, 11, 29))
    assert IssueCode.NO_SIGNALS not in codes(rep)  # 10:30-11:30 has not passed yet
    beat_only(mon, clock, at(WED, 11, 31), step=60)
    assert mon.flush(5.0)
    rep = build_report(store, WED, "XNYS", now=at(WED, 11, 31))
    assert codes(rep) == [IssueCode.NO_SIGNALS]
    with StoreReader(store) as reader:
        snap = take_snapshot(reader, get_calendar("XNYS"), at(WED, 11, 31), alive=lambda run: True)
    (cond,) = [c for c in evaluate_conditions(snap) if c.code == IssueCode.NO_SIGNALS]
    assert cond.active is True and "0 signal(s) in the session hour Wed 10:30:00 EST" in cond.message
    mon.abandon()


# -- DUPLICATE_LOOP -----------------------------------------------------------------------------
def _pids(store: Path, *pids: int) -> None:
    conn = sqlite3.connect(store)
    with conn:
        rowids = [r[0] for r in conn.execute("SELECT rowid FROM runs ORDER BY started_at")]
        for rowid, pid in zip(rowids, pids, strict=True):
            conn.execute("UPDATE runs SET pid = ?, host = 'trading-host' WHERE rowid = ?", (pid, rowid))
    conn.close()


def two_processes(store: Path, day: date, until: float, second_from: float, second_until: float):
    clock_a, clock_b = SimClock(at(day, 9, 20)), SimClock(second_from)
    a = monitor(store, clock_a, source="momentum", check_interval_seconds=60)
    b = None
    while clock_a.now < until:
        a.should_generate_signals(clock_a.now - 5)
        a.record_activity()
        if b is None and clock_a.now >= second_from:
            b = monitor(store, clock_b, source="momentum", check_interval_seconds=60)
        if b is not None and clock_b.now < second_until:
            clock_b.now = clock_a.now + 7
            b.should_generate_signals(clock_b.now - 5)
            b.record_activity()
        clock_a.advance(60)
    return a, b


def test_two_processes_for_one_loop_are_a_duplicate_not_a_restart(tmp_path):
    store = tmp_path / "h.db"
    a, b = two_processes(store, WED, at(WED, 16, 5), at(WED, 10, 2), at(WED, 10, 45))
    a.close()
    b.abandon()
    _pids(store, 4242, 4343)
    rep = build_report(store, WED, "XNYS", now=at(WED, 20, 0))
    dup = [i for i in rep.issues if i.code == IssueCode.DUPLICATE_LOOP]
    assert len(dup) == 1 and dup[0].severity == Severity.CRITICAL and rep.status == "UNHEALTHY"
    assert "pid 4242 on trading-host and pid 4343 on trading-host" in dup[0].message
    assert "2025-12-10 10:02:07 EST–10:45 EST (for 43m 00s)" in dup[0].message
    life = rep.to_json()["sources"][0]["lifecycle"]
    assert life["restarts"] == 0  # the second start was no restart of the first
    assert life["duplicates"][0]["pids"] == [4242, 4343] and life["duplicates"][0]["ongoing"] is False
    # the first process ran on all day: it is not an unclean exit "restarted"
    assert all(u["pid"] != 4242 for u in life["unclean_exits"])
    rec = next(r for r in rep.recommendations if r.code == IssueCode.DUPLICATE_LOOP)
    assert "kill <pid>" in rec.steps[0]


def test_live_duplicate_pages_and_resolves(tmp_path):
    store = tmp_path / "h.db"
    cal = get_calendar("XNYS")
    a, b = two_processes(store, WED, at(WED, 10, 30), at(WED, 10, 2), at(WED, 11, 0))
    assert a.flush(5.0) and b.flush(5.0)
    with StoreReader(store) as reader:
        snap = take_snapshot(reader, cal, at(WED, 10, 30), alive=lambda run: True)
    (cond,) = [c for c in evaluate_conditions(snap) if c.code == IssueCode.DUPLICATE_LOOP]
    assert cond.active is True and "two processes beat for this loop since Wed 10:02:07 EST" in cond.message
    b.close()  # the second one is stopped: one process again
    with StoreReader(store) as reader:
        snap = take_snapshot(reader, cal, at(WED, 10, 34), alive=lambda run: True)
    (cond,) = [c for c in evaluate_conditions(snap) if c.code == IssueCode.DUPLICATE_LOOP]
    assert cond.active is False
    a.abandon()


def test_a_restart_is_no_duplicate(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, source="momentum")
    run_loop(mon, clock, at(WED, 11, 0))
    mon.abandon()  # crashed
    clock.now = at(WED, 11, 1)
    mon = monitor(store, clock, source="momentum")
    run_loop(mon, clock, at(WED, 16, 5))
    mon.close()
    rep = build_report(store, WED, "XNYS", now=at(WED, 20, 0))
    assert IssueCode.DUPLICATE_LOOP not in codes(rep)
    assert rep.to_json()["sources"][0]["lifecycle"]["restarts"] == 1


@pytest.mark.parametrize("code", [IssueCode.NO_SIGNALS, IssueCode.DUPLICATE_LOOP])
def test_new_codes_have_their_severity_once(code):
    assert code.severity in (Severity.WARNING, Severity.CRITICAL)


def test_metrics_count_the_processes_and_show_the_cadence(tmp_path):
    from prometheus_client import generate_latest

    from health.metrics import HealthCollector, registry_for
    from health.watchdog import Watchdog

    store = tmp_path / "h.db"
    a, b = two_processes(store, WED, at(WED, 10, 30), at(WED, 10, 2), at(WED, 11, 0))
    assert a.flush(5.0) and b.flush(5.0)
    clock = SimClock(at(WED, 10, 30))
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={}, metrics=True)
    fired = dog.tick()
    assert [(t.kind, t.alert.code) for t in fired if t.alert.code == IssueCode.DUPLICATE_LOOP] == [
        ("firing", IssueCode.DUPLICATE_LOOP)
    ]
    text = generate_latest(registry_for(HealthCollector(dog.views, clock, "1"))).decode()
    labels = f'source="momentum",store="{store}"'
    assert f"production_health_processes{{{labels}}} 2.0" in text
    assert f'production_health_issues_firing{{code="DUPLICATE_LOOP",{labels}}} 1.0' in text
    assert f'production_health_issues_firing{{code="NO_SIGNALS",{labels}}} 0.0' in text
    assert "production_health_expected_signals_per_hour{" not in text  # nothing set, nothing learned
    a.abandon()
    b.abandon()


async def test_the_console_shows_both_in_its_issues_panel(tmp_path):
    from test_console_app import SIZE, console, until

    from console.widgets import IssuesPanel

    store = tmp_path / "h.db"
    a, b = two_processes(store, WED, at(WED, 10, 30), at(WED, 10, 2), at(WED, 11, 0))
    assert a.flush(5.0) and b.flush(5.0)
    app = console(store, now=at(WED, 10, 30))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.report is not None, "a snapshot")
        await pilot.pause()
        text = app.dashboard.query_one(IssuesPanel).text()
    assert "CRITICAL DUPLICATE_LOOP" in text and "two processes beat for this loop at once" in text
    a.abandon()
    b.abandon()


# -- the sentences, word for word ---------------------------------------------------------------
def _idle_between(store: Path, start: tuple[int, int], end: tuple[int, int]):
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock, check_interval_seconds=60, min_signals_per_hour=10)
    run_loop(mon, clock, at(WED, *start))
    beat_only(mon, clock, at(WED, *end), step=60)
    if clock.now < at(WED, 16, 5):
        run_loop(mon, clock, at(WED, 16, 5))
    mon.close()
    rep = build_report(store, WED, "XNYS", now=at(WED, 20, 0))
    return [i.message for i in rep.issues if i.code == IssueCode.NO_SIGNALS]


def test_one_idle_hour_is_one_hour_and_past_five_the_rest_are_counted(tmp_path):
    prefix = "idle: up, the gate allowing its data, yet "
    cadence = " below the expected cadence of 10/h (MonitorConfig.min_signals_per_hour): "
    assert _idle_between(tmp_path / "one.db", (11, 30), (12, 30)) == [
        prefix + "1 session hour" + cadence + "11:30 EST–12:30 EST (0 of ≥10)"
    ]
    hours = ", ".join(f"{h}:30 EST–{h + 1}:30 EST (0 of ≥10)" for h in range(10, 15))
    assert _idle_between(tmp_path / "five.db", (10, 30), (15, 30)) == [
        prefix + "5 session hours" + cadence + hours  # all five listed, nothing more to count
    ]
    assert _idle_between(tmp_path / "six.db", (10, 30), (16, 5)) == [
        prefix + "6 session hours" + cadence + hours + " and 1 more"
    ]


def test_a_duplicate_still_running_says_so(tmp_path):
    store = tmp_path / "h.db"
    a, b = two_processes(store, WED, at(WED, 12, 0), at(WED, 10, 2), at(WED, 13, 0))
    assert a.flush(5.0) and b.flush(5.0)
    _pids(store, 4242, 4343)
    rep = build_report(store, WED, "XNYS", now=at(WED, 12, 0) + 20)
    assert [i.message for i in rep.issues if i.code == IssueCode.DUPLICATE_LOOP] == [
        "two processes beat for this loop at once, 2025-12-10 10:02:07 EST–now (both still running): "
        "pid 4242 on trading-host and pid 4343 on trading-host; each may act on every signal"
    ]
    a.abandon()
    b.abandon()
