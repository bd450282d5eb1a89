"""The analysis' facts, field by field (the JSON of docs/CONTRACT.md §3 is made of them): the
window of a past, a current and a future date, the session block of a holiday, uptime and its
intervals at the edges of a day, the threshold overrides, and the whole-hour offset read from
the gate's refusals (majority, slack, other codes in between)."""

from __future__ import annotations

from datetime import date

import pytest
from day_inputs import day_report, gate_bucket, run, span

from health.calendar import day_bounds, get_calendar
from health.codes import IssueCode
from health.gate import FUTURE, OK, STALE
from health.simulation import at

WED, THU = date(2025, 12, 10), date(2025, 12, 11)
THANKSGIVING = date(2025, 11, 27)
OPEN, CLOSE = at(WED, 9, 30), at(WED, 16, 0)
TZ = get_calendar("XNYS").tz
DAY_START, DAY_END = day_bounds(WED, TZ)


# -- the window ------------------------------------------------------------------------------------
def test_the_window_of_a_past_a_current_and_a_future_date() -> None:
    past = day_report(WED)
    assert (past.window_start, past.window_end, past.is_today) == (DAY_START, DAY_END, False)
    now = at(WED, 11)
    today = day_report(WED, now=now)
    assert (today.window_start, today.window_end, today.is_today) == (DAY_START, now, True)
    future = day_report(THU, now=now)
    assert (future.window_end, future.is_today) == (day_bounds(THU, TZ)[1], False)
    assert future.sources[0].uptime.window_seconds == 24 * 3600


def test_the_first_and_the_last_instant_of_a_day() -> None:
    first = day_report(WED, now=DAY_START)
    assert first.is_today and first.window_end == DAY_START
    up = first.sources[0].uptime
    assert (up.window_seconds, up.pct, up.seconds) == (0.0, 0.0, 0.0)
    nxt = day_report(WED, now=DAY_END)  # midnight: the next day has begun
    assert not nxt.is_today and nxt.window_end == DAY_END


# -- the session block -----------------------------------------------------------------------------
def test_a_holiday_has_no_session_and_its_name() -> None:
    rep = day_report(THANKSGIVING)
    s = rep.session
    assert (s.is_trading_day, s.open, s.close, s.early_close, s.holiday, s.phase) == (
        False,
        None,
        None,
        False,
        "Thanksgiving",
        None,
    )
    today = day_report(THANKSGIVING, now=at(THANKSGIVING, 11))
    assert today.session.phase == "closed"


def test_a_past_trading_day_has_no_phase_today_has_one() -> None:
    assert day_report(WED).session.phase is None
    assert day_report(WED, now=at(WED, 11)).session.phase == "open"
    s = day_report(date(2025, 11, 28)).session  # the early close
    assert (s.early_close, s.open, s.close) == (
        True,
        at(date(2025, 11, 28), 9, 30),
        at(date(2025, 11, 28), 13),
    )


# -- uptime ------------------------------------------------------------------------------------------
def test_uptime_intervals_and_shares() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 12)), span(at(WED, 13), CLOSE, 1)), stopped=False)
    up = rep.sources[0].uptime
    assert up.intervals == ((OPEN, at(WED, 12) + 120), (at(WED, 13), CLOSE + 120))
    assert up.seconds == (at(WED, 12) + 120 - OPEN) + (CLOSE + 120 - at(WED, 13))
    assert up.window_seconds == 24 * 3600
    assert up.pct == 100.0 * up.seconds / (24 * 3600)
    assert up.rth_up_seconds == (at(WED, 12) + 120 - OPEN) + (CLOSE - at(WED, 13))
    (gap,) = up.gaps
    assert (gap.source, gap.start, gap.end) == ("loop", at(WED, 12), at(WED, 13))


def test_coverage_one_second_after_the_open() -> None:
    rep = day_report(WED, spans=(span(OPEN - 60, OPEN),), now=OPEN + 1, stopped=False)
    assert rep.session.elapsed_rth_seconds == 1
    assert rep.sources[0].uptime.rth_coverage_pct == 100.0


def test_a_span_keeps_its_own_runs_heartbeat_window() -> None:
    """Each span's up-time follows the check interval of the run that beat (2 x 5 s here), and a
    span whose run is not in the window's list falls back to the recorded thresholds."""
    fast = run(OPEN - 60, run_id="fast", check_interval_seconds=5)
    rep = day_report(
        WED,
        spans=(span(OPEN, at(WED, 10), run_id="fast"), span(at(WED, 11), at(WED, 12), run_id="gone")),
        extra_runs=(fast,),
        stopped=False,
    )
    assert rep.sources[0].uptime.intervals == ((OPEN, at(WED, 10) + 10), (at(WED, 11), at(WED, 12) + 120))


