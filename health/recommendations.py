"""Recommendations: each issue becomes concrete steps filled with facts from the store and the
machine — which pid on which host was last seen when, whether it runs now, which log to read,
how it was started — instead of generic advice."""

from __future__ import annotations

import shlex
import socket
from datetime import datetime

from health.backtest_advice import backtest_recommendation
from health.codes import IssueCode
from health.durations import fmt_duration, fmt_limit
from health.report import Issue, Recommendation, SessionInfo, SourceAnalysis


def _at(ts: float | None, tz) -> str:
    return "never" if ts is None else datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _process_facts(x: SourceAnalysis, tz) -> list[str]:
    steps = []
    run = x.lifecycle.latest
    if run is None or run.pid is None:
        return [f"No run of loop '{x.source}' is recorded: is ProductionMonitor created in the loop?"]
    here = run.host == socket.gethostname()
    where = f"pid {run.pid} on {run.host}"
    if run.alive is True:
        steps.append(
            f"{where} is still running but silent since {_at(x.uptime.last_activity, tz)}: it may be hung — "
            f"see where it is stuck with `py-spy dump --pid {run.pid}`"
        )
    elif run.alive is False:
        steps.append(f"{where} was last seen {_at(x.uptime.last_activity, tz)} and is not running now")
    elif not here:
        steps.append(
            f"{where} was last seen {_at(x.uptime.last_activity, tz)}; it runs on another host: "
            f"`ssh {run.host} ps -o pid,stat,etime,cmd -p {run.pid}`"
        )
    else:
        steps.append(f"Check the process: `ps -o pid,stat,etime,cmd -p {run.pid}`")
    return steps


def _log_step(x: SourceAnalysis, around: float | None, tz) -> str:
    when = f" around {_at(around, tz)}" if around else ""
    log_files = x.lifecycle.latest.log_files if x.lifecycle.latest else ()
    if log_files:
        files = " ".join(shlex.quote(f) for f in log_files[:3])
        return f"Read its log{when} for errors and tracebacks: `tail -n 200 {files}` (or `diagnose-production --logs '{log_files[0]}'`)"
    return (
        f"Read its output{when}: the loop recorded no log file, so look where it was started "
        f"(`journalctl --user -n 200` under systemd, or the tmux/screen session); pass `--logs GLOB` to diagnose-production"
    )


def _restart_step(x: SourceAnalysis) -> str | None:
    run = x.lifecycle.latest
    if run is None or run.restart_command is None:
        return None
    return f"Restart it as it was started: `{run.restart_command}`"


def recommend(
    inp, session: SessionInfo, sources: tuple[SourceAnalysis, ...], issues: list[Issue]
) -> list[Recommendation]:
    tz = inp.calendar.tz
    by_source = {x.source: x for x in sources}
    out: list[Recommendation] = []
    seen: set[tuple[str | None, str]] = set()
    for issue in issues:
        x = by_source.get(issue.source)
        if x is None:
            continue
        group = (
            "down"
            if issue.code
            in (
                IssueCode.ZERO_RTH_COVERAGE,
                IssueCode.NO_ACTIVITY,
                IssueCode.LOW_RTH_COVERAGE,
                IssueCode.UPTIME_GAP,
            )
            else issue.code
        )
        if (issue.source, group) in seen:
            continue
        seen.add((issue.source, group))
        rec = _for(group, issue, x, tz, len(sources) > 1, inp.store_path)
        if rec:
            out.append(rec)
    return out


