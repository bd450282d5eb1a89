"""Each issue's message word for word, with its numbers, at the moments it changes: during the
session, in the midday break, at the close and after it (docs/CONTRACT.md §4). The messages are
what a person reads at 9:31; a wrong number or a wrong "now" in them is a wrong report."""

from __future__ import annotations

from datetime import date

from day_inputs import day_report, gate_bucket, span

from health.codes import IssueCode, Status
from health.gate import FUTURE, STALE
from health.report import HealthReport
from health.simulation import at
from store.records import AlertRecord, EventRecord

WED = date(2025, 12, 10)
OPEN, CLOSE = at(WED, 9, 30), at(WED, 16, 0)
HK_OPEN, HK_BREAK, HK_BREAK_END = (at(WED, h, m, calendar="XHKG") for h, m in ((9, 30), (12, 0), (13, 0)))


def messages(rep: HealthReport, code: IssueCode) -> list[str]:
    return [i.message for i in rep.issues if i.code == code]


# -- coverage ------------------------------------------------------------------------------------
def test_zero_coverage_so_far_today_with_signals_only_outside_rth() -> None:
    pre = at(WED, 8, 0)
    rep = day_report(
        WED, spans=(span(pre, pre + 600),), signals=((pre, pre - 5), (pre + 60, pre + 55)), now=at(WED, 11, 0)
    )
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == [
        "ZERO RTH coverage: the loop was not up at all so far today (09:30 EST–16:00 EST, "
        "1h 30m of market hours); 2 signals were generated, none during RTH"
    ]
    assert rep.status == Status.UNHEALTHY


def test_zero_coverage_during_the_session_judged_after_it() -> None:
    pre = at(WED, 8, 0)
    rep = day_report(WED, spans=(span(pre, pre + 600),))
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == [
        "ZERO RTH coverage: the loop was not up at all during the session (09:30 EST–16:00 EST, "
        "6h 30m of market hours)"
    ]
    assert rep.sources[0].uptime.gaps != ()  # the silence is a gap too, but said once, as zero coverage
    assert messages(rep, IssueCode.UPTIME_GAP) == []


def test_zero_coverage_a_second_after_the_open() -> None:
    rep = day_report(WED, now=OPEN + 1)
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == [
        "ZERO RTH coverage: the loop was not up at all so far today (09:30 EST–16:00 EST, 1s of market hours)"
    ]


def test_no_coverage_rule_before_the_open() -> None:
    rep = day_report(WED, now=OPEN)
    assert rep.session.elapsed_rth_seconds == 0
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == []


def test_zero_coverage_with_signals_inside_rth_says_nothing_of_them() -> None:
    """Signals during RTH from a loop that never beat: zero coverage, no 'none during RTH'."""
    rep = day_report(WED, signals=((at(WED, 10), at(WED, 10) - 5),), now=at(WED, 11))
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == [
        "ZERO RTH coverage: the loop was not up at all so far today (09:30 EST–16:00 EST, 1h 30m of market hours)"
    ]


def test_one_second_up_is_low_coverage_not_zero() -> None:
    # check interval 60 s: a beat keeps the loop up 120 s; the last beat 119 s before the open
    rep = day_report(WED, spans=(span(OPEN - 600, OPEN - 119),), stopped=False)
    assert rep.sources[0].uptime.rth_up_seconds == 1
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == []
    assert messages(rep, IssueCode.LOW_RTH_COVERAGE) == [
        "RTH coverage 0.0% (threshold 95%): down 6h 29m of 6h 30m of market hours"
    ]


def test_coverage_exactly_at_the_threshold_is_enough() -> None:
    down = 0.05 * (CLOSE - OPEN)  # 19m 30s
    rep = day_report(WED, spans=(span(OPEN - 600, CLOSE - down - 120),), stopped=False)
    assert rep.sources[0].uptime.rth_coverage_pct == 95.0
    assert messages(rep, IssueCode.LOW_RTH_COVERAGE) == []


