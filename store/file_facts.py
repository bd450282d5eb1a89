"""The health of the store file itself, for diagnostics (health/diagnostics/store_file.py):
its integrity, journal mode and write-ahead log, asked of a ``StoreReader``."""

from __future__ import annotations

import os


class StoreFileFacts:
    """``StoreReader``'s questions about its file; the reader gives ``path`` and ``_q``."""

    path: str
    _q: object  # StoreReader._q: one SQL statement, its rows

    def quick_check(self) -> str:
        rows = self._q("PRAGMA quick_check")
        return "; ".join(str(r[0]) for r in rows[:5])

    def journal_mode(self) -> str:
        """The journal mode, "wal" or "delete", from the file header (bytes 18-19 are 2 in WAL mode): a
        snapshot (immutable) connection would always say "delete"."""
        try:
            with open(self.path, "rb") as f:
                header = f.read(20)
        except OSError:
            return "unknown"
        if len(header) < 20 or not header.startswith(b"SQLite format 3\x00"):
            return "unknown"
        return "wal" if header[18] == 2 and header[19] == 2 else "delete"

    def wal_bytes(self) -> int:
        try:
            return os.path.getsize(f"{self.path}-wal")
        except OSError:
            return 0
