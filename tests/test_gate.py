"""The gate's truth table on the awkward days, through the public hook
(ProductionMonitor.should_generate_signals with an injected clock) and through Gate directly;
every decision recorded; MonitorConfig validation."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import exchange_calendars as xcals
import pandas as pd
import pytest
from conftest import HK, NY, UTC, FakeClock, ny, query
from hypothesis import given, settings
from hypothesis import strategies as st

from health import MonitorConfig, ProductionMonitor, UnknownCalendarError
from health.calendar import get_calendar
from health.codes import IssueCode
from health.gate import BREAK, CALENDAR, CLOSED, FUTURE, OK, PREVIOUS_SESSION, STALE, Gate


@dataclass(frozen=True)
class Case:
    id: str
    now: datetime
    allowed: bool
    code: str
    words: tuple[str, ...] = ()  # all must appear in the reason
    calendar: str = "XNYS"
    data_age: float = 60.0  # seconds; data_ts = now - data_age


CASES = [
    # A normal Wednesday.
    Case("normal-day", ny(2025, 12, 10, 11, 0), True, OK, ("ok", "1m 00s old")),
    # Exactly the open minute (inside) and exactly the close minute (outside).
    Case("open-minute", ny(2025, 12, 10, 9, 30), True, OK),
    Case("open-minute-last-second", ny(2025, 12, 10, 9, 30, 59), True, OK),
    Case(
        "second-before-open",
        ny(2025, 12, 10, 9, 29, 59),
        False,
        CLOSED,
        ("pre-market", "next open Wed 2025-12-10 09:30 EST"),
    ),
    Case("last-second-before-close", ny(2025, 12, 10, 15, 59, 59), True, OK),
    Case(
        "close-minute",
        ny(2025, 12, 10, 16, 0),
        False,
        CLOSED,
        ("closed at 16:00 EST", "next open Thu 2025-12-11 09:30 EST"),
    ),
    # Early close: the day after Thanksgiving closes at 13:00.
    Case("early-close-12:59", ny(2025, 11, 28, 12, 59), True, OK),
    Case("early-close-12:59:59", ny(2025, 11, 28, 12, 59, 59), True, OK),
    Case(
        "early-close-13:00",
        ny(2025, 11, 28, 13, 0),
        False,
        CLOSED,
        ("13:00 EST", "early close", "next open Mon 2025-12-01 09:30 EST"),
    ),
    Case("early-close-14:00", ny(2025, 11, 28, 14, 0), False, CLOSED, ("early close",)),
    # Thanksgiving, at what would be mid-session.
    Case(
        "thanksgiving",
        ny(2025, 11, 27, 11, 0),
        False,
        CLOSED,
        ("Thanksgiving", "next open Fri 2025-11-28 09:30 EST"),
    ),
    # A one-off closure: National Day of Mourning for President Carter.
    Case(
        "carter-mourning-day",
        ny(2025, 1, 9, 11, 0),
        False,
        CLOSED,
        ("market closed", "next open Fri 2025-01-10 09:30 EST"),
    ),
    Case("day-before-carter", ny(2025, 1, 8, 11, 0), True, OK),
    # DST Mondays: the open is 09:30 local on either side of the change.
    Case("dst-spring-monday-09:30", ny(2025, 3, 10, 9, 30), True, OK),
    Case(
        "dst-spring-monday-09:29",
        ny(2025, 3, 10, 9, 29),
        False,
        CLOSED,
        ("next open Mon 2025-03-10 09:30 EDT",),
    ),
    Case("dst-spring-monday-15:59", ny(2025, 3, 10, 15, 59), True, OK),
    Case("dst-spring-monday-16:00", ny(2025, 3, 10, 16, 0), False, CLOSED, ("16:00 EDT",)),
    Case("dst-fall-monday-09:30", ny(2025, 11, 3, 9, 30), True, OK),
    Case(
        "dst-fall-monday-09:29",
        ny(2025, 11, 3, 9, 29),
        False,
        CLOSED,
        ("next open Mon 2025-11-03 09:30 EST",),
    ),
    Case("dst-fall-monday-16:00", ny(2025, 11, 3, 16, 0), False, CLOSED, ("16:00 EST",)),
    # Weekend.
    Case(
        "saturday", ny(2025, 11, 29, 11, 0), False, CLOSED, ("weekend", "next open Mon 2025-12-01 09:30 EST")
    ),
    Case(
        "sunday-evening",
        ny(2025, 11, 30, 20, 0),
        False,
        CLOSED,
        ("weekend", "next open Mon 2025-12-01 09:30 EST"),
    ),
    # Lunch break calendar: Hong Kong breaks 12:00-13:00.
    Case("xhkg-morning", datetime(2025, 12, 10, 11, 59, tzinfo=HK), True, OK, calendar="XHKG"),
    Case(
        "xhkg-break-start",
        datetime(2025, 12, 10, 12, 0, tzinfo=HK),
        False,
        BREAK,
        ("break", "13:00 HKT"),
        calendar="XHKG",
    ),
    Case(
        "xhkg-lunch-12:30",
        datetime(2025, 12, 10, 12, 30, tzinfo=HK),
        False,
        BREAK,
        ("break", "reopens 13:00 HKT"),
        calendar="XHKG",
    ),
    Case("xhkg-break-end", datetime(2025, 12, 10, 13, 0, tzinfo=HK), True, OK, calendar="XHKG"),
    # Data rules during RTH.
    Case(
        "stale-2h03m",
        ny(2025, 12, 10, 11, 0),
        False,
        STALE,
        ("2h 03m old (limit 1h 00m)",),
        data_age=2 * 3600 + 3 * 60,
    ),
    Case(
        "stale-just-over-limit", ny(2025, 12, 10, 11, 0), False, STALE, ("old (limit 1h 00m)",), data_age=3601
    ),
    Case("at-the-limit", ny(2025, 12, 10, 11, 0), True, OK, data_age=3600),
    Case(
        "future-10m",
        ny(2025, 12, 10, 11, 0),
        False,
        FUTURE,
        ("10m 00s in the future", "tolerance 5s"),
        data_age=-600,
    ),
    Case(
        "future-whole-hour",
        ny(2025, 12, 10, 11, 0),
        False,
        FUTURE,
        ("1h 00m in the future", "time-zone"),
        data_age=-3600,
    ),
    Case(
        "future-whole-5h",
        ny(2025, 12, 10, 11, 0),
        False,
        FUTURE,
        ("5h 00m in the future", "5h offset", "time-zone"),
        data_age=-5 * 3600,
    ),
    Case("future-within-tolerance", ny(2025, 12, 10, 11, 0), True, OK, data_age=-3),
    # Future data outside RTH is refused as future: the data is wrong whatever the hour.
    Case("future-on-weekend", ny(2025, 11, 29, 11, 0), False, FUTURE, ("in the future",), data_age=-3600),
]


def _case_params():
    return [pytest.param(c, id=c.id) for c in CASES]


def _check(case: Case, allowed: bool, reason: str) -> None:
    assert allowed is case.allowed, reason
    for word in case.words:
        assert word in reason, (word, reason)
    assert "\n" not in reason and reason.strip() == reason and reason


@pytest.mark.parametrize("case", _case_params())
def test_truth_table_through_the_monitor(case: Case, make_monitor) -> None:
    clock = FakeClock(case.now)
    monitor = make_monitor(clock=clock, calendar=case.calendar)
    data = case.now - timedelta(seconds=case.data_age)
    allowed, reason = monitor.should_generate_signals(data)
    _check(case, allowed, reason)


@pytest.mark.parametrize("case", _case_params())
def test_truth_table_through_gate(case: Case) -> None:
    gate = Gate(get_calendar(case.calendar), max_data_age_seconds=3600)
    now = case.now.timestamp()
    decision = gate.decide(now, now - case.data_age)
    assert decision.code == case.code, decision.reason
    assert decision.data_age == pytest.approx(case.data_age)
    _check(case, decision.allowed, decision.reason)


def test_one_gate_answers_the_whole_table_in_any_order() -> None:
    """The gate caches the current session's bounds: a clock that jumps around (backfills,
    simulations) must never see stale bounds."""
    gates = {code: Gate(get_calendar(code), 3600) for code in ("XNYS", "XHKG")}
    order = CASES * 3
    random.Random(7).shuffle(order)
    for case in order:
        now = case.now.timestamp()
        decision = gates[case.calendar].decide(now, now - case.data_age)
        assert (decision.allowed, decision.code) == (case.allowed, case.code), case.id


def test_exchange_calendars_agrees_on_the_awkward_days() -> None:
    """The table's premises, checked against exchange_calendars itself."""
    nyse = xcals.get_calendar("XNYS")
    assert not nyse.is_session("2025-01-09")  # Carter: a one-off closure
    assert nyse.is_session("2025-01-08") and nyse.is_session("2025-01-10")
    assert pd.Timestamp("2025-01-09") in nyse.adhoc_holidays
    assert not nyse.is_session("2025-11-27")  # Thanksgiving
    assert nyse.session_close("2025-11-28") == pd.Timestamp("2025-11-28 18:00", tz="UTC")
    hk = xcals.get_calendar("XHKG")
    assert hk.session_break_start("2025-12-10") == pd.Timestamp("2025-12-10 04:00", tz="UTC")
    assert hk.session_break_end("2025-12-10") == pd.Timestamp("2025-12-10 05:00", tz="UTC")


