"""Machine diagnostics: what the seed told a person to check by hand, automated.

``run_diagnostics(store_path)`` answers, in a few seconds and without ever writing to the store:
is the loop's process alive (or alive but hung), what do its logs say, is the store healthy, is
there disk space, is the clock sane, what is today's session, and will anyone be alerted.

Every check runs in its own daemon thread with a deadline; a check that does not answer in time
becomes a WARN ("timed out after 2 s") and its SQLite queries are interrupted. The whole run has
a budget too (4.5 s by default), so a sick machine cannot make the diagnostics hang. Nothing
escapes as an exception: a check that crashes becomes a WARN naming the error.

Output is plain text in :class:`CheckResult` records (the renderer sanitises control characters);
webhook secrets are redacted from every field, log lines included (CONTRACT §5).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from health.calendar import CalendarError, MarketCalendar, get_calendar
from health.codes import CheckStatus
from health.durations import fmt_duration
from health.process import ProcState, inspect_pid
from health.sinks.redact import redact_text, redact_url
from store.paths import ENV_VAR as STORE_ENV_VAR
from store.paths import default_store_path, file_identity
from store.reader import StoreReader, StoreUnavailable
from store.records import RunRecord
from store.schema import SCHEMA_VERSION

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL

CHECK_NAMES = ("process", "logs", "store", "disk", "clock", "session", "alert sinks")

DISCORD_ENV = "DISCORD_WEBHOOK_URL"  # the same names as health.sinks.dispatcher
WEBHOOK_ENV = "HEALTH_WEBHOOK_URL"

# Thresholds. Named so that tests and the console can refer to them.
HUNG_SLACK_SECONDS = 30.0  # beyond 2 x check_interval: writer flush, a slow iteration
LOG_TAIL_BYTES = 64 * 1024
LOG_MAX_FILES = 20  # the most recently written are read
LOG_MAX_GLOB_MATCHES = 2000
LOG_PICKED_PER_FILE = 20
LOG_MAX_LINES = 40
LOG_LINE_MAX_CHARS = 400
WAL_WARN_BYTES = 64 * 1024 * 1024
DISK_FAIL_BYTES = 100 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024
INODES_WARN = 1000
CLOCK_TOLERANCE_SECONDS = 5.0
CALENDAR_HORIZON_DAYS = 30
TOTAL_BUDGET_SECONDS = 4.5
NTP_TIMEOUT_SECONDS = 1.0
TIMESYNCD_FLAG = "/run/systemd/timesync/synchronized"


@dataclass(frozen=True)
class CheckResult:
    name: str  # one of CHECK_NAMES
    status: CheckStatus
    detail: str  # one or a few lines of facts
    fix: str | None  # what to do when not OK
    lines: tuple[str, ...] = ()  # e.g. picked-out log lines (errors, tracebacks)

    @property
    def ok(self) -> bool:
        return self.status == OK


def worst_status(results: Sequence[CheckResult]) -> str:
    """FAIL if any check failed, else WARN if any warned, else OK (OK for no results)."""
    return CheckStatus.worst(r.status for r in results)


# -- the run ------------------------------------------------------------------------------------


class _Skip(Exception):
    """The check cannot run (the store it needs is unavailable): becomes its WARN/FAIL."""


@dataclass
class _Scope:
    """What one check opened, so that a timed-out check can be interrupted."""

    readers: list[StoreReader] = field(default_factory=list)
    opening: bool = False


class _Context:
    def __init__(
        self,
        store_path: Path,
        calendar_code: str,
        source: str | None,
        log_globs: Sequence[str],
        now: float,
        environ: Mapping[str, str],
        timeout: float,
    ) -> None:
        self.store_path = store_path
        self.calendar_code = calendar_code
        self.source = source
        self.log_globs = tuple(log_globs)
        self.now = now
        self.environ = environ
        self.timeout = timeout
        self.hostname = socket.gethostname()
        self._store_error: str | None = None
        self._store_hung = False
        self._lock = threading.Lock()
        self._cal_locks: dict[str, threading.Lock] = {}

    # The store: each check opens its own read-only connection (so a hung check holds only
    # its own), but an unavailable or hung store is discovered once and then skipped.
    def open_reader(self, scope: _Scope) -> StoreReader:
        if self._store_error is not None:
            raise _Skip(self._store_error)
        if self._store_hung:
            raise _Skip(f"the health store {self.store_path} did not answer in time")
        scope.opening = True
        try:
            reader = StoreReader(self.store_path, timeout=min(1.0, self.timeout), snapshot=True)
        except StoreUnavailable as exc:
            self._store_error = str(exc)
            raise _Skip(str(exc)) from None
        except OSError as exc:
            self._store_error = f"cannot read health store {self.store_path}: {exc}"
            raise _Skip(self._store_error) from None
        finally:
            scope.opening = False
        scope.readers.append(reader)
        return reader

    def abandon(self, scope: _Scope) -> None:
        """A check timed out: stop its queries; its own thread closes its connections."""
        if scope.opening:
            self._store_hung = True
        for reader in scope.readers:
            with contextlib.suppress(Exception):
                reader.conn.interrupt()

    def latest_runs(self, reader: StoreReader) -> list[RunRecord]:
        runs = reader.latest_runs()
        if self.source is not None:
            runs = [r for r in runs if r.source == self.source]
        return runs

    def calendar(self, code: str | None = None) -> MarketCalendar:
        """get_calendar, one builder per code (a second caller waits for the first)."""
        code = code or self.calendar_code
        with self._lock:
            lock = self._cal_locks.setdefault(code, threading.Lock())
        with lock:
            return get_calendar(code)

    def fmt(self, ts: float | None, code: str | None = None) -> str:
        if ts is None:
            return "never"
        try:
            return self.calendar(code).fmt(ts, "%a %Y-%m-%d %H:%M:%S %Z")
        except Exception:
            return datetime.fromtimestamp(ts).astimezone().strftime("%a %Y-%m-%d %H:%M:%S %Z")

    def ago(self, ts: float | None) -> str:
        if ts is None:
            return "never"
        delta = self.now - ts
        return f"{fmt_duration(delta)} ago" if delta >= 0 else f"in {fmt_duration(delta)}"


def run_diagnostics(
    store_path: str | os.PathLike[str] | None,
    calendar_code: str = "XNYS",
    *,
    source: str | None = None,
    log_globs: Sequence[str] = (),
    now: float | None = None,
    environ: Mapping[str, str] | None = None,
    timeout_per_check: float = 2.0,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    total_timeout: float = TOTAL_BUDGET_SECONDS,
) -> list[CheckResult]:
    """Run the checks in order (CHECK_NAMES) and return one result each.

    ``store_path`` None means the usual resolution ($HEALTH_STORE in ``environ``, then the
    XDG state directory). ``now`` replaces the system clock for every judgement about the
    store's data (file ages stay real). ``environ`` defaults to ``os.environ``.
    ``progress(name, i, n)`` is called before each check, ``i`` being the number of checks
    done so far (0-based: show ``i + 1``/``n``); ``cancel`` set stops the run and returns the
    checks already done. Never raises.
    """
    env = os.environ if environ is None else environ
    secrets = [str(env.get(k) or "").strip() for k in (DISCORD_ENV, WEBHOOK_ENV)]
    secrets = [s for s in secrets if s]
    started = time.monotonic()
    deadline = started + max(0.0, float(total_timeout))
    results: list[CheckResult] = []
    try:
        if store_path is None:
            store_path = env.get(STORE_ENV_VAR) or default_store_path()
        path = Path(store_path).expanduser()
        timeout = max(0.05, float(timeout_per_check))
        ctx = _Context(
            path,
            calendar_code,
            source,
            [log_globs] if isinstance(log_globs, str) else log_globs,
            time.time() if now is None else float(now),
            env,
            timeout,
        )
        # Build the calendar in the background while the first checks run.
        threading.Thread(
            target=_quietly, args=(ctx.calendar,), daemon=True, name="diagnostics-calendar"
        ).start()
        n = len(_CHECKS)
        for i, (name, fn) in enumerate(_CHECKS):
            if cancel is not None and cancel.is_set():
                break
            if progress is not None:
                _quietly(progress, name, i, n)
                if cancel is not None and cancel.is_set():
                    break
            remaining = deadline - time.monotonic()
            if remaining < 0.05:
                results.append(
                    CheckResult(
                        name,
                        WARN,
                        f"skipped: the diagnostics' time budget ({total_timeout:g} s) was used up",
                        "run the diagnostics again; if checks keep timing out, the machine is overloaded",
                    )
                )
                continue
            result = _run_bounded(name, fn, ctx, min(timeout, remaining), cancel)
            if result is None:  # cancelled
                break
            results.append(result)
    except Exception as exc:  # the promise: no exception escapes
        results.append(
            CheckResult(
                "diagnostics",
                WARN,
                f"diagnostics failed: {type(exc).__name__}: {exc}",
                "this is a bug in production-health's diagnostics: please report it with this line",
            )
        )
    return [_redacted(r, secrets) for r in results]


def _quietly(fn: Callable, *args: object) -> None:
    with contextlib.suppress(Exception):
        fn(*args)


def _run_bounded(
    name: str,
    fn: Callable[[_Context, _Scope], CheckResult],
    ctx: _Context,
    timeout: float,
    cancel: threading.Event | None,
) -> CheckResult | None:
    scope = _Scope()
    box: list[CheckResult | BaseException] = []

    def target() -> None:
        try:
            box.append(fn(ctx, scope))
        except _Skip as exc:
            box.append(_skipped(name, str(exc)))
        except BaseException as exc:
            box.append(exc)
        finally:
            for reader in scope.readers:
                _quietly(reader.close)

    worker = threading.Thread(target=target, daemon=True, name=f"diagnostics-{name}")
    worker.start()
    end = time.monotonic() + timeout
    while worker.is_alive():
        left = end - time.monotonic()
        if left <= 0:
            break
        worker.join(min(left, 0.05))
        if cancel is not None and cancel.is_set() and worker.is_alive():
            ctx.abandon(scope)
            return None
    if worker.is_alive() or not box:
        ctx.abandon(scope)
        return CheckResult(
            name,
            WARN,
            f"timed out after {timeout:.3g} s",
            "run the diagnostics again; a check that keeps timing out points at a hung disk, "
            "a locked store or an overloaded machine",
        )
    outcome = box[0]
    if isinstance(outcome, BaseException):
        return CheckResult(
            name,
            WARN,
            f"the check itself failed: {type(outcome).__name__}: {outcome}",
            "this is a bug in production-health's diagnostics: please report it with this line",
        )
    return outcome


def _skipped(name: str, why: str) -> CheckResult:
    return CheckResult(
        name,
        WARN,
        f"skipped: {why}",
        "see the store check: this check needs a readable health store",
    )


def _redacted(result: CheckResult, secrets: list[str]) -> CheckResult:
    def r(text: str) -> str:
        return redact_text(text, secrets)

    return replace(
        result,
        detail=r(result.detail),
        fix=None if result.fix is None else r(result.fix),
        lines=tuple(r(line) for line in result.lines),
    )


def _combine(name: str, parts: list[tuple[str, str, str | None]], lines: Sequence[str] = ()) -> CheckResult:
    """(status, detail line, fix or None) per item -> one result, the worst status wins."""
    status = worst_status([CheckResult(name, s, "", None) for s, _, _ in parts]) if parts else OK
    detail = "\n".join(d for _, d, _ in parts)
    fixes = list(dict.fromkeys(f for _, _, f in parts if f))
    return CheckResult(name, status, detail, "\n".join(fixes) if fixes else None, tuple(lines))


# -- 1. process ----------------------------------------------------------------------------------


def _restart_fix(run: RunRecord) -> str:
    if not run.argv or run.argv[0] in ("-c", ""):
        return "restart the loop the way it is normally started (its command line was not recorded)"
    cmd = " ".join(shlex.quote(a) for a in run.argv)
    cwd = run.config.get("cwd")
    prefix = f"cd {shlex.quote(str(cwd))} && " if cwd else ""
    return f"restart: {prefix}python {cmd}"


def _market_now(ctx: _Context, run: RunRecord) -> tuple[bool | None, str]:
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


def _check_process(ctx: _Context, scope: _Scope) -> CheckResult:
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
    parts: list[tuple[str, str, str | None]] = []
    inspected: list[tuple[RunRecord, ProcState, float]] = []
    for run in runs:
        beat = max(
            v for v in (run.last_seen, reader.last_activity(run.source), run.started_at) if v is not None
        )
        who = f"{run.source}: pid {run.pid} on {run.host}"
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
    return _combine("process", parts)


def _sample_cpu(procs: list) -> None:
    """Prime cpu_percent for every live process, wait once, so each reading is ~0.1 s wide."""
    if not procs:
        return
    for proc in procs:
        _quietly(proc.cpu_percent, None)
    time.sleep(0.1)


def _proc_facts(p: ProcState) -> str:
    import psutil

    proc = p.proc
    facts = [f"state {p.state}"]
    try:
        facts.append(f"CPU {proc.cpu_percent(None):.1f}%")
        facts.append(f"RSS {_size(proc.memory_info().rss)}")
        facts.append(f"up {fmt_duration(time.time() - proc.create_time())}")
    except psutil.Error:
        pass
    return ", ".join(facts)


def _judge_process(ctx: _Context, run: RunRecord, p: ProcState, beat: float) -> tuple[str, str, str | None]:
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


# -- 2. logs ---------------------------------------------------------------------------------------

_TRACEBACK = "Traceback (most recent call last):"
_CHAINED_RE = re.compile(
    r"^(During handling of the above exception|The above exception was the direct cause)"
)
_ERROR_RE = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|Exception|Traceback")


@dataclass
class LogScan:
    """What one log file's tail says."""

    path: str
    size: int
    mtime: float
    truncated: bool
    errors: int
    tracebacks: int
    picked: list[str]


