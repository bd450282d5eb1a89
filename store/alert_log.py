"""The watchdog's writes: alert transitions, their deliveries, and its notices (readiness).

The watchdog is the one process besides the loops that writes the store. It never creates
the store (``mode=rw``: a loop must have made it), writes in short transactions, and never
raises for the store: a failed write is logged and the alerting carries on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from store.schema import migrate

log = logging.getLogger("production_health.store")


class AlertLog:
    def __init__(self, path: str | Path, busy_timeout: float = 2.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # deliveries are recorded from the dispatcher thread
        self._failing = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = f"file:{quote(str(self.path.resolve()))}?mode=rw"
            conn = sqlite3.connect(
                uri, uri=True, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            migrate(conn)  # an older store gains the deliveries table
            self._conn = conn
        return self._conn

    def _write(self, sql: str, params: tuple) -> int | None:
        with self._lock:
            try:
                cur = self._connect().execute(sql, params)
                if self._failing:
                    log.warning("health store %s writable again (alert log)", self.path)
                self._failing = False
                return cur.lastrowid
            except (sqlite3.Error, OSError) as exc:
                if not self._failing:
                    log.error("cannot record alert in %s: %s", self.path, exc)
                self._failing = True
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                return None

    def record_alert(
        self,
        source: str,
        code: str,
        severity: str,
        message: str,
        at: float,
        resolved: bool,
        detail: str | None = None,
    ) -> int | None:
        return self._write(
            "INSERT INTO alerts (source, code, severity, message, at, resolved, origin, detail) "
            "VALUES (?,?,?,?,?,?,'watchdog',?)",
            (source, code, severity, message, at, int(resolved), detail),
        )

    def record_delivery(
        self, alert_id: int | None, sink: str, at: float, ok: bool, status: int | None, detail: str, kind: str
    ) -> None:
        self._write(
            "INSERT INTO deliveries (alert_id, sink, at, ok, status, detail, kind) VALUES (?,?,?,?,?,?,?)",
            (alert_id, sink, at, int(ok), status, detail, kind),
        )

    def record_notice(
        self, kind: str, calendar: str, session: str, at: float, status: str, detail: str
    ) -> None:
        """A notice that is no alert transition (the readiness check before ``session``)."""
        self._write(
            "INSERT INTO notices (kind, calendar, session, at, status, detail) VALUES (?,?,?,?,?,?)",
            (kind, calendar, session, at, status, detail),
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
