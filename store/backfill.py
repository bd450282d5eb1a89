"""Writing a backfill: a loop's past signals and beats, read from its own logs, in one
transaction — all of it or, on any failure, nothing.

An explicit operator command (``health-console --import``), so the fourth writer beside the
recorders, the alert log and acks (docs/CONTRACT.md §5). It is idempotent: a signal already in
the store for that loop (same instant, symbol and data time) is not added again, nor a beat
that falls within an uptime span the store already holds for the loop (it tells nothing new),
so importing a file twice adds nothing. The beats left are joined into spans as the recorder
joins them (beats further apart than ``RunInfo.heartbeat_gap`` start a new span), under one run
per loop and check interval (``import_run_id``) whose start, last beat and clean stop grow with
each import; the clean stop is where the last beat stops keeping the loop up (a beat keeps it
up for ``heartbeat_gap``).
"""

from __future__ import annotations

import bisect
import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from store.records import RunInfo
from store.schema import SchemaTooNewError, migrate
from store.signal_minutes import summed_at_the_end
from store.sql import insert_rows


class BackfillWriteError(RuntimeError):
    """Nothing was written: one line for the operator."""


@dataclass(frozen=True)
class BackfillResult:
    signals_added: int
    signals_present: int  # in the store already, or repeated in the file
    beats_added: int
    beats_present: int  # within a span the store already held, or repeated
    spans_added: int
    created: bool  # the store did not exist before


def import_run_id(source: str, check_interval: float) -> str:
    return f"import:{source}:{check_interval:g}s"


def write_backfill(
    path: str | Path,
    run: RunInfo,
    signals: Iterable[tuple[float, str, float]],
    beats: Iterable[float],
    *,
    busy_timeout: float = 2.0,
) -> BackfillResult:
    """Add ``signals`` (at, symbol, data_ts) and ``beats`` (at) of ``run.source`` under
    ``run``; raise :class:`BackfillWriteError` with the store as it was. Symbols are text
    SQLite can store (no lone surrogate: the reader checked each)."""
    path = Path(path)
    created = not path.exists()
    if created and not path.parent.is_dir():
        raise BackfillWriteError(f"cannot create health store {path}: no directory {path.parent}")
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        if created:
            conn.execute("PRAGMA journal_mode=WAL")  # as the recorder creates it
        conn.execute("PRAGMA synchronous=NORMAL")  # as the recorder writes: no fsync per commit in WAL
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = _write(conn, run, list(signals), sorted(beats), created)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result
    except SchemaTooNewError as exc:
        raise BackfillWriteError(str(exc)) from None
    except (sqlite3.Error, OSError) as exc:
        raise BackfillWriteError(f"cannot write to health store {path}: {exc} (nothing imported)") from None
    finally:
        if conn is not None:
            conn.close()
        if created and not _has_runs(path):
            for suffix in ("", "-wal", "-shm"):  # leave no empty store behind a failure
                with contextlib.suppress(OSError):
                    Path(f"{path}{suffix}").unlink()


def _has_runs(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _write(
    conn: sqlite3.Connection,
    run: RunInfo,
    signals: list[tuple[float, str, float]],
    beats: list[float],
    created: bool,
) -> BackfillResult:
    src, rid = run.source, run.run_id
    times = [s[0] for s in signals]
    new_signals: list[tuple[float, str, float]] = []
    if signals:
        lo, hi = min(times), max(times)
        seen = set(
            conn.execute(
                "SELECT at, symbol, data_ts FROM signals WHERE at >= ? AND at <= ? AND source = ?",
                (lo, hi, src),
            ).fetchall()
        )
        for s in signals:
            if s not in seen:
                seen.add(s)
                new_signals.append(s)
    new_beats = _uncovered(conn, src, beats)
    spans = _spans(new_beats, run.heartbeat_gap)
    activity = [*new_beats, *(s[0] for s in new_signals)]
    if activity:
        first, last = min(activity), max(activity)
        conn.execute(
            "INSERT INTO runs (run_id, source, pid, host, argv, version, config, started_at, stopped_at, "
            "last_seen) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET "
            "started_at=min(started_at, excluded.started_at), stopped_at=max(coalesce(stopped_at, 0), "
            "excluded.stopped_at), last_seen=max(coalesce(last_seen, 0), excluded.last_seen)",
            (*run.row()[:7], first, last + run.heartbeat_gap, last),
        )
        seq = conn.execute(
            "SELECT coalesce(max(seq), -1) + 1 FROM spans WHERE run_id = ?", (rid,)
        ).fetchone()[0]
        insert_rows(
            conn,
            "spans (run_id, seq, source, start, end, beats)",
            [(rid, seq + i, src, start, end, n) for i, (start, end, n) in enumerate(spans)],
        )
        with summed_at_the_end(conn):  # store/signal_minutes.py: no upsert per signal
            insert_rows(
                conn,
                "signals (source, run_id, at, symbol, data_ts, details)",
                [(src, rid, at, symbol, data_ts, None) for at, symbol, data_ts in new_signals],
            )
    return BackfillResult(
        signals_added=len(new_signals),
        signals_present=len(signals) - len(new_signals),
        beats_added=len(new_beats),
        beats_present=len(beats) - len(new_beats),
        spans_added=len(spans),
        created=created,
    )


def _uncovered(conn: sqlite3.Connection, source: str, beats: list[float]) -> list[float]:
    """The sorted ``beats`` that no span of ``source`` in the store holds, once each."""
    if not beats:
        return []
    rows = conn.execute(
        "SELECT start, end FROM spans WHERE source = ? AND end >= ? AND start <= ? ORDER BY start",
        (source, beats[0], beats[-1]),
    ).fetchall()
    starts = [r[0] for r in rows]
    reach = []  # the furthest end of the spans starting at or before each one
    furthest = float("-inf")
    for _start, end in rows:
        furthest = max(furthest, end)
        reach.append(furthest)
    out: list[float] = []
    previous = None
    for t in beats:
        if t == previous:
            continue
        previous = t
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and reach[i] >= t:
            continue
        out.append(t)
    return out


def _spans(beats: list[float], gap: float) -> list[tuple[float, float, int]]:
    """Sorted beats joined as the recorder joins them: (start, end, beats)."""
    spans: list[tuple[float, float, int]] = []
    start = end = None
    n = 0
    for t in beats:
        if end is not None and t - end <= gap:
            end = t
            n += 1
            continue
        if end is not None:
            spans.append((start, end, n))
        start = end = t
        n = 1
    if end is not None:
        spans.append((start, end, n))
    return spans
