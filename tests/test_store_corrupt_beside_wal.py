"""A corrupt main file is a STORE_ERROR whatever lies beside it: with the old -wal/-shm kept,
SQLite reads page 1 from the WAL, takes the garbage for a database and writes on — events
counted written into a store whose .db is garbage. The recorder checks the main file's own
header before every batch."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import timedelta

import pytest
from conftest import count, query, wait_until

from health.codes import IssueCode


def _garbage(size: int) -> bytes:
    return (b"\xde\xad\xbe\xef not a database " * (size // 22 + 1))[:size]


def _record(monitor, clock, tag: str, n: int) -> list[str]:
    symbols = []
    for i in range(n):
        clock.advance(0.01)
        monitor.should_generate_signals(clock.now - timedelta(seconds=5))
        monitor.record_activity()
        symbols.append(f"{tag}{i}")
        monitor.record_signal(symbols[-1], clock.now - timedelta(seconds=5))
    return symbols


@pytest.mark.parametrize("how", ["replaced", "overwritten-in-place"])
@pytest.mark.parametrize("history", ["all-in-wal", "checkpointed-then-written"])
def test_garbage_main_file_with_the_old_wal_beside_it(make_monitor, clock, alerts, store_path, how, history):
    monitor = make_monitor(
        clock=clock, alert_callback=alerts, check_interval_seconds=1, flush_interval_seconds=0.05
    )
    before = _record(monitor, clock, "pre", 1500)
    assert monitor.flush(5.0)
    if history == "checkpointed-then-written":  # a reader's checkpoint, then the WAL restarts
        conn = sqlite3.connect(store_path)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        conn.close()
        before += _record(monitor, clock, "mid", 1500)
        assert monitor.flush(5.0)
    assert os.path.getsize(f"{store_path}-wal") > 0  # the WAL that will be left beside
    written = monitor.recorder.written_events

    size = store_path.stat().st_size
    if how == "replaced":
        tmp = store_path.with_suffix(".tmp")
        tmp.write_bytes(_garbage(size))
        os.replace(tmp, store_path)
    else:
        with open(store_path, "r+b") as f:
            f.write(_garbage(size))
    during = _record(monitor, clock, "out", 300)

    (alert,) = alerts.wait_for(IssueCode.STORE_ERROR, resolved=False)
    assert "not a database" in alert.message or "malformed" in alert.message
    if monitor.flush(1.5):
        # Every page was in the WAL: closing on the garbage checkpointed the whole store back
        # into it, and the recorder wrote on only after PRAGMA quick_check passed.
        assert alerts.wait_for(IssueCode.STORE_ERROR, resolved=True)
    else:
        assert monitor.recorder.written_events == written  # nothing counted written into garbage
        # The operator moves the garbage aside and leaves whatever else is there.
        shutil.move(store_path, store_path.with_suffix(".corrupt"))
        assert wait_until(lambda: monitor.flush(1.0), timeout=20)
    after = _record(monitor, clock, "post", 10)
    monitor.close()
    assert alerts.wait_for(IssueCode.STORE_ERROR, resolved=True)
    assert query(store_path, "PRAGMA integrity_check") == [("ok",)]
    stored = {s for (s,) in query(store_path, "SELECT symbol FROM signals")}
    assert set(during) | set(after) <= stored
    assert count(store_path, "runs") == 1


def test_a_healthy_store_is_never_called_corrupt(make_monitor, clock, alerts, store_path) -> None:
    """The header check on a store that is fine: checkpoints, restarts of the WAL, readers."""
    monitor = make_monitor(
        clock=clock, alert_callback=alerts, check_interval_seconds=1, flush_interval_seconds=0.05
    )
    reader = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        for round_ in range(5):
            _record(monitor, clock, f"r{round_}-", 500)
            assert monitor.flush(5.0)
            reader.execute("SELECT count(*) FROM signals").fetchone()
            conn = sqlite3.connect(store_path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
    finally:
        reader.close()
    monitor.close()
    assert alerts.of(IssueCode.STORE_ERROR) == []
    assert count(store_path, "signals") == 2500
