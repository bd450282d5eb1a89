"""The period's signal sums from the per-minute sums (schema v5) beside the same pieces read
from the rows (what a v4 store does), and what filling the sums costs a v4 store's migration:
for bench/period.py, on its one-year store."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bench._common import md_row


def _pieces(year: Path, start: date, end: date) -> list[tuple]:
    """The pieces the period report asks the reader to sum (one run, captured)."""
    from health import period
    from health.calendar_record import calendar_for
    from health.loader import open_store

    reader = open_store(year)
    try:
        got: list[list[tuple]] = []
        orig = reader.signal_summaries
        reader.signal_summaries = lambda pieces: got.append(list(pieces)) or orig(pieces)
        now = time.time()
        period.period_report(reader, calendar_for(reader, "XNYS", start, now), start, end, now)
        return [p for pieces in got for p in pieces]
    finally:
        reader.close()


def _as_v4(src: Path, dest: Path) -> None:
    """A copy of ``src`` as production-health wrote it at schema v4: no per-minute sums."""
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dest)) as b:
        a.backup(b)
    with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as conn:
        for trigger in ("insert", "delete", "update"):
            conn.execute(f"DROP TRIGGER signal_minutes_{trigger}")
        conn.execute("DROP TABLE signal_minutes")
        conn.execute("PRAGMA user_version = 4")
        conn.execute("PRAGMA journal_mode=WAL")


def minutes_vs_rows(year: Path, start: date, end: date, rounds: int = 5) -> list[str]:
    from store import signal_sums
    from store.reader import StoreReader
    from store.schema import migrate

    pieces = _pieces(year, start, end)
    times: dict[bool, list[float]] = {True: [], False: []}
    with StoreReader(year, snapshot=True) as reader:
        answers = {}
        for _ in range(rounds):  # interleaved
            for minutes in (False, True):
                t0 = time.perf_counter()
                answers[minutes] = signal_sums.summaries(reader._q, pieces, minutes=minutes)
                times[minutes].append(time.perf_counter() - t0)
        n_minutes = reader._q("SELECT count(*), sum(count) FROM signal_minutes")[0]
    if answers[True] != answers[False]:
        raise SystemExit("signal_summaries: the per-minute sums and the rows disagree")
    rows, mins = statistics.median(times[False]), statistics.median(times[True])
    migrations = []
    tmp = Path(tempfile.mkdtemp(prefix="period-minutes-"))
    try:
        for _ in range(3):
            v4 = tmp / "v4.db"
            for f in tmp.iterdir():
                f.unlink()
            _as_v4(year, v4)
            with contextlib.closing(sqlite3.connect(v4, isolation_level=None)) as conn:
                conn.execute("SELECT count(*) FROM signals").fetchone()  # its pages in the cache
                t0 = time.perf_counter()
                migrate(conn)
                migrations.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        "### The signals per piece: per-minute sums (schema v5) against the rows (v4), same run",
        "",
        md_row(["how", f"the period's {len(pieces):,} pieces, median of {rounds} interleaved", "/ rows"]),
        md_row(["---", "---:", "---:"]),
        md_row(["the rows (`idx_signals_at`, a v4 store)", f"{rows * 1e3:.0f} ms", "1.00x"]),
        md_row(["`signal_minutes`", f"{mins * 1e3:.0f} ms", f"{mins / rows:.2f}x"]),
        "",
        f"The same answers for every piece. The table holds {n_minutes[0]:,} rows (loop, minute) "
        f"for the store's {n_minutes[1]:,} signals. Migrating this store from v4 (filling the table "
        f"from its signals, once, under the migration's lock, in the first `ProductionMonitor(...)` "
        f"of a new version): {statistics.median(migrations) * 1e3:.0f} ms, median of 3 copies.",
        "",
    ]