@pytest.mark.parametrize(("friday", "monday"), [("2025-03-07", "2025-03-10"), ("2025-10-31", "2025-11-03")])
def test_dst_mondays_open_at_0930_local_with_a_different_utc_offset(friday, monday) -> None:
    cal = get_calendar("XNYS")
    fri = cal.session(datetime.fromisoformat(friday).date())
    mon = cal.session(datetime.fromisoformat(monday).date())
    assert (fri.open.hour, fri.open.minute) == (mon.open.hour, mon.open.minute) == (9, 30)
    assert fri.open.utcoffset() != mon.open.utcoffset()
    assert abs(fri.open.utcoffset() - mon.open.utcoffset()) == timedelta(hours=1)
    # 13:30Z is 09:30 EDT (open) but 08:30 EST (pre-market): the gate follows the change.
    gate = Gate(cal, 3600)
    for session in (fri, mon):
        d = session.day
        t = datetime(d.year, d.month, d.day, 13, 30, tzinfo=UTC).timestamp()
        summer = session.open.utcoffset() == timedelta(hours=-4)
        assert gate.decide(t, t - 60).allowed is summer, session
        assert gate.decide(session.open_ts, session.open_ts - 60).allowed
        assert not gate.decide(session.open_ts - 60, session.open_ts - 120).allowed