def test_low_coverage_message() -> None:
    rep = day_report(WED, spans=(span(OPEN - 600, CLOSE - 3600 - 120),), stopped=False)
    assert messages(rep, IssueCode.LOW_RTH_COVERAGE) == [
        "RTH coverage 84.6% (threshold 95%): down 1h 00m of 6h 30m of market hours"
    ]


# -- gaps --------------------------------------------------------------------------------------------
def test_two_gaps_listed() -> None:
    a, b = at(WED, 10), at(WED, 13)
    rep = day_report(WED, spans=(span(OPEN, a), span(a + 2400, b, 1), span(b + 3600, CLOSE, 2)))
    assert messages(rep, IssueCode.UPTIME_GAP) == [
        "2 silences longer than 0h 30m inside RTH: 10:00 EST–10:40 EST (40m 00s), 13:00 EST–14:00 EST (1h 00m)"
    ]


def test_more_than_five_gaps_are_counted_not_listed() -> None:
    starts = [at(WED, 9, 30) + i * 3000 for i in range(8)]  # beats every 50 min, up 10 min each
    rep = day_report(WED, spans=tuple(span(s, s + 600, i) for i, s in enumerate(starts)))
    (message,) = messages(rep, IssueCode.UPTIME_GAP)
    assert message.startswith("7 silences longer than 0h 30m inside RTH: 09:40 EST–10:20 EST (40m 00s), ")
    assert message.count("(40m 00s)") == 5
    assert message.endswith("12:10 EST–12:50 EST (40m 00s), 13:00 EST–13:40 EST (40m 00s) and 2 more")


def test_an_ongoing_gap_runs_to_now() -> None:
    now = at(WED, 11, 0)
    rep = day_report(WED, spans=(span(OPEN, at(WED, 10)),), now=now, stopped=False)
    assert messages(rep, IssueCode.UPTIME_GAP) == [
        "1 silence longer than 0h 30m inside RTH: 10:00 EST–now (1h 00m)"
    ]


# -- no activity -------------------------------------------------------------------------------------
def test_no_activity_now_during_the_session() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 10)),), now=at(WED, 11), stopped=False)
    assert messages(rep, IssueCode.NO_ACTIVITY) == [
        "NO ACTIVITY: last heartbeat 2025-12-10 10:00:00 EST, 1h 00m before now: the system is not running now"
    ]


def test_no_heartbeat_at_all_during_the_session() -> None:
    rep = day_report(WED, now=at(WED, 11))
    assert messages(rep, IssueCode.NO_ACTIVITY) == [
        "NO ACTIVITY: no heartbeat recorded; the system was not running now"
    ]


def test_no_activity_at_the_close() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 15)),))
    assert messages(rep, IssueCode.NO_ACTIVITY) == [
        "NO ACTIVITY: last heartbeat 2025-12-10 15:00:00 EST, 1h 00m before the close: "
        "the system was not running at the close (16:00 EST)"
    ]


def test_no_activity_judged_at_the_close_from_the_close_itself() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 15)),), now=CLOSE, stopped=False)
    assert messages(rep, IssueCode.NO_ACTIVITY) == [
        "NO ACTIVITY: last heartbeat 2025-12-10 15:00:00 EST, 1h 00m before the close: "
        "the system was not running at the close (16:00 EST)"
    ]


def test_a_loop_running_until_the_close_is_active() -> None:
    rep = day_report(WED, spans=(span(OPEN, CLOSE - 1800),))  # silent exactly the limit
    assert messages(rep, IssueCode.NO_ACTIVITY) == []


def test_no_activity_in_the_break_is_judged_at_the_break_start() -> None:
    """A loop that pauses for the lunch break as the gate asks is fine; one that stopped long
    before the break was not running when the morning session ended."""
    paused = day_report(
        WED, calendar="XHKG", spans=(span(HK_OPEN, HK_BREAK - 60),), now=HK_BREAK + 50 * 60, stopped=False
    )
    assert messages(paused, IssueCode.NO_ACTIVITY) == []
    stopped = day_report(
        WED, calendar="XHKG", spans=(span(HK_OPEN, HK_BREAK - 3600),), now=HK_BREAK + 50 * 60, stopped=False
    )
    assert messages(stopped, IssueCode.NO_ACTIVITY) == [
        "NO ACTIVITY: last heartbeat 2025-12-10 11:00:00 HKT, 1h 00m before the break: "
        "the system was not running at the start of the break (12:00 HKT)"
    ]


