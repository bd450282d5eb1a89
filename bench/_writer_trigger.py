"""What the signal_minutes and signal_quarters triggers (store/signal_minutes.py) cost the
recorder's writer thread: the recorder's own multi-row INSERTs (store/sql.py) of signals into a
v6 store, beside the same INSERTs into copies with the minutes' trigger only (v5) and without
either, interleaved rounds; for bench/recorder.py. The loop's
calls never run it (they append to a deque), so this is the writer's SQL only."""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from bench._common import md_row

_TARGET = "signals (source, run_id, at, symbol, data_ts, details)"
_SPACINGS = ((0.01, "100 a second"), (1.0, "1 a second"), (20.0, "1 every 20 s"))


_KEPT = {0: (), 1: ("signal_minutes",), 2: ("signal_minutes", "signal_quarters")}  # insert triggers
_DROPPED = ("signal_minutes", "signal_quarters")


def _store(path: Path, triggers: int) -> sqlite3.Connection:
    from store.schema import migrate

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as the recorder writes
    migrate(conn)
    for table in _DROPPED:
        if table not in _KEPT[triggers]:
            conn.execute(f"DROP TRIGGER {table}_insert")
    return conn


def trigger_cost(work: Path, quick: bool) -> list[str]:
    from store.sql import insert_rows

    n, rounds = (20_000, 3) if quick else (100_000, 7)
    lines = [
        "### The writer's SQL per signal, without the sums' triggers, with `signal_minutes`'s (v5), "
        "and with `signal_quarters`'s too (v6)",
        "",
        f"{n:,} signals a transaction (the recorder's 500-row INSERTs), median of {rounds} "
        "interleaved rounds after a warm-up; what the writer thread spends in SQLite (GIL released), "
        "not the loop.",
        "",
        md_row(
            ["signals", "no trigger", "minutes (v5)", "both (v6)", "v6 / none", "v6 / v5", "v6: signals/s"]
        ),
        md_row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ]
    for spacing, label in _SPACINGS:
        conns = {t: _store(work / f"trigger-{t}-{spacing:g}.db", t) for t in _KEPT}
        at = dict.fromkeys(conns, 1.76e9)
        spent: dict[int, list[float]] = {t: [] for t in conns}
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
        off, v5, v6 = (statistics.median(spent[t][1:]) / n for t in _KEPT)
        lines.append(
            md_row(
                [
                    label,
                    *(f"{x * 1e6:.2f} µs" for x in (off, v5, v6)),
                    f"{v6 / off:.2f}x",
                    f"{v6 / v5:.2f}x",
                    f"{1 / v6:,.0f}",
                ]
            )
        )
    return [*lines, ""]