def test_previous_session_data_at_0945_is_refused_even_within_the_age_limit(make_monitor) -> None:
    """At 09:45 yesterday's 15:59 bar is 17h 46m old; with a 24h limit only the
    previous-session rule stops it."""
    clock = FakeClock(ny(2025, 12, 10, 9, 45))
    monitor = make_monitor(clock=clock, max_data_age_hours=24)
    allowed, reason = monitor.should_generate_signals(ny(2025, 12, 9, 15, 59))
    assert not allowed
    assert "previous session" in reason and "Tue 2025-12-09 15:59 EST" in reason
    gate = Gate(get_calendar("XNYS"), 24 * 3600)
    now = ny(2025, 12, 10, 9, 45).timestamp()
    assert gate.decide(now, ny(2025, 12, 9, 15, 59).timestamp()).code == PREVIOUS_SESSION
    # Pre-market data of today (after yesterday's close) is today's: allowed.
    assert gate.decide(now, ny(2025, 12, 10, 9, 0).timestamp()).code == OK
    # Monday 09:45 with Friday's data (over a weekend and, here, a DST change).
    monday = ny(2025, 11, 3, 9, 45).timestamp()
    decision = gate.decide(monday, ny(2025, 10, 31, 15, 59).timestamp())
    assert decision.code == PREVIOUS_SESSION and "Fri 2025-10-31" in decision.reason


def test_previous_session_through_the_monitor_has_its_code_recorded(make_monitor, store_path):
    clock = FakeClock(ny(2025, 12, 10, 9, 45))
    monitor = make_monitor(clock=clock)
    allowed, _ = monitor.should_generate_signals(ny(2025, 12, 9, 15, 59))
    assert not allowed
    assert monitor.flush(5.0)
    assert query(store_path, "SELECT code, allowed, count FROM gate") == [(PREVIOUS_SESSION, 0, 1)]


