"""Recommendations for a backtest's issues: a simulated run has bars and a data set, not a process,
a host or a unit to restart, so the advice speaks of those (health/recommendations.py hands
every issue of a backtest source here)."""

from __future__ import annotations

from datetime import datetime

from health.codes import IssueCode
from health.durations import fmt_limit
from health.report import Issue, Recommendation, SourceAnalysis

DOWN = "down"  # health/recommendations.py groups the coverage issues under this name


def _at(ts: float | None, tz) -> str:
    return "never" if ts is None else datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def backtest_recommendation(
    group: str, issue: Issue, x: SourceAnalysis, tz, multi: bool
) -> Recommendation | None:
    name = f" ({x.source})" if multi else ""
    sev = issue.severity
    if group == DOWN:
        gaps = ", ".join(f"{_at(g.start, tz)} → {_at(g.end, tz)}" for g in x.uptime.gaps[:3])
        return Recommendation(
            f"{sev}: The backtest skipped market hours{name}",
            (
                "A backtest is up while its clock moves through bars: every bar must reach the monitor "
                "(`should_generate_signals` or `record_activity`), also the bars that make no signal",
                f"Look for missing bars in the data set{': ' + gaps if gaps else ''} "
                f"(last bar seen {_at(x.uptime.last_activity, tz)})",
                "If the data set really has a hole there, the strategy was never tested on those hours",
            ),
            issue.code,
        )
    if group == IssueCode.STALE_DATA:
        limit = fmt_limit(x.thresholds.max_data_age_seconds)
        steps = []
        if x.signals.stale:
            steps.append(
                f"{x.signals.stale} signals used data older than {limit} or from a previous session: "
                "production's gate refuses those, so the strategy was tuned on signals it cannot make"
            )
        if x.gate.stale_rth:
            steps.append(
                f"The gate refused stale bars {x.gate.stale_rth} times during RTH: the data set lags "
                "the simulated clock (T+1 data, or bars stamped at their open while the clock is at "
                "their close)"
            )
        steps.append(
            "Drive the clock from the bar being processed and pass that bar's own timestamp as "
            "data_timestamp; `health.backtest.evaluate_gate` gives the same answers for a whole DataFrame"
        )
        return Recommendation(f"{sev}: Stale bars in the backtest{name}", tuple(steps), issue.code)
    if group == IssueCode.AFTER_HOURS_SIGNALS:
        return Recommendation(
            f"{sev}: Backtest signals outside RTH{name}",
            (
                f"{x.signals.after_hours} signals were generated outside regular trading hours: "
                "production's gate refuses them",
                "Generate only when `should_generate_signals` returns True, or drop the rows "
                "`health.backtest.evaluate_gate` refuses",
            ),
            issue.code,
        )
    if group == IssueCode.TIMING_ANOMALY:
        steps = []
        if x.signals.whole_hour_offset is not None:
            steps.append(
                f"Bar timestamps are off by {abs(x.signals.whole_hour_offset)}h: naive timestamps are "
                f"read as {getattr(tz, 'key', tz)}; if the data set is in UTC, set "
                "`MonitorConfig(naive_timezone='UTC')` or make the column time-zone aware"
            )
        if x.signals.future or x.gate.future:
            steps.append(
                "Bars stamped after the simulated clock: the clock must stand at the bar's close "
                "(or later) when the bar is used, never at its open"
            )
        return Recommendation(f"{sev}: Timing anomaly in the backtest{name}", tuple(steps), issue.code)
    if group == IssueCode.DUPLICATE_LOOP:
        d = x.lifecycle.duplicates[-1] if x.lifecycle.duplicates else None
        since = f" from {_at(d.start, tz)}" if d is not None else ""
        return Recommendation(
            f"{sev}: Two runs of the backtest over the same hours{name}",
            (
                f"Two runs recorded the same simulated hours{since} into one store: this report counts "
                "both runs' bars and signals",
                "Leave `store_path` unset: each run of a backtest then starts its own file "
                "(backtests/<source>.db) afresh; or give each run its own `source`",
            ),
            issue.code,
        )
    return None  # STORE_ERROR, NO_SIGNALS: the same advice as for a live loop
