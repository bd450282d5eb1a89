"""What the signal_minutes trigger (store/signal_minutes.py) costs the recorder's writer thread:
the recorder's own multi-row INSERTs (store/sql.py) of signals into a v5 store, beside the same
INSERTs into a copy without the trigger, interleaved rounds; for bench/recorder.py. The loop's
calls never run it (they append to a deque), so this is the writer's SQL only."""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from bench._common import md_row

_TARGET = "signals (source, run_id, at, symbol, data_ts, details)"
_SPACINGS = ((0.01, "100 a second"), (1.0, "1 a second"), (20.0, "1 every 20 s"))


def _store(path: Path, trigger: bool) -> sqlite3.Connection:
    from store.schema import migrate

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as the recorder writes
    migrate(conn)
    if not trigger:
        conn.execute("DROP TRIGGER signal_minutes_insert")
    return conn


def trigger_cost(work: Path, quick: bool) -> list[str]:
    from store.sql import insert_rows

    n, rounds = (20_000, 3) if quick else (100_000, 7)
    lines = [
        "### The writer's SQL per signal, with and without the `signal_minutes` trigger (schema v5)",
        "",
        f"{n:,} signals a transaction (the recorder's 500-row INSERTs), median of {rounds} "
        "interleaved rounds after a warm-up; what the writer thread spends in SQLite (GIL released), "
        "not the loop.",
        "",
        md_row(["signals", "without the trigger", "with it", "ratio", "with it: signals/s"]),
        md_row(["---", "---:", "---:", "---:", "---:"]),
    ]
    for spacing, label in _SPACINGS:
        conns = {t: _store(work / f"trigger-{t}-{spacing:g}.db", trigger=t) for t in (False, True)}
        at = dict.fromkeys(conns, 1.76e9)
        spent: dict[bool, list[float]] = {t: [] for t in conns}
        for _ in range(rounds + 1):
            for t, conn in conns.items():
                rows = [
                    ("bench", "run", at[t] + i * spacing, "SPY", at[t] + i * spacing - 5.0, None)
                    for i in range(n)
                ]
                at[t] += n * spacing
                t0 = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                insert_rows(conn, _TARGET, rows)
                conn.execute("COMMIT")
                spent[t].append(time.perf_counter() - t0)
        for conn in conns.values():
            conn.close()
        off, on = (statistics.median(spent[t][1:]) / n for t in (False, True))
        lines.append(
            md_row([label, f"{off * 1e6:.2f} µs", f"{on * 1e6:.2f} µs", f"{on / off:.2f}x", f"{1 / on:,.0f}"])
        )
    return [*lines, ""]
