"""The gate's buckets a period reads (health/period_gate.py): the rare codes one by one, by the
index on (code, source, bucket) from schema v7, and the rest summed up per day by
``StoreReader.gate_totals``, which drops the rare codes from its groups rather than its rows.

Both are held to the definition (a bucket is in a day when ``last_at >= lo AND first_at < hi``)
applied in Python to every row, and to the query that summed the rows before (``NOT IN`` in
SQL), on random buckets in a real SQLite file: several loops, buckets straddling midnight, the
DST days of America/New_York (23 and 25 h), a last day cut at "now", the rare codes and a NULL
code mixed in. A store from before v7 (readers never migrate) answers the same without the index.
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from health.calendar import day_bounds
from health.period_gate import ONE_BY_ONE
from store.reader import StoreReader
from store.schema import GATE_BY_CODE, MAX_GATE_BUCKET_SECONDS, MIGRATIONS, SCHEMA_VERSION, migrate

NY = ZoneInfo("America/New_York")
CODES = ("ok", "closed", "holiday", *ONE_BY_ONE, None)
SOURCES = ("alpha", "beta", "gamma")
# The per-day sums as they were asked before: the rare codes filtered out row by row in SQL.
BEFORE = (
    "SELECT code, allowed, sum(count), min(bucket) FROM gate WHERE bucket >= ? AND bucket < ? "
    "AND last_at >= ? AND first_at < ? AND source = ? AND code NOT IN ({}) GROUP BY code, allowed"
)


def _store(path: Path, version: int, rows: list[tuple]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    for step in range(1, version + 1):
        MIGRATIONS[step](db)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO runs (run_id, source, started_at) VALUES ('r', 'alpha', 0)")
    conn.executemany(
        "INSERT OR IGNORE INTO gate (source, bucket, code, allowed, count, first_at, last_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.close()


def _rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT source, bucket, code, allowed, count, first_at, last_at FROM gate"
        ).fetchall()
    finally:
        conn.close()


def _windows(first: date, days: int, cut: float) -> list[tuple[float, float]]:
    """``days`` local days from ``first``, the last cut ``cut`` of the way through (a report's
    today ends at now)."""
    wins = [day_bounds(first + timedelta(days=i), NY) for i in range(days)]
    lo, hi = wins[-1]
    wins[-1] = (lo, min(hi, lo + round(cut * (hi - lo), 3)))
    return wins


@st.composite
def buckets(draw, start: float, end: float) -> list[tuple]:
    """Gate rows as the recorder writes them (first_at and last_at inside the bucket's hour),
    half of them near a window's edge, some exactly on it; a few with allowed 2 (any non-zero is allowed)."""
    edges = st.sampled_from(
        sorted({start, end, *(day_bounds(date(2025, m, d), NY)[0] for m, d in EDGE_DAYS)})
    )
    rows = []
    for _ in range(draw(st.integers(0, 60))):
        near = draw(st.booleans())
        base = draw(edges) if near else draw(st.floats(start - 2 * 3600, end + 3600))
        bucket = int(base // 300 * 300) + draw(st.integers(-12, 3)) * 300
        first = bucket + draw(st.floats(0, MAX_GATE_BUCKET_SECONDS - 1))
        last = draw(st.floats(first, bucket + MAX_GATE_BUCKET_SECONDS - 0.001))
        if near and bucket <= base < bucket + MAX_GATE_BUCKET_SECONDS:  # on the edge to the bit
            first, last = draw(
                st.sampled_from([(first, max(first, base)), (min(base, last), last), (base, base)])
            )
        code = draw(st.sampled_from(CODES))
        allowed = draw(st.sampled_from((0, 1, 1, 2)))
        rows.append(
            (draw(st.sampled_from(SOURCES)), bucket, code, allowed, draw(st.integers(1, 9)), first, last)
        )
    return rows


EDGE_DAYS = ((3, 8), (3, 9), (3, 10), (3, 11), (11, 1), (11, 2), (11, 3), (11, 4))


def _defined(rows: list[tuple], lo: float, hi: float, source: str) -> list[tuple[str, bool, int, int]]:
    """The day's sums by their definition, over every row, in GROUP BY code, allowed order."""
    groups: dict[tuple[str, int], list[int]] = {}
    for src, bucket, code, allowed, count, first, last in rows:
        inside = lo - MAX_GATE_BUCKET_SECONDS <= bucket < hi and last >= lo and first < hi
        if src == source and inside and code is not None and code not in ONE_BY_ONE:
            g = groups.setdefault((code, allowed), [0, bucket])
            g[0] += count
            g[1] = min(g[1], bucket)
    return [(c, bool(a), n, b) for (c, a), (n, b) in sorted(groups.items())]


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from([date(2025, 3, 7), date(2025, 10, 31), date(2025, 6, 10)]),
    days=st.integers(1, 6),
    cut=st.sampled_from([1.0, 0.5, 0.0001]),
    data=st.data(),
)
def test_the_days_sums_and_rare_buckets_are_those_of_every_row(first, days, cut, data) -> None:
    wins = _windows(first, days, cut)
    rows = data.draw(buckets(wins[0][0], wins[-1][1]))
    marks = ",".join("?" * len(ONE_BY_ONE))
    with tempfile.TemporaryDirectory() as tmp:
        answers = []
        for version in (6, SCHEMA_VERSION):
            path = Path(tmp) / f"v{version}.db"
            _store(path, version, rows)
            stored = _rows(path)  # as kept: a duplicate key is written once
            with StoreReader(path, snapshot=True) as reader:
                assert reader.schema_version == version
                seen = []
                for lo, hi in wins:
                    for source in SOURCES:
                        totals = reader.gate_totals(lo, hi, source, ONE_BY_ONE)
                        assert totals == _defined(stored, lo, hi, source)
                        before = reader.conn.execute(
                            BEFORE.format(marks),
                            (lo - MAX_GATE_BUCKET_SECONDS, hi, lo, hi, source, *ONE_BY_ONE),
                        ).fetchall()
                        assert totals == [(c, bool(a), n, b) for c, a, n, b in before]
                        rare = reader.gate(lo, hi, source, codes=ONE_BY_ONE)
                        assert rare == [g for g in reader.gate(lo, hi, source) if g.code in ONE_BY_ONE]
                        seen.append((totals, rare))
                answers.append(seen)
        assert answers[0] == answers[1]  # with the index and without it


def test_migrating_to_v7_indexes_the_gate_by_code_and_the_rare_buckets_are_found_by_it(tmp_path) -> None:
    lo, hi = day_bounds(date(2025, 11, 3), NY)
    rows = [
        ("alpha", int(lo) + i * 300, code, int(code == "ok"), 3, lo + i * 300 + 1, lo + i * 300 + 200)
        for i in range(288)
        for code in ("ok", "closed")
    ]
    rows += [
        ("alpha", int(lo) + 3000, "stale", 0, 2, lo + 3001, lo + 3100),
        ("beta", int(lo), "future", 0, 1, lo, lo),
    ]
    path = tmp_path / "h.db"
    _store(path, 6, rows)
    with StoreReader(path) as reader:  # readers never migrate: v6 is read without the index
        before = [reader.gate(lo, hi, s, codes=ONE_BY_ONE) for s in ("alpha", "beta", None)]
        totals = reader.gate_totals(lo, hi, "alpha", ONE_BY_ONE)
    assert [len(b) for b in before] == [1, 1, 2]
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn) == SCHEMA_VERSION == 7
    indexes = {r[0]: r[1] for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    assert "(code, source, bucket)" in indexes[GATE_BY_CODE].replace('"', "")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with StoreReader(path) as reader:
        assert [reader.gate(lo, hi, s, codes=ONE_BY_ONE) for s in ("alpha", "beta", None)] == before
        assert reader.gate_totals(lo, hi, "alpha", ONE_BY_ONE) == totals
        asked: list[str] = []
        reader.conn.set_trace_callback(asked.append)
        reader.gate(lo, hi, "alpha", codes=ONE_BY_ONE)
        reader.conn.set_trace_callback(None)
        plan = reader.conn.execute(f"EXPLAIN QUERY PLAN {asked[-1]}").fetchall()
        assert any(
            f"INDEX {GATE_BY_CODE} (code=? AND source=? AND bucket>? AND bucket<?)" in r[3] for r in plan
        )
