"""What the reader returns for a window, row by row, on a real store whose rows sit exactly on
the window's edges: [start, end) for runs, spans, gate buckets, signals, events and alerts; the
source filter; the order; the limits; and the one-line StoreUnavailable for a file that is no
store (docs/CONTRACT.md §5)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store.reader import SchemaTooNew, StoreReader, StoreUnavailable
from store.schema import SCHEMA_VERSION, migrate

T = 1_765_382_400.0  # 2025-12-10T16:00:00Z: the window [T, T + 3600)
END = T + 3600


def _run(run_id, source, started, stopped=None, last_seen=None, argv='["loop.py"]', config='{"a": 1}'):
    return (run_id, source, 4242, "trading-host", argv, "0.1.0", config, started, stopped, last_seen)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "health.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn)
    with conn:
        conn.executemany(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                _run("before", "a", T - 7200, stopped=T - 1),  # ended before the window
                _run("edge-stop", "a", T - 7200, stopped=T),  # stopped exactly at its start
                _run("open", "a", T - 60, last_seen=T + 100),
                _run("b-run", "b", T + 10, last_seen=T + 20, argv="not json", config="{bad"),
                _run("at-end", "a", END, last_seen=END + 5),  # starts exactly at the end: outside
                _run("seen-only", "b", T - 500, last_seen=T - 400),
            ],
        )
        conn.executemany(
            "INSERT INTO spans VALUES (?,?,?,?,?,?)",
            [
                (
                    "before",
                    0,
                    "a",
                    T - 7200,
                    T - 121,
                    10,
                ),  # ends 121 s before: outside, even with 120 s slack
                ("edge-stop", 0, "a", T - 3000, T - 120, 5),  # inside with 120 s slack only
                ("open", 0, "a", T - 60, T + 100, 3),
                ("b-run", 0, "b", T + 10, T + 20, 2),
                ("at-end", 0, "a", END, END + 5, 1),  # starts at the end: outside
            ],
        )
        gate = [
            # source, bucket, code, allowed, count, min, max, sum, first, last, reason, data_ts
            ("a", int(T - 3600), "stale", 0, 2, 4000, 4100, 8100, T - 3600, T - 1, "old", T - 4000),
            ("a", int(T - 3600), "ok", 1, 3, 5, 6, 16, T - 3500, T, "ok: reaches the start", T - 5),
            ("a", int(T), "ok", 1, 4, 1, 2, 6, T, T + 200, "ok: inside", T + 198),
            ("b", int(T + 300), "closed", 0, 1, 9, 9, 9, T + 300, T + 300, "closed", T + 291),
            ("a", int(END - 300), "ok", 1, 1, 1, 1, 1, END, END + 10, "ok: starts at the end", END),
        ]
        conn.executemany("INSERT INTO gate VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", gate)
        conn.executemany(
            "INSERT INTO signals (source, run_id, at, symbol, data_ts, details) VALUES (?,?,?,?,?,?)",
            [
                ("a", "open", T - 0.001, "BEFORE", T - 5, None),
                ("a", "open", T, "FIRST", T - 5, '{"px": 1}'),
                ("b", "b-run", T + 15, "B", T + 10, None),
                ("a", "open", END - 0.001, "LAST", END - 5, None),
                ("a", "open", END, "AFTER", END - 5, None),
            ],
        )
        conn.executemany(
            "INSERT INTO events (source, run_id, at, kind, detail) VALUES (?,?,?,?,?)",
            [
                ("a", "open", T - 1, "start", None),
                ("a", "open", T, "mark", "{}"),
                ("b", None, END, "x", None),
            ],
        )
        conn.executemany(
            "INSERT INTO alerts (source, code, severity, message, at, resolved, origin, detail) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                ("a", "NO_ACTIVITY", "critical", "silent", T - 1, 0, "loop", None),
                ("a", "NO_ACTIVITY", "critical", "silent", T, 0, "loop", None),
                ("b", "STALE_DATA", "warning", "stale", T + 5, 1, "watchdog", "{}"),
                ("a", "STALE_DATA", "warning", "stale", END, 0, "watchdog", None),
            ],
        )
    conn.close()
    return path


def test_runs_alive_in_the_window(store: Path) -> None:
    with StoreReader(store) as r:
        assert [x.run_id for x in r.runs(T, END)] == ["edge-stop", "open", "b-run"]
        assert [x.run_id for x in r.runs(T, END, source="b")] == ["b-run"]
        assert [x.run_id for x in r.runs()] == ["before", "edge-stop", "seen-only", "open", "b-run", "at-end"]
        (b,) = r.runs(T, END, source="b")
        assert (b.argv, b.config, b.pid, b.host, b.version) == ((), {}, 4242, "trading-host", "0.1.0")
        (o,) = [x for x in r.runs(T, END) if x.run_id == "open"]
        assert (o.argv, o.config, o.started_at, o.stopped_at, o.last_seen) == (
            ("loop.py",),
            {"a": 1},
            T - 60,
            None,
            T + 100,
        )


def test_run_lookups(store: Path) -> None:
    with StoreReader(store) as r:
        assert [(x.source, x.run_id) for x in r.latest_runs()] == [("a", "at-end"), ("b", "b-run")]
        assert r.last_run_before("a", T).run_id == "open"
        assert r.last_run_before("a", T - 60).run_id in ("before", "edge-stop")
        assert r.last_run_before("b", T - 500) is None
        assert r.next_run_start("a", T - 60) == T - 60
        assert r.next_run_start("a", T - 59) == END
        assert r.next_run_start("b", T + 11) is None
        assert set(r.runs_by_id(["open", "b-run", "nope", "open"])) == {"open", "b-run"}
        assert r.runs_by_id([]) == {}
        assert r.sources() == ["a", "b"]
        assert r.first_record_at() == T - 7200


def test_spans_overlapping_the_window_with_slack(store: Path) -> None:
    with StoreReader(store) as r:
        assert [s.run_id for s in r.spans(T, END)] == ["open", "b-run"]
        assert [s.run_id for s in r.spans(T, END, slack=120)] == ["edge-stop", "open", "b-run"]
        assert [s.run_id for s in r.spans(T, END, source="b", slack=120)] == ["b-run"]
        (s,) = r.spans(T, END, source="b")
        assert (s.seq, s.source, s.start, s.end, s.beats) == (0, "b", T + 10, T + 20, 2)


def test_last_activity(store: Path) -> None:
    with StoreReader(store) as r:
        assert r.last_activity() == END + 5
        assert r.last_activity("b") == T + 20
        assert r.last_activity("a", before=T + 50) == T + 50  # a span still going at that time
        assert r.last_activity("a", before=T - 60) == T - 120
        assert r.last_activity("b", before=T + 10) is None  # a span starting then is not before it
        assert r.last_activity("zzz") is None


def test_gate_buckets_reaching_into_the_window(store: Path) -> None:
    with StoreReader(store) as r:
        got = r.gate(T, END)
        assert [(g.source, g.code, g.last_reason) for g in got] == [
            ("a", "ok", "ok: reaches the start"),
            ("a", "ok", "ok: inside"),
            ("b", "closed", "closed"),
        ]
        assert [g.allowed for g in got] == [True, True, False]
        assert [g.last_reason for g in r.gate(T, END, source="b")] == ["closed"]
        g = got[1]
        assert (
            g.bucket,
            g.count,
            g.min_age,
            g.max_age,
            g.sum_age,
            g.first_at,
            g.last_at,
            g.last_data_ts,
        ) == (
            int(T),
            4,
            1,
            2,
            6,
            T,
            T + 200,
            T + 198,
        )


def test_the_newest_gate_buckets(store: Path) -> None:
    with StoreReader(store) as r:
        assert [g.last_reason for g in r.last_gate()] == ["ok: starts at the end"]
        assert [g.last_reason for g in r.last_gate(limit=2)] == ["ok: starts at the end", "closed"]
        assert [g.last_reason for g in r.last_gate(source="a", limit=2)] == [
            "ok: starts at the end",
            "ok: inside",
        ]
        assert [g.last_reason for g in r.last_gate(before=T + 300, limit=3)] == [
            "closed",
            "ok: inside",
            "ok: reaches the start",
        ]
        assert [g.allowed for g in r.last_gate(before=T + 300, limit=1)] == [False]
        assert r.last_gate(source="b", before=T + 299) == []


def test_signals_events_and_alerts_in_the_window(store: Path) -> None:
    with StoreReader(store) as r:
        assert [s.symbol for s in r.signals(T, END)] == ["FIRST", "B", "LAST"]
        assert [s.symbol for s in r.signals(T, END, source="a")] == ["FIRST", "LAST"]
        first = r.signals(T, END)[0]
        assert (first.source, first.run_id, first.at, first.data_ts, first.details) == (
            "a",
            "open",
            T,
            T - 5,
            '{"px": 1}',
        )
        assert r.signal_times(T, END, source="b") == [(T + 15, T + 10)]
        assert r.signal_times(T, END) == [(T, T - 5), (T + 15, T + 10), (END - 0.001, END - 5)]
        assert r.newest_signal_times(limit=2) == [(END, END - 5), (END - 0.001, END - 5)]
        assert r.newest_signal_times(source="b") == [(T + 15, T + 10)]
        assert [(e.kind, e.detail) for e in r.events(T, END)] == [("mark", "{}")]
        assert r.events(T, END, source="b") == []
        alerts = r.alerts(T, END)
        assert [(a.source, a.code, a.resolved, a.origin) for a in alerts] == [
            ("a", "NO_ACTIVITY", False, "loop"),
            ("b", "STALE_DATA", True, "watchdog"),
        ]
        assert [a.code for a in r.alerts(T, END, source="b")] == ["STALE_DATA"]
        a = alerts[1]
        assert (a.severity, a.message, a.at, a.detail) == ("warning", "stale", T + 5, "{}")
        assert [a.at for a in r.alerts_since_id(2)] == [T + 5, END]
        assert [a.at for a in r.alerts_since_id(1, limit=1)] == [T]
        assert r.alerts_since_id(2)[0].resolved is True


def test_facts_about_the_file(store: Path) -> None:
    with StoreReader(store) as r:
        assert r.schema_version == SCHEMA_VERSION
        assert r.quick_check() == "ok"
        assert r.journal_mode() == "delete"  # migrate() alone: no loop made it WAL
        assert r.wal_bytes() == 0
        assert isinstance(r.data_version(), int)
        assert r.identity() == (store.stat().st_dev, store.stat().st_ino)
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("UPDATE runs SET host = 'h2'")
    conn.commit()
    with StoreReader(store) as r:
        assert r.journal_mode() == "wal"
        assert r.wal_bytes() > 0
    conn.close()


def test_journal_mode_of_a_file_that_is_no_store(tmp_path: Path, store: Path) -> None:
    with StoreReader(store) as r:
        r.path = tmp_path / "short"
        r.path.write_bytes(b"SQLite format 3\x00")
        assert r.journal_mode() == "unknown"
        r.path.write_bytes(b"x" * 100)
        assert r.journal_mode() == "unknown"
        r.path = tmp_path / "missing"
        assert r.journal_mode() == "unknown"
        assert r.wal_bytes() == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "health store {p} does not exist"),
        (lambda p: p.mkdir(), "health store {p} is a directory, not a file"),
        (
            lambda p: p.write_bytes(b"not a database at all" * 100),
            "cannot read health store {p}: file is not a database",
        ),
        (
            lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.commit(),
            "{p} is not a production-health store (no schema)",
        ),
    ],
    ids=["missing", "directory", "garbage", "no-schema"],
)
def test_what_is_no_store_is_said_in_one_line(tmp_path: Path, make, message) -> None:
    path = tmp_path / "x.db"
    make(path)
    with pytest.raises(StoreUnavailable) as refused:
        StoreReader(path)
    assert str(refused.value) == message.format(p=path)
    assert not isinstance(refused.value, SchemaTooNew)


def test_a_store_without_the_runs_table_is_no_store(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE spans (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreUnavailable, match="is not a production-health store"):
        StoreReader(path)


def test_a_newer_schema_says_upgrade(store: Path) -> None:
    conn = sqlite3.connect(store)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew) as refused:
        StoreReader(store)
    assert str(refused.value) == (
        f"health store {store} has schema version {SCHEMA_VERSION + 1}, newer than this program knows "
        f"({SCHEMA_VERSION}): upgrade production-health"
    )


def test_the_reader_cannot_write(store: Path) -> None:
    with (
        StoreReader(store) as r,
        pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"),
    ):
        r.conn.execute("UPDATE runs SET host = 'changed'")
    with StoreReader(store, snapshot=True) as r, pytest.raises(sqlite3.OperationalError):
        r.conn.execute("DELETE FROM runs")
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    assert conn.execute("SELECT count(*) FROM runs WHERE host = 'changed'").fetchone() == (0,)
    conn.close()


def test_a_read_of_a_file_gone_bad_is_store_unavailable(store: Path) -> None:
    with StoreReader(store) as r:
        store.write_bytes(b"\x00" * store.stat().st_size)  # overwritten in place
        with pytest.raises(StoreUnavailable, match=f"cannot read health store {store}"):
            r.sources()


# -- more edges --------------------------------------------------------------------------------------
def _empty_store(path: Path) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    migrate(conn)
    conn.close()
    return path


def test_a_version_1_store_is_read(tmp_path: Path) -> None:
    import sqlite_utils

    from store.schema import MIGRATIONS

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[1](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO runs (run_id, source, started_at) VALUES ('r', 'old', 1.0)")
    conn.close()
    with StoreReader(path) as r:
        assert r.schema_version == 1
        assert r.sources() == ["old"]
        assert r.calendar_header("XNYS") is None  # no recordings before schema 3


def test_a_snapshot_of_a_store_no_loop_has_open_creates_nothing_beside_it(tmp_path: Path) -> None:
    store = _empty_store(tmp_path / "health.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["health.db"]
    with StoreReader(store, snapshot=True) as r:
        assert r.sources() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["health.db"]
    with StoreReader(store) as r:  # a live reader shares the WAL index with the loop's writer
        r.sources()
        assert "health.db-shm" in {p.name for p in tmp_path.iterdir()}


def test_a_reader_is_used_from_the_consoles_worker_threads(store: Path) -> None:
    import threading

    with StoreReader(store) as r:
        got: list = []
        worker = threading.Thread(target=lambda: got.append(r.sources()))
        worker.start()
        worker.join(10)
        assert got == [["a", "b"]]


def test_runs_with_only_a_start_are_all_runs(store: Path) -> None:
    with StoreReader(store) as r:
        assert len(r.runs(T)) == len(r.runs()) == 6
        assert len(r.runs(end=END)) == 6


def test_spans_have_no_slack_unless_asked(tmp_path: Path) -> None:
    path = _empty_store(tmp_path / "s.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO spans VALUES ('r', 0, 'a', ?, ?, 3)", (T - 100, T - 0.5))
    conn.close()
    with StoreReader(path) as r:
        assert r.spans(T, END) == []
        assert [s.end for s in r.spans(T, END, slack=1)] == [T - 0.5]


def test_gate_buckets_straddling_the_windows_end_and_the_newest_buckets_only(tmp_path: Path) -> None:
    path = _empty_store(tmp_path / "g.db")
    conn = sqlite3.connect(path, isolation_level=None)
    newest = int(END) - 300  # the newest bucket: it starts inside the window and ends after it
    rows = [
        ("a", newest, "ok", 1, 1, 1, 1, 1, END - 10, END + 10, "straddles the end", END - 11),
        ("a", newest - 7200, "ok", 1, 1, 1, 1, 1, T - 3600, T - 3600, "two hours before the newest", 0),
        ("a", newest - 7201, "ok", 1, 1, 1, 1, 1, T - 3601, T - 3601, "older", 0),
        ("b", newest - 4 * 3600, "stale", 0, 2, 5, 6, 11, T - 9000, T - 9000, "much older", 0),
    ]
    conn.executemany("INSERT INTO gate VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.close()
    with StoreReader(path) as r:
        assert [g.last_reason for g in r.gate(T, END)] == ["straddles the end"]
        newest_first = r.last_gate(limit=10)
        assert [g.last_reason for g in newest_first] == ["straddles the end", "two hours before the newest"]
        g = newest_first[0]
        assert (g.source, g.bucket, g.code, g.allowed, g.count, g.last_at) == (
            "a",
            newest,
            "ok",
            True,
            1,
            END + 10,
        )
        assert [g.allowed for g in r.last_gate(before=T, limit=10)] == [True, True]


def test_the_newest_signals_are_two_hundred_unless_asked(tmp_path: Path) -> None:
    path = _empty_store(tmp_path / "n.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executemany(
        "INSERT INTO signals (source, run_id, at, symbol, data_ts) VALUES ('a', 'r', ?, 'S', ?)",
        [(T + i, T + i - 1) for i in range(201)],
    )
    conn.close()
    with StoreReader(path) as r:
        got = r.newest_signal_times()
        assert len(got) == 200 and got[0] == (T + 200, T + 199) and got[-1] == (T + 1, T)


def test_alert_records_field_by_field(store: Path) -> None:
    with StoreReader(store) as r:
        by_window = r.alerts(T - 10, END + 10)
        by_id = r.alerts_since_id(0)
        assert by_window == by_id
        assert [
            (a.id, a.source, a.code, a.severity, a.message, a.at, a.resolved, a.origin, a.detail)
            for a in by_id
        ] == [
            (1, "a", "NO_ACTIVITY", "critical", "silent", T - 1, False, "loop", None),
            (2, "a", "NO_ACTIVITY", "critical", "silent", T, False, "loop", None),
            (3, "b", "STALE_DATA", "warning", "stale", T + 5, True, "watchdog", "{}"),
            (4, "a", "STALE_DATA", "warning", "stale", END, False, "watchdog", None),
        ]
        assert len(r.alerts_since_id(0, limit=2)) == 2


def test_a_recorded_calendar_is_read_back(tmp_path: Path) -> None:
    from datetime import date

    from health.simulation import SimClock, at, monitor

    path = tmp_path / "cal.db"
    with monitor(path, SimClock(at(date(2025, 12, 10), 10, 0))) as mon:
        mon.record_activity()
    with StoreReader(path) as r:
        header = r.calendar_header("XNYS")
        assert header is not None and header.code == "XNYS" and header.timezone == "America/New_York"
        rows = r.calendar_rows(header)
        assert rows is not None and rows.header == header
        assert len(rows.sessions) > 200
        assert r.calendar_header("XHKG") is None


def test_an_empty_store_has_no_newest_gate_buckets(tmp_path: Path) -> None:
    with StoreReader(_empty_store(tmp_path / "e.db")) as r:
        assert r.last_gate() == []
        assert r.last_gate(source="a", limit=5) == []


def test_the_alerts_since_an_id_are_two_hundred_unless_asked(tmp_path: Path) -> None:
    path = _empty_store(tmp_path / "a.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executemany(
        "INSERT INTO alerts (source, code, severity, message, at, resolved, origin) "
        "VALUES ('a', 'X', 'warning', 'm', ?, 0, 'loop')",
        [(T + i,) for i in range(201)],
    )
    conn.close()
    with StoreReader(path) as r:
        got = r.alerts_since_id(0)
        assert len(got) == 200 and got[0].id == 1 and got[-1].id == 200


def test_run_rows_with_missing_parts(tmp_path: Path) -> None:
    path = _empty_store(tmp_path / "r.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "INSERT INTO runs (run_id, source, argv, version, config, started_at, stopped_at) "
        "VALUES ('r', 'a', '[\"loop.py\", \"--live\"]', NULL, NULL, ?, ?)",
        (T, T + 60),
    )
    conn.close()
    with StoreReader(path) as r:
        (run,) = r.runs()
        assert (run.argv, run.version, run.config, run.started_at, run.stopped_at, run.last_seen) == (
            ("loop.py", "--live"),
            None,
            {},
            T,
            T + 60,
            None,
        )


@pytest.mark.parametrize("table", ["calendars", "calendar_sessions"])
def test_a_recorded_calendar_that_cannot_be_read_is_store_unavailable(tmp_path: Path, table: str) -> None:
    from datetime import date

    from health.simulation import SimClock, at, monitor

    path = tmp_path / "cal.db"
    with monitor(path, SimClock(at(date(2025, 12, 10), 10, 0))) as mon:
        mon.record_activity()
    with StoreReader(path) as r:
        header = r.calendar_header("XNYS")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"DROP TABLE {table}")
    conn.close()
    with StoreReader(path) as r, pytest.raises(StoreUnavailable) as refused:
        r.calendar_header("XNYS") if table == "calendars" else r.calendar_rows(header)
    assert str(refused.value) == f"cannot read health store {path}: no such table: {table}"


def test_the_first_heartbeat_at_or_after_a_time(store: Path) -> None:
    """When a silence ended (health/period.py): the first span of that loop starting at or
    after the instant, or None."""
    with StoreReader(store) as r:
        assert r.first_activity_after("a", T - 60) == T - 60  # a span starting exactly then
        assert r.first_activity_after("a", T - 59) == END  # the one after it
        assert r.first_activity_after("b", T) == T + 10
        assert r.first_activity_after("b", T + 11) is None
        assert r.first_activity_after("c", T) is None


def test_gate_buckets_of_some_reason_codes_only(store: Path) -> None:
    with StoreReader(store) as r:
        assert [(g.source, g.code) for g in r.gate(T, END, codes=["closed", "stale"])] == [("b", "closed")]
        assert [(g.source, g.code) for g in r.gate(T, END, source="a", codes=["ok"])] == [
            ("a", "ok"),
            ("a", "ok"),
        ]
        assert r.gate(T, END, codes=[]) == []
        assert len(r.gate(T, END, codes=None)) == len(r.gate(T, END)) == 3


def test_signals_counted_per_minute_or_per_width(store: Path) -> None:
    with StoreReader(store) as r:
        assert r.signal_counts(T, END) == [(T, 2), (END - 60, 1)]  # T and T + 15 share a minute
        assert r.signal_counts(T, END, source="a") == [(T, 1), (END - 60, 1)]
        assert r.signal_counts(T, END, width=3600) == [(T, 3)]
        assert r.signal_counts(T - 1, T + 1, width=10) == [(T - 10, 1), (T, 1)]


def test_the_newest_signals_before_an_instant(store: Path) -> None:
    with StoreReader(store) as r:
        assert r.newest_signal_times(before=END, limit=2) == [(END - 0.001, END - 5), (T + 15, T + 10)]
        assert r.newest_signal_times(before=T, limit=5) == [(T - 0.001, T - 5)]
        assert r.newest_signal_times(limit=1) == [(END, END - 5)]


def test_a_schema_3_store_has_recorded_calendars_and_no_acks(tmp_path: Path) -> None:
    """Schema 3 brought the recorded calendars, 4 the acks: a v3 store answers both."""
    import sqlite_utils

    from store.calendars import CalendarHeader
    from store.schema import MIGRATIONS

    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2, 3):
        MIGRATIONS[version](sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO runs (run_id, source, started_at) VALUES ('r', 'old', 1.0)")
    conn.execute(
        "INSERT INTO calendars VALUES ('XNYS', '4.0', '2025-01-02', '2025-12-31', 'America/New_York', '{}', 1.0)"
    )
    conn.close()
    with StoreReader(path) as r:
        assert r.schema_version == 3
        assert r.calendar_header("XNYS") == CalendarHeader(
            "XNYS", "4.0", "2025-01-02", "2025-12-31", "America/New_York", "{}"
        )
        assert r.acks(T, END) == []


def test_acks_of_a_table_the_reader_cannot_read_are_a_one_line_error(store: Path) -> None:
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("DROP TABLE acks")
    conn.execute("CREATE TABLE acks (id INTEGER PRIMARY KEY, code TEXT)")  # a layout it does not know
    conn.close()
    r = StoreReader(store)
    with pytest.raises(StoreUnavailable) as refused:
        r.acks(T, END)
    assert str(refused.value) == f"cannot read health store {store}: no such column: source"
    r.close()
    with pytest.raises(StoreUnavailable) as refused:
        r.acks(T, END)
    assert str(refused.value) == f"cannot read health store {store}: Cannot operate on a closed database."