def _for(
    group: str, issue: Issue, x: SourceAnalysis, tz, multi: bool, store_path: str
) -> Recommendation | None:
    if x.backtest:  # bars and a data set, not a process to restart
        advice = backtest_recommendation(group, issue, x, tz, multi)
        if advice is not None or group not in (IssueCode.STORE_ERROR, IssueCode.NO_SIGNALS):
            return advice
    name = f" ({x.source})" if multi else ""
    sev = issue.severity
    if group == "down":
        steps = _process_facts(x, tz)
        steps.append(_log_step(x, x.uptime.last_activity, tz))
        restart = _restart_step(x)
        if restart:
            steps.append(restart)
        steps.append(
            "Keep it running: run the loop under systemd with `Restart=always` (README: "
            "'Running under systemd') and start `health-console --watch` so a dead loop pages you"
        )
        title = (
            "System not running during RTH"
            if issue.code in (IssueCode.ZERO_RTH_COVERAGE, IssueCode.NO_ACTIVITY)
            else "System was down part of RTH"
        )
        return Recommendation(f"{sev}: {title}{name}", tuple(steps), issue.code)
    if group == IssueCode.STALE_DATA:
        steps = []
        if x.signals.stale and not x.gate.allowed:
            steps.append(
                f"{x.signals.total} signals were recorded but the gate allowed none: call "
                f"`monitor.should_generate_signals(data_timestamp)` before generating and skip when it says False"
            )
        elif x.signals.stale:
            steps.append(
                f"{x.signals.stale} signals used stale data although the gate is in use: make sure the "
                f"data_timestamp passed to the gate is the one the signal uses"
            )
        if x.signals.newest_data_ts is not None:
            steps.append(
                f"The newest data seen was stamped {_at(x.signals.newest_data_ts, tz)}: check the data API for a "
                f"T+1 delay or a stalled feed (limit {fmt_limit(x.thresholds.max_data_age_seconds)})"
            )
        if x.gate.stale_rth:
            steps.append(
                f"The feed was stale during RTH {x.gate.stale_rth} times: check the data provider's status "
                f"and the loop's fetch errors in its log"
            )
        steps.append("Check the machine's clock against the data: `diagnose-production` (clock sanity)")
        return Recommendation(f"{sev}: Data staleness detected{name}", tuple(steps), issue.code)
    if group == IssueCode.AFTER_HOURS_SIGNALS:
        return Recommendation(
            f"{sev}: Signals generated outside RTH{name}",
            (
                f"{x.signals.after_hours} signals were generated outside regular trading hours",
                "Generate only when `should_generate_signals` returns True: it refuses outside RTH, "
                "on holidays and early closes, and during lunch breaks",
                "If the loop runs on a schedule (cron), align it with the exchange calendar, not a fixed clock",
            ),
            issue.code,
        )
    if group == IssueCode.TIMING_ANOMALY:
        steps = []
        if x.signals.whole_hour_offset is not None:
            steps.append(
                f"Data timestamps are off by {abs(x.signals.whole_hour_offset)}h: naive timestamps are read as "
                f"{getattr(tz, 'key', tz)}; if the feed gives naive UTC, set `MonitorConfig(naive_timezone='UTC')` "
                f"or pass aware datetimes"
            )
        if x.signals.future or x.gate.future:
            steps.append(
                "Data stamped in the future: check this machine's clock (`timedatectl status`, NTP) and the "
                "feed's time zone"
            )
        return Recommendation(f"{sev}: Timing anomaly{name}", tuple(steps), issue.code)
    if group == IssueCode.UNCLEAN_EXIT:
        last = x.lifecycle.unclean_exits[-1] if x.lifecycle.unclean_exits else None
        steps = []
        if last:
            steps.append(
                f"pid {last.pid} on {last.host} stopped without a clean shutdown after its last heartbeat "
                f"{_at(last.last_seen, tz)} (it ran {fmt_duration(last.last_seen - last.started_at)})"
            )
        steps.append(_log_step(x, last.last_seen if last else None, tz))
        steps.append("Check for the OOM killer: `journalctl -k --since today | grep -i 'killed process'`")
        steps.append(
            "Record clean stops: use `with ProductionMonitor(...) as monitor:` or call `monitor.close()` on shutdown"
        )
        return Recommendation(f"{sev}: Loop process ended unexpectedly{name}", tuple(steps), issue.code)
    if group == IssueCode.NO_SIGNALS:
        facts = x.cadence
        below = facts.below if facts is not None else ()
        steps = []
        if below:
            worst = min(below, key=lambda h: h.signals)
            steps.append(
                f"The loop beat and the gate allowed its data, yet it produced {worst.signals} signal(s) "
                f"between {_at(worst.start, tz)} and {_at(worst.end, tz)}: look for an empty symbol list, "
                f"a filter that never passes, or an exception caught and ignored in the signal path"
            )
            steps.append(_log_step(x, worst.start, tz))
        steps.append(
            "If quiet hours are normal for this strategy, set `MonitorConfig(min_signals_per_hour=...)` to "
            "what an hour should reach (0 turns the check off)"
        )
        return Recommendation(f"{sev}: Loop alive but idle{name}", tuple(steps), issue.code)
    if group == IssueCode.DUPLICATE_LOOP:
        d = x.lifecycle.duplicates[-1] if x.lifecycle.duplicates else None
        steps = []
        if d is not None:
            steps.append(
                f"{d.who()} both beat for loop '{x.source}' from {_at(d.start, tz)}: stop the one that "
                f"should not run (`kill <pid>` on its host) — each may place every order"
            )
        steps.append(
            "Find what started the second one: two systemd units or cron entries, a restart that left the "
            "old process running (`systemctl status`, `ps -ef | grep python`), a copy started by hand"
        )
        steps.append("Loops that are meant to run side by side need their own `MonitorConfig(source=...)`")
        return Recommendation(f"{sev}: Two processes run one loop{name}", tuple(steps), issue.code)
    if group == IssueCode.STORE_ERROR:
        return Recommendation(
            f"{sev}: Health store not writable{name}",
            (
                f"The recorder could not write {store_path}; events were buffered in memory "
                f"({x.lifecycle.dropped_events} dropped)",
                "Check free disk and permissions where the store lives: `diagnose-production` (store check), `df -h`",
                "Nothing else may hold a long write lock on the store; the console and reports only read it",
            ),
            issue.code,
        )
    return None
