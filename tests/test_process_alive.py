"""Is the loop's process alive? Checked on real processes. "Gone" pages someone
(UNCLEAN_EXIT), so it must never be concluded from a failure to look: an inspection that
fails is "unknown", a clock stepped forward does not make a live process look like a reused
pid, and the watchdog looks twice before it says a loop died."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import date

import psutil
import pytest
from conftest import PYTHON, child_env

from health.alert_engine import AlertEngine
from health.alerts import Condition, evaluate_conditions
from health.calendar import get_calendar
from health.codes import IssueCode
from health.live import take_snapshot
from health.process import inspect_pid, process_alive
from health.simulation import SimClock, at, monitor
from store.reader import StoreReader
from store.records import RunRecord

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _proc_stat_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def _boot_id() -> str:
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def _run(pid: int, wall_started_at: float, **config: object) -> RunRecord:
    return RunRecord(
        uuid.uuid4().hex,
        "loop",
        pid,
        socket.gethostname(),
        (),
        "0",
        {"wall_started_at": wall_started_at, **config},
        wall_started_at,
    )


@pytest.fixture
def child():
    proc = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(60)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_live_process_is_alive_after_the_clock_stepped_forward(child) -> None:
    """The run recorded its wall-clock start; then NTP stepped the clock 60 s forward (a VM
    whose CPUs are oversubscribed falls behind and is corrected). psutil's create_time follows
    the new clock, so by wall time the process now looks a minute younger than its run — a
    reused pid, 'gone'. Its start in ticks since boot says it is the same process."""
    created = psutil.Process(child.pid).create_time()
    run = _run(child.pid, created - 60, boot_id=_boot_id(), start_ticks=_proc_stat_ticks(child.pid))
    assert inspect_pid(run).kind == "alive"
    assert process_alive(run) is True


def test_a_reused_pid_is_still_caught(child) -> None:
    created = psutil.Process(child.pid).create_time()
    run = _run(child.pid, created, boot_id=_boot_id(), start_ticks=_proc_stat_ticks(child.pid) - 100)
    assert inspect_pid(run).kind == "reused"
    assert process_alive(run) is False
    # A run recorded before start ticks existed: the wall-clock guard as before.
    assert process_alive(_run(child.pid, created - 60)) is False
    assert process_alive(_run(child.pid, created)) is True


def test_a_dead_process_is_gone(child) -> None:
    run = _run(child.pid, time.time(), boot_id=_boot_id(), start_ticks=_proc_stat_ticks(child.pid))
    child.kill()
    child.wait()
    assert inspect_pid(run).kind == "gone"
    assert process_alive(run) is False


@pytest.mark.parametrize("pid", [2**31, 2**40, 2**63])
def test_a_pid_no_process_can_have_is_unknown_not_a_traceback(pid: int) -> None:
    """A runs row edited by hand, or written by another tool: no conclusion, no exception."""
    run = _run(pid, time.time())
    assert inspect_pid(run).kind == "unknown"
    assert process_alive(run) is None


_STARVED = """
    import json, os, resource, socket, sys
    import psutil
    from health.process import inspect_pid, process_alive
    from store.records import RunRecord
    pid, started = int(sys.argv[1]), float(sys.argv[2])
    run = RunRecord("r", "loop", pid, socket.gethostname(), (), "0", {"wall_started_at": started}, started)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    held = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    try:
        result = {"kind": inspect_pid(run).kind, "alive": process_alive(run)}
    except BaseException as exc:
        result = {"raised": type(exc).__name__}
    print(json.dumps(result))
"""


def test_a_process_that_cannot_be_inspected_is_unknown_not_gone(child) -> None:
    """A watchdog out of file descriptors (EMFILE) cannot open /proc: that says nothing about
    the loop. It must read as unknown (None), neither gone nor an exception."""
    started = psutil.Process(child.pid).create_time()
    done = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(_STARVED), str(child.pid), str(started)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == {"kind": "unknown", "alive": None}, done.stderr


def test_the_monitor_records_its_start_in_ticks_since_boot(store_path) -> None:
    clock = SimClock(at(date(2025, 12, 10), 11))
    mon = monitor(store_path, clock)
    mon.close()
    with StoreReader(store_path) as reader:
        (run,) = reader.runs()
    assert run.config["start_ticks"] == _proc_stat_ticks(os.getpid())
    assert run.config["boot_id"] == _boot_id()
    assert process_alive(run) is True


# -- the watchdog's UNCLEAN_EXIT -----------------------------------------------------------------
def test_unclean_exit_pages_only_when_seen_on_two_consecutive_evaluations() -> None:
    eng = AlertEngine(flap_seconds=120)

    def step(active: bool | None, t: float) -> list[str]:
        c = Condition("loop", IssueCode.UNCLEAN_EXIT, active, "pid 42 ended without a clean shutdown")
        return [tr.kind for tr in eng.step([c], t, True)]

    assert step(True, 0.0) == []  # one look: not yet
    assert step(False, 60.0) == []  # it was alive after all: nothing was ever sent
    assert step(True, 120.0) == []
    assert step(None, 150.0) == []  # could not be judged: neither confirms nor clears
    assert step(True, 180.0) == ["firing"]
    assert step(False, 240.0) == ["resolved"]


def test_a_loop_that_cannot_be_inspected_here_is_not_called_dead(store_path) -> None:
    """A silent loop on this host whose process cannot be read right now: UNCLEAN_EXIT is
    not judged (None), where it used to fire on silence alone."""
    cal = get_calendar("XNYS")
    clock = SimClock(at(date(2025, 12, 10), 10))
    mon = monitor(store_path, clock, check_interval_seconds=60)
    mon.record_activity()
    mon.abandon()  # no clean stop recorded
    now = clock.now + 3 * 3600  # silent for three hours
    with StoreReader(store_path) as reader:
        unseen = evaluate_conditions(take_snapshot(reader, cal, now, alive=lambda run: None))
        gone = evaluate_conditions(take_snapshot(reader, cal, now, alive=lambda run: False))
        alive = evaluate_conditions(take_snapshot(reader, cal, now, alive=lambda run: True))

    def unclean(conds) -> bool | None:
        (c,) = [c for c in conds if c.code == IssueCode.UNCLEAN_EXIT]
        return c.active

    assert (unclean(unseen), unclean(gone), unclean(alive)) == (None, True, False)


@pytest.mark.parametrize(
    ("kind", "status", "words"),
    [("unknown", "WARN", "could not be read"), ("gone", "FAIL", "not running")],
)
def test_diagnostics_judge_an_unreadable_process_as_unknown_not_dead(tmp_path, kind, status, words) -> None:
    """diagnose-production's process check on a state it could not read (an overloaded
    machine): a WARN to look again, never the FAIL it gives a loop that really died."""
    from health.diagnostics.context import Context
    from health.diagnostics.process import _judge_process
    from health.process import ProcState

    now = time.time()
    run = _run(os.getpid(), now - 600)
    ctx = Context(tmp_path / "x.db", "XNYS", None, (), now, {}, 0.2)
    verdict, line, _fix = _judge_process(ctx, run, ProcState(kind), now - 5)
    assert verdict == status, line
    assert words in line
