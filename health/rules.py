"""Rules: measured facts → issues with stable codes (docs/CONTRACT.md §4) → overall status.

Messages carry the numbers a person needs to act ("105 signals after hours vs 0 during RTH:
likely using yesterday's data"), in the exchange's time zone.
"""

from __future__ import annotations

from datetime import datetime

from health.codes import IssueCode, Severity, Status
from health.durations import fmt_duration, fmt_limit
from health.liveness import is_silent
from health.report import Issue, SessionInfo, SourceAnalysis


def _clock(ts: float, tz, with_date: bool = False) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S %Z" if with_date else "%H:%M %Z")


def evaluate_rules(inp, session: SessionInfo, sources: tuple[SourceAnalysis, ...]) -> list[Issue]:
    tz = inp.calendar.tz
    multi = len(sources) > 1
    issues: list[Issue] = []
    for x in sources:
        pre = f"{x.source}: " if multi else ""
        th = x.thresholds

        def add(code: IssueCode, message: str, _x=x, _pre=pre, **facts) -> None:
            issues.append(Issue(code.severity, code, _pre + message, _x.source, facts))

        rth_elapsed = session.elapsed_rth_seconds
        zero = False
        if session.is_trading_day and rth_elapsed > 0 and x.uptime.rth_coverage_pct is not None:
            if x.uptime.rth_up_seconds <= 0:
                zero = True
                hours = f"{_clock(session.open, tz)}–{_clock(session.close, tz)}"
                what = "so far today" if inp.now < session.close else "during the session"
                sig = (
                    f"; {x.signals.total} signals were generated, none during RTH"
                    if x.signals.total and not x.signals.rth
                    else ""
                )
                add(
                    IssueCode.ZERO_RTH_COVERAGE,
                    f"ZERO RTH coverage: the loop was not up at all {what} "
                    f"({hours}, {fmt_duration(rth_elapsed)} of market hours){sig}",
                )
            elif x.uptime.rth_coverage_pct < th.min_rth_coverage_pct:
                down = rth_elapsed - x.uptime.rth_up_seconds
                add(
                    IssueCode.LOW_RTH_COVERAGE,
                    f"RTH coverage {x.uptime.rth_coverage_pct:.1f}% (threshold {th.min_rth_coverage_pct:g}%): "
                    f"down {fmt_duration(down)} of {fmt_duration(rth_elapsed)} of market hours",
                )
            _no_activity(inp, session, x, add, tz)
            gaps = [g for g in x.uptime.gaps if not zero]
            if gaps:
                listed = ", ".join(
                    f"{_clock(g.start, tz)}–{'now' if g.ongoing else _clock(g.end, tz)} ({fmt_duration(g.rth_seconds)})"
                    for g in gaps[:5]
                )
                more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
                add(
                    IssueCode.UPTIME_GAP,
                    f"{len(gaps)} silence{'s' if len(gaps) > 1 else ''} longer than "
                    f"{fmt_limit(th.max_gap_seconds)} inside RTH: {listed}{more}",
                )
        _data_rules(inp, session, x, add, tz)
        for u in x.lifecycle.unclean_exits:
            why = {
                "restarted": "a new process of this loop started later",
                "process gone": "its process is gone",
                "silent": "it has been silent since",
            }.get(u.why, u.why)
            add(
                IssueCode.UNCLEAN_EXIT,
                f"pid {u.pid} on {u.host} ended without a clean shutdown: last heartbeat "
                f"{_clock(u.last_seen, tz, True)}, {why}",
            )
        _cadence_rule(x, add, tz)
        for d in x.lifecycle.duplicates:
            both = "both still running" if d.ongoing else f"for {fmt_duration(d.seconds)}"
            add(
                IssueCode.DUPLICATE_LOOP,
                f"two processes beat for this loop at once, {_clock(d.start, tz, True)}–"
                f"{'now' if d.ongoing else _clock(d.end, tz)} ({both}): {d.who()}; "
                f"each may act on every signal",
            )
        if x.lifecycle.store_errors:
            first_at, message = x.lifecycle.store_errors[0]
            dropped = f"; {x.lifecycle.dropped_events} events dropped" if x.lifecycle.dropped_events else ""
            add(
                IssueCode.STORE_ERROR,
                f"the recorder could not write the store from {_clock(first_at, tz, True)}"
                f" ({len(x.lifecycle.store_errors)} outage{'s' if len(x.lifecycle.store_errors) > 1 else ''}{dropped}): {message}",
            )
    return sorted(issues, key=lambda i: i.severity.rank)