def test_threshold_overrides_replace_the_recorded_ones() -> None:
    spans = (span(OPEN, at(WED, 10)), span(at(WED, 10, 20), CLOSE, 1))  # a 20-minute silence
    assert day_report(WED, spans=spans).sources[0].uptime.gaps == ()
    rep = day_report(WED, spans=spans, overrides={"max_gap_seconds": 600.0})
    assert rep.sources[0].thresholds.max_gap_seconds == 600.0
    assert len(rep.sources[0].uptime.gaps) == 1


# -- the whole-hour offset from the gate --------------------------------------------------------------
def _offset(*buckets, signals=()):
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), gate=buckets, signals=signals)
    s = rep.sources[0].signals
    return s.whole_hour_offset, s.whole_hour_count, s.whole_hour_from_gate


def test_the_gate_sees_a_whole_hour_offset_among_other_refusals() -> None:
    stale_first = gate_bucket(STALE, at(WED, 9, 40), count=3, age=7200.0)
    ahead = gate_bucket(FUTURE, at(WED, 10), count=4, age=-3600.0)
    assert _offset(stale_first, ahead) == (-1, 4, True)


def test_the_gates_offset_has_the_reports_slack() -> None:
    assert _offset(gate_bucket(FUTURE, at(WED, 10), age=-(3600.0 + 120))) == (-1, 1, True)
    assert _offset(gate_bucket(FUTURE, at(WED, 10), age=-(3600.0 - 120))) == (-1, 1, True)
    assert _offset(gate_bucket(FUTURE, at(WED, 10), age=-(3600.0 + 121))) == (None, 0, False)
    assert _offset(gate_bucket(FUTURE, at(WED, 10), age=-2000 * 3600.0)) == (-2000, 1, True)


def test_seconds_ahead_are_no_whole_hour_offset() -> None:
    assert _offset(gate_bucket(FUTURE, at(WED, 10), count=9, age=-10.0)) == (None, 0, False)


def test_the_gates_offset_needs_half_of_the_future_refusals() -> None:
    hour = gate_bucket(FUTURE, at(WED, 10), count=3, age=-3600.0)
    assert _offset(hour, gate_bucket(FUTURE, at(WED, 11), count=3, age=-10.0)) == (
        -1,
        3,
        True,
    )  # exactly half
    assert _offset(hour, gate_bucket(FUTURE, at(WED, 11), count=4, age=-10.0)) == (None, 0, False)
    assert _offset(hour, gate_bucket(FUTURE, at(WED, 11), count=6, age=-10.0)) == (None, 0, False)


def test_the_signals_offset_wins_over_the_gates() -> None:
    t = at(WED, 10)
    signals = tuple((t + 60 * i, t + 60 * i + 3600) for i in range(3))  # an hour ahead
    two_hours = gate_bucket(FUTURE, at(WED, 11), count=9, age=-7200.0)
    assert _offset(two_hours, signals=signals) == (-1, 3, False)
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), gate=(two_hours,), signals=signals)
    assert [i.message for i in rep.issues if i.code == IssueCode.TIMING_ANOMALY] == [
        "12 data timestamps in the future (beyond 5s); 3 signals' data is 1h 00m ahead of the clock: "
        "a time-zone label error?"
    ]


# -- signals and the gate's counts ----------------------------------------------------------------
def test_signal_counts_ages_and_hours() -> None:
    t10, t11 = at(WED, 10), at(WED, 11)
    prev_close = at(date(2025, 12, 9), 16)
    signals = (
        (t10, t10 - 3600.0),  # exactly the age limit: not stale
        (t10 + 60, t10 + 60 - 3600.001),  # a hair older: stale
        (t11, prev_close),  # the previous session's close itself: stale whatever its age
        (t11 + 60, t11 + 60 - 30),
    )
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=signals, max_data_age_hours=24)
    s = rep.sources[0].signals
    assert (s.total, s.rth, s.after_hours, s.stale, s.future) == (4, 4, 0, 1, 0)
    assert s.hourly == {10: 2, 11: 2}
    assert s.max_data_age == t11 - prev_close
    assert s.median_data_age == pytest.approx(3600.0005, abs=1e-6)
    assert s.newest_data_ts == t11 + 60 - 30
    strict = day_report(WED, spans=(span(OPEN, CLOSE),), signals=signals)
    assert strict.sources[0].signals.stale == 2


