"""The faults, each injected into a real loop process (tests/faultkit/loop_child.py) busy at
5,000 signals/s, and counted into a :class:`FaultResult`. tests/test_faults.py asserts the
targets; bench/faults.py runs the same functions, more often, and writes RELIABILITY.md.

Every fault follows the same story: the loop records for a while (``PRE`` seconds, so that
there are events older than a second), the fault is injected at real time ``t_fault``, the
loop rides it out, the fault is repaired, the loop records on (``POST``) and stops cleanly
(SIGTERM → ``close()``). Then the store is counted against the loop's own log.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from faultkit.loop import LoopLog, LoopProcess, child_env
from faultkit.receiver import Receiver
from faultkit.result import OLD_SECONDS, FaultResult
from faultkit.stored import keep, read_store

PRE = 1.6  # seconds of recording before the fault
POST = 1.0  # seconds of recording after the repair
SOURCE = "faults"
_ERROR_LINE = re.compile(r"cannot write health store")


def count(
    fault: str,
    what: str,
    log: LoopLog,
    stderr: str,
    store: Path,
    scratch: Path,
    t_fault: float,
    *,
    expect_store_error: bool,
    kept: Path | None = None,
    checks: tuple[tuple[str, bool], ...] = (),
    note: str = "",
) -> FaultResult:
    """Count the loop's log against the store (and the kept pre-fault store, if any)."""
    facts = read_store(store, SOURCE, scratch / "now")
    everywhere: Counter[int] = Counter(facts.signals)
    if kept is not None:
        everywhere.update(read_store(kept, SOURCE, scratch / "kept").signals)
    old = log.recorded_between(0, t_fault - OLD_SECONDS)
    after = log.recorded_between(t_fault, float("inf"))
    return FaultResult(
        fault=fault,
        what=what,
        recorded=len(log.signals),
        old=len(old),
        lost_old=sum(1 for i in old if i not in everywhere),
        after=len(after),
        lost_after=sum(1 for i in after if i not in everywhere),
        dropped=facts.dropped,
        duplicates=sum(1 for n in facts.signals.values() if n > 1),
        worst_ms=log.worst.all / 1e6,
        worst_own_ms=log.worst.own / 1e6,
        over=log.worst.over,
        over_own=log.worst.over_own,
        baseline_ms=log.baseline.all / 1e6,
        baseline_over=log.baseline.over,
        store_error=tuple(log.store_errors()),
        expect_store_error=expect_store_error,
        logged=len(_ERROR_LINE.findall(stderr)),
        integrity=facts.integrity,
        raised=log.raised,
        checks=checks,
        note=note,
    )


def _wait_for(predicate: Callable[[], bool], timeout: float, loop: LoopProcess) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        loop.run_for(0.05)
    return predicate()


def _firing(loop: LoopProcess) -> bool:
    return False in loop.read().store_errors()


def _resolved(loop: LoopProcess) -> bool:
    return True in loop.read().store_errors()


def outage(
    workdir: Path,
    fault: str,
    what: str,
    break_store: Callable[[Path, LoopProcess], object],
    repair_store: Callable[[Path, LoopProcess], object],
    *,
    store: Path | None = None,
    expect_store_error: bool = True,
    hold: float = 0.5,
    keep_old: bool = False,
    loop_args: tuple[str, ...] = (),
    note: str = "",
) -> FaultResult:
    """The common story. ``hold``: seconds the fault stays after STORE_ERROR was raised (or
    after the fault, when none is expected)."""
    store = store or workdir / "store" / "health.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    with LoopProcess(store, workdir / "logs", source=SOURCE, args=loop_args) as loop:
        loop.wait_ready()
        loop.run_for(PRE)
        kept = keep(store, workdir / "kept") if keep_old else None
        t_fault = time.time()
        break_store(store, loop)
        if expect_store_error:
            _wait_for(lambda: _firing(loop), 30.0, loop)
        loop.run_for(hold)
        repair_store(store, loop)
        if expect_store_error:
            _wait_for(lambda: _resolved(loop), 30.0, loop)
        loop.run_for(POST)
        log = loop.stop()
        stderr = loop.stderr()
    return count(
        fault,
        what,
        log,
        stderr,
        store,
        workdir / "scratch",
        t_fault,
        expect_store_error=expect_store_error,
        kept=kept,
        note=note,
    )


