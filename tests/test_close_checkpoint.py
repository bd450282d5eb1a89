"""After close() the .db alone is a complete copy of the store, even while a console or a
report has it open (docs/CONTRACT.md §2, amended): the WAL is checkpointed. A user who backs up the
.db — the obvious thing — has everything."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import PYTHON, child_env, query

from store.reader import StoreReader


def _only_the_db(store_path: Path, tmp_path: Path) -> Path:
    """Copy the main file alone, as a backup script that knows nothing of WAL would."""
    copy = tmp_path / "backup" / "health.db"
    copy.parent.mkdir()
    shutil.copyfile(store_path, copy)
    return copy


def test_close_leaves_a_complete_db_while_a_console_reads(make_monitor, clock, store_path, tmp_path):
    monitor = make_monitor(clock=clock)
    monitor.record_activity()
    console = StoreReader(store_path)  # the live console's reader: read-only, stays open
    try:
        for i in range(500):
            monitor.record_signal(f"S{i}", clock.now, i=i)
        assert monitor.flush(5.0)
        assert console.signals(0, 2e9)  # it has read the store
        monitor.close()
        copy = _only_the_db(store_path, tmp_path)
    finally:
        console.close()
    assert query(copy, "SELECT count(*) FROM signals") == [(500,)]
    assert query(copy, "SELECT count(stopped_at) FROM runs") == [(1,)]
    assert query(copy, "PRAGMA integrity_check") == [("ok",)]


def test_close_waits_briefly_for_a_reader_in_a_transaction(make_monitor, clock, store_path, tmp_path):
    """A reader that is mid-query when the loop closes: close() waits up to a second for it."""
    monitor = make_monitor(clock=clock)
    for i in range(200):
        monitor.record_signal(f"S{i}", clock.now)
    assert monitor.flush(5.0)
    reader = sqlite3.connect(
        f"file:{store_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM signals").fetchone()  # holds its snapshot
    for i in range(200, 400):
        monitor.record_signal(f"S{i}", clock.now)
    closer = threading.Timer(0.3, lambda: reader.execute("COMMIT"))
    closer.start()
    monitor.close()
    closer.join()
    reader.close()
    copy = _only_the_db(store_path, tmp_path)
    assert query(copy, "SELECT count(*) FROM signals") == [(400,)]


@pytest.mark.slow
def test_after_a_loop_process_exits_normally_the_db_alone_is_complete(store_path, tmp_path):
    """A loop process that exits without calling close() (atexit closes it) while the console
    (this process) keeps the store open."""
    code = """
        import sys, time
        from health import ProductionMonitor, MonitorConfig
        monitor = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source="exits"))
        for i in range(1000):
            monitor.record_signal(f"S{i}", time.time())
        monitor.flush()
        print("recorded", flush=True)
        sys.stdin.readline()  # wait until the console has read the store
    """
    proc = subprocess.Popen(
        [PYTHON, "-c", textwrap.dedent(code), str(store_path)],
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "recorded"
    console = StoreReader(store_path)
    try:
        assert len(console.signals(0, 2e9)) == 1000
        proc.communicate("go\n", timeout=30)
        assert proc.returncode == 0
        copy = _only_the_db(store_path, tmp_path)
    finally:
        console.close()
    assert query(copy, "SELECT count(*) FROM signals") == [(1000,)]
    assert query(copy, "SELECT source, stopped_at IS NOT NULL FROM runs") == [("exits", 1)]