@pytest.mark.parametrize(
    ("hours", "limit_text", "ok_age", "bad_age"),
    [
        (0.5, "0h 30m", 29 * 60, 31 * 60),
        (2, "2h 00m", 119 * 60, 121 * 60),
        (0.25, "0h 15m", 14 * 60, 16 * 60),
    ],
)
def test_max_data_age_hours_int_and_float(make_monitor, clock, hours, limit_text, ok_age, bad_age):
    monitor = make_monitor(clock=clock, max_data_age_hours=hours)
    now = clock.now
    allowed, reason = monitor.should_generate_signals(now - timedelta(seconds=ok_age))
    assert allowed, reason
    allowed, reason = monitor.should_generate_signals(now - timedelta(seconds=bad_age))
    assert not allowed
    assert f"old (limit {limit_text})" in reason


def test_beyond_the_calendars_range_fails_closed_with_a_reason() -> None:
    cal = get_calendar("XNYS")
    gate = Gate(cal, 3600)
    later = datetime(cal.last_day.year + 1, 6, 1, 11, tzinfo=NY).timestamp()
    decision = gate.decide(later, later - 60)
    assert not decision.allowed and decision.code == CALENDAR
    assert "range" in decision.reason or "after" in decision.reason


def test_every_decision_is_recorded_by_code(make_monitor, store_path) -> None:
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    monitor = make_monitor(clock=clock)
    expected: dict[str, int] = {}

    def ask(data: datetime, code: str) -> str:
        allowed, reason = monitor.should_generate_signals(data)
        assert allowed is (code == OK), reason
        expected[code] = expected.get(code, 0) + 1
        return reason

    for i in range(25):  # fresh, across several minutes
        clock.advance(17)
        ask(clock.now - timedelta(seconds=30 + i), OK)
    for _ in range(7):
        ask(clock.now - timedelta(hours=3), STALE)
    for _ in range(4):
        ask(clock.now + timedelta(hours=1), FUTURE)
    for _ in range(3):
        ask(ny(2025, 12, 9, 15, 59), PREVIOUS_SESSION)
    clock.set(ny(2025, 12, 10, 17, 0))  # after the close
    for _ in range(6):
        clock.advance(600)
        last_closed = ask(clock.now - timedelta(seconds=10), CLOSED)
    hk = make_monitor(
        clock=FakeClock(datetime(2025, 12, 10, 12, 30, tzinfo=HK)), calendar="XHKG", source="hk"
    )
    hk.should_generate_signals(datetime(2025, 12, 10, 12, 29, tzinfo=HK))

    assert monitor.flush(5.0) and hk.flush(5.0)
    rows = query(
        store_path,
        "SELECT code, sum(count), min(allowed), max(allowed) FROM gate WHERE source='default' GROUP BY code",
    )
    assert {code: n for code, n, _, _ in rows} == expected
    for code, _, lo, hi in rows:
        assert lo == hi == (1 if code == OK else 0)
    assert query(store_path, "SELECT code, count FROM gate WHERE source='hk'") == [(BREAK, 1)]
    # The newest reason is kept, literally.
    newest = query(
        store_path,
        "SELECT last_reason FROM gate WHERE source='default' AND code='closed' ORDER BY last_at DESC LIMIT 1",
    )
    assert newest == [(last_closed,)]
    # Ages are recorded: the stale decisions were about 3 hours old.
    ((lo, hi),) = query(store_path, "SELECT min_age, max_age FROM gate WHERE code='stale'")
    assert lo == pytest.approx(3 * 3600) and hi == pytest.approx(3 * 3600)


