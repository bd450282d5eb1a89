"""Readiness before the open: is everything in place for the session about to start?

``READY_MINUTES`` (15) before each session's open — the calendar's own open, so a late open
moves it and an early close does not matter — the watchdog runs these checks once and sends one
READY or NOT_READY notice with the checks that did not pass; ``check-production-health --ready``
runs the same from cron. Per loop of the store (each that recorded in the last
``RECENT_LOOP_DAYS``, or the one named):

- **process**: its newest run has not stopped and its pid is alive (health/process.py);
- **heartbeat**: it beat within its up window (health/liveness.py): before the open a loop
  that asks the gate is beating, refusals included;
- **data**: the newest data its gate or its signals saw is from this session — stamped after the
  previous session's close (the gate's own cutoff, health/calendar.py) — and within its age limit;
- **store**: its recorder reports no write failure (an unresolved ``STORE_ERROR``) and its
  beats reach the store; free disk where the store lives;

and for the machine: **clock** (NTP, and the loop's records not ahead of this clock;
health/diagnostics/clock.py) and **sinks** (each configured sink answers a request that posts
nothing, health/sinks/http.py). A FAIL makes it NOT_READY; exit codes as the report's
(docs/CONTRACT.md §3): 0 ready, 1 ready with warnings, 2 not ready, 3 unknown.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from health.calendar import MarketCalendar, Session
from health.codes import CheckStatus, ExitCode, IssueCode, Readiness
from health.diagnostics.clock import CLOCK_TOLERANCE_SECONDS, ntp_synchronized
from health.durations import fmt_duration, fmt_limit
from health.liveness import is_up
from health.process import is_backtest, process_alive, restart_command, runs_here
from health.report import Thresholds
from store.reader import StoreReader
from store.records import RunRecord

READY_MINUTES = 15
RECENT_LOOP_DAYS = 7  # loops silent for longer are retired, not "not ready"
DISK_FAIL_BYTES = 100 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024
PROBE_TIMEOUT_SECONDS = 5.0

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL


@dataclass(frozen=True)
class ReadinessCheck:
    name: str  # process, heartbeat, data, store, clock, sinks
    status: CheckStatus
    detail: str
    fix: str | None = None
    source: str | None = None  # the loop, for the per-loop checks

    def line(self) -> str:
        who = f"{self.source}: " if self.source else ""
        return f"{self.status} {self.name}: {who}{self.detail}"


@dataclass(frozen=True)
class ReadinessResult:
    calendar: MarketCalendar
    session: Session  # the session it is about
    at: float  # when it was checked
    checks: tuple[ReadinessCheck, ...]

    @property
    def worst(self) -> CheckStatus:
        return CheckStatus.worst(c.status for c in self.checks)

    @property
    def status(self) -> Readiness:
        return Readiness.NOT_READY if self.worst == FAIL else Readiness.READY

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.for_check(self.worst)

    @property
    def not_passed(self) -> tuple[ReadinessCheck, ...]:
        """Failures first, then warnings: what the notice lists."""
        return tuple(sorted((c for c in self.checks if c.status != OK), key=lambda c: -c.status.rank))

    def headline(self) -> str:
        s, cal = self.session, self.calendar
        what = f"{cal.code} session {cal.fmt(s.open_ts, '%a %Y-%m-%d %H:%M %Z')}"
        if s.late_open:
            what += " (late open)"
        if s.early_close:
            what += f" (early close {cal.fmt(s.close_ts, '%H:%M %Z')})"
        failing = sum(1 for c in self.checks if c.status == FAIL)
        tail = f": {failing} check{'s' if failing != 1 else ''} failed" if failing else ""
        return f"{self.status} for the {what}{tail}"

    def to_json(self) -> dict:
        s, cal = self.session, self.calendar

        def iso(ts: float) -> str:
            return datetime.fromtimestamp(ts, cal.tz).isoformat()

        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "calendar": cal.code,
            "timezone": cal.tz_name,
            "checked_at": iso(self.at),
            "session": {
                "date": s.day.isoformat(),
                "open": iso(s.open_ts),
                "close": iso(s.close_ts),
                "early_close": s.early_close,
                "late_open": s.late_open,
            },
            "checks": [
                {"name": c.name, "source": c.source, "status": c.status, "detail": c.detail, "fix": c.fix}
                for c in self.checks
            ],
        }


def target_session(calendar: MarketCalendar, now: float) -> Session | None:
    """The session a readiness check at ``now`` is about: the one in progress, else the next."""
    state = calendar.state(now)
    if state.phase in ("open", "break"):
        return state.session
    return state.next


def due_session(calendar: MarketCalendar, now: float, minutes: float = READY_MINUTES) -> Session | None:
    """The session whose readiness check is due at ``now``: it opens within ``minutes``."""
    state = calendar.state(now)
    nxt = None if state.phase in ("open", "break") else state.next
    if nxt is not None and nxt.open_ts - minutes * 60 <= now < nxt.open_ts:
        return nxt
    return None


def check_readiness(
    reader: StoreReader,
    calendar: MarketCalendar,
    now: float,
    session: Session,
    *,
    source: str | None = None,
    environ: Mapping[str, str] | None = None,
    alive: Callable[[RunRecord], bool | None] = process_alive,
    ntp: Callable[[], tuple[bool | None, str]] = ntp_synchronized,
    probe: Callable[[Mapping[str, str] | None], list[tuple[str, bool, str]]] | None = None,
) -> ReadinessResult:
    checks: list[ReadinessCheck] = []
    names = [source] if source is not None else _recent_loops(reader, now)
    if not names:
        checks.append(
            ReadinessCheck(
                "process",
                FAIL,
                f"no loop has recorded into {reader.path} in the last {RECENT_LOOP_DAYS} days",
                "start the trading loop (ProductionMonitor pointing at this store) before the open",
            )
        )
    newest_record = None
    for name in names:
        run = reader.last_run_before(name, now + 1)
        if run is None:
            checks.append(ReadinessCheck("process", FAIL, f"no run of loop {name!r} is recorded", None, name))
            continue
        th = Thresholds.from_config(run.config)
        beat = reader.last_activity(name, before=now + 1)
        newest_record = beat if newest_record is None else max(newest_record, beat or newest_record)
        checks.append(_process(run, alive, calendar))
        checks.append(_heartbeat(run, beat, now, th, calendar))
        checks.append(_data(reader, name, now, session, th, calendar))
        checks.append(_store(reader, name, run, beat, now, th, calendar))
    checks.append(_disk(reader.path))
    checks.append(_clock(newest_record, now, ntp))
    checks.extend(_sinks(environ, probe or probe_sinks))
    return ReadinessResult(calendar, session, now, tuple(checks))


def _recent_loops(reader: StoreReader, now: float) -> list[str]:
    since = now - RECENT_LOOP_DAYS * 86400
    out = []
    for name in reader.sources():
        beat = reader.last_activity(name, before=now + 1)
        run = reader.last_run_before(name, now + 1)
        seen = max(
            v for v in (beat, run.last_seen if run else None, run.started_at if run else None, -1.0) if v
        )
        if seen >= since and not (
            run is not None and is_backtest(run)
        ):  # a backtest has no open to be ready for
            out.append(name)
    return out


def _process(run: RunRecord, alive, cal: MarketCalendar) -> ReadinessCheck:
    who = f"pid {run.pid} on {run.host}"
    restart = restart_command(run)
    fix = f"start it: {restart}" if restart else "start the loop the way it is normally started"
    if run.stopped_at is not None:
        return ReadinessCheck(
            "process",
            FAIL,
            f"{who} stopped cleanly at {cal.fmt(run.stopped_at)}: not running",
            fix,
            run.source,
        )
    state = alive(run)
    if state is True:
        return ReadinessCheck("process", OK, f"{who} is running", None, run.source)
    if state is False:
        return ReadinessCheck(
            "process", FAIL, f"{who} is gone (it ended without a clean stop)", fix, run.source
        )
    if runs_here(run):
        return ReadinessCheck(
            "process", WARN, f"{who}: its state could not be read now", "run the check again", run.source
        )
    return ReadinessCheck("process", WARN, f"{who}: another host, judged by its heartbeat", None, run.source)


def _heartbeat(run: RunRecord, beat: float | None, now: float, th: Thresholds, cal) -> ReadinessCheck:
    if beat is None:
        return ReadinessCheck("heartbeat", FAIL, "no heartbeat recorded", None, run.source)
    seen = f"last heartbeat {cal.fmt(beat, '%a %H:%M:%S %Z')} ({fmt_duration(now - beat)} ago)"
    if is_up(beat, now, th.check_interval_seconds, run.stopped_at):
        return ReadinessCheck("heartbeat", OK, seen, None, run.source)
    return ReadinessCheck(
        "heartbeat",
        FAIL,
        f"{seen}, expected every {fmt_duration(th.check_interval_seconds)}",
        "before the open the loop should already run and ask the gate every check interval "
        "(a refusal is a heartbeat); if the process runs, it may be hung: py-spy dump --pid "
        f"{run.pid}",
        run.source,
    )


def _data(
    reader: StoreReader, name: str, now: float, session: Session, th: Thresholds, cal
) -> ReadinessCheck:
    stamps = [
        g.last_data_ts for g in reader.last_gate(name, limit=1, before=now) if g.last_data_ts is not None
    ]
    stamps += [d for at, d in reader.newest_signal_times(name, limit=1) if at <= now]
    if not stamps:
        return ReadinessCheck(
            "data",
            WARN,
            "no data timestamp seen yet: the loop has not asked the gate about any data",
            "call should_generate_signals(data_timestamp) with the newest bar before the open",
            name,
        )
    newest = max(stamps)
    age = now - newest
    when = f"{cal.fmt(newest, '%a %H:%M:%S %Z')} ({fmt_duration(age)} old)"
    cutoff = cal.previous_session_close(session.open_ts)
    if newest <= cutoff:
        return ReadinessCheck(
            "data",
            FAIL,
            f"the newest data is from the previous session: {when}",
            "check the feed: today's data has not arrived (a T+1 vendor, a stalled subscription, "
            "a cache from yesterday)",
            name,
        )
    if age > th.max_data_age_seconds:
        return ReadinessCheck(
            "data",
            FAIL,
            f"the newest data is {when}: older than the limit {fmt_limit(th.max_data_age_seconds)}",
            "check the feed: the gate will refuse this data at the open",
            name,
        )
    if age < -th.future_tolerance_seconds:
        return ReadinessCheck(
            "data",
            WARN,
            f"the newest data is stamped in the future: {cal.fmt(newest)}",
            "see the clock check",
            name,
        )
    return ReadinessCheck("data", OK, f"newest data {when}, from this session", None, name)


def _store(
    reader: StoreReader, name: str, run: RunRecord, beat, now: float, th: Thresholds, cal
) -> ReadinessCheck:
    error = None
    for a in reader.alerts(now - 7 * 86400, now + 1, name):
        if a.code == IssueCode.STORE_ERROR and a.origin == "monitor":
            error = None if a.resolved else a
    if error is not None:
        return ReadinessCheck(
            "store",
            FAIL,
            f"the loop cannot write the store since {cal.fmt(error.at)}: {error.message}",
            "check free disk and permissions where the store lives: diagnose-production",
            name,
        )
    if beat is not None and is_up(beat, now, th.check_interval_seconds, run.stopped_at):
        return ReadinessCheck("store", OK, "the loop writes the store (its heartbeats arrive)", None, name)
    return ReadinessCheck("store", WARN, "not shown: no recent heartbeat reached the store", None, name)


def _disk(path: Path) -> ReadinessCheck:
    where = path.parent if path.parent.exists() else Path("/")
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return ReadinessCheck("store", WARN, f"free space unknown: {exc}")
    text = f"{free / 1024**3:.1f} GiB free where the store lives ({where})"
    if free < DISK_FAIL_BYTES:
        return ReadinessCheck("store", FAIL, text, f"free space on the filesystem of {where}")
    if free < DISK_WARN_BYTES:
        return ReadinessCheck("store", WARN, text, f"free space on the filesystem of {where}")
    return ReadinessCheck("store", OK, text)


def _clock(newest_record: float | None, now: float, ntp) -> ReadinessCheck:
    if newest_record is not None and newest_record - now > CLOCK_TOLERANCE_SECONDS:
        return ReadinessCheck(
            "clock",
            FAIL,
            f"the loop recorded a heartbeat {fmt_duration(newest_record - now)} ahead of this clock",
            "compare the clocks of the loop's host and this one (date -u on both) and sync them",
        )
    synced, how = ntp()
    if synced is False:
        return ReadinessCheck(
            "clock",
            WARN,
            f"NTP not synchronized ({how}): the clock may drift",
            "enable time sync: sudo timedatectl set-ntp true (or chrony)",
        )
    return ReadinessCheck("clock", OK, "NTP synchronized" if synced else f"NTP state unknown ({how})")


def _sinks(environ, probe) -> list[ReadinessCheck]:
    results = probe(environ)
    if not results:
        return [
            ReadinessCheck(
                "sinks",
                WARN,
                "no alert sink configured: nobody is told when the loop dies",
                "set DISCORD_WEBHOOK_URL or HEALTH_WEBHOOK_URL",
            )
        ]
    return [
        ReadinessCheck(
            "sinks", OK if ok else FAIL, f"{name}: {detail}", None if ok else "check the URL and the network"
        )
        for name, ok, detail in results
    ]


def probe_sinks(environ: Mapping[str, str] | None = None, timeout: float = PROBE_TIMEOUT_SECONDS) -> list:
    """(sink, reachable, detail) for each sink configured in the environment, from sinks of
    its own (the dispatcher's are bound to its thread's event loop)."""
    from health.sinks import sinks_from_env

    sinks = sinks_from_env(environ)
    if not sinks:
        return []

    async def run() -> list:
        try:
            return await asyncio.gather(*(s.probe(timeout) for s in sinks))
        finally:
            for s in sinks:
                await s.aclose()

    results = asyncio.run(run())
    return [(s.describe(), ok, detail) for s, (ok, detail) in zip(sinks, results, strict=True)]


def lines(result: ReadinessResult) -> Iterable[str]:
    """The notice's lines: what did not pass (with the fix), failures first."""
    for c in result.not_passed:
        yield c.line() + (f" — {c.fix}" if c.fix else "")