def test_no_activity_rule_waits_for_the_open() -> None:
    """Before today's open (a break is in the session, not yet begun) nothing is judged."""
    rep = day_report(WED, calendar="XHKG", now=HK_OPEN - 600)
    assert rep.session.phase == "pre_open"
    assert rep.issues == ()
    assert rep.status == Status.HEALTHY


def test_after_the_close_before_midnight_is_judged_at_the_close() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 15)),), now=at(WED, 20), stopped=False)
    assert rep.session.phase == "post_close"
    assert len(messages(rep, IssueCode.NO_ACTIVITY)) == 1


def test_exactly_five_gaps_are_all_listed() -> None:
    starts = [at(WED, 9, 30) + i * 3000 for i in range(6)]
    rep = day_report(
        WED,
        spans=(*(span(s, s + 600, i) for i, s in enumerate(starts)), span(at(WED, 14, 20), CLOSE, 9)),
    )
    (message,) = messages(rep, IssueCode.UPTIME_GAP)
    assert message.startswith("5 silences longer than 0h 30m inside RTH: ")
    assert message.endswith("13:00 EST–13:40 EST (40m 00s)")


def test_one_gap_is_one_silence() -> None:
    rep = day_report(WED, spans=(span(OPEN, at(WED, 10)), span(at(WED, 11), CLOSE, 1)))
    assert messages(rep, IssueCode.UPTIME_GAP) == [
        "1 silence longer than 0h 30m inside RTH: 10:00 EST–11:00 EST (1h 00m)"
    ]


# -- lifecycle ---------------------------------------------------------------------------------------
def _died(**kw) -> HealthReport:
    return day_report(WED, spans=(span(OPEN, at(WED, 11)),), stopped=False, **kw)


def test_an_unclean_exit_says_why() -> None:
    assert messages(_died(alive=False), IssueCode.UNCLEAN_EXIT) == [
        "pid 4242 on trading-host ended without a clean shutdown: last heartbeat 2025-12-10 11:00:00 EST, "
        "its process is gone"
    ]
    assert messages(_died(later_starts=(at(WED, 12),)), IssueCode.UNCLEAN_EXIT) == [
        "pid 4242 on trading-host ended without a clean shutdown: last heartbeat 2025-12-10 11:00:00 EST, "
        "a new process of this loop started later"
    ]
    assert messages(_died(), IssueCode.UNCLEAN_EXIT) == [
        "pid 4242 on trading-host ended without a clean shutdown: last heartbeat 2025-12-10 11:00:00 EST, "
        "it has been silent since"
    ]


def _store_error(at_: float, message: str) -> AlertRecord:
    return AlertRecord(0, "loop", IssueCode.STORE_ERROR, "critical", message, at_, False, "loop", None)


def test_store_errors_first_outage_and_dropped_events() -> None:
    alerts = (_store_error(at(WED, 10), "disk full"), _store_error(at(WED, 12), "database is locked"))
    events = (EventRecord(1, "loop", "run-1", at(WED, 12), "dropped_events", '{"count": 7}'),)
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), alerts=alerts, events=events)
    assert messages(rep, IssueCode.STORE_ERROR) == [
        "the recorder could not write the store from 2025-12-10 10:00:00 EST (2 outages; 7 events dropped): disk full"
    ]
    one = day_report(WED, spans=(span(OPEN, CLOSE),), alerts=alerts[1:])
    assert messages(one, IssueCode.STORE_ERROR) == [
        "the recorder could not write the store from 2025-12-10 12:00:00 EST (1 outage): database is locked"
    ]


# -- data --------------------------------------------------------------------------------------------
def test_stale_signals_with_their_numbers() -> None:
    t1, t2, t3 = at(WED, 10), at(WED, 11), at(WED, 17)  # the last one after hours
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=((t1, t1 - 7200), (t2, t2 - 30), (t3, t3 - 30)))
    assert messages(rep, IssueCode.STALE_DATA) == [
        "STALE DATA: 1 of 3 signals used data older than 1h 00m or from a previous session "
        "(data up to 2h 00m old; newest data 2025-12-10 16:59:30 EST)"
    ]


