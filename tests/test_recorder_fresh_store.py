"""On a store the loop has just created, the schema and the run exist before the loop's first
call, so a busy loop thread cannot starve their set-up: after a SIGKILL everything recorded
more than 1 s before the kill is in the store, on a just-created store too (docs/CONTRACT.md §2)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import textwrap
import threading
import time

import pytest
from conftest import PYTHON, child_env, query, wait_until

from health import MonitorConfig, ProductionMonitor


def test_schema_and_run_exist_when_the_constructor_returns(store_path) -> None:
    monitor = ProductionMonitor(MonitorConfig(store_path=str(store_path), source="fresh"))
    try:
        # No flush, no wait: read the file the way an operator would, at once.
        tables = {r[0] for r in query(store_path, "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"runs", "spans", "gate", "signals", "events", "alerts"} <= tables
        assert query(store_path, "SELECT source, stopped_at FROM runs") == [("fresh", None)]
    finally:
        monitor.close()


def test_a_store_locked_at_start_delays_the_constructor_at_most_a_second(store_path) -> None:
    """Opening at construction must not turn a locked store into a hung loop."""
    store_path.parent.mkdir(parents=True)
    holder = sqlite3.connect(store_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        monitor = ProductionMonitor(MonitorConfig(store_path=str(store_path)))
        assert time.monotonic() - started < 2.0
        monitor.record_signal("WAITING", time.time())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert monitor.flush(10.0)
    monitor.close()
    assert query(store_path, "SELECT symbol FROM signals") == [("WAITING",)]


# A loop that starts on a new store and keeps its thread busy in Python, 5,000 signals a second;
# each signal is reported ("i time") after the call returned, in blocks of 50 lines.
_BUSY_CHILD = """
    import sys, time
    from health import ProductionMonitor, MonitorConfig
    monitor = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source="busy"))
    print("ready", flush=True)
    out = []
    i = 0
    slot = time.perf_counter()
    while True:
        slot += 0.0002
        while time.perf_counter() < slot:  # busy in Python, holding the GIL
            pass
        i += 1
        monitor.record_signal(f"S{i}", time.time())
        out.append(f"{i} {time.time()!r}\\n")
        if len(out) == 50:
            sys.stdout.write("".join(out))
            sys.stdout.flush()
            out.clear()
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1.6])
def test_sigkill_on_a_fresh_store_with_a_busy_loop_loses_at_most_the_last_second(store_path, kill_after):
    proc = subprocess.Popen(
        [PYTHON, "-c", textwrap.dedent(_BUSY_CHILD), str(store_path)],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported: list[tuple[int, float]] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("ready"):
                ready.set()
                continue
            i, t = line.split()
            reported.append((int(i), float(t)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(30), proc.stderr.read() if proc.poll() is not None else "child not ready"
        started = time.time()
        wait_until(lambda: time.time() - started >= kill_after, timeout=10, interval=0.01)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)

    old = [i for i, t in reported if t < killed_at - 1.0]
    assert len(old) > 500, f"the child reported only {len(old)} signals older than 1 s"
    stored = {int(s[1:]) for (s,) in query(store_path, "SELECT symbol FROM signals")}
    missing = [i for i in old if i not in stored]
    assert not missing, f"{len(missing)} of {len(old)} signals older than 1 s lost, e.g. {missing[:5]}"
    assert query(store_path, "PRAGMA integrity_check") == [("ok",)]