def test_no_signals_no_ages() -> None:
    s = day_report(WED, spans=(span(OPEN, CLOSE),)).sources[0].signals
    assert (s.total, s.max_data_age, s.median_data_age, s.newest_data_ts, s.hourly) == (
        0,
        None,
        None,
        None,
        {},
    )


def test_the_gates_counts_by_hour_and_code() -> None:
    buckets = (
        gate_bucket(OK, at(WED, 10), count=5, age=2.0, allowed=True),
        gate_bucket(OK, at(WED, 10, 5), count=7, age=3.0, allowed=True),
        gate_bucket(STALE, at(WED, 10, 10), count=2, age=7200.0),
        gate_bucket(FUTURE, at(WED, 11), count=3, age=-60.0),
        gate_bucket(FUTURE, at(WED, 10, 15), count=1, age=-60.0),
    )
    g = day_report(WED, spans=(span(OPEN, CLOSE),), gate=buckets).sources[0].gate
    assert (g.allowed, g.blocked, g.by_code, g.future) == (12, 6, {STALE: 2, FUTURE: 4}, 4)
    assert (g.hourly_allowed, g.hourly_blocked) == ({10: 12}, {10: 3, 11: 3})
    assert (g.last_at, g.last_reason) == (at(WED, 11), FUTURE)
    assert (g.stale_rth, g.stale_first, g.stale_last, g.stale_max_age) == (
        2,
        at(WED, 10, 10),
        at(WED, 10, 10),
        7200.0,
    )


# -- the lifecycle ----------------------------------------------------------------------------------
def test_starts_and_clean_stops_counted_in_the_window() -> None:
    edge_runs = (
        run(DAY_START, stopped_at=DAY_START + 60, run_id="at-start"),  # starts at the window's start: counted
        run(
            DAY_START - 600, stopped_at=DAY_START, run_id="stops-at-start"
        ),  # its stop counted, not its start
        run(DAY_END - 60, stopped_at=DAY_END, run_id="stops-at-end"),  # stop at the end: outside
        run(DAY_END, run_id="at-end"),  # starts at the end: outside
    )
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), extra_runs=edge_runs)
    life = rep.sources[0].lifecycle
    # the loop's own run (started at the open) and three of the four above
    assert (life.starts, life.clean_stops) == (3, 3)


def test_store_errors_still_firing_and_dropped_events() -> None:
    from store.records import AlertRecord, EventRecord

    alerts = (
        AlertRecord(
            1, "loop", IssueCode.STORE_ERROR, "critical", "disk full", at(WED, 10), False, "loop", None
        ),
        AlertRecord(
            2, "loop", IssueCode.STORE_ERROR, "critical", "disk full", at(WED, 10, 5), True, "loop", None
        ),
        AlertRecord(3, "loop", IssueCode.STALE_DATA, "warning", "stale", at(WED, 10, 6), False, "loop", None),
    )
    events = (
        EventRecord(1, "loop", "run-1", at(WED, 10), "dropped_events", '{"count": 7}'),
        EventRecord(2, "loop", "run-1", at(WED, 11), "dropped_events", '{"count": 5}'),
        EventRecord(3, "loop", "run-1", at(WED, 12), "dropped_events", "{}"),
        EventRecord(4, "loop", "run-1", at(WED, 12), "replaced_events", '{"count": 100}'),
    )
    source = day_report(WED, spans=(span(OPEN, CLOSE),), alerts=alerts, events=events).sources[0]
    assert source.alerts == alerts
    life = source.lifecycle
    assert life.store_errors == ((at(WED, 10), "disk full"),)
    assert life.dropped_events == 12


def test_the_latest_run_as_the_report_names_it() -> None:
    rep = day_report(
        WED,
        spans=(span(OPEN, CLOSE),),
        alive=True,
        log_files=["/var/log/loop.log"],
        orig_argv=["python3", "-m", "strategies.loop", "--live"],
        executable="/opt/venv/bin/python",
        cwd="/srv/desk",
    )
    latest = rep.sources[0].lifecycle.latest
    assert (latest.run_id, latest.pid, latest.host, latest.alive) == ("run-1", 4242, "trading-host", True)
    assert latest.log_files == ("/var/log/loop.log",)
    assert latest.restart_command == "cd /srv/desk && /opt/venv/bin/python -m strategies.loop --live"