def test_stale_and_future_data_raise_alerts_once_and_resolve(make_monitor, clock, alerts):
    monitor = make_monitor(clock=clock, alert_callback=alerts)
    for _ in range(5):
        monitor.should_generate_signals(clock.now - timedelta(hours=2))
    for _ in range(5):
        monitor.should_generate_signals(clock.now + timedelta(hours=1))
    monitor.should_generate_signals(clock.now - timedelta(seconds=5))
    assert monitor.flush(5.0)
    assert alerts.wait_for(IssueCode.TIMING_ANOMALY, resolved=True)
    assert alerts.wait_for(IssueCode.STALE_DATA, resolved=True)
    stale = alerts.of(IssueCode.STALE_DATA)
    assert [a.resolved for a in stale] == [False, True]
    assert stale[0].severity == "CRITICAL" and "limit 1h 00m" in stale[0].message
    assert [a.resolved for a in alerts.of(IssueCode.TIMING_ANOMALY)] == [False, True]
    assert "\n" not in str(stale[0])


# -- property: the gate equals exchange_calendars on any minute -------------------------------
_SPAN = (ny(2024, 1, 1).timestamp(), ny(2026, 12, 31).timestamp())


@settings(max_examples=150, deadline=None)
@given(
    code=st.sampled_from(["XNYS", "XHKG", "XLON"]),
    minute=st.integers(int(_SPAN[0] // 60), int(_SPAN[1] // 60)),
    second=st.integers(0, 59),
)
def test_gate_agrees_with_exchange_calendars_on_any_minute(code, minute, second) -> None:
    gate = _GATES.setdefault(code, Gate(get_calendar(code), 3600))
    now = minute * 60 + second
    decision = gate.decide(now, now - 1)
    truth = xcals.get_calendar(code).is_open_on_minute(pd.Timestamp(minute * 60, unit="s", tz="UTC"))
    assert decision.allowed is bool(truth), decision.reason
    assert decision.code in ((OK,) if truth else (CLOSED, BREAK))
    assert _GATES.setdefault(f"{code}-rth", Gate(get_calendar(code), 3600)).in_rth(now) is bool(truth)


_GATES: dict[str, Gate] = {}


# -- MonitorConfig validation ---------------------------------------------------------------
_DURATIONS = ["check_interval_seconds", "max_data_age_hours", "max_uptime_gap_minutes"]


@pytest.mark.parametrize("field", _DURATIONS)
@pytest.mark.parametrize("value", [0, 0.0, -1, -0.5])
def test_config_rejects_zero_and_negative(field, value) -> None:
    with pytest.raises(ValueError, match=field):
        MonitorConfig(**{field: value})


@pytest.mark.parametrize("field", _DURATIONS)
@pytest.mark.parametrize("value", ["60", None, True])
def test_config_rejects_non_numbers(field, value) -> None:
    with pytest.raises((TypeError, ValueError), match=field):
        MonitorConfig(**{field: value})


def test_config_accepts_int_and_float() -> None:
    config = MonitorConfig(check_interval_seconds=1, max_data_age_hours=0.5, max_uptime_gap_minutes=0.5)
    assert config.max_gap_seconds == 30.0
    assert config.max_data_age_seconds == 1800.0
    config = MonitorConfig(check_interval_seconds=0.25, max_data_age_hours=2, max_uptime_gap_minutes=45)
    assert config.max_gap_seconds == 2700.0
    assert config.max_data_age_seconds == 7200.0


def test_config_defaults_are_the_contracts() -> None:
    config = MonitorConfig()
    assert (config.check_interval_seconds, config.max_data_age_hours, config.max_uptime_gap_minutes) == (
        60,
        1.0,
        30,
    )
    assert (config.alert_callback, config.calendar, config.store_path, config.source) == (
        None,
        "XNYS",
        None,
        "default",
    )
    assert config.naive_timezone is None and config.clock is None


def test_monitor_with_float_thresholds_records_them(make_monitor, clock, store_path) -> None:
    monitor = make_monitor(clock=clock, max_uptime_gap_minutes=0.5, max_data_age_hours=0.5)
    monitor.record_activity()
    assert monitor.flush(5.0)
    ((config,),) = query(store_path, "SELECT config FROM runs")
    config = json.loads(config)
    assert config["max_uptime_gap_minutes"] == 0.5 and config["max_data_age_hours"] == 0.5
    assert config["calendar"] == "XNYS" and config["timezone"] == "America/New_York"


def test_unknown_calendar_is_a_clear_error() -> None:
    with pytest.raises(UnknownCalendarError, match="XNOPE"):
        ProductionMonitor(MonitorConfig(calendar="XNOPE"))
