"""The per-minute and per-quarter-hour signal sums (schemas v5 and v6, store/signal_minutes.py)
and the period's sums read from them (store/signal_sums.py): the same answers as the rows, on
real SQLite files.

The reference for the table is computed here in Python from the signals themselves; the
reference for the sums is the row path every v4 store still takes."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
import sqlite_utils
from conftest import FakeClock, count, ny, query
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from console.cli import _console, _run
from store import signal_sums
from store.reader import StoreReader
from store.schema import MIGRATIONS, SCHEMA_VERSION, migrate

T0 = ny(2025, 12, 11, 10, 0).timestamp()  # a minute's start
INSERT = "INSERT INTO signals (source, run_id, at, symbol, data_ts) VALUES (?, 'r', ?, 'SPY', ?)"


def new_store(path: Path, version: int = SCHEMA_VERSION) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    db = sqlite_utils.Database(conn)
    for step in range(1, version + 1):
        MIGRATIONS[step](db)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO runs (run_id, source, started_at) VALUES ('r', 'a', ?)", (T0 - 86400,))
    return conn


def insert(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """(source, at, data_ts) rows in one transaction, as every writer batches them."""
    conn.execute("BEGIN")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")


def expected_minutes(path: Path, seconds: int = 60) -> dict[tuple[str, int], tuple]:
    """What signal_minutes (or, for 900 ``seconds``, signal_quarters) must hold, from the
    signals read into Python."""
    out: dict[tuple[str, int], list] = {}
    for source, at, data_ts in query(path, "SELECT source, at, data_ts FROM signals"):
        age = at - data_ts
        hours = round(age / 3600)  # a tie is 1800 s off a whole hour: never within 120 s
        whole = int(hours != 0 and abs(age - hours * 3600) <= 120)
        key = (source, int(Fraction(at) // seconds) * seconds)  # exact: at / 60 in floats may round up
        row = out.setdefault(key, [0, age, age, data_ts, data_ts, 0])
        row[0] += 1
        row[1], row[2] = min(row[1], age), max(row[2], age)
        row[3], row[4] = min(row[3], data_ts), max(row[4], data_ts)
        row[5] += whole
    return {k: tuple(v) for k, v in out.items()}


def minutes_of(path: Path, table: str = "signal_minutes") -> dict[tuple[str, int], tuple]:
    rows = query(path, f"SELECT * FROM {table}")
    assert all(type(r[1]) is int for r in rows)
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def assert_exact(path: Path) -> None:
    """Both tables hold what the signals say (a v5 store: the minutes only)."""
    assert minutes_of(path) == expected_minutes(path)
    if query(path, "PRAGMA user_version")[0][0] >= 6:
        assert minutes_of(path, "signal_quarters") == expected_minutes(path, 900)


# -- the table --------------------------------------------------------------------------------
def test_the_minute_of_a_signal_is_the_floor_of_its_time_before_1970_too(tmp_path):
    conn = new_store(tmp_path / "h.db")
    below = math.nextafter(T0, 0.0)  # a hair before a minute
    for at in (below, T0, T0 + 59.999, -30.0, -60.0, 0.0):
        conn.execute(INSERT, ("a", at, at - 5.0))
    got = minutes_of(tmp_path / "h.db")
    assert sorted(m for _s, m in got) == [-60, 0, int(T0) - 60, int(T0)]
    assert got[("a", int(T0))][0] == 2 and got[("a", -60)][0] == 2
    assert_exact(tmp_path / "h.db")


def test_a_signal_without_a_number_for_its_age_is_stored_and_left_out(tmp_path):
    """inf - inf: no writer here stores infinite times, but the trigger must never refuse one."""
    conn = new_store(tmp_path / "h.db", 4)  # stored before v5, then migrated, then written
    insert(conn, [("a", math.inf, math.inf), ("a", T0 + 1.0, T0 - 5.0)])
    assert migrate(conn) == SCHEMA_VERSION
    insert(conn, [("a", -math.inf, -math.inf), ("a", T0, T0 - 5.0)])
    conn.execute("DELETE FROM signals WHERE at = ?", (T0 + 1.0,))
    assert count(tmp_path / "h.db", "signals") == 3
    assert minutes_of(tmp_path / "h.db") == {("a", int(T0)): (1, 5.0, 5.0, T0 - 5.0, T0 - 5.0, 0)}
    pieces = [(0, "a", -math.inf, math.inf, None, 60.0, 5.0), (1, "a", T0 - 3600, T0 + 3600, None, 60.0, 5.0)]
    with StoreReader(tmp_path / "h.db") as reader:
        assert reader.signal_summaries(pieces)[1] == (1, 0, 0, 5.0, T0 - 5.0, 0)
        assert reader.signal_summaries(pieces) == signal_sums.summaries(reader._q, pieces)


def test_the_recorders_batches_keep_the_table_exact(make_monitor, store_path):
    clock = FakeClock(ny(2025, 12, 11, 10, 0))
    mon = make_monitor(source="loop", clock=clock)
    for i in range(600):  # ten minutes, a signal a second; some whole hours and future data off
        mon.record_signal("SPY", clock.epoch - (3600 + i % 7 if i % 50 == 0 else 2.0) + (i % 90 == 0) * 9)
        clock.advance(1.0)
        if i % 100 == 0:
            assert mon.flush(10)
    assert mon.flush(10)
    mon.close()
    assert count(store_path, "signals") == 600
    got = minutes_of(store_path)
    assert sum(v[0] for v in got.values()) == 600 and len(got) == 10
    assert sum(v[5] for v in got.values()) == 12  # i % 50 == 0: an hour off (+ 0..6 s)
    assert_exact(store_path)


def test_a_backfill_import_keeps_the_table_exact(tmp_path):
    store_path = tmp_path / "h.db"
    log = tmp_path / "loop.csv"
    lines = ["timestamp,symbol,data_timestamp"]
    t = ny(2025, 12, 10, 9, 30)
    for i in range(300):
        at = t + timedelta(seconds=37 * i)
        lines.append(f"{at:%Y-%m-%d %H:%M:%S},SPY,{at - timedelta(seconds=30 + i % 3600):%Y-%m-%d %H:%M:%S}")
    log.write_text("\n".join(lines) + "\n")
    now = ny(2025, 12, 15, 12, 0).isoformat()
    args = ["--import", str(log), "--source", "algo", "--store", str(store_path), "--now", now]
    assert _run("health-console", _console, args) == 0
    assert count(store_path, "signals") == 300
    assert_exact(store_path)
    assert _run("health-console", _console, args) == 0  # again: every line already there
    assert count(store_path, "signals") == 300
    assert_exact(store_path)


def test_migrating_a_v4_store_fills_the_table_and_keeps_it_from_then_on(tmp_path):
    path = tmp_path / "h.db"
    conn = new_store(path, 4)
    rows = [("ab"[i % 2], T0 + i * 7.25, T0 + i * 7.25 - (i % 13) * 400.0) for i in range(2000)]
    insert(conn, rows)
    pieces = [
        (i, s, T0 + i * 600, T0 + (i + 1) * 600, T0 + i * 300, 3000.0, 5.0) for i in range(25) for s in "ab"
    ]
    with StoreReader(path) as reader:  # readers never migrate: v4 reads the rows
        assert reader.schema_version == 4
        before = reader.signal_summaries(pieces)
    assert "signal_minutes" not in {r[0] for r in query(path, "SELECT name FROM sqlite_master")}
    assert migrate(conn) == SCHEMA_VERSION == 7
    assert_exact(path)
    with StoreReader(path) as reader:
        assert reader.schema_version == SCHEMA_VERSION
        assert reader.signal_summaries(pieces) == before
    conn.execute(INSERT, ("a", T0 + 1.5, T0 - 3600.0))
    assert_exact(path)


def test_migrating_a_v5_store_fills_the_quarters_from_its_minutes(tmp_path):
    """v6 sums the minutes up, not the rows: the same doubles, before 1970 too."""
    path = tmp_path / "h.db"
    conn = new_store(path, 5)
    rows = [("ab"[i % 3 % 2], T0 + i * 13.75, T0 + i * 13.75 - (i % 11) * 700.0) for i in range(1500)]
    rows += [("a", -1000.0 + i * 61.5, -1005.0 - i) for i in range(40)]  # minutes before 1970
    insert(conn, rows)
    pieces = [(i, s, T0 + i * 1200, T0 + (i + 1) * 1800, None, 6000.0, 5.0) for i in range(12) for s in "ab"]
    with StoreReader(path) as reader:
        assert reader.schema_version == 5
        before = reader.signal_summaries(pieces)
    assert migrate(conn) == SCHEMA_VERSION == 7
    assert len(minutes_of(path, "signal_quarters")) > 10
    assert_exact(path)
    with StoreReader(path) as reader:
        assert reader.signal_summaries(pieces) == before
    insert(conn, [("b", T0 + 901.0, T0 - 10.0), ("b", T0 - 899.5, T0 - 900.0)])
    assert_exact(path)


def test_deleting_or_moving_signals_recounts_their_minutes(tmp_path):
    """Nothing in production-health deletes or changes a signal; a person with sqlite3 may."""
    path = tmp_path / "h.db"
    conn = new_store(path)
    insert(conn, [("a", T0 + i * 10.0, T0 + i * 10.0 - i) for i in range(60)])
    conn.execute("DELETE FROM signals WHERE at >= ? AND at < ?", (T0 + 60, T0 + 120))  # a whole minute
    conn.execute("DELETE FROM signals WHERE at = ?", (T0 + 200,))  # one of a minute's six
    conn.execute("UPDATE signals SET at = at + 3600, source = 'b' WHERE at = ?", (T0 + 300,))
    conn.execute("UPDATE signals SET data_ts = data_ts - 7200 WHERE at = ?", (T0 + 310,))
    conn.execute("UPDATE signals SET symbol = 'QQQ'")  # no time changed: no recount
    assert_exact(path)
    assert ("a", int(T0) + 60) not in minutes_of(path)
    assert minutes_of(path)[("b", int(T0) + 3600 + 300)][0] == 1
    assert minutes_of(path, "signal_quarters")[("b", int(T0) + 3600)][0] == 1
    conn.execute("DELETE FROM signals WHERE source = 'a' AND at < ?", (T0 + 900,))  # a whole quarter
    assert_exact(path)
    assert [k for k in minutes_of(path, "signal_quarters") if k[0] == "a"] == []


# -- the sums: minutes and rows agree ---------------------------------------------------------
SPAN = 4 * 3600.0  # signals within four hours of T0
instants = st.one_of(
    st.integers(0, int(SPAN) // 60).map(lambda m: T0 + m * 60.0),  # on a minute
    st.floats(0, SPAN).map(lambda x: T0 + x),
    st.integers(0, int(SPAN) // 60).map(lambda m: math.nextafter(T0 + m * 60.0, 0.0)),
)
ages = st.one_of(
    st.floats(-30, 30),
    st.floats(-3 * 3600 - 200, 3 * 3600 + 200),
    st.sampled_from([3600.0, -3600.0, 3720.0, 3721.0, 7080.0, 0.0, 5.0, -5.0, 1800.0]),
)
signals_st = st.lists(st.tuples(st.sampled_from("ab"), instants, ages), max_size=60)
limits = st.tuples(
    st.one_of(st.none(), instants.map(lambda t: t - 600.0)),  # cutoff
    st.one_of(st.sampled_from([math.inf, 60.0, 3600.0]), st.floats(0, 4000)),  # max age
    st.one_of(st.sampled_from([math.inf, 0.0, 5.0]), st.floats(0, 60)),  # tolerance
)
pieces_st = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from("ab"), instants, instants, limits), max_size=12
).map(lambda ps: [(k, s, min(a, b), max(a, b), *lim) for k, s, a, b, lim in ps])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("signal-minutes")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signals=signals_st, pieces=pieces_st)
@example(  # a whole hour off by 120 s exactly, in a piece ending on a part-minute ("now")
    signals=[("a", T0 + 65.0, 3720.0), ("a", T0 + 130.5, 5.0)],
    pieces=[(0, "a", T0, T0 + 130.75, None, math.inf, 5.0)],
)
@example(  # a stale signal in a whole-minute piece: the rows count it
    signals=[("a", T0 + 65.0, 30.0), ("a", T0 + 70.0, 3.0)],
    pieces=[(0, "a", T0, T0 + 120, None, 10.0, 5.0), (0, "a", T0 + 120, T0 + 180, None, 10.0, 5.0)],
)
@example(  # fresh data from before the cutoff (the previous session's): stale
    signals=[("a", T0 + 65.0, 5.0)],
    pieces=[(0, "a", T0, T0 + 120, T0 + 61.0, math.inf, 5.0)],
)
@example(  # data just after the cutoff: the oldest age cannot tell, the minutes' data times do
    signals=[("a", T0 + 65.0, 5.0)],
    pieces=[(0, "a", T0, T0 + 120, T0 + 59.0, math.inf, 5.0)],
)
@example(  # a whole hour off in whole minutes: the ages cannot rule it out, the minutes count it
    signals=[("a", T0 + 65.0, 3600.0), ("a", T0 + 70.0, 3.0)],
    pieces=[(0, "a", T0, T0 + 120, None, math.inf, 5.0)],
)
@example(  # quarters with whole minutes and part-minutes at either edge; a stale quarter
    signals=[
        ("a", T0 + 899.5, 5.0),
        ("a", T0 + 905.0, 30.0),
        ("a", T0 + 1810.0, 3720.0),
        ("a", T0 + 2750.0, 2.0),
    ],
    pieces=[
        (0, "a", T0 + 839.5, T0 + 2760.25, T0 + 100.0, 20.0, 5.0),
        (1, "a", T0, T0 + 3600, None, 60.0, 5.0),
    ],
)
def test_the_minutes_and_quarters_answer_every_piece_as_the_rows_do(scratch, signals, pieces):
    path = scratch / "h.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = new_store(path)
    insert(conn, [(s, at, at - age) for s, at, age in signals])
    conn.close()
    assert_exact(path)
    with StoreReader(path) as reader:
        by_rows = signal_sums.summaries(reader._q, pieces, minutes=False)
        by_minutes = signal_sums.summaries(reader._q, pieces, minutes=True)
        by_quarters = signal_sums.summaries(reader._q, pieces, minutes=True, quarters=True)
        assert reader.signal_summaries(pieces) == by_quarters
    assert by_minutes == by_rows
    assert by_quarters == by_rows


def test_clean_whole_minute_pieces_read_no_signal_row(tmp_path):
    """The point of the table: a clean piece on whole minutes costs its minutes, not its rows."""
    path = tmp_path / "h.db"
    conn = new_store(path)
    insert(conn, [("a", T0 + i * 0.5, T0 + i * 0.5 - 3.0) for i in range(7200)])
    conn.close()
    # ten minutes each, then 40 minutes from 10:00 and 25 from 10:35: whole quarters inside
    pieces = [(i, "a", T0 + i * 600, T0 + (i + 1) * 600, T0 - 60, 60.0, 5.0) for i in range(6)]
    pieces += [
        (7, "a", T0, T0 + 2400, T0 - 60, 60.0, 5.0),
        (8, "a", T0 + 2100, T0 + 3600, T0 - 60, 60.0, 5.0),
    ]
    pieces += [(9, "a", T0 + 3590.5, T0 + 3600, None, 60.0, 5.0)]  # "now": part of a minute
    with StoreReader(path) as reader:
        seen: list[str] = []

        def q(sql: str, params: tuple) -> list[tuple]:
            seen.append(sql)
            return reader._q(sql, params)

        got = signal_sums.summaries(q, pieces, minutes=True, quarters=True)
    assert got == {i: (1200, 0, 0, 3.0, T0 + i * 600 + 599.5 - 3.0, 0) for i in range(6)} | {
        7: (4800, 0, 0, 3.0, T0 + 2399.5 - 3.0, 0),
        8: (3000, 0, 0, 3.0, T0 + 3599.5 - 3.0, 0),
        9: (19, 0, 0, 3.0, T0 + 3599.5 - 3.0, 0),
    }
    assert [s for s in seen if "FROM signals" in s] == [signal_sums.RANGE]  # the part-minute only
    # four columns settled every piece; the quarters answered the whole quarter hours
    assert not [s for s in seen if any(sql in s for sql in signal_sums.SUMS.values())]
    assert [s for s in seen if "signal_quarters" in s]
