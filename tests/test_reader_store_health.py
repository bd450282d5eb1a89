"""What a reader says about the store file itself (store/reader.py): the problems a quick check
finds, the first five of them, and how long it waits on a store another connection locks."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from store.events import SIGNAL
from store.reader import StoreReader, StoreUnavailable
from store.recorder import Recorder, RunInfo

T = 1_765_382_400.0


def _store(path: Path, signals: int = 10) -> None:
    run = RunInfo(uuid.uuid4().hex, "loop", 1, "host", [], "0", {}, T - 10, 120.0)
    rec = Recorder(path, run, flush_interval=0.05, max_pending=100_000)
    for i in range(signals):
        rec.put((SIGNAL, T + i, f"S{i}", T + i - 1, None))
    assert rec.close(5.0)


def _null_symbols(path: Path, rows: int) -> None:
    """Rows that break their table's NOT NULL: written by a tool that went around the schema."""
    conn = sqlite3.connect(path, isolation_level=None)
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'signals'").fetchone()
    loose = sql.replace('"symbol" TEXT NOT NULL', '"symbol" TEXT')
    assert loose != sql
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'signals'", (loose,))
    conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE signals SET symbol = NULL WHERE id <= ?", (rows,))
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'signals'", (sql,))
    conn.close()


def test_quick_check_says_ok_or_the_first_five_problems(store_path: Path) -> None:
    _store(store_path)
    reader = StoreReader(store_path)
    assert reader.quick_check() == "ok"
    reader.close()
    _null_symbols(store_path, rows=7)
    reader = StoreReader(store_path)
    try:
        assert reader.quick_check() == "; ".join(["NULL value in signals.symbol"] * 5)
    finally:
        reader.close()


@pytest.mark.slow  # waits the reader's 2 s
def test_a_reader_waits_2_s_for_a_locked_store_then_says_so(store_path: Path) -> None:
    """A store in rollback-journal mode (a copy, a restored backup) while another connection
    writes it: the console's and the watchdog's reader wait 2 s for the lock, not SQLite's 5 s,
    then say the store cannot be read."""
    _store(store_path)
    conn = sqlite3.connect(store_path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as refused:
            StoreReader(store_path)
        waited = time.monotonic() - started
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert str(refused.value) == f"cannot read health store {store_path}: database is locked"
    assert 1.9 <= waited < 2.9
