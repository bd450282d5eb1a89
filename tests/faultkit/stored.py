"""The store read back the way an operator would (plain sqlite3), from a copy of its files so
that counting never touches the real store, never takes a lock a loop would wait for, and
never leaves anything beside it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StoreFacts:
    """What one store holds of one loop (``source``)."""

    signals: Counter[int] = field(default_factory=Counter)  # signal number -> rows
    dropped: int = 0  # events the recorder counted as dropped (its bounded buffer)
    store_errors: tuple[int, ...] = ()  # STORE_ERROR rows' resolved flags, in order
    integrity: str = "no store"


def copied(path: Path, where: Path) -> Path:
    """A copy of the store's main file and -wal in ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    copy = where / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    for suffix in ("", "-wal"):
        if os.path.exists(f"{path}{suffix}"):
            shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
    return copy


def read_store(path: Path, source: str, scratch: Path) -> StoreFacts:
    if not Path(path).exists():
        return StoreFacts()
    conn = sqlite3.connect(copied(Path(path), scratch))
    try:
        check = "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()[:3])
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if check == "ok" and "signals" not in tables:
            return StoreFacts(integrity="no schema")  # a file, its schema not committed yet
        symbols = conn.execute("SELECT symbol FROM signals WHERE source = ?", (source,)).fetchall()
        drops = conn.execute(
            "SELECT detail FROM events WHERE source = ? AND kind = 'dropped_events'", (source,)
        ).fetchall()
        errors = conn.execute(
            "SELECT resolved FROM alerts WHERE source = ? AND code = 'STORE_ERROR' ORDER BY id", (source,)
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        return StoreFacts(integrity=f"unreadable: {exc}")
    finally:
        conn.close()
    return StoreFacts(
        signals=Counter(int(s[1:]) for (s,) in symbols if s.startswith("S") and s[1:].isdigit()),
        dropped=sum(json.loads(d)["count"] for (d,) in drops),
        store_errors=tuple(r for (r,) in errors),
        integrity=check,
    )


def keep(path: Path, where: Path) -> Path:
    """The store as it is now, kept aside before a fault deletes or replaces it: a hard link
    to the main file (what the loop goes on writing into until it notices is in it too) and a
    copy of the -wal (which may stay in use at the old path). Events in it were the fault's to
    lose, not the recorder's."""
    where.mkdir(parents=True, exist_ok=True)
    kept = where / "kept.db"
    os.link(path, kept)
    if os.path.exists(f"{path}-wal"):
        shutil.copyfile(f"{path}-wal", f"{kept}-wal")
    return kept