def read_tail(path: str | os.PathLike[str], max_bytes: int = LOG_TAIL_BYTES) -> tuple[list[str], bool]:
    """The last ``max_bytes`` of a file as lines (a cut first line dropped), and whether it
    was cut. Only this much is ever read, whatever the file's size."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        start = max(0, size - max_bytes)
        fh.seek(start)
        data = fh.read(max_bytes)
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line is a fragment
    return lines, start > 0


def _clip(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= LOG_LINE_MAX_CHARS else line[: LOG_LINE_MAX_CHARS - 1] + "…"


def pick_log_lines(lines: Sequence[str]) -> tuple[list[str], int, int]:
    """(picked lines, error lines, tracebacks): lines with ERROR/CRITICAL/Exception/Traceback
    and whole traceback blocks, from "Traceback (most recent call last):" through the
    exception line (long blocks keep their header and their last frames)."""
    picked: list[str] = []
    errors = tracebacks = 0
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if _TRACEBACK in line:
            tracebacks += 1
            block = [line]
            i += 1
            if line.rstrip().endswith(_TRACEBACK):
                header_indented = line[:1] in (" ", "\t")
                while i < n:
                    nxt = lines[i]
                    if not nxt.strip():
                        break
                    if nxt[:1] in (" ", "\t"):
                        block.append(nxt)
                        i += 1
                        continue
                    if not header_indented:
                        block.append(nxt)  # the exception line ends the block
                        i += 1
                    break
            if len(block) > 12:
                block = [block[0], f"  … ({len(block) - 10} traceback lines not shown)", *block[-9:]]
            picked.extend(_clip(b) for b in block)
            continue
        if _CHAINED_RE.match(line):
            picked.append(_clip(line))  # joins two tracebacks; not an error of its own
        elif _ERROR_RE.search(line):
            errors += 1
            picked.append(_clip(line))
        i += 1
    return picked, errors, tracebacks


def scan_log(path: str) -> LogScan:
    st = os.stat(path)
    lines, truncated = read_tail(path)
    picked, errors, tracebacks = pick_log_lines(lines)
    if len(picked) > LOG_PICKED_PER_FILE:
        picked = [
            f"… ({len(picked) - LOG_PICKED_PER_FILE + 1} earlier lines not shown)",
            *picked[-(LOG_PICKED_PER_FILE - 1) :],
        ]
    return LogScan(
        str(path),
        st.st_size,
        st.st_mtime,
        truncated,
        errors,
        tracebacks,
        picked,
    )


def _log_candidates(
    ctx: _Context, scope: _Scope
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str | None]]]:
    """[(path, where it came from)] and notes [(status, line, fix)]."""
    files: dict[str, str] = {}
    notes: list[tuple[str, str, str | None]] = []
    try:
        reader = ctx.open_reader(scope)
        for run in ctx.latest_runs(reader):
            recorded = run.config.get("log_files") or []
            if not isinstance(recorded, list):
                continue
            if run.host and run.host != ctx.hostname and recorded:
                notes.append(
                    (
                        WARN,
                        f"{run.source}: its log files are on {run.host}, not readable here",
                        f"run diagnose-production on {run.host}, or read them there: ssh {shlex.quote(run.host)} tail -n 200 "
                        + " ".join(shlex.quote(str(f)) for f in recorded[:3]),
                    )
                )
                continue
            for f in recorded:
                files.setdefault(str(f), f"recorded by loop {run.source!r}")
    except _Skip as exc:
        notes.append(
            (
                WARN,
                f"the loop's own log files are unknown: {exc}",
                "see the store check; pass --logs GLOB meanwhile",
            )
        )
    for pattern in ctx.log_globs:
        found = glob.iglob(os.path.expanduser(str(pattern)), recursive=True)
        matches = sorted(itertools.islice(found, LOG_MAX_GLOB_MATCHES))
        if not matches:
            notes.append(
                (
                    WARN,
                    f"--logs {pattern!r} matched no file",
                    "check the --logs pattern (quote it so the shell does not expand it)",
                )
            )
        for m in matches:
            files.setdefault(m, f"--logs {pattern}")
    return list(files.items()), notes


def _pick_output(scans: list[LogScan]) -> list[str]:
    """Each file's picked lines under a header, newest file first, LOG_MAX_LINES in all: a
    file that does not fit whole shows its last lines."""
    lines: list[str] = []
    with_lines = [s for s in scans if s.picked]
    for k, s in enumerate(with_lines):
        more = len(with_lines) - k - 1
        room = LOG_MAX_LINES - len(lines) - (1 if more else 0)  # keep a line to say "more"
        if room < 3:
            lines.append(f"… picked lines of {more + 1} more file(s) not shown (limit {LOG_MAX_LINES} lines)")
            break
        lines.append(f"==> {s.path} <==")
        picked = s.picked
        if len(picked) > room - 1:
            cut = len(picked) - (room - 2)
            picked = [f"… ({cut} earlier picked lines not shown)", *picked[cut:]]
        lines.extend(picked)
    return lines


def _check_logs(ctx: _Context, scope: _Scope) -> CheckResult:
    candidates, parts = _log_candidates(ctx, scope)
    if not candidates:
        parts.append(
            (
                WARN,
                "no log file known: the loop recorded none and no --logs was given",
                "pass --logs GLOB (e.g. --logs '~/trading/logs/*.log'); or have the loop log to a file "
                "(logging.basicConfig(filename=...)) before it creates the monitor, so the file is recorded",
            )
        )
        return _combine("logs", parts)
    unreadable_fix = (
        "check the file's path and permissions; if it was rotated or moved, pass --logs GLOB "
        "matching where the loop writes now"
    )
    regular: list[tuple[float, str, str]] = []
    for path, origin in candidates:
        try:
            st = os.stat(path)
        except OSError as exc:
            parts.append((WARN, f"{path} ({origin}): cannot read: {exc.strerror or exc}", unreadable_fix))
            continue
        if stat.S_ISCHR(st.st_mode):
            continue  # /dev/null, a terminal: nothing to read
        if not stat.S_ISREG(st.st_mode):
            parts.append((OK, f"{path} ({origin}): not a regular file, skipped", None))
            continue
        regular.append((st.st_mtime, path, origin))
    regular.sort(reverse=True)  # the most recently written first
    if len(regular) > LOG_MAX_FILES:
        parts.append(
            (
                OK,
                f"{len(regular) - LOG_MAX_FILES} older log files not read (the newest {LOG_MAX_FILES} were)",
                None,
            )
        )
    scans: list[LogScan] = []
    for _, path, _origin in regular[:LOG_MAX_FILES]:
        try:
            scans.append(scan_log(path))
        except OSError as exc:
            parts.append((WARN, f"{path}: cannot read: {exc.strerror or exc}", unreadable_fix))
    for s in scans:
        part = "last 64 KiB" if s.truncated else "whole file"
        age = fmt_duration(time.time() - s.mtime)
        facts = f"{s.path}: {_size(s.size)}, written {age} ago; {part}: "
        if s.tracebacks:
            facts += f"{s.tracebacks} traceback(s), {s.errors} error line(s)"
            parts.append(
                (
                    FAIL,
                    facts,
                    f"read the traceback and what led to it: tail -n 200 {shlex.quote(s.path)}; fix the cause, then restart the loop",
                )
            )
        elif s.errors:
            facts += f"{s.errors} error line(s)"
            parts.append(
                (
                    WARN,
                    facts,
                    f"read the errors in context: grep -nE 'ERROR|CRITICAL|Exception' {shlex.quote(s.path)} | tail -n 20",
                )
            )
        else:
            parts.append((OK, facts + "no errors", None))
    lines = _pick_output(scans)
    if not scans:
        parts.append((WARN, "no readable log file", "pass --logs GLOB pointing at the loop's log files"))
    return _combine("logs", parts, lines)


# -- 3. store --------------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _check_store(ctx: _Context, scope: _Scope) -> CheckResult:
    path = ctx.store_path
    where = f"--store PATH or {STORE_ENV_VAR}=PATH; default {default_store_path()}"
    try:
        exists = path.exists()
    except OSError:
        exists = False
    if not exists:
        return CheckResult(
            "store",
            FAIL,
            f"health store {path} does not exist",
            f"point at the loop's store ({where}); a loop running ProductionMonitor creates it there",
        )
    try:
        reader = ctx.open_reader(scope)
    except _Skip as exc:
        fix = (
            "upgrade production-health here to the loop's version"
            if "newer" in str(exc)
            else (
                f"check the path and the file's permissions (ls -l {shlex.quote(str(path))}); if it is "
                "damaged, stop the loop, move the file aside and let the loop create a new one"
            )
        )
        return CheckResult("store", FAIL, str(exc), fix)
    parts: list[tuple[str, str, str | None]] = []
    qc = reader.quick_check()
    if qc.lower() == "ok":
        qc_part = (OK, "quick_check ok", None)
    else:
        qc_part = (
            FAIL,
            f"quick_check: {qc}",
            f"the store is damaged: stop the loop, copy {path} aside, then "
            f"sqlite3 {shlex.quote(str(path))} .recover | sqlite3 recovered.db and use recovered.db",
        )
    version = reader.schema_version
    if version == SCHEMA_VERSION:
        schema = f"schema v{version} (current)"
    else:
        schema = f"schema v{version}, older than this program's v{SCHEMA_VERSION}"
    try:
        journal = reader.journal_mode()
    except Exception:
        journal = "unknown"
    wal = reader.wal_bytes()
    try:
        size = os.path.getsize(path)
        mtimes = [os.path.getmtime(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
    except OSError:
        size, mtimes = 0, []
    runs = reader.latest_runs()
    first = reader.first_record_at()
    written = f"last write {fmt_duration(time.time() - max(mtimes))} ago" if mtimes else "last write unknown"
    loops = ", ".join(r.source for r in runs) or "none"
    detail_status = qc_part[0]
    parts.append(
        (
            detail_status,
            f"{path}: {_size(size)}, {schema}, journal {journal}, {qc_part[1]}",
            qc_part[2],
        )
    )
    parts.append((OK, f"WAL {_size(wal)}; {written}; loops: {loops}; first record {ctx.fmt(first)}", None))
    if version < SCHEMA_VERSION:
        parts.append(
            (
                WARN,
                f"the store was written by an older production-health (schema v{version})",
                "upgrade production-health in the trading loop's environment; it migrates the store on start",
            )
        )
    if journal.lower() != "wal":
        parts.append(
            (
                WARN,
                f"journal mode is {journal}, not wal: readers can make the loop wait",
                "restart the loop: its monitor switches the store to WAL when it opens it",
            )
        )
    if wal > WAL_WARN_BYTES:
        parts.append(
            (
                WARN,
                f"the WAL is {_size(wal)} (> {_size(WAL_WARN_BYTES)}): a reader is holding checkpoints back",
                "close long-lived readers of the store (forgotten consoles, sqlite3 shells, backup tools "
                f"holding a transaction: lsof {shlex.quote(str(path))}); the loop checkpoints once they let go",
            )
        )
    return _combine("store", parts)


# -- 4. disk ---------------------------------------------------------------------------------------


def _existing_dir(path: Path) -> Path:
    p = path.parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_disk(ctx: _Context, scope: _Scope) -> CheckResult:
    where = _existing_dir(ctx.store_path)
    usage = shutil.disk_usage(where)
    pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    detail = f"{_size(usage.free)} free of {_size(usage.total)} ({pct:.0f}%) on the filesystem of {where}"
    parts: list[tuple[str, str, str | None]] = []
    free_fix = (
        f"free space on the filesystem holding {where} (du -xh {shlex.quote(str(where))} | sort -h | tail); "
        "when the disk is full the recorder keeps events in memory (bounded) and drops the oldest"
    )
    if usage.free < DISK_FAIL_BYTES:
        parts.append((FAIL, detail + f": below {_size(DISK_FAIL_BYTES)}", free_fix))
    elif usage.free < DISK_WARN_BYTES:
        parts.append((WARN, detail + f": below {_size(DISK_WARN_BYTES)}", free_fix))
    else:
        parts.append((OK, detail, None))
    try:
        vfs = os.statvfs(where)
        if vfs.f_files and vfs.f_favail < INODES_WARN:
            parts.append(
                (
                    WARN,
                    f"only {vfs.f_favail} free inodes: new files (the WAL) cannot be created",
                    f"delete small files on the filesystem of {where}",
                )
            )
    except (AttributeError, OSError):
        pass
    return _combine("disk", parts)


# -- 5. clock ----------------------------------------------------------------------------------------


def ntp_synchronized(timeout: float = NTP_TIMEOUT_SECONDS) -> tuple[bool | None, str]:
    """(synchronised?, how we know); None when the system cannot say."""
    exe = shutil.which("timedatectl")
    if exe:
        try:
            out = subprocess.run(
                [exe, "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
            value = out.stdout.strip().lower()
            if out.returncode == 0 and value in ("yes", "no"):
                return value == "yes", "timedatectl"
        except (OSError, subprocess.SubprocessError):
            pass
    if os.path.exists(TIMESYNCD_FLAG):
        return True, "systemd-timesyncd"
    return None, "no timedatectl answer, no timesyncd flag"


def _newest_data(ctx: _Context, reader: StoreReader) -> tuple[float | None, float | None]:
    """(newest data timestamp, newest record time) among recent gate decisions and signals."""
    data: list[float] = []
    records: list[float] = []
    for g in reader.last_gate(ctx.source, limit=50):
        records.append(g.last_at)
        if g.last_data_ts is not None:
            data.append(g.last_data_ts)
    for at, data_ts in reader.newest_signal_times(ctx.source, limit=200):
        records.append(at)
        data.append(data_ts)
    for run in ctx.latest_runs(reader):
        if run.last_seen is not None:
            records.append(run.last_seen)
    return (max(data) if data else None, max(records) if records else None)


def _check_clock(ctx: _Context, scope: _Scope) -> CheckResult:
    parts: list[tuple[str, str, str | None]] = []
    wall = time.time()
    injected = abs(ctx.now - wall) > 1.0
    parts.append(
        (
            OK,
            f"system clock {ctx.fmt(wall)}" + (f" (judging as of {ctx.fmt(ctx.now)})" if injected else ""),
            None,
        )
    )
    try:
        reader = ctx.open_reader(scope)
        newest, recorded = _newest_data(ctx, reader)
        if newest is None:
            parts.append((OK, "no data timestamps recorded yet", None))
        else:
            ahead = newest - ctx.now
            if ahead > CLOCK_TOLERANCE_SECONDS:
                hours = ahead / 3600
                tz_hint = ""
                if hours >= 0.9 and abs(hours - round(hours)) * 3600 < 120:
                    tz_hint = f" — a whole {round(hours)} h: most likely the data's time zone label is wrong"
                parts.append(
                    (
                        FAIL,
                        f"newest data timestamp {ctx.fmt(newest)} is {fmt_duration(ahead)} ahead of this clock{tz_hint}",
                        "if this machine's clock is behind, sync it (timedatectl set-ntp true, or chrony); "
                        "if the feed's timestamps are mislabelled, pass aware datetimes or set "
                        "MonitorConfig(naive_timezone=...) to the zone the feed really uses",
                    )
                )
            else:
                parts.append((OK, f"newest data timestamp {ctx.fmt(newest)} ({ctx.ago(newest)})", None))
        if recorded is not None and recorded - ctx.now > CLOCK_TOLERANCE_SECONDS:
            parts.append(
                (
                    WARN,
                    f"the loop recorded events at {ctx.fmt(recorded)}, {fmt_duration(recorded - ctx.now)} "
                    "ahead of this clock: the loop's clock (or its host's) runs ahead",
                    "compare the clocks of the loop's host and this one (date -u on both) and sync them",
                )
            )
    except _Skip as exc:
        parts.append(
            (
                WARN,
                f"data timestamps not compared: {exc}",
                "see the store check: comparing needs a readable store",
            )
        )
    synced, how = ntp_synchronized(min(NTP_TIMEOUT_SECONDS, ctx.timeout / 2))
    if synced is True:
        parts.append((OK, f"NTP synchronized ({how})", None))
    elif synced is False:
        parts.append(
            (
                WARN,
                f"NTP not synchronized ({how}): the clock may drift",
                "enable time sync: sudo timedatectl set-ntp true (or install and start chrony)",
            )
        )
    else:
        parts.append((OK, f"NTP state unknown ({how})", None))
    return _combine("clock", parts)


# -- 6. session --------------------------------------------------------------------------------------


def _check_session(ctx: _Context, scope: _Scope) -> CheckResult:
    code = ctx.calendar_code
    try:
        cal = ctx.calendar(code)
    except CalendarError as exc:
        return CheckResult(
            "session",
            FAIL,
            str(exc),
            "pass --calendar with an exchange_calendars code (python -c 'import exchange_calendars as x; "
            "print(x.get_calendar_names())')",
        )
    now = ctx.now
    day = cal.local_date(now)
    try:
        cal.check_range(day)
        state = cal.state(now)
    except CalendarError as exc:
        return CheckResult("session", FAIL, str(exc), "upgrade exchange_calendars for newer session data")
    hm = "%H:%M %Z"
    lines = []
    sess = cal.session(day)
    if sess is not None:
        text = f"today {day:%a %Y-%m-%d} ({code}): open {cal.fmt(sess.open_ts, hm)}, close {cal.fmt(sess.close_ts, hm)}"
        if sess.early_close:
            text += " (early close)"
        if sess.late_open:
            text += " (late open)"
        if sess.break_start_ts is not None and sess.break_end_ts is not None:
            text += f", break {cal.fmt(sess.break_start_ts, '%H:%M')}–{cal.fmt(sess.break_end_ts, hm)}"
        lines.append(text)
        if state.phase == "open":
            lines.append(f"market open now; closes in {fmt_duration(sess.close_ts - now)}")
        elif state.phase == "break":
            lines.append(f"on its break now; reopens in {fmt_duration((sess.break_end_ts or now) - now)}")
        elif state.phase == "pre_open":
            lines.append(f"opens in {fmt_duration(sess.open_ts - now)}")
        else:
            lines.append("closed for the day")
    else:
        why = "weekend" if day.weekday() >= 5 else (cal.holiday_name(day) or "market holiday")
        lines.append(f"today {day:%a %Y-%m-%d} ({code}): no session ({why})")
    nxt = state.next
    if state.phase != "pre_open":
        if nxt is not None:
            extra = f", early close {cal.fmt(nxt.close_ts, hm)}" if nxt.early_close else ""
            lines.append(f"next open {cal.fmt(nxt.open_ts)} (in {fmt_duration(nxt.open_ts - now)}){extra}")
        else:
            lines.append("no next session in the calendar's range")
    status, fix = OK, None
    left = (cal.last_day - day).days
    if left < CALENDAR_HORIZON_DAYS:
        status = WARN
        lines.append(f"the {code} calendar's data ends {cal.last_day} ({left} days from today)")
        fix = "upgrade exchange_calendars (pip install -U exchange_calendars) for later sessions"
    return CheckResult("session", status, "\n".join(lines), fix)


# -- 7. alert sinks ----------------------------------------------------------------------------------

_DISCORD_PATH = re.compile(r"^/api(/v\d+)?/webhooks/\d+/[^/]+/?$")


def _sink_problem(variable: str, url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL: the sink is not configured"
    if variable == DISCORD_ENV and not _DISCORD_PATH.match(parts.path):
        return "does not look like a Discord webhook (…/api/webhooks/<id>/<token>)"
    if parts.scheme == "http":
        return "plain http: the webhook secret travels unencrypted"
    return None


def _is_watchdog(cmdline: Sequence[str]) -> bool:
    if "--watch" not in cmdline:
        return False
    for i, part in enumerate(cmdline):
        if os.path.basename(part) == "health-console":
            return True
        if part == "-m" and i + 1 < len(cmdline) and cmdline[i + 1].split(".")[0] == "console":
            return True
    return False


def _watched_store(cmdline: Sequence[str]) -> str | None:
    """The --store a watchdog was given, if any (else it uses $HEALTH_STORE or the default)."""
    for i, part in enumerate(cmdline):
        if part == "--store" and i + 1 < len(cmdline):
            return cmdline[i + 1]
        if part.startswith("--store="):
            return part.split("=", 1)[1]
    return None


def _watchdogs(store_path: Path) -> tuple[list[int], list[int]]:
    """pids of `health-console --watch` processes on this host: (watching this store or
    possibly so, watching another store)."""
    import psutil

    ours, others = [], []
    target = _same_file_key(store_path)
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        cmdline = proc.info.get("cmdline") or ()
        if not _is_watchdog(cmdline):
            continue
        watched = _watched_store(cmdline)
        if watched is not None:
            watched_path = Path(proc.info.get("cwd") or "/") / Path(watched).expanduser()
            if _same_file_key(watched_path) != target:
                others.append(proc.info["pid"])
                continue
        ours.append(proc.info["pid"])
    return ours, others


def _same_file_key(path: Path) -> object:
    return file_identity(path) or os.path.abspath(path)


def _check_sinks(ctx: _Context, scope: _Scope) -> CheckResult:
    parts: list[tuple[str, str, str | None]] = []
    configured = 0
    for variable, kind in ((DISCORD_ENV, "Discord"), (WEBHOOK_ENV, "generic JSON webhook")):
        url = str(ctx.environ.get(variable) or "").strip()
        if not url:
            continue
        shown = redact_url(url)
        problem = _sink_problem(variable, url)
        if problem is None:
            configured += 1
            parts.append((OK, f"{variable}: {kind} → {shown}", None))
        else:
            if "plain http" in problem:
                configured += 1
            fix = (
                f"use the https:// form of the URL in {variable}"
                if "plain http" in problem
                else f"check the value of {variable}: copy the webhook URL again from where it was created"
            )
            parts.append((WARN, f"{variable}: {shown}: {problem}", fix))
    if not configured:
        parts.insert(
            0,
            (
                WARN,
                "no alert sink configured: nobody is told when the loop dies",
                f"set {DISCORD_ENV} (or {WEBHOOK_ENV}) and run `health-console --watch`",
            ),
        )
    else:
        try:
            ours, others = _watchdogs(ctx.store_path)
        except Exception:
            ours = others = None
        if ours:
            parts.append((OK, f"watchdog running here: pid {', '.join(map(str, ours))}", None))
        elif ours is not None:
            if len(others) == 1:
                elsewhere = f" (pid {others[0]} watches another store)"
            elif others:
                elsewhere = f" (pids {', '.join(map(str, others))} watch other stores)"
            else:
                elsewhere = ""

            parts.append(
                (
                    WARN,
                    f"no `health-console --watch` process for this store on this host{elsewhere}: "
                    "a dead loop cannot alert by itself",
                    f"run `health-console --watch --store {shlex.quote(str(ctx.store_path))}` (under systemd "
                    "or tmux) with these variables set; ignore this if it runs on another host",
                )
            )
    try:
        reader = ctx.open_reader(scope)
        with_cb = [r.source for r in ctx.latest_runs(reader) if r.config.get("alert_callback")]
        if with_cb:
            parts.append((OK, f"in-process alert_callback set by: {', '.join(with_cb)}", None))
    except _Skip:
        pass
    return _combine("alert sinks", parts)


_CHECKS: tuple[tuple[str, Callable[[_Context, _Scope], CheckResult]], ...] = (
    ("process", _check_process),
    ("logs", _check_logs),
    ("store", _check_store),
    ("disk", _check_disk),
    ("clock", _check_clock),
    ("session", _check_session),
    ("alert sinks", _check_sinks),
)