# -- SIGKILL ---------------------------------------------------------------------------------
def sigkill(workdir: Path, moment: float, *, existing: bool) -> FaultResult:
    """SIGKILL ``moment`` seconds after the loop process was started (imports, constructor
    and first calls included), on a store that does not exist yet or one an earlier run left."""
    store = workdir / "store" / "health.db"
    if existing and not store.exists():
        _earlier_run(store)
    with LoopProcess(store, workdir / "logs", source=SOURCE) as loop:
        time.sleep(max(0.0, loop.started + moment - time.time()))
        t_kill = loop.kill()
        log = loop.read()
        stderr = loop.stderr()
    kind = "an existing store" if existing else "a store it creates"
    return count(
        "SIGKILL, " + ("existing store" if existing else "fresh store"),
        f"SIGKILL {moment:.2f} s after the process started, on {kind}",
        log,
        stderr,
        store,
        workdir / "scratch",
        t_kill,
        expect_store_error=False,
    )


def _earlier_run(store: Path) -> None:
    """An earlier loop's history in the store, written by a process of its own."""
    code = """
        import sys, time
        from health import MonitorConfig, ProductionMonitor
        with ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source="earlier")) as m:
            for i in range(2000):
                m.record_signal(f"E{i}", time.time())
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(store)], env=child_env(), check=True)


def sigkill_series(workdir: Path, runs: int, *, existing: bool, seed: int) -> list[FaultResult]:
    """``runs`` kills at seeded random moments, 0.3-4.5 s after start: some before the first
    call, most with more than a second of history. On an existing store every run adds to
    the same file (restarts); on a fresh one every run has a new path."""
    rng = random.Random(seed)
    results = []
    for n in range(runs):
        where = workdir / ("existing" if existing else f"fresh-{n}")
        results.append(sigkill(where, rng.uniform(0.3, 4.5), existing=existing))
    return results


# -- locked ----------------------------------------------------------------------------------
_LOCKER = """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
"""


def locked(workdir: Path, seconds: float = 30.0, *, max_buffered: int | None = None) -> FaultResult:
    """Another process holds BEGIN EXCLUSIVE on the store for ``seconds``."""
    holder: list[subprocess.Popen] = []

    def lock(store: Path, loop: LoopProcess) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_LOCKER), str(store)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holder.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        holder.append(time.monotonic())

    def unlock(store: Path, loop: LoopProcess) -> None:
        proc, since = holder
        time.sleep(max(0.0, since + seconds - time.monotonic()))
        proc.communicate("go\n", timeout=30)

    args = ("--max-buffered", str(max_buffered)) if max_buffered else ()
    note = "buffer raised to hold the outage" if max_buffered else ""
    try:
        return outage(
            workdir,
            f"locked {seconds:g} s" + (f", buffer {max_buffered:,}" if max_buffered else ""),
            f"another process holds BEGIN EXCLUSIVE for {seconds:g} s",
            lock,
            unlock,
            hold=0.0,
            loop_args=args,
            note=note,
        )
    finally:
        for item in holder:
            if isinstance(item, subprocess.Popen) and item.poll() is None:
                item.kill()
                item.wait()


# -- deleted, replaced --------------------------------------------------------------------------
def _nothing(store: Path, loop: LoopProcess) -> None:
    pass


def _unlink_all(store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{store}{suffix}")


def _garbage(size: int) -> bytes:
    return (b"\xde\xad\xbe\xef not a database " * (size // 22 + 1))[:size]


def _replace(store: Path, content: bytes) -> None:
    tmp = store.with_name("incoming.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, store)


def _move_aside(store: Path) -> None:
    os.replace(store, store.with_name("health.db.corrupt"))


def deleted(workdir: Path) -> FaultResult:
    return outage(
        workdir,
        "deleted",
        "the .db, -wal and -shm unlinked while the loop writes",
        lambda store, loop: _unlink_all(store),
        _nothing,
        expect_store_error=False,
        hold=1.0,
        keep_old=True,
    )


def replaced_by_empty(workdir: Path) -> FaultResult:
    return outage(
        workdir,
        "replaced by an empty file",
        "an empty file moved over the .db (-wal and -shm left)",
        lambda store, loop: _replace(store, b""),
        _nothing,
        expect_store_error=False,
        hold=1.0,
        keep_old=True,
    )


def replaced_by_garbage(workdir: Path, *, keep_wal: bool) -> FaultResult:
    def corrupt(store: Path, loop: LoopProcess) -> None:
        _replace(store, _garbage(max(8192, store.stat().st_size)))
        if not keep_wal:
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{store}{suffix}")

    return outage(
        workdir,
        "replaced by garbage" + (", old WAL kept" if keep_wal else ""),
        "garbage moved over the .db"
        + (", the old -wal and -shm left beside it" if keep_wal else ", -wal and -shm removed")
        + "; repaired by moving the garbage aside",
        corrupt,
        lambda store, loop: _move_aside(store),
        keep_old=True,
    )


# -- disk full, read-only ------------------------------------------------------------------------
class Unavailable(Exception):
    """The fault cannot be produced on this machine (a privilege, a tool): the reason."""


@contextlib.contextmanager
def small_disk(where: Path, megabytes: int = 16):
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        raise Unavailable("no mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise Unavailable(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(directory: Path) -> None:
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 20, 65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size) == size:
                    pass
    finally:
        os.close(fd)


def disk_full(workdir: Path) -> FaultResult:
    with small_disk(workdir / "disk") as disk:
        store = disk / "health.db"
        return outage(
            workdir,
            "disk full",
            "the store's 16 MiB tmpfs filled to the last byte, then the filler removed",
            lambda s, loop: _fill(disk),
            lambda s, loop: (disk / "filler").unlink(),
            store=store,
        )


def _chattr(flag: str, *paths: Path) -> None:
    for path in paths:
        done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable(f"chattr {flag} {path.name}: {done.stderr.strip()}")


def read_only(workdir: Path) -> FaultResult:
    """The store's directory, its .db and -wal made immutable (chattr +i: read-only even for
    root, and for files already open). Never the -shm: SQLite maps it, a write is a SIGBUS."""
    if shutil.which("chattr") is None:
        raise Unavailable("chattr is not installed")
    marked: list[Path] = []

    def protect(store: Path, loop: LoopProcess) -> None:
        targets = [store, Path(f"{store}-wal"), store.parent]
        for target in targets:
            _chattr("+i", target)
            marked.append(target)

    def release(store: Path, loop: LoopProcess) -> None:
        while marked:
            _chattr("-i", marked.pop())

    try:
        return outage(
            workdir,
            "read-only directory",
            "the store's directory, .db and -wal made immutable (chattr +i), then writable again",
            protect,
            release,
        )
    finally:
        for target in reversed(marked):
            subprocess.run(["chattr", "-i", str(target)], capture_output=True)


# -- the clock -----------------------------------------------------------------------------------
def clock_back(workdir: Path) -> FaultResult:
    return outage(
        workdir,
        "clock stepped back 1 h",
        "the loop's injected clock steps back one hour mid-run (SIGUSR1)",
        lambda store, loop: loop.step_clock(),
        _nothing,
        expect_store_error=False,
        hold=1.0,
        loop_args=("--clock-start", "2025-12-10T11:00:00-05:00"),
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


# The two DST changes of 2026 in New York: (the instant, the clock's speed, the day).
DST = {
    "spring": ("2026-03-08T07:00:00+00:00", 60.0, "2026-03-08"),  # 02:00 EST -> 03:00 EDT
    "fall": ("2026-11-01T06:00:00+00:00", 1200.0, "2026-11-01"),  # 02:00 EDT -> 01:00 EST
}


def dst(
    workdir: Path,
    which: str,
    *,
    speed: float | None = None,
    calendar: str = "24/7",
    naive_tz: str = "America/New_York",
) -> FaultResult:
    """The loop's injected clock runs across a DST change while the loop stamps its data with
    naive wall-clock datetimes of ``naive_tz`` (a feed parsed from text, ``datetime.now()`` on
    a New York machine: no fold); ``calendar`` 24/7, so that the gate is open and judges every
    stamp. The clock crosses the change 2.5 s after it starts; on the fall day it runs on
    through the repeated hour. Fresh data must never be called stale, and the day's report
    renders."""
    transition, speed, day = DST[which]
    change = datetime.fromisoformat(transition).timestamp()
    end = change + (3600 if which == "fall" else 0) + 1.5 * speed
    store = workdir / "store" / "health.db"
    args = (
        "--clock-start",
        _iso(change - 3 * speed),
        "--speed",
        str(speed),
        "--naive",
        "--naive-tz",
        naive_tz,
    )
    with LoopProcess(store, workdir / "logs", source=SOURCE, args=(*args, "--calendar", calendar)) as loop:
        loop.wait_ready()
        t_fault = loop.read().real_time_of(change)
        loop.run_for(max(0.0, loop.read().real_time_of(end) - time.time()))
        log = loop.stop()
        stderr = loop.stderr()
    stale = [a for a in log.alerts if a[0] == "STALE_DATA"]
    report = _report(store, day, _iso(end))
    result = count(
        f"DST, {which}",
        f"the injected clock crosses {transition} ({which} DST change, {naive_tz}) at {speed:g}x, "
        f"data stamped naive in local time, calendar {calendar}",
        log,
        stderr,
        store,
        workdir / "scratch",
        t_fault,
        expect_store_error=False,
        checks=(
            ("fresh naive-stamped data never called stale", not stale),
            (f"the report of {day} renders (exit {report})", report in (0, 1, 2)),
        ),
    )
    return result


def _report(store: Path, day: str, now: str) -> int:
    """The exit code of ``check-production-health --json`` for ``day`` as of ``now``."""
    script = Path(sys.executable).with_name("check-production-health")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from console.cli import check_main; check_main()"]
    )
    done = subprocess.run(
        [*command, "--store", str(store), "--date", day, "--now", now, "--json"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode


# -- the webhook ---------------------------------------------------------------------------------
def webhook_down(workdir: Path, *, hour_seconds: float = 6.0) -> FaultResult:
    """Alerts go from the loop's alert_callback to a webhook (SinkDispatcher.submit, as the
    README suggests) that goes down for an hour of the loop's clock — ``hour_seconds`` real
    seconds — then recovers. The loop's data turns stale and fresh again every 5 simulated
    minutes, so alerts keep coming through the outage."""
    speed = 3600 / hour_seconds
    store = workdir / "store" / "health.db"
    with Receiver() as receiver:
        args = ("--clock-start", "2025-12-10T10:00:00-05:00", "--speed", str(speed))
        args += ("--webhook", receiver.url, "--flip", "300")
        with LoopProcess(store, workdir / "logs", source=SOURCE, args=args) as loop:
            loop.wait_ready()
            loop.run_for(PRE)
            t_fault = time.time()
            receiver.down()
            loop.run_for(hour_seconds)
            receiver.up()
            t_up = time.time()
            loop.run_for(POST + 1.0)
            log = loop.stop()
            stderr = loop.stderr()
        received = {
            (b["code"], b["resolved"], round(datetime.fromisoformat(b["at"]).timestamp(), 3))
            for b in receiver.bodies()
        }
    sent = [(code, resolved, round(at, 3), t) for code, resolved, t, at in log.alerts if code == "STALE_DATA"]
    before = [a for a in sent if a[3] < t_fault]
    after = [a for a in sent if a[3] >= t_up]
    delivered_after = sum(1 for a in after if a[:3] in received)
    return count(
        "webhook down 1 h",
        f"the alert webhook (a real aiohttp server) refuses connections for an hour of the loop's "
        f"clock ({hour_seconds:g} s real at {speed:g}x), then recovers",
        log,
        stderr,
        store,
        workdir / "scratch",
        t_fault,
        expect_store_error=False,
        checks=(
            (f"{len(before)} alerts before the outage delivered", all(a[:3] in received for a in before)),
            (
                f"{delivered_after} of {len(after)} alerts after recovery delivered",
                delivered_after == len(after),
            ),
        ),
        note=f"{len(received)} of {len(sent)} alert transitions reached the webhook",
    )
