"""Read-only access for the report, the console and the watchdog.

Opened with ``mode=ro``: a reader never creates the store, never writes, never takes a write
lock. In WAL mode readers do not block the writer, so the trading loop never waits on us.
Every query is bounded by a time window and served by an index, so the cost of a report
grows with the day's events, not with the size of the store.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from store import signal_sums
from store.acks import AckRecord, ack_from_row
from store.calendars import CalendarHeader, CalendarRows, read_header, read_rows
from store.file_facts import StoreFileFacts
from store.paths import file_identity
from store.records import (
    AlertRecord,
    EventRecord,
    GateRecord,
    RunRecord,
    SignalRecord,
    SpanRecord,
)
from store.schema import GATE_BY_CODE, MAX_GATE_BUCKET_SECONDS, SCHEMA_VERSION


class StoreUnavailable(RuntimeError):
    """The store is missing, unreadable or not a health store."""


class SchemaTooNew(StoreUnavailable):
    """The store was written by a newer production-health."""


def _ro_uri(path: Path, snapshot: bool) -> str:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    # No -wal file means no connection has the store open (a WAL store keeps it while any
    # does), so a one-shot reader may read the file as immutable and create nothing beside it.
    if snapshot and not os.path.exists(f"{path}-wal"):
        uri += "&immutable=1"
    return uri


class StoreReader(StoreFileFacts):
    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 2.0, snapshot: bool = False) -> None:
        """``snapshot=True`` for one-shot reads (reports): when no loop has the store open,
        nothing is created beside it. Live readers (console, watchdog) leave it False."""
        self.path = Path(path)
        if not self.path.exists():
            raise StoreUnavailable(f"health store {self.path} does not exist")
        if self.path.is_dir():
            raise StoreUnavailable(f"health store {self.path} is a directory, not a file")
        try:
            self.conn = sqlite3.connect(
                _ro_uri(self.path, snapshot), uri=True, timeout=timeout, check_same_thread=False
            )
            self.conn.execute("PRAGMA query_only=1")
            version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read health store {self.path}: {exc}") from None
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise SchemaTooNew(
                f"health store {self.path} has schema version {version}, newer than this "
                f"program knows ({SCHEMA_VERSION}): upgrade production-health"
            )
        if version == 0 or "runs" not in tables:
            self.conn.close()
            raise StoreUnavailable(f"{self.path} is not a production-health store (no schema)")
        self.schema_version = version

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def identity(self) -> tuple[int, int] | None:
        """(device, inode) of the store file now: changes when it is replaced."""
        return file_identity(self.path)

    def data_version(self) -> int:
        """Changes whenever another connection commits: free change detection."""
        return int(self._q("PRAGMA data_version")[0][0])  # a file gone bad: StoreUnavailable

    def _q(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read health store {self.path}: {exc}") from None

    @staticmethod
    def _src(source: str | None, column: str = "source") -> tuple[str, tuple]:
        return ("", ()) if source is None else (f" AND {column} = ?", (source,))

    # -- whole-store facts ---------------------------------------------------------------
    def sources(self) -> list[str]:
        return [r[0] for r in self._q("SELECT DISTINCT source FROM runs ORDER BY source")]

    def first_record_at(self) -> float | None:
        row = self._q("SELECT min(started_at) FROM runs")
        return row[0][0] if row else None

    def last_activity(self, source: str | None = None, before: float | None = None) -> float | None:
        """End of the newest uptime span (the last heartbeat), optionally before a time."""
        cond, params = self._src(source)
        if before is None:
            rows = self._q(f"SELECT max(end) FROM spans WHERE 1=1{cond}", params)
        else:
            rows = self._q(
                f"SELECT max(min(end, ?)) FROM spans WHERE start < ?{cond}", (before, before, *params)
            )
        return rows[0][0] if rows else None

    def first_activity_after(self, source: str, t: float) -> float | None:
        """The first heartbeat of ``source`` at or after ``t``: when a silence ended."""
        rows = self._q(  # a span starting after t ends after it: the end index finds it
            "SELECT min(start) FROM spans WHERE end >= ? AND start >= ? AND source = ?", (t, t, source)
        )
        return rows[0][0] if rows else None

    # -- windows ------------------------------------------------------------------------
    def runs(
        self, start: float | None = None, end: float | None = None, source: str | None = None
    ) -> list[RunRecord]:
        """Runs alive at some point in [start, end) (all runs when no window is given)."""
        cond, params = self._src(source)
        where = "1=1"
        args: tuple = ()
        if start is not None and end is not None:
            where = "started_at < ? AND coalesce(stopped_at, last_seen, started_at) >= ?"
            args = (end, start)
        rows = self._q(
            "SELECT run_id, source, pid, host, argv, version, config, started_at, stopped_at, "
            f"last_seen FROM runs WHERE {where}{cond} ORDER BY started_at",
            (*args, *params),
        )
        return [_run(r) for r in rows]

    def latest_runs(self) -> list[RunRecord]:
        """The newest run of each source."""
        rows = self._q(
            "SELECT run_id, source, pid, host, argv, version, config, started_at, stopped_at, "
            "last_seen FROM runs r WHERE started_at = (SELECT max(started_at) FROM runs "
            "WHERE source = r.source) ORDER BY source"
        )
        return [_run(r) for r in rows]

    def last_run_before(self, source: str, t: float) -> RunRecord | None:
        """The newest run of ``source`` started before ``t`` (index on source, started_at)."""
        rows = self._q(
            "SELECT run_id, source, pid, host, argv, version, config, started_at, stopped_at, "
            "last_seen FROM runs WHERE source = ? AND started_at < ? ORDER BY started_at DESC LIMIT 1",
            (source, t),
        )
        return _run(rows[0]) if rows else None

    def next_run_start(self, source: str, t: float) -> float | None:
        """When the first run of ``source`` at or after ``t`` started, if any."""
        rows = self._q("SELECT min(started_at) FROM runs WHERE source = ? AND started_at >= ?", (source, t))
        return rows[0][0] if rows else None

    def runs_by_id(self, run_ids: Iterable[str]) -> dict[str, RunRecord]:
        ids = list(set(run_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._q(
            "SELECT run_id, source, pid, host, argv, version, config, started_at, stopped_at, "
            f"last_seen FROM runs WHERE run_id IN ({marks})",
            ids,
        )
        return {r[0]: _run(r) for r in rows}

    def spans(
        self, start: float, end: float, source: str | None = None, slack: float = 0.0
    ) -> list[SpanRecord]:
        """Spans overlapping [start - slack, end): slack covers a span's up-time after its
        last beat (2 x the check interval)."""
        cond, params = self._src(source)
        rows = self._q(
            f"SELECT run_id, seq, source, start, end, beats FROM spans WHERE end >= ? AND start < ?{cond} "
            "ORDER BY start",
            (start - slack, end, *params),
        )
        return [SpanRecord(*r) for r in rows]

    def gate(
        self, start: float, end: float, source: str | None = None, codes: Sequence[str] | None = None
    ) -> list[GateRecord]:
        """The gate's buckets overlapping [start, end); ``codes``: only those reason codes, by
        the index on them from schema v7 (the planner, without statistics, took the primary key)."""
        cond, params = self._src(source)
        table = "gate"
        if codes is not None:
            cond += f" AND code IN ({','.join('?' * len(codes))})"
            params = (*params, *codes)
            if self.schema_version >= 7:
                table = f"gate INDEXED BY {GATE_BY_CODE}"
        rows = self._q(
            "SELECT source, bucket, code, allowed, count, min_age, max_age, sum_age, first_at, "
            f"last_at, last_reason, last_data_ts FROM {table} WHERE bucket >= ? AND bucket < ?{cond} "
            "ORDER BY bucket, source, code",
            (start - MAX_GATE_BUCKET_SECONDS, end, *params),
        )
        return [
            GateRecord(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows if r[9] >= start and r[8] < end
        ]

    def gate_totals(
        self, start: float, end: float, source: str, skip: Sequence[str]
    ) -> list[tuple[str, bool, int, int]]:
        """(code, allowed, decisions, first bucket) of the buckets ``gate`` would answer, but
        for the codes ``skip``: summed up here, for a caller that only adds them up. The codes
        ``skip`` are dropped from the groups, not the rows: SQLite's ``NOT IN`` on every bucket
        cost a fifth of the query (their buckets are rare; a NULL code is in no group either)."""
        rows = self._q(
            "SELECT code, allowed, sum(count), min(bucket) FROM gate WHERE bucket >= ? AND bucket < ? "
            "AND last_at >= ? AND first_at < ? AND source = ? GROUP BY code, allowed",
            (start - MAX_GATE_BUCKET_SECONDS, end, start, end, source),
        )
        dropped = frozenset(skip)
        return [(r[0], bool(r[1]), r[2], r[3]) for r in rows if r[0] is not None and r[0] not in dropped]

    def last_gate(
        self, source: str | None = None, limit: int = 1, before: float | None = None
    ) -> list[GateRecord]:
        """The newest gate buckets (newest first), as of ``before`` if given."""
        cond, params = self._src(source)
        if before is None:
            row = self._q("SELECT max(bucket) FROM gate")
            newest = row[0][0] if row and row[0][0] is not None else 0
            before = float("inf")
        else:
            newest = before
        rows = self._q(
            "SELECT source, bucket, code, allowed, count, min_age, max_age, sum_age, first_at, "
            f"last_at, last_reason, last_data_ts FROM gate WHERE bucket >= ? AND first_at <= ?{cond} "
            "ORDER BY last_at DESC LIMIT ?",
            (newest - 7200, before, *params, limit),
        )
        return [GateRecord(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows]

    def signals(self, start: float, end: float, source: str | None = None) -> list[SignalRecord]:
        cond, params = self._src(source)
        rows = self._q(
            "SELECT id, source, run_id, at, symbol, data_ts, details FROM signals "
            f"WHERE at >= ? AND at < ?{cond} ORDER BY at",
            (start, end, *params),
        )
        return [SignalRecord(*r) for r in rows]

    def signal_times(self, start: float, end: float, source: str | None = None) -> list[tuple[float, float]]:
        """(at, data_ts) pairs only: what the analysis needs, without building records."""
        cond, params = self._src(source)
        return self._q(
            f"SELECT at, data_ts FROM signals WHERE at >= ? AND at < ?{cond} ORDER BY at, id",
            (start, end, *params),
        )

    def signal_summaries(
        self, pieces: Sequence[tuple[int, str, float, float, float | None, float, float]]
    ) -> dict[int, tuple[int, int, int, float | None, float | None, int]]:
        """Signals summed up per piece of time in SQLite (store/signal_sums.py); from the
        per-minute sums when the store has them (schema v5), and the per-quarter-hour ones (v6)."""
        v = self.schema_version
        return signal_sums.summaries(self._q, pieces, minutes=v >= 5, quarters=v >= 6)

    def quarter_counts(self, start: float, end: float, source: str) -> list[tuple[float, int]] | None:
        """store/signal_sums.py ``quarter_counts``; None before schema v6 (no such sums)."""
        return None if self.schema_version < 6 else signal_sums.quarter_counts(self._q, source, start, end)

    def signal_counts(
        self, start: float, end: float, source: str | None = None, width: int = 60
    ) -> list[tuple[float, int]]:
        """(bucket start, signals) per ``width`` seconds with any: many sessions' counts
        without a row per signal."""
        cond, params = self._src(source)
        rows = self._q(
            f"SELECT CAST(at / ? AS INTEGER) AS b, count(*) FROM signals WHERE at >= ? AND at < ?{cond} "
            "GROUP BY b ORDER BY b",
            (width, start, end, *params),
        )
        return [(float(b * width), n) for b, n in rows]

    def newest_signal_times(
        self, source: str | None = None, limit: int = 200, before: float | None = None
    ) -> list[tuple[float, float]]:
        """(at, data_ts) of the newest signals (before ``before`` if given), newest first, by
        the ``at`` index."""
        cond, params = self._src(source)
        end = float("inf") if before is None else before
        return self._q(
            f"SELECT at, data_ts FROM signals WHERE at < ?{cond} ORDER BY at DESC LIMIT ?",
            (end, *params, limit),
        )

    def events(self, start: float, end: float, source: str | None = None) -> list[EventRecord]:
        cond, params = self._src(source)
        rows = self._q(
            f"SELECT id, source, run_id, at, kind, detail FROM events WHERE at >= ? AND at < ?{cond} "
            "ORDER BY at, id",
            (start, end, *params),
        )
        return [EventRecord(*r) for r in rows]

    def alerts(self, start: float, end: float, source: str | None = None) -> list[AlertRecord]:
        cond, params = self._src(source)
        rows = self._q(
            "SELECT id, source, code, severity, message, at, resolved, origin, detail FROM alerts "
            f"WHERE at >= ? AND at < ?{cond} ORDER BY at, id",
            (start, end, *params),
        )
        return [AlertRecord(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]) for r in rows]

    def alerts_since_id(self, after_id: int, limit: int = 200) -> list[AlertRecord]:
        rows = self._q(
            "SELECT id, source, code, severity, message, at, resolved, origin, detail FROM alerts "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [AlertRecord(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]) for r in rows]

    # -- the recorded calendars (store/calendars.py) ------------------------------------
    def calendar_header(self, code: str) -> CalendarHeader | None:
        """The recording of calendar ``code``, None when there is none (a store from before
        schema v3 has none at all)."""
        if self.schema_version < 3:
            return None
        try:
            return read_header(self.conn, code)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read health store {self.path}: {exc}") from None

    def calendar_rows(self, header: CalendarHeader) -> CalendarRows | None:
        try:
            return read_rows(self.conn, header)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read health store {self.path}: {exc}") from None

    # -- operators' acks and the watchdog's notices (store/schema.py: _acks_and_notices) --
    def acks(self, start: float, end: float) -> list[AckRecord]:
        """Acks in force at some point of [start, end), oldest first; none in a store that
        predates them."""
        return [
            ack_from_row(r)
            for r in self._q_optional(
                'SELECT id, code, source, "by", reason, at, until FROM acks WHERE until > ? AND at < ? '
                "ORDER BY at, id",
                (start, end),
            )
        ]

    def notices(self, kind: str, session: str) -> list[tuple[float, str]]:
        """(at, status) of the watchdog's notices of ``kind`` about ``session`` (YYYY-MM-DD)."""
        return self._q_optional(
            "SELECT at, status FROM notices WHERE kind = ? AND session = ? ORDER BY at", (kind, session)
        )

    def _q_optional(self, sql: str, params: Iterable = ()) -> list[tuple]:
        """A query on a table an older store lacks: no such table reads as no rows."""
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise StoreUnavailable(f"cannot read health store {self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read health store {self.path}: {exc}") from None


def _run(r: tuple) -> RunRecord:
    try:
        argv = tuple(json.loads(r[4])) if r[4] else ()
    except ValueError:
        argv = ()
    try:
        config = json.loads(r[6]) if r[6] else {}
    except ValueError:
        config = {}
    return RunRecord(r[0], r[1], r[2], r[3], argv, r[5], config, r[7], r[8], r[9])