def test_stale_signals_only_after_hours_look_like_yesterdays_data() -> None:
    t1, t2 = at(WED, 17), at(WED, 18)
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=((t1, t1 - 7200), (t2, t2 - 7200)))
    assert messages(rep, IssueCode.STALE_DATA) == [
        "STALE DATA: 2 signals after hours vs 0 during RTH: likely using yesterday's data "
        "(data up to 2h 00m old; newest data 2025-12-10 16:00:00 EST)"
    ]
    assert messages(rep, IssueCode.AFTER_HOURS_SIGNALS) == ["2 signals generated outside RTH"]


def test_signals_on_a_holiday_are_on_a_non_trading_day() -> None:
    thanksgiving = date(2025, 11, 27)
    t1 = at(thanksgiving, 11)
    rep = day_report(thanksgiving, signals=((t1, t1 - 30),))
    assert messages(rep, IssueCode.AFTER_HOURS_SIGNALS) == ["1 signals generated on a non-trading day"]
    assert rep.status == Status.DEGRADED


def test_the_gates_stale_refusals_during_rth() -> None:
    gate = (
        gate_bucket(STALE, at(WED, 10), count=4, age=5400.0),
        gate_bucket(STALE, at(WED, 10, 30), age=7200.0),
    )
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), gate=gate)
    assert messages(rep, IssueCode.STALE_DATA) == [
        "STALE DATA: the gate refused stale data 5 times during RTH, 10:00 EST–10:30 EST "
        "(data up to 2h 00m old, limit 1h 00m): no signals could be generated then"
    ]


def test_future_data_and_a_whole_hour_offset() -> None:
    t1 = at(WED, 10)
    signals = tuple((t1 + 60 * i, t1 + 60 * i + 3600) for i in range(3))  # stamped an hour ahead
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=signals)
    assert messages(rep, IssueCode.TIMING_ANOMALY) == [
        "3 data timestamps in the future (beyond 5s); 3 signals' data is 1h 00m ahead of the clock: "
        "a time-zone label error?"
    ]
    for hours in (1, 5):
        behind = tuple((t1 + 60 * i, t1 + 60 * i - hours * 3600) for i in range(3))
        rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=behind, max_data_age_hours=24)
        assert messages(rep, IssueCode.TIMING_ANOMALY) == [
            f"3 signals' data is {hours}h 00m behind the clock: a time-zone label error?"
        ]


def test_a_whole_hour_offset_seen_only_by_the_gate() -> None:
    rep = day_report(
        WED, spans=(span(OPEN, CLOSE),), gate=(gate_bucket(FUTURE, at(WED, 10), count=9, age=-3600.0),)
    )
    assert messages(rep, IssueCode.TIMING_ANOMALY) == [
        "9 data timestamps in the future (beyond 5s); 9 gate decisions' data is 1h 00m ahead of the clock: "
        "a time-zone label error?"
    ]


def test_zero_coverage_judged_at_the_close_itself_is_during_the_session() -> None:
    rep = day_report(WED, now=CLOSE)
    assert messages(rep, IssueCode.ZERO_RTH_COVERAGE) == [
        "ZERO RTH coverage: the loop was not up at all during the session (09:30 EST–16:00 EST, "
        "6h 30m of market hours)"
    ]


def test_six_gaps_list_five_and_one_more() -> None:
    starts = [at(WED, 9, 30) + i * 3000 for i in range(7)]
    rep = day_report(
        WED, spans=(*(span(s, s + 600, i) for i, s in enumerate(starts)), span(at(WED, 15, 10), CLOSE, 9))
    )
    (message,) = messages(rep, IssueCode.UPTIME_GAP)
    assert message.startswith("6 silences longer than 0h 30m inside RTH: ")
    assert message.endswith("13:00 EST–13:40 EST (40m 00s) and 1 more")
