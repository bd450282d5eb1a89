"""Each store fault, for real (real SQLite files, real locks, real file systems; no mocks):
the loop's calls stay fast and raise nothing, STORE_ERROR reaches alert_callback exactly once
per outage and is resolved on recovery, the failure is logged once, and everything recorded
during the outage is in the store afterwards.

Some faults need privileges (an immutable file for a read-only store, a small tmpfs for a full
disk); those tests check they can produce the fault and skip with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import AlertLog, FakeClock, count, ny, query, wait_until

from health.codes import IssueCode

CALL_BOUND = 0.05  # seconds per loop call: generous, a hang or a disk write would break it
STORE_ERROR = IssueCode.STORE_ERROR


class Loop:
    """The contract's trading loop, each call timed: gate, heartbeat, signal."""

    def __init__(self, monitor, clock: FakeClock) -> None:
        self.monitor = monitor
        self.clock = clock
        self.recorded: dict[str, list[str]] = {}
        self.calls = 0
        self.steps = 0
        self.first_at = clock.epoch
        self.worst = 0.0

    def _timed(self, fn: Callable[[], object]) -> None:
        t0 = time.perf_counter()
        fn()  # must not raise: an exception fails the test here
        elapsed = time.perf_counter() - t0
        self.calls += 1
        self.worst = max(self.worst, elapsed)
        assert elapsed < CALL_BOUND, f"a loop call took {elapsed * 1000:.1f} ms"

    def step(self, tag: str) -> None:
        m = self.monitor
        data = self.clock.now - timedelta(seconds=30)
        symbol = f"{tag}-{len(self.recorded.setdefault(tag, []))}"
        self._timed(lambda: m.should_generate_signals(data))
        self._timed(m.record_activity)
        self._timed(lambda: m.record_signal(symbol, data, note="x" * 200))
        self.recorded[tag].append(symbol)
        self.steps += 1
        self.clock.advance(1)

    def run(self, n: int, tag: str) -> None:
        for _ in range(n):
            self.step(tag)

    def run_until(self, done: Callable[[], object], tag: str, timeout: float) -> bool:
        """Keep looping (paced, as a real loop is) until the recorder has noticed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step(tag)
            if done():
                return True
            time.sleep(0.005)
        return bool(done())


def stored_symbols(path: Path) -> set[str]:
    return {s for (s,) in query(path, "SELECT symbol FROM signals")}


@pytest.fixture
def store_errors(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)

    def errors() -> list[logging.LogRecord]:
        return [
            r for r in caplog.records if r.name.startswith("production_health") and r.levelno >= logging.ERROR
        ]

    return errors


def fault_monitor(make_monitor, clock, alerts, **kwargs):
    kwargs.setdefault("check_interval_seconds", 1)
    kwargs.setdefault("flush_interval_seconds", 0.05)
    return make_monitor(clock=clock, alert_callback=alerts, **kwargs)


def ride_out(
    monitor,
    loop: Loop,
    alerts: AlertLog,
    store_errors,
    *,
    break_store: Callable[[], None],
    repair_store: Callable[[], None],
    notice_timeout: float = 10.0,
) -> None:
    """Break the store while the loop runs, keep running through the outage, repair it, and
    check the contract's promises for an outage."""
    break_store()
    noticed = loop.run_until(lambda: alerts.of(STORE_ERROR, resolved=False), "out", notice_timeout)
    assert noticed, f"no STORE_ERROR within {notice_timeout}s (recorder: {monitor.recorder.failure})"
    loop.run(100, "out")
    assert not monitor.flush(0.3), "flush() claimed success while the store is broken"
    loop.run(50, "out")
    assert len(alerts.of(STORE_ERROR)) == 1, "STORE_ERROR must be raised once per outage"
    assert len(store_errors()) == 1, [r.getMessage() for r in store_errors()]
    firing = alerts.of(STORE_ERROR, resolved=False)[0]
    assert firing.severity == "CRITICAL" and not firing.resolved
    assert str(monitor.store_path) in firing.message

    repair_store()
    loop.run(20, "post")
    assert monitor.flush(15.0), f"nothing written after repair: {monitor.recorder.failure}"
    assert alerts.wait_for(STORE_ERROR, resolved=True), "STORE_ERROR was never resolved"
    assert [a.resolved for a in alerts.of(STORE_ERROR)] == [False, True]
    assert monitor.flush(5.0)  # the resolution is recorded by the batch after the recovery
    assert len(store_errors()) == 1, "the failure must be logged once"
    assert loop.worst < CALL_BOUND


