"""The store's side of acks: the migration that adds them (and the watchdog's notices) to an
older store, the writer that never creates a store and says why it refused, and readers of
stores from before the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from store.acks import MAX_ACK_SECONDS, AckError, write_ack
from store.reader import StoreReader
from store.schema import MIGRATIONS, SCHEMA_VERSION, migrate

T0 = 1_765_465_200.0  # 2025-12-11 10:00 EST


def old_store(path: Path, version: int = 3) -> Path:
    """A store as production-health wrote it before acks existed: schema v3 (the recorded
    calendars' tables), or v2 (before those too)."""
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    for step in range(1, version + 1):
        MIGRATIONS[step](db)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO runs (run_id, source, pid, host, started_at, config) VALUES ('r1', 'loop', 1, 'h', ?, '{}')",
        (T0 - 3600,),
    )
    conn.close()
    return path


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


@pytest.mark.parametrize("version", [2, 3])
def test_an_older_store_reads_as_holding_no_acks(tmp_path, version):
    store = old_store(tmp_path / "h.db", version)
    with StoreReader(store) as reader:
        assert reader.schema_version == version
        assert reader.acks(T0 - 86400, T0 + 86400) == []
        assert reader.notices("readiness", "2025-12-11") == []
    assert "acks" not in tables(store)  # reading never migrates


@pytest.mark.parametrize("version", [2, 3])
def test_writing_an_ack_migrates_an_older_store_and_keeps_its_rows(tmp_path, version):
    store = old_store(tmp_path / "h.db", version)
    ack = write_ack(store, "NO_ACTIVITY", "loop", "alice", "  restarting\nthe feed ", T0, T0 + 7200)
    assert ack.reason == "restarting the feed" and ack.id == 1
    assert {"acks", "notices"} <= tables(store)
    with StoreReader(store) as reader:
        assert reader.schema_version == SCHEMA_VERSION
        assert reader.sources() == ["loop"]
        assert reader.acks(T0, T0 + 1) == [ack]
        assert reader.acks(T0 + 7200, T0 + 9000) == []  # expired
        assert reader.acks(T0 - 600, T0 - 1) == []  # not made yet


def test_the_migration_is_a_single_step_that_creates_only_its_own_tables(tmp_path):
    store = old_store(tmp_path / "h.db", 3)
    before = tables(store)
    assert {"calendars", "calendar_sessions", "calendar_closures"} <= before
    conn = sqlite3.connect(store, isolation_level=None)
    assert migrate(conn) == SCHEMA_VERSION == 7
    conn.close()
    assert tables(store) - before == {
        "acks",
        "notices",
        "signal_minutes",
        "signal_quarters",
    }  # v4's, v5's, v6's (v7 adds an index only)
    assert max(MIGRATIONS) == SCHEMA_VERSION


def test_an_ack_never_creates_a_store(tmp_path):
    missing = tmp_path / "nowhere" / "h.db"
    with pytest.raises(AckError, match="does not exist"):
        write_ack(missing, "NO_ACTIVITY", None, "alice", "why", T0, T0 + 60)
    assert not missing.parent.exists()
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(AckError, match="does not exist"):
        write_ack(tmp_path / "dir.db", "NO_ACTIVITY", None, "alice", "why", T0, T0 + 60)


@pytest.mark.parametrize(
    ("reason", "by", "until", "match"),
    [
        ("   ", "alice", T0 + 60, "needs a reason"),
        ("why", "", T0 + 60, "needs a name"),
        ("why", "alice", T0, "expiry after now"),
        ("why", "alice", float("nan"), "expiry after now"),
        ("why", "alice", T0 + MAX_ACK_SECONDS + 1, "at most 7 days"),
        ("x" * 501, "alice", T0 + 60, "longer than 500"),
    ],
)
def test_no_ack_without_a_reason_a_name_and_an_expiry(tmp_path, reason, by, until, match):
    store = old_store(tmp_path / "h.db")
    with pytest.raises(AckError, match=match):
        write_ack(store, "NO_ACTIVITY", None, by, reason, T0, until)
    assert "acks" not in tables(store)  # refused before the store was touched


def test_a_locked_store_is_a_one_line_error_not_a_wait(tmp_path):
    store = old_store(tmp_path / "h.db")
    write_ack(store, "NO_ACTIVITY", None, "alice", "why", T0, T0 + 60)  # migrated
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(AckError, match=r"cannot write the ack .*locked"):
            write_ack(store, "NO_ACTIVITY", None, "bob", "why", T0, T0 + 60, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