# -- gaps ----------------------------------------------------------------------------------------------
def test_beats_closer_than_their_up_window_leave_no_silence() -> None:
    """Spans 100 s apart (a beat keeps the loop up 120 s) are one stretch of activity."""
    spans = (span(OPEN, at(WED, 11)), span(at(WED, 11) + 100, CLOSE, 1))
    assert day_report(WED, spans=spans, overrides={"max_gap_seconds": 60.0}).sources[0].uptime.gaps == ()
    spans = (span(OPEN, at(WED, 11)), span(at(WED, 11) + 130, CLOSE, 1))
    (gap,) = day_report(WED, spans=spans, overrides={"max_gap_seconds": 60.0}).sources[0].uptime.gaps
    assert (gap.start, gap.end) == (at(WED, 11), at(WED, 11) + 130)


def test_a_gap_is_ongoing_only_when_it_reaches_now() -> None:
    now = at(WED, 12)
    for resumed, ongoing in ((now - 1, True), (now - 1.5, False)):
        spans = (span(OPEN, at(WED, 10)), span(resumed, resumed + 0.5, 1))
        (gap,) = day_report(WED, spans=spans, now=now, stopped=False).sources[0].uptime.gaps
        assert gap.ongoing is ongoing, resumed
    spans = (span(OPEN, at(WED, 10)),)
    (gap,) = day_report(WED, spans=spans, now=now, stopped=False).sources[0].uptime.gaps
    assert (gap.end, gap.ongoing) == (now, True)
    (gap,) = day_report(WED, spans=spans, stopped=False).sources[0].uptime.gaps  # judged the next day
    assert (gap.end, gap.ongoing) == (CLOSE, False)


# -- the signals' whole-hour offset ---------------------------------------------------------------
def _signals_offset(offsets: list[float]):
    t = at(WED, 10)
    signals = tuple((t + 60 * i, t + 60 * i - age) for i, age in enumerate(offsets))
    s = day_report(WED, spans=(span(OPEN, CLOSE),), signals=signals, max_data_age_hours=48).sources[0].signals
    return s.whole_hour_offset, s.whole_hour_count


def test_the_signals_whole_hour_offset() -> None:
    assert _signals_offset([3600.0] * 2) == (None, 0)  # two signals are too few to say
    assert _signals_offset([3600.0] * 3) == (1, 3)
    assert _signals_offset([3600.0 + 120, 3600.0 - 120, 3600.0]) == (1, 3)  # the 120 s slack
    assert _signals_offset([3600.0 + 121, 3600.0 + 121, 3600.0]) == (None, 0)
    assert _signals_offset([3600.0, 3600.0, 30.0, 30.0]) == (1, 2)  # exactly half
    assert _signals_offset([3600.0, 3600.0, 30.0, 30.0, 30.0]) == (None, 0)
    assert _signals_offset([-7200.0] * 3 + [30.0]) == (-2, 3)
    assert _signals_offset([2000 * 3600.0] * 3) == (2000, 3)
    assert _signals_offset([30.0] * 5) == (None, 0)


# -- unclean exits ------------------------------------------------------------------------------------
def test_unclean_exits_field_by_field() -> None:
    stopped = run(OPEN - 600, stopped_at=OPEN - 300, last_seen=OPEN - 300, run_id="a-stopped")
    died = run(OPEN - 200, last_seen=at(WED, 10), run_id="b-died")
    at_start = run(DAY_START - 600, last_seen=DAY_START, run_id="c-at-start")
    at_end = run(DAY_END - 600, last_seen=DAY_END, run_id="d-at-end")
    old = run(
        DAY_START - 86400, last_seen=DAY_START - 80000, run_id="e-old"
    )  # first in order, out of the window
    rep = day_report(
        WED,
        spans=(span(OPEN, at(WED, 11)),),
        extra_runs=(old, stopped, died, at_start, at_end),
        stopped=False,
        alive=False,
    )
    exits = {u.run_id: u for u in rep.sources[0].lifecycle.unclean_exits}
    assert set(exits) == {"b-died", "c-at-start", "run-1"}
    u = exits["b-died"]
    assert (u.source, u.pid, u.host, u.started_at, u.last_seen, u.why) == (
        "loop",
        4242,
        "trading-host",
        OPEN - 200,
        at(WED, 10),
        "restarted",
    )
    u = exits["run-1"]
    assert (u.source, u.pid, u.host, u.last_seen, u.why) == (
        "loop",
        4242,
        "trading-host",
        at(WED, 11),
        "restarted",
    )