def assert_outage_recorded(path: Path, loop: Loop, *, with_pre: bool = True) -> None:
    stored = stored_symbols(path)
    tags = ["out", "post"] + (["pre"] if with_pre else [])
    for tag in tags:
        missing = [s for s in loop.recorded.get(tag, []) if s not in stored]
        assert not missing, f"{len(missing)} '{tag}' signals missing, e.g. {missing[:3]}"
    # The outage itself is on record, for the report and the console.
    assert query(path, "SELECT resolved FROM alerts WHERE code = ? ORDER BY id", (STORE_ERROR,)) == [
        (0,),
        (1,),
    ]
    assert_run_whole(path, loop)


def assert_run_whole(path: Path, loop: Loop) -> None:
    """The run is known to the new or recovered store, and its uptime is one span from the
    first heartbeat to the last, across the outage: beats 1 s apart, none lost."""
    run_id = loop.monitor.recorder.run.run_id
    ((pid,),) = query(path, "SELECT pid FROM runs WHERE run_id = ?", (run_id,))
    assert pid == os.getpid()
    spans = query(path, "SELECT start, end, beats FROM spans WHERE run_id = ?", (run_id,))
    # each step is a gate call and a heartbeat: both count as the loop being alive
    assert spans == [(loop.first_at, loop.clock.epoch - 1, 2 * loop.steps)]


# -- locked ----------------------------------------------------------------------------------
def test_store_locked_for_long(make_monitor, clock, alerts, store_path, store_errors):
    """Another connection holds the write lock longer than the recorder's busy timeout."""
    monitor = fault_monitor(make_monitor, clock, alerts)
    loop = Loop(monitor, clock)
    loop.run(20, "pre")
    assert monitor.flush(5.0)
    blocker = sqlite3.connect(store_path, isolation_level=None, timeout=1)
    try:
        ride_out(
            monitor,
            loop,
            alerts,
            store_errors,
            break_store=lambda: blocker.execute("BEGIN IMMEDIATE"),
            repair_store=lambda: blocker.execute("ROLLBACK"),
            notice_timeout=monitor.recorder.busy_timeout + 10,
        )
    finally:
        blocker.close()
    assert_outage_recorded(store_path, loop)


