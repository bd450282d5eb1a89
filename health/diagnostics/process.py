"""1. The loop's process: alive, hung, stopped, gone or reused — with the command to restart it."""

from __future__ import annotations

import shlex
import time

from health.diagnostics.context import Context, Scope, quietly
from health.diagnostics.result import FAIL, OK, WARN, CheckResult, Part, combine, fmt_bytes
from health.durations import fmt_duration
from health.process import ProcState, inspect_pid, is_backtest, restart_command
from store.records import RunRecord

NAME = "process"
HUNG_SLACK_SECONDS = 30.0  # beyond 2 x check_interval: writer flush, a slow iteration


def _restart_fix(run: RunRecord) -> str:
    command = restart_command(run)
    if command is None:
        return "restart the loop the way it is normally started (its command line was not recorded)"
    return f"restart: {command}"


def _market_now(ctx: Context, run: RunRecord) -> tuple[bool | None, str]:
    """(inside RTH now?, a few words) in the calendar the loop itself runs with."""
    code = str(run.config.get("calendar") or ctx.calendar_code)
    try:
        cal = ctx.calendar(code)
        state = cal.state(ctx.now)
    except Exception:
        return None, f"market state unknown ({code})"
    if state.is_open and state.session is not None:
        return True, f"{code} is open now, closes {cal.fmt(state.session.close_ts, '%H:%M %Z')}"
    nxt = f", next open {cal.fmt(state.next.open_ts)}" if state.next is not None else ""
    return False, f"{code} is {'on its break' if state.phase == 'break' else 'closed'} now{nxt}"


def check(ctx: Context, scope: Scope) -> CheckResult:
    reader = ctx.open_reader(scope)
    runs = ctx.latest_runs(reader)
    if not runs:
        if ctx.source is not None:
            known = ", ".join(reader.sources()) or "none"
            return CheckResult(
                "process",
                WARN,
                f"no loop named {ctx.source!r} in {ctx.store_path} (loops: {known})",
                "pass --source with one of the loops above",
            )
        return CheckResult(
            "process",
            WARN,
            f"no loop has recorded into {ctx.store_path} yet",
            "start the trading loop with ProductionMonitor(MonitorConfig(...)) pointing at this store",
        )
    parts: list[Part] = []
    inspected: list[tuple[RunRecord, ProcState, float]] = []
    for run in runs:
        beat = max(
            v for v in (run.last_seen, reader.last_activity(run.source), run.started_at) if v is not None
        )
        who = f"{run.source}: pid {run.pid} on {run.host}"
        if is_backtest(run):
            parts.append((OK, f"{run.source}: a backtest (simulated run): no process to check", None))
            continue
        if run.pid is None or not run.host:
            parts.append(
                (
                    WARN,
                    f"{run.source}: the newest run recorded no pid/host",
                    "check the loop by hand (ps aux | grep python); upgrade its production-health",
                )
            )
            continue
        if run.host != ctx.hostname:
            parts.append(
                (
                    WARN,
                    f"{who}: cannot check pid on other host (this is {ctx.hostname}); "
                    f"last seen {ctx.fmt(beat)} ({ctx.ago(beat)})",
                    f"check it there: ssh {shlex.quote(run.host)} ps -o pid,stat,etime,cmd -p {run.pid}",
                )
            )
            continue
        inspected.append((run, inspect_pid(run), beat))
    _sample_cpu([p.proc for _, p, _ in inspected if p.kind == "alive"])
    for run, p, beat in inspected:
        parts.append(_judge_process(ctx, run, p, beat))
    return combine("process", parts)


def _sample_cpu(procs: list) -> None:
    """Prime cpu_percent for every live process, wait once, so each reading is ~0.1 s wide."""
    if not procs:
        return
    for proc in procs:
        quietly(proc.cpu_percent, None)
    time.sleep(0.1)


def _proc_facts(p: ProcState) -> str:
    import psutil

    proc = p.proc
    facts = [f"state {p.state}"]
    try:
        facts.append(f"CPU {proc.cpu_percent(None):.1f}%")
        facts.append(f"RSS {fmt_bytes(proc.memory_info().rss)}")
        facts.append(f"up {fmt_duration(time.time() - proc.create_time())}")
    except psutil.Error:
        pass
    return ", ".join(facts)


def _judge_process(ctx: Context, run: RunRecord, p: ProcState, beat: float) -> Part:
    who = f"{run.source}: pid {run.pid} on {run.host}"
    seen = f"last heartbeat {ctx.fmt(beat)} ({ctx.ago(beat)})"
    running = p.kind in ("alive", "stopped", "denied")
    if run.clean_stop:
        stopped = f"stopped cleanly at {ctx.fmt(run.stopped_at)}, {ctx.ago(run.stopped_at)}"
        if running:
            return (
                WARN,
                f"{who}: its monitor was closed ({stopped}) but the process still runs: nothing is recorded",
                f"if it should still be trading, stop it (kill {run.pid}) and {_restart_fix(run)}",
            )
        in_rth, market = _market_now(ctx, run)
        if in_rth is False:
            return (OK, f"{who}: {stopped}; {market}", None)
        return (
            WARN,
            f"{who}: {stopped}; {market}",
            "if it should be trading now, " + _restart_fix(run),
        )
    if p.kind in ("gone", "reused"):
        reused = f" (pid {run.pid} now belongs to another process, {p.name})" if p.kind == "reused" else ""
        return (
            FAIL,
            f"{who}: not running, and it did not stop cleanly{reused}; {seen}",
            _restart_fix(run) + "; read its logs first (see the logs check) to learn why it died",
        )
    if p.kind == "zombie":
        return (
            FAIL,
            f"{who}: exited without a clean stop (zombie: its parent has not reaped it); {seen}",
            _restart_fix(run),
        )
    if p.kind == "stopped":
        return (
            FAIL,
            f"{who}: alive but stopped (state {p.state}: SIGSTOP, Ctrl-Z or a debugger); {seen}",
            f"resume it: kill -CONT {run.pid} (or `fg` in its shell); if a debugger holds it, detach",
        )
    if p.kind == "denied":
        return (
            WARN,
            f"{who}: running, but this user may not inspect it; {seen}",
            "run the diagnostics as the loop's user (or with sudo) to see its state",
        )
    if p.kind == "unknown":
        return (
            WARN,
            f"{who}: its state could not be read just now (an overloaded machine?); {seen}",
            "run diagnose-production again",
        )
    facts = _proc_facts(p)
    limit = 2 * run.heartbeat_interval + HUNG_SLACK_SECONDS
    silence = ctx.now - beat
    if silence <= limit:
        return (OK, f"{who}: alive ({facts}); {seen}", None)
    in_rth, market = _market_now(ctx, run)
    fix = (
        f"see where it is stuck: py-spy dump --pid {run.pid} (pip install py-spy); if it stays "
        f"silent, stop it (kill {run.pid}) and {_restart_fix(run)}"
    )
    hung = (
        f"{who}: alive but hung? no heartbeat for {fmt_duration(silence)} "
        f"(expected every {fmt_duration(run.heartbeat_interval)}; {facts}); {seen}; {market}"
    )
    if in_rth is False:
        return (WARN, hung + " (outside RTH it may just be waiting for the open)", fix)
    return (FAIL, hung, fix)
