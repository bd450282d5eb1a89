"""The period's signal sums from the per-quarter-hour sums (schema v6) beside the same pieces
from the per-minute sums alone (v5) and from the rows (what a v4 store does), and what filling
the sums costs a v4 and a v5 store's migration: for bench/period.py, on its one-year store."""

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
from store.schema import GATE_BY_CODE


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


def _as_version(src: Path, dest: Path, version: int) -> None:
    """A copy of ``src`` as production-health wrote it at schema ``version`` (4 or 5): without
    the sums, and the gate's index by code (v7), that came later."""
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dest)) as b:
        a.backup(b)
    with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as conn:
        for table in ("signal_quarters", "signal_minutes")[: 6 - version]:
            for trigger in ("insert", "delete", "update"):
                conn.execute(f"DROP TRIGGER {table}_{trigger}")
            conn.execute(f"DROP TABLE {table}")
        conn.execute(f"DROP INDEX IF EXISTS {GATE_BY_CODE}")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("PRAGMA journal_mode=WAL")


def minutes_vs_rows(year: Path, start: date, end: date, rounds: int = 5) -> list[str]:
    from store import signal_sums
    from store.reader import StoreReader
    from store.schema import migrate

    pieces = _pieces(year, start, end)
    modes = {"rows": {}, "minutes": {"minutes": True}, "quarters": {"minutes": True, "quarters": True}}
    times: dict[str, list[float]] = {m: [] for m in modes}
    with StoreReader(year, snapshot=True) as reader:
        answers = {}
        for _ in range(rounds):  # interleaved
            for mode, kw in modes.items():
                t0 = time.perf_counter()
                answers[mode] = signal_sums.summaries(reader._q, pieces, **kw)
                times[mode].append(time.perf_counter() - t0)
        n_minutes = reader._q("SELECT count(*), sum(count) FROM signal_minutes")[0]
        n_quarters = reader._q("SELECT count(*) FROM signal_quarters")[0][0]
    if not answers["rows"] == answers["minutes"] == answers["quarters"]:
        raise SystemExit("signal_summaries: the per-minute or per-quarter sums and the rows disagree")
    rows, mins, quarters = (statistics.median(times[m]) for m in modes)
    migrations: dict[int, list[float]] = {4: [], 5: []}
    tmp = Path(tempfile.mkdtemp(prefix="period-minutes-"))
    try:
        for _ in range(3):
            for version, took in migrations.items():
                old = tmp / f"v{version}.db"
                for f in tmp.iterdir():
                    f.unlink()
                _as_version(year, old, version)
                with contextlib.closing(sqlite3.connect(old, isolation_level=None)) as conn:
                    conn.execute("SELECT count(*) FROM signals").fetchone()  # its pages in the cache
                    import sqlite_utils  # noqa: F401  (migrate's import, not the migration's cost)

                    t0 = time.perf_counter()
                    migrate(conn)
                    took.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    v4, v5 = (statistics.median(migrations[v]) * 1e3 for v in (4, 5))
    return [
        "### The signals per piece: per-quarter-hour sums (schema v6), per-minute sums (v5) and the rows (v4), same run",
        "",
        md_row(["how", f"the period's {len(pieces):,} pieces, median of {rounds} interleaved", "/ rows"]),
        md_row(["---", "---:", "---:"]),
        md_row(["the rows (`idx_signals_at`, a v4 store)", f"{rows * 1e3:.0f} ms", "1.00x"]),
        md_row(["`signal_minutes` (v5)", f"{mins * 1e3:.0f} ms", f"{mins / rows:.2f}x"]),
        md_row(
            [
                "`signal_quarters`, edge minutes from `signal_minutes` (v6)",
                f"{quarters * 1e3:.0f} ms",
                f"{quarters / rows:.2f}x",
            ]
        ),
        "",
        f"The same answers for every piece. The tables hold {n_minutes[0]:,} rows (loop, minute) and "
        f"{n_quarters:,} (loop, quarter hour) for the store's {n_minutes[1]:,} signals. Migrating "
        f"this store (filling the tables, once, under the migration's lock, in the first "
        f"`ProductionMonitor(...)` of a new version), median of 3 copies: from v4 (both from the "
        f"signals) {v4:.0f} ms; from v5 (the quarters from the minutes) {v5:.0f} ms.",
        "",
    ]