def test_a_lock_shorter_than_the_busy_timeout_is_no_outage(make_monitor, clock, alerts, store_path):
    monitor = fault_monitor(make_monitor, clock, alerts)
    loop = Loop(monitor, clock)
    loop.run(10, "pre")
    assert monitor.flush(5.0)
    blocker = sqlite3.connect(store_path, isolation_level=None, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            loop.step("out")
            time.sleep(0.005)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    loop.run(5, "post")
    assert monitor.flush(10.0)
    assert alerts.of(STORE_ERROR) == []
    assert set(loop.recorded["out"]) <= stored_symbols(store_path)


# -- directory missing / blocked ---------------------------------------------------------------
def test_store_directory_blocked_by_a_file(make_monitor, clock, alerts, tmp_path, store_errors):
    """The store's parent path is a regular file: the directory cannot be created (the
    recorder creates missing parents itself) until the file goes away."""
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")
    path = blocker / "production-health" / "health.db"
    monitor = fault_monitor(make_monitor, clock, alerts, store_path=str(path))
    loop = Loop(monitor, clock)

    def repair() -> None:
        blocker.unlink()

    ride_out(monitor, loop, alerts, store_errors, break_store=lambda: None, repair_store=repair)
    assert path.is_file()
    assert_outage_recorded(path, loop, with_pre=False)
    ((pid,),) = query(path, "SELECT pid FROM runs")
    assert pid == os.getpid()


def test_missing_directories_are_created(make_monitor, clock, alerts, tmp_path):
    path = tmp_path / "does" / "not" / "exist" / "yet" / "health.db"
    monitor = fault_monitor(make_monitor, clock, alerts, store_path=str(path))
    Loop(monitor, clock).run(5, "pre")
    assert monitor.flush(5.0)
    assert count(path, "signals") == 5 and alerts.of(STORE_ERROR) == []


def test_buffer_is_bounded_and_drops_are_counted(make_monitor, clock, alerts, tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")
    path = blocker / "health.db"
    monitor = fault_monitor(make_monitor, clock, alerts, store_path=str(path), max_buffered_events=100)
    loop = Loop(monitor, clock)
    assert loop.run_until(lambda: alerts.of(STORE_ERROR), "out", 10)
    loop.run(150, "out")
    assert not monitor.flush(0.3)
    blocker.unlink()
    assert monitor.flush(15.0)
    signals = count(path, "signals")
    outage_alerts = count(path, "alerts", "code = ? AND resolved = 0", (STORE_ERROR,))
    ((detail,),) = query(path, "SELECT detail FROM events WHERE kind = 'dropped_events'")
    dropped = json.loads(detail)["count"]
    assert signals + outage_alerts == 100, "the buffer holds max_buffered_events rows"
    assert signals + outage_alerts + dropped == len(loop.recorded["out"]) + 1
    # Heartbeats are never dropped: the uptime span is whole.
    ((beats,),) = query(path, "SELECT sum(beats) FROM spans")
    assert beats == 2 * len(loop.recorded["out"])  # a gate call and a heartbeat per step


# -- read-only ---------------------------------------------------------------------------------
@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """chattr +i, undone at teardown whatever happens. Only root (CAP_LINUX_IMMUTABLE) on a
    file system with the flag can do it: skip otherwise. Never used on the -shm file: SQLite
    maps it into memory and a write to an immutable mapping is a SIGBUS."""
    marked: list[Path] = []

    def set_immutable(path: Path) -> None:
        assert not path.name.endswith("-shm")
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot make a file immutable here: {result.stderr.strip()}")
        marked.append(path)

    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    yield set_immutable
    for path in reversed(marked):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def _probe_read_only(directory: Path) -> None:
    try:
        (directory / "probe").touch()
    except OSError:
        return
    pytest.skip("the read-only setup did not take effect here")


def test_store_becomes_read_only_while_running(
    make_monitor, clock, alerts, store_path, store_errors, immutable
):
    monitor = fault_monitor(make_monitor, clock, alerts)
    loop = Loop(monitor, clock)
    loop.run(20, "pre")
    assert monitor.flush(5.0)
    directory = store_path.parent
    targets = [store_path, Path(f"{store_path}-wal"), directory]

    def make_read_only() -> None:
        for target in targets:
            immutable(target)
        _probe_read_only(directory)

    def make_writable() -> None:
        for target in reversed(targets):
            subprocess.run(["chattr", "-i", str(target)], check=True)

    ride_out(monitor, loop, alerts, store_errors, break_store=make_read_only, repair_store=make_writable)
    assert_outage_recorded(store_path, loop)


def test_store_read_only_at_startup(make_monitor, clock, alerts, store_path, store_errors):
    """A store left by an earlier run is read-only when the loop starts."""
    earlier = fault_monitor(make_monitor, clock, alerts, source="earlier")
    Loop(earlier, clock).run(5, "earlier")
    earlier.close()
    directory = store_path.parent
    undo: list[Callable[[], None]] = []
    if os.geteuid() == 0:
        for target in (store_path, directory):
            result = subprocess.run(["chattr", "+i", str(target)], capture_output=True, text=True)
            if result.returncode != 0:
                for fn in reversed(undo):
                    fn()
                pytest.skip(f"cannot make the store read-only as root: {result.stderr.strip()}")
            undo.append(lambda t=target: subprocess.run(["chattr", "-i", str(t)], check=True))
    else:
        store_path.chmod(0o444)
        directory.chmod(0o555)
        undo += [lambda: store_path.chmod(0o644), lambda: directory.chmod(0o755)]
    try:
        _probe_read_only(directory)
        monitor = fault_monitor(make_monitor, clock, alerts, source="now")
        loop = Loop(monitor, clock)

        def repair() -> None:
            for fn in reversed(undo):
                fn()
            undo.clear()

        ride_out(monitor, loop, alerts, store_errors, break_store=lambda: None, repair_store=repair)
    finally:
        for fn in reversed(undo):
            fn()
    assert_outage_recorded(store_path, loop, with_pre=False)
    assert query(store_path, "SELECT source FROM runs ORDER BY started_at, source") == [
        ("earlier",),
        ("now",),
    ]
    assert count(store_path, "signals", "source = 'earlier'") == 5


# -- disk full --------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a real file system that really fills up. Needs mount rights."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8)")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a file until the file system has no byte left (ENOSPC)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (65536, 4096, 1):  # big chunks, then whatever partial page is left
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        continue
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        (directory / "one-more-byte").write_bytes(b"x")
    return filler


def test_disk_full(make_monitor, clock, alerts, small_disk, store_errors):
    path = small_disk / "health.db"
    monitor = fault_monitor(make_monitor, clock, alerts, store_path=str(path))
    loop = Loop(monitor, clock)
    loop.run(20, "pre")
    assert monitor.flush(5.0)
    fillers: list[Path] = []
    try:
        ride_out(
            monitor,
            loop,
            alerts,
            store_errors,
            break_store=lambda: fillers.append(fill(small_disk)),
            repair_store=lambda: fillers.pop().unlink(),
        )
        assert_outage_recorded(path, loop)
    finally:
        monitor.close()  # before the tmpfs goes away
        for filler in fillers:
            filler.unlink()


# -- deleted while running --------------------------------------------------------------------
@pytest.mark.parametrize("what", ["db-wal-and-shm", "db-only", "whole-directory"])
def test_store_deleted_while_running(make_monitor, clock, alerts, store_path, what):
    """Someone removes the store under a running loop: later events land in a recreated
    store that knows the run."""
    monitor = fault_monitor(make_monitor, clock, alerts)
    loop = Loop(monitor, clock)
    loop.run(20, "pre")
    assert monitor.flush(5.0)
    if what == "whole-directory":
        shutil.rmtree(store_path.parent)
    else:
        for suffix in ("", "-wal", "-shm") if what == "db-wal-and-shm" else ("",):
            os.unlink(f"{store_path}{suffix}")
    loop.run(100, "out")
    assert monitor.flush(10.0)
    loop.run(20, "post")
    assert monitor.flush(10.0)
    assert loop.worst < CALL_BOUND
    stored = stored_symbols(store_path)
    assert set(loop.recorded["out"]) | set(loop.recorded["post"]) <= stored
    ((run_id, source),) = query(store_path, "SELECT run_id, source FROM runs")
    assert source == "default"
    assert query(store_path, "SELECT DISTINCT run_id FROM signals") == [(run_id,)]
    assert_run_whole(store_path, loop)
    # No alert is left firing: recreating the store is not a standing failure.
    firing = alerts.of(STORE_ERROR, resolved=False)
    assert len(firing) == len(alerts.of(STORE_ERROR, resolved=True)) <= 1
    monitor.close()
    assert query(store_path, "SELECT stopped_at IS NOT NULL FROM runs") == [(1,)]


# -- corrupt ----------------------------------------------------------------------------------
def _checkpoint(path: Path) -> None:
    """What any other connection (the console, sqlite3 CLI, an autocheckpoint) does: move the
    WAL's pages into the main file, so that the main file is what holds the data."""
    conn = sqlite3.connect(path, timeout=5)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        conn.close()


def _garbage(size: int) -> bytes:
    return (b"\xde\xad\xbe\xef not a database " * (size // 24 + 1))[:size]


@pytest.mark.parametrize(
    ("how", "recovery"),
    [("overwritten-in-place", "moved-aside"), ("replaced-by-garbage", "removed")],
)
def test_store_corrupt(make_monitor, clock, alerts, store_path, store_errors, how, recovery):
    monitor = fault_monitor(make_monitor, clock, alerts)
    loop = Loop(monitor, clock)
    loop.run(20, "pre")
    assert monitor.flush(5.0)
    _checkpoint(store_path)

    def corrupt() -> None:
        size = store_path.stat().st_size
        if how == "overwritten-in-place":
            with open(store_path, "r+b") as f:
                f.write(_garbage(size))
        else:
            tmp = store_path.with_suffix(".tmp")
            tmp.write_bytes(_garbage(size))
            os.replace(tmp, store_path)

    def recover() -> None:
        if recovery == "moved-aside":
            os.replace(store_path, store_path.with_suffix(".corrupt"))
        else:
            store_path.unlink()
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{store_path}{suffix}")

    ride_out(monitor, loop, alerts, store_errors, break_store=corrupt, repair_store=recover)
    assert_outage_recorded(store_path, loop, with_pre=False)
    assert query(store_path, "PRAGMA integrity_check") == [("ok",)]
    ((pid,),) = query(store_path, "SELECT pid FROM runs")
    assert pid == os.getpid()


def test_store_corrupt_at_startup(make_monitor, clock, alerts, store_path, store_errors):
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(_garbage(8192))
    monitor = fault_monitor(make_monitor, clock, alerts)
    loop = Loop(monitor, clock)
    ride_out(monitor, loop, alerts, store_errors, break_store=lambda: None, repair_store=store_path.unlink)
    assert_outage_recorded(store_path, loop, with_pre=False)


# -- alert sinks ------------------------------------------------------------------------------
def test_a_hanging_alert_callback_never_slows_the_loop(make_monitor, store_path):
    release = threading.Event()
    received = []

    def hanging(alert) -> None:
        release.wait(10)
        received.append(alert)

    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    monitor = make_monitor(clock=clock, alert_callback=hanging, check_interval_seconds=1)
    loop = Loop(monitor, clock)
    loop.run(5, "pre")
    # stale data and an after-hours signal: two alerts for a callback that does not return
    loop._timed(lambda: monitor.should_generate_signals(clock.now - timedelta(hours=3)))
    clock.set(ny(2025, 12, 10, 17, 0))
    loop._timed(lambda: monitor.record_signal("LATE", clock.now))
    loop.run(50, "more")
    assert loop.worst < CALL_BOUND
    assert monitor.recorder.flush(5.0)  # the store does not wait for the sink
    assert count(store_path, "alerts") == 2
    release.set()
    assert wait_until(lambda: len(received) == 2, timeout=5)