def _cadence_rule(x: SourceAnalysis, add, tz) -> None:
    """Up, the gate allowing its data, yet a session hour below its cadence (health/cadence.py)."""
    facts = x.cadence
    if facts is None or facts.cadence is None or not facts.below:
        return
    below = facts.below
    listed = ", ".join(
        f"{_clock(h.start, tz)}–{_clock(h.end, tz)} ({h.signals} of ≥{h.expected:.3g})" for h in below[:5]
    )
    more = f" and {len(below) - 5} more" if len(below) > 5 else ""
    add(
        IssueCode.NO_SIGNALS,
        f"idle: up, the gate allowing its data, yet {len(below)} session hour{'s' if len(below) > 1 else ''} "
        f"below the expected cadence of {facts.cadence.describe()}: {listed}{more}",
    )


def _no_activity(inp, session: SessionInfo, x: SourceAnalysis, add, tz) -> None:
    """Was the loop running at the end of the window (the close, or now during RTH)?"""
    th = x.thresholds
    if inp.now < session.close:
        if session.phase == "open":
            ref, before = inp.now, "now"
        elif session.phase == "break" and session.break_start is not None:
            # Pausing for the midday break is what the gate asks of the loop: judge whether
            # it was running when the morning session ended, not during the break.
            ref, before = session.break_start, "the break"
        else:
            return
    else:
        ref, before = session.close, "the close"
    last = x.uptime.last_activity
    if not is_silent(last, ref, th.max_gap_seconds):
        return  # the usual answer: nothing to format (a period asks it of every day)
    if before == "now":
        where = "now"
    elif before == "the break":
        where = f"at the start of the break ({_clock(ref, tz)})"
    else:
        where = f"at the close ({_clock(ref, tz)})"
    if last is None:
        add(IssueCode.NO_ACTIVITY, f"NO ACTIVITY: no heartbeat recorded; the system was not running {where}")
        return
    add(
        IssueCode.NO_ACTIVITY,
        f"NO ACTIVITY: last heartbeat {_clock(last, tz, True)}, {fmt_duration(ref - last)} before "
        f"{before}: "
        f"{'the system is not running now' if where == 'now' else 'the system was not running ' + where}",
    )


def _data_rules(inp, session: SessionInfo, x: SourceAnalysis, add, tz) -> None:
    th = x.thresholds
    if x.signals.stale:
        limit = fmt_limit(th.max_data_age_seconds)
        if x.signals.after_hours and not x.signals.rth:
            msg = (
                f"STALE DATA: {x.signals.after_hours} signals after hours vs 0 during RTH: "
                f"likely using yesterday's data"
            )
        else:
            msg = f"STALE DATA: {x.signals.stale} of {x.signals.total} signals used data older than {limit} or from a previous session"
        if x.signals.max_data_age is not None:
            msg += f" (data up to {fmt_duration(x.signals.max_data_age)} old"
            if x.signals.newest_data_ts is not None:
                msg += f"; newest data {_clock(x.signals.newest_data_ts, tz, True)}"
            msg += ")"
        add(IssueCode.STALE_DATA, msg)
    if x.gate.stale_rth:
        limit = fmt_limit(th.max_data_age_seconds)
        add(
            IssueCode.STALE_DATA,
            f"STALE DATA: the gate refused stale data {x.gate.stale_rth} times during RTH, "
            f"{_clock(x.gate.stale_first, tz)}–{_clock(x.gate.stale_last, tz)} "
            f"(data up to {fmt_duration(x.gate.stale_max_age or 0)} old, limit {limit}): "
            f"no signals could be generated then",
        )
    if x.signals.after_hours:
        where = "on a non-trading day" if not session.is_trading_day else "outside RTH"
        add(IssueCode.AFTER_HOURS_SIGNALS, f"{x.signals.after_hours} signals generated {where}")
    parts = []
    if x.signals.future or x.gate.future:
        parts.append(
            f"{x.signals.future + x.gate.future} data timestamps in the future "
            f"(beyond {fmt_duration(th.future_tolerance_seconds)})"
        )
    if x.signals.whole_hour_offset is not None:
        direction = "behind" if x.signals.whole_hour_offset > 0 else "ahead of"
        what = "gate decisions'" if x.signals.whole_hour_from_gate else "signals'"
        parts.append(
            f"{x.signals.whole_hour_count} {what} data is {abs(x.signals.whole_hour_offset)}h 00m {direction} "
            f"the clock: a time-zone label error?"
        )
    if parts:
        add(IssueCode.TIMING_ANOMALY, "; ".join(parts))


def status_of(session: SessionInfo, issues: list[Issue]) -> Status:
    severities = {i.severity for i in issues}
    if Severity.CRITICAL in severities:
        return Status.UNHEALTHY
    if Severity.WARNING in severities:
        return Status.DEGRADED
    return Status.HEALTHY if session.is_trading_day else Status.CLOSED
