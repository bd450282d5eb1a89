"""Faults of the store, injected under a real loop process busy at 5,000 signals/s: SIGKILL,
a lock held by another process, the file deleted, emptied or replaced by garbage, a full disk,
a read-only directory."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from faultkit.loop import LoopProcess, child_env
from faultkit.result import FaultResult
from faultkit.stored import read_store
from faultkit.story import SOURCE, Unavailable, count, nothing, outage


# -- SIGKILL ---------------------------------------------------------------------------------
def sigkill(workdir: Path, moment: float, *, existing: bool) -> FaultResult:
    """SIGKILL ``moment`` seconds after the loop process was started (imports, constructor
    and first calls included), on a store that does not exist yet or one an earlier run left."""
    store = workdir / "store" / "health.db"
    if existing and not store.exists():
        _earlier_run(store)
    # A restart numbers its signals on from what the store holds, as the same loop would go on:
    # a signal number stored twice is then a real duplicate, never an earlier run's.
    first = max(read_store(store, SOURCE, workdir / "scratch" / "before").signals, default=0)
    with LoopProcess(store, workdir / "logs", source=SOURCE, args=("--first", str(first))) as loop:
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
        nothing,
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
        nothing,
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
