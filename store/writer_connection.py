"""The writer's one connection to the store file, and what it checks of the file.

Opened on demand and reopened when the file is deleted or replaced; refused when the main
file is not SQLite's (whatever lies beside it); checked whole before anything is written into
a file SQLite found corrupt; checkpointed at a clean close, so the .db alone is complete.
Only the recorder's writer thread uses it after the constructor (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from store.paths import file_identity
from store.schema import migrate

log = logging.getLogger("production_health.store")

_SQLITE_HEADER = b"SQLite format 3\x00"
CLOSE_CHECKPOINT_WAIT = 1.0  # close() waits at most this long for readers to let go


class WriterConnection:
    def __init__(self, path: Path, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.conn: sqlite3.Connection | None = None
        self.identity: tuple[int, int] | None = None
        # Connections opened so far: a new one may be to a new file that reuses the old one's
        # inode number (a deleted store recreated), so the run's row is written into it again.
        self.opened = 0
        self._suspect: tuple[int, int] | None = None  # a main file found corrupt

    def get(self, busy_timeout: float | None = None) -> sqlite3.Connection:
        """The open connection, or a new one; notice a deleted, replaced or corrupt file."""
        identity = self._main_file()
        if self.conn is not None and identity == self.identity and identity is not None:
            return self.conn
        self.drop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        timeout = self.busy_timeout if busy_timeout is None else busy_timeout
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if identity is not None and identity == self._suspect:
                # Found corrupt before (closing on it may have checkpointed a valid header back
                # into it): the whole file must pass before anything is written into it again.
                found = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()[:3]]
                if found != ["ok"]:
                    raise sqlite3.DatabaseError(f"database disk image is malformed: {'; '.join(found)}")
                self._suspect = None
            migrate(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except BaseException:
            conn.close()
            raise
        self.identity = file_identity(self.path)
        self.opened += 1
        self.conn = conn
        return conn

    def _main_file(self) -> tuple[int, int] | None:
        """(device, inode) of the store's main file, None if there is none; raises
        sqlite3.DatabaseError if its own first bytes are not SQLite's. Read from the file, not
        through SQLite: with an old -wal beside a garbage file SQLite takes page 1 from the WAL
        and writes on, so its answer depends on which files lie beside the store."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            head = os.read(fd, len(_SQLITE_HEADER))
        finally:
            os.close(fd)
        if head and head != _SQLITE_HEADER:  # empty: a store SQLite has yet to initialise
            raise sqlite3.DatabaseError(
                f"file is not a database: {self.path} does not start with SQLite's header"
            )
        return (st.st_dev, st.st_ino)

    def failed(self, exc: BaseException) -> None:
        """The store failed under this connection: drop it; if SQLite found the file corrupt,
        check it whole before the next write."""
        if type(exc) is sqlite3.DatabaseError and self._suspect is None:
            self._suspect = self.identity
        self.drop()

    def drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None

    def checkpoint_at_close(self) -> None:
        """After a clean close the .db alone is a complete copy (docs/CONTRACT.md §2): move the
        WAL's pages into the main file. SQLite does that itself only when the last connection
        closes, and a console or report holding the store open read-only (it cannot
        checkpoint) is often the last, leaving a 4 KiB .db beside all the data in its -wal."""
        conn = self.conn
        if conn is None:
            return
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(CLOSE_CHECKPOINT_WAIT * 1000)}")
            busy, frames, moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:  # a reader held an old snapshot all that time: move what it allows
                busy, frames, moved = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if 0 <= moved < frames:
                log.warning(
                    "health store %s: closed with %d of %d WAL pages not yet in the main file "
                    "(a reader held the store); the next writer or reader to close moves them",
                    self.path,
                    frames - moved,
                    frames,
                )
        except sqlite3.Error as exc:
            log.warning("health store %s: checkpoint at close failed: %s", self.path, exc)