def test_a_silent_run_whose_process_cannot_be_checked() -> None:
    spans = (span(OPEN, at(WED, 10)),)
    quiet = day_report(WED, spans=spans, stopped=False, now=at(WED, 10, 30))  # silent 30 min: the limit
    assert quiet.sources[0].lifecycle.unclean_exits == ()
    rep = day_report(WED, spans=spans, stopped=False, now=at(WED, 10, 30) + 1)
    (u,) = rep.sources[0].lifecycle.unclean_exits
    assert (u.run_id, u.source, u.pid, u.host, u.started_at, u.last_seen, u.why) == (
        "run-1",
        "loop",
        4242,
        "trading-host",
        OPEN,
        at(WED, 10),
        "silent",
    )
    gone = day_report(WED, spans=spans, stopped=False, now=at(WED, 10, 5), alive=False)
    (u,) = gone.sources[0].lifecycle.unclean_exits
    assert (u.run_id, u.source, u.pid, u.host, u.started_at, u.last_seen, u.why) == (
        "run-1",
        "loop",
        4242,
        "trading-host",
        OPEN,
        at(WED, 10),
        "process gone",
    )


# -- restarts and the report's own facts ----------------------------------------------------------------
def test_a_restart_after_a_crash_before_the_window() -> None:
    tue = date(2025, 12, 9)
    crashed = run(at(tue, 9, 30), last_seen=at(tue, 12), run_id="prev")
    rep = day_report(
        WED,
        spans=(span(OPEN, CLOSE),),
        previous_run=crashed,
        previous_last_beat=at(tue, 15),  # its last heartbeat, newer than its last_seen
    )
    (r,) = rep.sources[0].lifecycle.restarts
    assert (r.at, r.run_id, r.previous_run_id, r.exit, r.ended) == (
        OPEN,
        "run-1",
        "prev",
        "crash",
        at(tue, 15),
    )
    unknown_beat = day_report(WED, spans=(span(OPEN, CLOSE),), previous_run=crashed)
    (r,) = unknown_beat.sources[0].lifecycle.restarts
    assert r.ended == at(tue, 12)


def test_the_reports_own_facts() -> None:
    now = at(WED, 11)
    rep = day_report(
        WED, spans=(span(OPEN, at(WED, 10, 59)),), now=now, store_path="/srv/health.db", stopped=False
    )
    assert (rep.day, rep.calendar, rep.tz_name, rep.now, rep.generated_at) == (
        WED,
        "XNYS",
        "America/New_York",
        now,
        now,
    )
    assert rep.store_path == "/srv/health.db"
    assert (rep.totals.signals, rep.totals.last_activity) == (0, at(WED, 10, 59))


def test_stale_refusals_reaching_into_rth_and_their_extremes() -> None:
    from store.records import GateRecord

    def bucket(code, first_at, last_at, count, max_age):
        return GateRecord(
            "loop",
            int(first_at // 300) * 300,
            code,
            False,
            count,
            4000.0,
            max_age,
            0.0,
            first_at,
            last_at,
            code,
            None,
        )

    buckets = (
        bucket(STALE, at(WED, 15, 58), at(WED, 16, 2), 2, 7300.0),  # reaches past the close: in RTH
        bucket(STALE, at(WED, 10), at(WED, 10, 4), 3, 9000.0),
        bucket("previous_session", at(WED, 10), at(WED, 10, 2), 1, 5000.0),
        bucket(STALE, at(WED, 17), at(WED, 17, 4), 5, 99999.0),  # after hours: not counted
    )
    g = day_report(WED, spans=(span(OPEN, CLOSE),), gate=buckets).sources[0].gate
    assert (g.stale_rth, g.stale_first, g.stale_last, g.stale_max_age) == (
        6,
        at(WED, 10),
        at(WED, 16, 2),
        9000.0,
    )


def test_no_latest_run_no_latest() -> None:
    assert day_report(WED, spans=(span(OPEN, CLOSE),), latest=False).sources[0].lifecycle.latest is None


def test_restarts_at_the_windows_edges() -> None:
    tue = date(2025, 12, 9)
    crashed = run(at(tue, 9, 30), last_seen=at(tue, 12), run_id="prev")
    at_midnight = day_report(WED, spans=(span(DAY_START, CLOSE),), previous_run=crashed)
    assert [r.at for r in at_midnight.sources[0].lifecycle.restarts] == [DAY_START]
    next_midnight = run(DAY_END, last_seen=DAY_END + 60, run_id="tomorrow")
    rep = day_report(WED, spans=(span(OPEN, at(WED, 11)),), extra_runs=(next_midnight,), stopped=False)
    assert rep.sources[0].lifecycle.restarts == ()


def test_a_gap_up_to_the_close_judged_at_the_close_is_over() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 15)),), now=CLOSE, stopped=False)
    (gap,) = rep.sources[0].uptime.gaps
    assert (gap.end, gap.ongoing) == (CLOSE, False)
