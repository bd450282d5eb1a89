"""A backfill adds its signals' per-minute and per-quarter sums at the end of its transaction
(store/signal_minutes.py ``summed_at_the_end``), not by a trigger per signal: the tables must
end exactly as the triggers would leave them — into buckets a live loop already filled, on
signals the import adds to minutes it shares with them — and the triggers must be the
schema's again afterwards, whether the block ended well or not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_signal_minutes import INSERT, T0, assert_exact, insert, minutes_of, new_store

from store.backfill import write_backfill
from store.records import RunInfo
from store.signal_minutes import summed_at_the_end


def _triggers(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


def _run(source: str) -> RunInfo:
    return RunInfo(f"import:{source}:60s", source, 0, "host", [], "1", {}, T0 - 3600, 120.0)


def test_an_import_into_live_buckets_leaves_the_sums_the_triggers_would(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = new_store(path)
    # A live loop's signals: the minutes and quarters the import will share with it.
    insert(conn, [("a", T0 + 7.5 * i, T0 + 7.5 * i - (3600 if i % 9 == 0 else 5)) for i in range(400)])
    conn.close()
    before = _triggers(path)
    signals = [(T0 + 3.25 * i, "SPY", T0 + 3.25 * i - (30 + i % 50)) for i in range(1200)]
    signals += [(T0 - 86400 * 3 + i, "QQQ", T0 - 86400 * 3 + i - 7200) for i in range(90)]  # other days
    got = write_backfill(path, _run("a"), signals, [s[0] for s in signals])
    assert got.signals_added == 1290
    got = write_backfill(path, _run("b"), signals[:500], [])  # another loop, same minutes
    assert got.signals_added == 500
    assert_exact(path)
    assert _triggers(path) == before
    # A live loop writing afterwards: its trigger counts again.
    conn = sqlite3.connect(path, isolation_level=None)
    insert(conn, [("a", T0 + 1.0, T0 - 2.0), ("c", T0 + 2.0, T0 + 1.0)])
    conn.close()
    assert_exact(path)


def test_a_block_that_fails_leaves_the_triggers_and_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = new_store(path)
    insert(conn, [("a", T0 + i, T0 + i - 5) for i in range(50)])
    before = _triggers(path)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.IntegrityError), summed_at_the_end(conn):
        conn.executemany(INSERT, [("a", T0 + 0.5, T0)])
        conn.execute("INSERT INTO runs (run_id, source, started_at) VALUES ('r', 'a', 0)")  # taken
    conn.execute("ROLLBACK")
    conn.close()
    assert _triggers(path) == before
    assert_exact(path)
    conn = sqlite3.connect(path, isolation_level=None)
    insert(conn, [("a", T0 + 0.25, T0 - 1.0)])  # the trigger is back
    conn.close()
    assert_exact(path)


def test_signals_without_an_age_are_left_out_as_by_the_trigger(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = new_store(path)
    conn.execute("BEGIN IMMEDIATE")
    with summed_at_the_end(conn):
        conn.executemany(INSERT, [("a", float("inf"), float("inf")), ("a", T0, T0 - 1.0)])
    conn.execute("COMMIT")
    conn.close()
    one = (1, 1.0, 1.0, T0 - 1.0, T0 - 1.0, 0)  # the signal with an age, alone
    assert minutes_of(path) == {("a", int(T0)): one}
    assert minutes_of(path, "signal_quarters") == {("a", int(T0) // 900 * 900): one}
