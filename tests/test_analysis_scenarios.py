"""Whole-day scenarios: a simulated loop drives the public recorder API (ProductionMonitor on an
injected SimClock) into a real SQLite store, one store per scenario; the report is then built
with the same engine as the CLIs (health.loader.build_report) and judged on its JSON, its
issues and its human rendering.

Times below are exchange-local; every store is small (60 s cadence), so each scenario takes a
fraction of a second.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import assert_iso_offsets, child_env
from rich.console import Console

from health.codes import IssueCode, Severity
from health.loader import build_report
from health.monitor import ProductionMonitor
from health.report import HealthReport
from health.simulation import SimClock, at, monitor, run_loop, seed_dec11_story

UTC = ZoneInfo("UTC")

WED = date(2025, 12, 10)  # an ordinary Wednesday
THU = date(2025, 12, 11)
EARLY_CLOSE = date(2025, 11, 28)  # the day after Thanksgiving: closes 13:00
THANKSGIVING = date(2025, 11, 27)
CARTER = date(2025, 1, 9)  # one-off closure: National Day of Mourning for President Carter
DST_MONDAY = date(2025, 3, 10)  # first trading day on EDT


# -- helpers ------------------------------------------------------------------------------------
class Loop:
    """One trading loop on a SimClock: runs, falls silent, resumes, stops or dies."""

    def __init__(self, store: Path, day: date, hh: int, mm: int = 0, *, calendar: str = "XNYS", **config):
        self.day = day
        self.calendar = calendar
        self.clock = SimClock(at(day, hh, mm, calendar=calendar))
        self.mon: ProductionMonitor = monitor(store, self.clock, calendar=calendar, **config)

    def t(self, hh: int, mm: int = 0, ss: int = 0) -> float:
        return at(self.day, hh, mm, ss, calendar=self.calendar)

    def run(self, hh: int, mm: int = 0, *, inclusive: bool = False, **kw) -> int:
        """Iterate every 60 s until hh:mm (with a last iteration at hh:mm if ``inclusive``)."""
        return run_loop(self.mon, self.clock, self.t(hh, mm) + (1 if inclusive else 0), **kw)

    def jump(self, hh: int, mm: int = 0) -> None:
        """Silence: the loop does nothing until hh:mm."""
        self.clock.now = self.t(hh, mm)

    def close(self, hh: int | None = None, mm: int = 0) -> None:
        if hh is not None:
            self.jump(hh, mm)
        self.mon.close()

    def die(self) -> None:
        self.mon.abandon()


def report(
    store: Path, day: date, calendar: str = "XNYS", *, source: str | None = None, now: float | None = None
) -> HealthReport:
    if now is None:  # the morning after: a past date, fully elapsed
        now = at(day, 23, 59, calendar=calendar) + 12 * 3600
    return build_report(store, day, calendar, source=source, now=now)


def issue_codes(rep: HealthReport) -> list[str]:
    return [i.code for i in rep.issues]


def issue(rep: HealthReport, code: str):
    found = [i for i in rep.issues if i.code == code]
    assert found, f"{code} not in {issue_codes(rep)}"
    return found[0]


def text_of(rep: HealthReport) -> str:
    from console.report_text import render_report

    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None, markup=False, highlight=False).print(render_report(rep))
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "health.db"


# -- a healthy gated day --------------------------------------------------------------------------
def test_healthy_gated_day(store):
    loop = Loop(store, WED, 9, 25)
    n = loop.run(16, 5)
    loop.close()
    rep = report(store, WED)
    j = rep.to_json()

    assert rep.status == "HEALTHY" and rep.exit_code == 0
    assert rep.issues == () and j["issues"] == [] and j["recommendations"] == []
    assert j["date"] == "2025-12-10" and j["calendar"] == "XNYS" and j["timezone"] == "America/New_York"
    assert j["session"] == j["session"] | {
        "is_trading_day": True,
        "open": "2025-12-10T09:30:00-05:00",
        "close": "2025-12-10T16:00:00-05:00",
        "early_close": False,
    }
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert j["uptime"]["gaps"] == []
    assert j["uptime"]["last_activity"] == "2025-12-10T16:04:00-05:00"
    # the gate refused before 09:30 and from 16:00: every signal is inside RTH, none stale
    assert n == 390
    assert j["signals"] == j["signals"] | {
        "total": 390,
        "rth": 390,
        "after_hours": 0,
        "stale": 0,
        "blocked": 10,
    }
    # up 09:25-16:05 of a 24 h day
    assert j["uptime"]["uptime_pct"] == pytest.approx(100 * 400 / 1440, abs=0.1)
    assert_iso_offsets(j)
    src = j["sources"][0]
    assert src["lifecycle"]["starts"] == 1 and src["lifecycle"]["clean_stops"] == 1
    assert src["lifecycle"]["unclean_exits"] == []


# -- an early close -------------------------------------------------------------------------------
def test_early_close_day_is_healthy_over_the_short_session(store):
    loop = Loop(store, EARLY_CLOSE, 9, 25)
    n = loop.run(13, 5)
    loop.close()
    rep = report(store, EARLY_CLOSE)
    j = rep.to_json()

    assert rep.status == "HEALTHY", issue_codes(rep)
    assert j["session"]["early_close"] is True
    assert j["session"]["open"] == "2025-11-28T09:30:00-05:00"
    assert j["session"]["close"] == "2025-11-28T13:00:00-05:00"
    assert j["session"]["rth_minutes"] == 210.0
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert n == 210 and j["signals"]["after_hours"] == 0
    assert "(early close)" in text_of(rep)


def test_early_close_day_loop_stopping_at_noon(store):
    loop = Loop(store, EARLY_CLOSE, 9, 25)
    loop.run(12, 0, inclusive=True)  # last beat 12:00
    loop.close(12, 0)
    rep = report(store, EARLY_CLOSE)
    j = rep.to_json()

    found = issue_codes(rep)
    assert {IssueCode.LOW_RTH_COVERAGE, IssueCode.UPTIME_GAP, IssueCode.NO_ACTIVITY} <= set(found), found
    assert IssueCode.ZERO_RTH_COVERAGE not in found
    assert rep.status == "UNHEALTHY" and rep.exit_code == 2
    # up 09:30-12:00 of 09:30-13:00: 150 of 210 minutes
    assert rep.sources[0].uptime.rth_coverage_pct == pytest.approx(100 * 150 / 210)
    assert j["uptime"]["rth_coverage_pct"] == 71.4
    (gap,) = j["uptime"]["gaps"]
    assert gap["start"] == "2025-11-28T12:00:00-05:00"
    assert gap["end"] == "2025-11-28T13:00:00-05:00"  # the early close, not 16:00
    assert gap["minutes"] == 60.0
    assert "13:00" in issue(rep, IssueCode.NO_ACTIVITY).message
    assert "71.4%" in issue(rep, IssueCode.LOW_RTH_COVERAGE).message


# -- closure days ---------------------------------------------------------------------------------
@pytest.mark.parametrize("day", [THANKSGIVING, CARTER], ids=["thanksgiving", "carter-closure"])
def test_closure_day_with_signals(store, day):
    loop = Loop(store, day, 9, 30)
    n = loop.run(16, 0, gate=False)  # an ungated loop runs through the "session"
    loop.close()
    rep = report(store, day)
    j = rep.to_json()

    assert n == 390
    assert rep.status == "DEGRADED" and rep.exit_code == 1
    assert issue_codes(rep) == [IssueCode.AFTER_HOURS_SIGNALS]
    assert "non-trading day" in issue(rep, IssueCode.AFTER_HOURS_SIGNALS).message
    assert j["session"]["is_trading_day"] is False
    assert j["session"]["open"] is None and j["session"]["close"] is None
    assert j["uptime"]["rth_coverage_pct"] is None and j["uptime"]["gaps"] == []
    assert j["signals"]["total"] == 390
    assert j["signals"]["after_hours"] == j["signals"]["total"]
    assert j["signals"]["rth"] == 0 and j["signals"]["stale"] == 0
    assert_iso_offsets(j)


@pytest.mark.parametrize("day", [THANKSGIVING, CARTER], ids=["thanksgiving", "carter-closure"])
def test_closure_day_with_only_heartbeats_is_closed(store, day):
    # A 10-minute cadence keeps this quick: on a holiday the gate looks up the holiday's name
    # once per minute, and exchange_calendars takes ~20 ms for that.
    loop = Loop(store, day, 9, 30, check_interval_seconds=600)
    n = loop.run(16, 0, step=600)  # gated: the gate refuses all day
    loop.close()
    rep = report(store, day)
    j = rep.to_json()

    assert n == 0
    assert rep.status == "CLOSED" and rep.exit_code == 0
    assert rep.issues == () and j["recommendations"] == []
    assert j["session"]["is_trading_day"] is False and j["session"]["open"] is None
    assert j["signals"]["total"] == 0 and j["signals"]["blocked"] == 39
    assert j["freshness"]["blocked_by_reason"] == {"closed": 39}
    text = text_of(rep)
    assert "not a trading day" in text
    if day == THANKSGIVING:
        assert "Thanksgiving" in text


# -- a DST Monday ---------------------------------------------------------------------------------
def test_dst_monday(store):
    loop = Loop(store, DST_MONDAY, 9, 30)
    loop.run(16, 0)
    loop.close()
    rep = report(store, DST_MONDAY)
    j = rep.to_json()

    assert rep.status == "HEALTHY", issue_codes(rep)
    assert j["session"]["open"] == "2025-03-10T09:30:00-04:00"
    assert j["session"]["close"] == "2025-03-10T16:00:00-04:00"
    assert j["session"]["rth_minutes"] == 390.0
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert j["signals"]["rth"] == 390 and j["signals"]["after_hours"] == 0
    assert j["uptime"]["last_activity"] == "2025-03-10T15:59:00-04:00"
    # the hourly distribution is in local (EDT) hours: 09 .. 15
    assert sorted(int(h) for h in j["sources"][0]["hourly"]) == list(range(9, 16))
    assert "EDT" in text_of(rep)


def test_dst_sunday_is_a_23_hour_day(store):
    """2025-03-09 (clocks go forward) has 23 hours: uptime_pct is over 23 h, not 24."""
    day = date(2025, 3, 9)
    loop = Loop(store, day, 0, 0)
    loop.run(23, 59, gate=True)
    loop.close()
    rep = report(store, day)
    assert rep.status == "CLOSED"
    assert rep.sources[0].uptime.window_seconds == 23 * 3600
    assert rep.sources[0].uptime.pct == pytest.approx(100.0, abs=0.2)


# -- gaps -----------------------------------------------------------------------------------------
def test_long_gap(store):
    loop = Loop(store, WED, 9, 25)
    loop.run(10, 30, inclusive=True)  # last beat 10:30
    loop.jump(11, 45)  # silent 10:30-11:45
    loop.run(16, 5)
    loop.close()
    rep = report(store, WED)
    j = rep.to_json()

    assert rep.status == "DEGRADED" and rep.exit_code == 1
    assert set(issue_codes(rep)) == {IssueCode.UPTIME_GAP, IssueCode.LOW_RTH_COVERAGE}
    (gap,) = j["uptime"]["gaps"]
    assert gap["start"] == "2025-12-10T10:30:00-05:00"
    assert gap["end"] == "2025-12-10T11:45:00-05:00"
    assert gap["minutes"] == 75.0
    assert "10:30 EST–11:45 EST" in issue(rep, IssueCode.UPTIME_GAP).message
    # up until the last beat + 2 x 60 s: down 10:32-11:45 = 73 of 390 minutes
    assert rep.sources[0].uptime.rth_coverage_pct == pytest.approx(100 * (390 - 73) / 390)
    assert issue(rep, IssueCode.LOW_RTH_COVERAGE).severity == Severity.WARNING
    assert "Gap" in text_of(rep) and "10:30:00–11:45:00 EST" in text_of(rep)


def test_short_silence_is_not_a_gap(store):
    loop = Loop(store, WED, 9, 25)
    loop.run(10, 30, inclusive=True)
    loop.jump(10, 40)  # 10 minutes: under the 30-minute threshold
    loop.run(16, 5)
    loop.close()
    rep = report(store, WED)
    j = rep.to_json()

    assert IssueCode.UPTIME_GAP not in issue_codes(rep)
    assert j["uptime"]["gaps"] == []
    assert rep.sources[0].uptime.rth_coverage_pct == pytest.approx(100 * (390 - 8) / 390)
    assert rep.status == "HEALTHY"


def test_gap_threshold_is_the_one_the_loop_recorded(store):
    """The same 10-minute silence is a gap for a loop configured with a 5-minute limit."""
    loop = Loop(store, WED, 9, 25, max_uptime_gap_minutes=5)
    loop.run(10, 30, inclusive=True)
    loop.jump(10, 40)
    loop.run(16, 5)
    loop.close()
    rep = report(store, WED)
    (gap,) = rep.to_json()["uptime"]["gaps"]
    assert gap["minutes"] == 10.0
    assert "0h 05m" in issue(rep, IssueCode.UPTIME_GAP).message


# -- stale data -----------------------------------------------------------------------------------
def test_stale_data_all_session(store):
    loop = Loop(store, WED, 9, 25)
    n = loop.run(16, 5, data_ts_fn=lambda now: now - 2 * 3600)  # the feed is 2 h behind
    loop.close()
    rep = report(store, WED)
    j = rep.to_json()

    assert n == 0  # the gate refused every iteration
    assert rep.status == "UNHEALTHY" and rep.exit_code == 2
    stale = issue(rep, IssueCode.STALE_DATA)
    assert stale.severity == Severity.CRITICAL
    assert "refused" in stale.message and "390 times during RTH" in stale.message
    assert "2h 00m old" in stale.message and "limit 1h 00m" in stale.message
    # the loop itself was up: coverage is fine, the data was not
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert IssueCode.LOW_RTH_COVERAGE not in issue_codes(rep) and IssueCode.NO_ACTIVITY not in issue_codes(
        rep
    )
    # 390 refusals for age inside RTH, 10 for the market being closed (09:25-09:29, 16:00-16:04)
    assert j["freshness"]["blocked_by_reason"] == {"closed": 10, "stale": 390}
    assert j["signals"]["blocked"] == 400 and j["signals"]["total"] == 0
    rec = next(r for r in j["recommendations"] if r["code"] == IssueCode.STALE_DATA)
    assert any("stale during RTH 390 times" in s for s in rec["steps"])


def test_stale_signals_ungated(store):
    """An ungated loop on 2-hour-old data: the signals themselves are counted stale."""
    loop = Loop(store, WED, 9, 30)
    loop.run(16, 0, gate=False, data_ts_fn=lambda now: now - 2 * 3600)
    loop.close()
    rep = report(store, WED)
    j = rep.to_json()
    assert rep.status == "UNHEALTHY"
    assert j["signals"]["stale"] == j["signals"]["total"] == 390
    msg = issue(rep, IssueCode.STALE_DATA).message
    assert "390 of 390 signals" in msg and "2h 00m old" in msg
    assert j["freshness"]["max_data_age_seconds"] == pytest.approx(7200)


# -- naive UTC timestamps read as local -----------------------------------------------------------
def _naive_utc(now: float) -> datetime:
    return datetime.fromtimestamp(now - 5, UTC).replace(tzinfo=None)


def test_naive_utc_read_as_local_is_a_timing_anomaly(store):
    loop = Loop(store, WED, 9, 25)  # naive_timezone defaults to the calendar's: New York
    n = loop.run(16, 5, data_ts_fn=_naive_utc)
    loop.close()
    rep = report(store, WED)
    j = rep.to_json()

    assert n == 0  # in December, UTC read as New York lies 5 h in the future: refused
    timing = issue(rep, IssueCode.TIMING_ANOMALY)
    assert timing.severity == Severity.WARNING
    assert "400 data timestamps in the future" in timing.message
    # ... and it says why: the whole-hour offset of naive UTC read as New York time
    assert "5h 00m ahead of the clock: a time-zone label error?" in timing.message
    assert j["freshness"]["blocked_by_reason"] == {"future": 400}
    assert j["signals"]["blocked"] == 400
    assert rep.status == "DEGRADED" and rep.exit_code == 1  # TIMING_ANOMALY is a WARNING (§4)
    rec = next(r for r in j["recommendations"] if r["code"] == IssueCode.TIMING_ANOMALY)
    # the fix for this very mistake is named
    assert any("naive_timezone='UTC'" in s for s in rec["steps"]), rec


def test_naive_utc_ungated_signals_show_the_whole_hour_offset(store):
    loop = Loop(store, WED, 9, 30)
    loop.run(16, 0, gate=False, data_ts_fn=_naive_utc)
    loop.close()
    rep = report(store, WED)
    msg = issue(rep, IssueCode.TIMING_ANOMALY).message
    assert "5h 00m ahead of" in msg and "time-zone" in msg
    assert rep.to_json()["signals"]["future"] == 390


def test_naive_utc_with_naive_timezone_utc_is_fine(store):
    loop = Loop(store, WED, 9, 25, naive_timezone="UTC")
    n = loop.run(16, 5, data_ts_fn=_naive_utc)
    loop.close()
    rep = report(store, WED)
    assert n == 390
    assert rep.status == "HEALTHY", [i.message for i in rep.issues]
    assert rep.to_json()["signals"]["stale"] == 0


# -- a lunch-break calendar -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("calendar", "tz_abbr", "open_", "brk", "resume", "close", "rth_minutes"),
    [
        ("XHKG", "HKT", (9, 30), (12, 0), (13, 0), (16, 0), 330),
        ("XTKS", "JST", (9, 0), (11, 30), (12, 30), (15, 30), 330),
    ],
)
def test_lunch_break_is_excluded_from_coverage(
    store, calendar, tz_abbr, open_, brk, resume, close, rth_minutes
):
    loop = Loop(store, WED, open_[0], open_[1] - 5 if open_[1] >= 5 else 0, calendar=calendar)
    loop.run(*brk)  # last beat a minute before the break
    loop.jump(*resume)  # nothing during the break
    loop.run(close[0], close[1] + 5)
    loop.close()
    rep = report(store, WED, calendar)
    j = rep.to_json()

    assert rep.status == "HEALTHY", [i.message for i in rep.issues]
    assert j["calendar"] == calendar
    assert j["session"]["break_start"] is not None and j["session"]["break_end"] is not None
    assert j["session"]["rth_minutes"] == rth_minutes
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert j["uptime"]["gaps"] == []
    assert j["signals"]["after_hours"] == 0
    assert tz_abbr in text_of(rep) and "break" in text_of(rep)


def test_lunch_break_calendar_down_for_an_hour(store):
    loop = Loop(store, WED, 9, 25, calendar="XHKG")
    loop.run(10, 58, inclusive=True)  # last beat 10:58: up until 11:00
    loop.jump(13, 0)  # down 11:00-12:00, then the 12:00-13:00 break
    loop.run(16, 5)
    loop.close()
    rep = report(store, WED, "XHKG")
    j = rep.to_json()

    assert j["timezone"] == "Asia/Hong_Kong"
    assert j["session"]["break_start"] == "2025-12-10T12:00:00+08:00"
    assert j["session"]["break_end"] == "2025-12-10T13:00:00+08:00"
    # exactly one hour of 330 RTH minutes lost
    assert rep.sources[0].uptime.rth_coverage_pct == pytest.approx(100 * 270 / 330)
    assert j["uptime"]["rth_coverage_pct"] == 81.8
    # the silence 10:58-13:00 holds 62 minutes of RTH: the break does not count
    (gap,) = j["uptime"]["gaps"]
    assert gap["start"] == "2025-12-10T10:58:00+08:00" and gap["end"] == "2025-12-10T13:00:00+08:00"
    assert gap["minutes"] == 62.0
    assert set(issue_codes(rep)) == {IssueCode.LOW_RTH_COVERAGE, IssueCode.UPTIME_GAP}
    assert rep.status == "DEGRADED"


def test_today_during_the_lunch_break_a_paused_loop_is_fine(store):
    """At 12:45 HKT the loop has paused for the break since 12:00, as the gate asks it to:
    nothing is wrong (it used to be NO_ACTIVITY: "46m before now")."""
    loop = Loop(store, WED, 9, 25, calendar="XHKG")
    loop.run(12, 0)  # last beat 11:59, then the gate says "closed for the midday break"
    assert loop.mon.flush(5.0)
    try:
        rep = report(store, WED, "XHKG", now=at(WED, 12, 45, calendar="XHKG"))
    finally:
        loop.close()
    j = rep.to_json()
    assert j["session"]["phase"] == "break"
    assert j["session"]["elapsed_rth_minutes"] == 150.0  # 09:30-12:00
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert rep.status == "HEALTHY", [i.message for i in rep.issues]


def test_today_during_the_lunch_break_a_loop_dead_since_11(store):
    loop = Loop(store, WED, 9, 25, calendar="XHKG")
    loop.run(11, 0)  # last beat 10:59
    loop.close()
    rep = report(store, WED, "XHKG", now=at(WED, 12, 45, calendar="XHKG"))
    msg = issue(rep, IssueCode.NO_ACTIVITY).message
    assert "10:59:00 HKT, 1h 01m before the break" in msg
    assert "at the start of the break (12:00 HKT)" in msg
    assert rep.sources[0].uptime.rth_coverage_pct == pytest.approx(100 * 90 / 150)
    assert rep.status == "UNHEALTHY"


# -- the Dec 11 story ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dec11(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dec11") / "health.db"
    seed_dec11_story(path)
    return path


def test_dec11_story(dec11):
    rep = report(dec11, THU)
    j = rep.to_json()

    assert rep.status == "UNHEALTHY" and rep.exit_code == 2
    found = issue_codes(rep)
    for code in (
        IssueCode.ZERO_RTH_COVERAGE,
        IssueCode.NO_ACTIVITY,
        IssueCode.STALE_DATA,
        IssueCode.AFTER_HOURS_SIGNALS,
        IssueCode.UNCLEAN_EXIT,
    ):
        assert code in found, found
    assert IssueCode.UPTIME_GAP not in found  # ZERO coverage says it all
    # CRITICAL issues come first
    severities = [i.severity for i in rep.issues]
    assert severities == sorted(severities, key=lambda s: s != Severity.CRITICAL)

    stale = issue(rep, IssueCode.STALE_DATA)
    assert "105 signals after hours vs 0 during RTH" in stale.message
    assert "yesterday" in stale.message
    assert "2025-12-10 15:59:00 EST" in stale.message  # the newest data the loop ever saw
    assert "02:35:48" in issue(rep, IssueCode.NO_ACTIVITY).message

    assert j["uptime"]["last_activity"] == "2025-12-11T02:35:48-05:00"
    assert j["uptime"]["rth_coverage_pct"] == 0.0
    assert 10.8 <= j["uptime"]["uptime_pct"] <= 11.0
    assert j["signals"] == j["signals"] | {
        "total": 105,
        "rth": 0,
        "after_hours": 105,
        "stale": 105,
        "blocked": 0,
    }
    assert j["session"]["open"] == "2025-12-11T09:30:00-05:00"
    assert_iso_offsets(j)

    pid = rep.sources[0].lifecycle.latest.pid
    assert pid is not None
    steps = [s for r in j["recommendations"] for s in r["steps"]]
    assert any(f"pid {pid}" in s and "not running now" in s for s in steps), steps
    assert any("should_generate_signals" in s for s in steps)
    assert any("2025-12-10 15:59:00 EST" in s for s in steps)

    text = text_of(rep)
    assert "Last activity  2025-12-11 02:35:48 EST" in text
    for section in (
        "OVERALL STATUS: UNHEALTHY",
        "SYSTEM UPTIME",
        "DATA FRESHNESS",
        "IDENTIFIED ISSUES",
        "RECOMMENDATIONS",
    ):
        assert section in text


def test_dec11_story_previous_day_was_healthy(dec11):
    """Dec 10 in the same store: a healthy gated session, then signals after hours that night
    are Dec 11's problem; the run is still alive at Dec 10's end, so no unclean exit yet."""
    rep = report(dec11, WED)
    j = rep.to_json()
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert j["signals"]["rth"] == j["signals"]["total"] == 78
    assert IssueCode.UNCLEAN_EXIT not in issue_codes(rep)
    assert rep.status == "HEALTHY", [i.message for i in rep.issues]


# -- today, during RTH ----------------------------------------------------------------------------
def test_today_loop_stopped_45_minutes_ago(store):
    loop = Loop(store, WED, 9, 25)
    loop.run(10, 15, inclusive=True)  # last beat 10:15
    loop.close(10, 15)  # and a clean stop right after it
    now = at(WED, 11, 0)
    rep = report(store, WED, now=now)
    j = rep.to_json()

    assert rep.is_today and j["session"]["is_today"] is True and j["session"]["phase"] == "open"
    assert j["session"]["elapsed_rth_minutes"] == 90.0
    no_act = issue(rep, IssueCode.NO_ACTIVITY)
    assert "10:15:00 EST, 45m 00s before now" in no_act.message
    assert no_act.message.endswith("not running now")
    # 45 of the 90 elapsed RTH minutes
    assert rep.sources[0].uptime.rth_coverage_pct == pytest.approx(50.0)
    (gap,) = j["uptime"]["gaps"]
    assert gap["ongoing"] is True
    assert "–now" in issue(rep, IssueCode.UPTIME_GAP).message
    assert rep.status == "UNHEALTHY"
    # nothing after "now" is judged: the window ends now
    assert rep.window_end == now


def test_today_up_the_whole_time_until_now(store):
    """The loop runs in this very process, so the report sees its pid alive."""
    loop = Loop(store, WED, 9, 25)
    loop.run(11, 0)  # still running: the last beat was 10:59
    assert loop.mon.flush(5.0)
    try:
        rep = report(store, WED, now=at(WED, 11, 0))
    finally:
        loop.close()
    j = rep.to_json()
    assert j["uptime"]["rth_coverage_pct"] == 100.0
    assert j["session"]["elapsed_rth_minutes"] == 90.0
    assert rep.status == "HEALTHY", [i.message for i in rep.issues]
    assert j["uptime"]["uptime_pct"] == pytest.approx(100 * 95 / 660, abs=0.1)  # of 00:00-11:00
    assert "open now, 1h 30m of RTH elapsed" in text_of(rep)


def test_today_cleanly_stopped_just_now_through_build_report(store):
    loop = Loop(store, WED, 9, 25)
    loop.run(11, 0)
    loop.close()  # stopped at 11:00
    rep = report(store, WED, now=at(WED, 11, 0))
    assert rep.to_json()["uptime"]["rth_coverage_pct"] == 100.0
    assert rep.status == "HEALTHY", [i.message for i in rep.issues]


def test_today_before_the_open_judges_nothing_yet(store):
    loop = Loop(store, WED, 9, 0)
    loop.run(9, 20)
    assert loop.mon.flush(5.0)
    try:
        rep = report(store, WED, now=at(WED, 9, 20))
    finally:
        loop.close()
    j = rep.to_json()
    assert j["session"]["phase"] == "pre_open"
    assert j["session"]["elapsed_rth_minutes"] == 0.0
    assert j["uptime"]["rth_coverage_pct"] is None
    assert rep.issues == () and rep.status == "HEALTHY"


def test_today_silent_loop_whose_process_is_alive_is_called_hung(store):
    """Alive but silent for 45 minutes: NO_ACTIVITY, and the advice is py-spy, not a restart."""
    loop = Loop(store, WED, 9, 25)
    loop.run(10, 15, inclusive=True)
    assert loop.mon.flush(5.0)
    try:
        rep = report(store, WED, now=at(WED, 11, 0))
    finally:
        loop.close()
    assert IssueCode.NO_ACTIVITY in issue_codes(rep)
    assert IssueCode.UNCLEAN_EXIT not in issue_codes(rep)
    steps = [s for r in rep.recommendations for s in r.steps]
    assert any("still running but silent" in s and "py-spy dump" in s for s in steps), steps


# -- several loops in one store -------------------------------------------------------------------
BETA_DIES_AT_11 = """
import sys
from datetime import date
from health.simulation import SimClock, at, monitor, run_loop
day = date(2025, 12, 10)
clock = SimClock(at(day, 9, 25))
mon = monitor(sys.argv[1], clock, source="beta")
run_loop(mon, clock, at(day, 11, 0), signal_every=5)
mon.abandon()  # and the process ends: a crash, no clean stop
"""


def test_two_sources_one_dead(store):
    # beta: its own process, which dies at 11:00 (last beat 10:59)
    subprocess.run(
        [sys.executable, "-c", BETA_DIES_AT_11, str(store)], check=True, env=child_env(), timeout=60
    )
    # alpha: a healthy day in this process
    clock = SimClock(at(WED, 9, 25))
    alpha = monitor(store, clock, source="alpha")
    run_loop(alpha, clock, at(WED, 16, 5), signal_every=5)
    alpha.close()

    rep = report(store, WED)
    j = rep.to_json()
    assert rep.status == "UNHEALTHY" and rep.exit_code == 2
    assert {s["source"] for s in j["sources"]} == {"alpha", "beta"}
    beta_issues = [i for i in j["issues"] if i["source"] == "beta"]
    assert {i["code"] for i in beta_issues} == {
        IssueCode.NO_ACTIVITY,
        IssueCode.LOW_RTH_COVERAGE,
        IssueCode.UPTIME_GAP,
        IssueCode.UNCLEAN_EXIT,
    }
    assert all(i["message"].startswith("beta: ") for i in beta_issues)
    assert "its process is gone" in issue(rep, IssueCode.UNCLEAN_EXIT).message
    assert not [i for i in j["issues"] if i["source"] == "alpha"]
    # the headline coverage is the worst loop's: beta was up 09:30-11:01 of 09:30-16:00
    by_source = {s["source"]: s for s in j["sources"]}
    assert by_source["alpha"]["rth_coverage_pct"] == 100.0
    assert by_source["beta"]["rth_coverage_pct"] == round(100 * 91 / 390, 1)
    assert j["uptime"]["rth_coverage_pct"] == by_source["beta"]["rth_coverage_pct"]
    assert j["uptime"]["last_activity"] == "2025-12-10T16:04:00-05:00"  # the newest of any loop
    assert by_source["beta"]["last_activity"] == "2025-12-10T10:59:00-05:00"
    assert by_source["beta"]["lifecycle"]["latest_alive"] is False
    recs = [r for r in j["recommendations"] if "(beta)" in r["title"]]
    assert recs and not [r for r in j["recommendations"] if "(alpha)" in r["title"]]
    assert any("not running now" in s for r in recs for s in r["steps"])
    text = text_of(rep)
    assert "Loop" in text and "alpha" in text and "beta" in text

    only_alpha = report(store, WED, source="alpha")
    assert only_alpha.status == "HEALTHY"
    assert [s.source for s in only_alpha.sources] == ["alpha"]
    assert only_alpha.to_json()["uptime"]["rth_coverage_pct"] == 100.0

    only_beta = report(store, WED, source="beta")
    assert only_beta.status == "UNHEALTHY"
    assert all(not i.message.startswith("beta: ") for i in only_beta.issues)  # one loop: no prefix
    assert {i.source for i in only_beta.issues} == {"beta"}


def test_a_loop_that_stopped_beating_but_whose_process_lives_is_hung(store):
    """No clean stop, pid still alive (this process): not an unclean exit but a hung loop."""
    loop = Loop(store, WED, 9, 25)
    loop.run(11, 0)
    loop.die()
    rep = report(store, WED)
    assert IssueCode.UNCLEAN_EXIT not in issue_codes(rep)
    assert {IssueCode.NO_ACTIVITY, IssueCode.LOW_RTH_COVERAGE, IssueCode.UPTIME_GAP} <= set(issue_codes(rep))
    assert rep.sources[0].lifecycle.latest.alive is True
    steps = [s for r in rep.recommendations for s in r.steps]
    assert any("still running but silent since 2025-12-10 10:59:00 EST" in s for s in steps), steps


def test_restart_during_the_day_is_an_unclean_exit_and_a_gap(store):
    """The loop crashes at 11:00 and is restarted (a new run) at 11:40."""
    first = Loop(store, WED, 9, 25)
    first.run(11, 0)
    first.die()
    clock = SimClock(at(WED, 11, 40))
    second = monitor(store, clock)
    run_loop(second, clock, at(WED, 16, 5))
    second.close()
    rep = report(store, WED)
    j = rep.to_json()
    exit_ = issue(rep, IssueCode.UNCLEAN_EXIT)
    assert "a new process of this loop started later" in exit_.message
    (gap,) = j["uptime"]["gaps"]
    assert gap["start"] == "2025-12-10T10:59:00-05:00" and gap["end"] == "2025-12-10T11:40:00-05:00"
    assert j["sources"][0]["lifecycle"]["starts"] == 2
    assert j["sources"][0]["lifecycle"]["clean_stops"] == 1
    assert rep.status == "DEGRADED"


# -- a report is a pure read ----------------------------------------------------------------------
def test_report_does_not_write_the_store(store):
    loop = Loop(store, WED, 9, 25)
    loop.run(16, 5)
    loop.close()
    before = (store.read_bytes(), store.stat().st_mtime_ns)
    first = report(store, WED).to_json()
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before
    assert report(store, WED).to_json() == first  # and reading is repeatable
