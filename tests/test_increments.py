"""What a live reader reads at each look (store/increments.py), on a store whose rows sit
exactly on the limits it is asked about: ids after one and up to another, times from a start
(included) to an end (excluded), one loop or all, in batches; one snapshot for a whole look."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from store import increments
from store.events import ALERT, EVENT, GATE, SIGNAL
from store.reader import StoreReader, StoreUnavailable
from store.recorder import Recorder, RunInfo
from store.records import AlertRecord, EventRecord

T = 1_765_382_400.0  # 2025-12-10T16:00:00Z, a multiple of 300 s: a gate bucket starts here


def _recorder(path: Path, source: str) -> Recorder:
    run = RunInfo(uuid.uuid4().hex, source, 1, "host", [], "0", {}, T - 10, 120.0)
    return Recorder(path, run, flush_interval=0.05, max_pending=100_000)


@pytest.fixture
def store(store_path: Path) -> Path:
    """Loop "a": signals 1-5 at T+1..T+5, alerts 1-3 and events 1-3 at T+1..T+3, gate buckets
    T and T+300; then loop "b": signal 6 at T+3 and a bucket at T+300."""
    a = _recorder(store_path, "a")
    for i in range(1, 6):
        a.put((SIGNAL, T + i, f"A{i}", T + i - 0.5, None))
    for i in range(1, 4):
        a.put((ALERT, T + i, "STALE_DATA", "WARNING", f"alert {i}", 0, f'{{"n": {i}}}'))
        a.put((EVENT, T + i, f"note{i}", None))
    a.put((GATE, T + 10, True, "ok", "fine", 1.0, T + 9))
    a.put((GATE, T + 310, False, "stale", "old", 7200.0, T + 310 - 7200))
    a.put((GATE, T + 320, False, "stale", "old", 7300.0, T + 320 - 7300))
    assert a.close(5.0)
    b = _recorder(store_path, "b")
    b.put((SIGNAL, T + 3, "B1", T + 2.5, None))
    b.put((GATE, T + 301, True, "ok", "fine", 1.0, T + 300))
    assert b.close(5.0)
    return store_path


def _ids(batches) -> list[list[int]]:
    return [[row[0] for row in rows] for rows in batches]


def test_signals_by_id_after_one_and_up_to_another_in_batches(store: Path) -> None:
    with StoreReader(store) as reader:
        assert _ids(increments.signals_after(reader, 2, 6, batch=2)) == [[3, 4], [5, 6]]
        assert _ids(increments.signals_after(reader, 2, 6, source="a", batch=10)) == [[3, 4, 5]]
        assert _ids(increments.signals_after(reader, 6, 6)) == []
        (rows,) = increments.signals_after(reader, 5, 6)
        assert rows == [(6, "b", T + 3, T + 2.5)]


def test_one_loops_signal_times_from_a_start_to_an_end_up_to_an_id(store: Path) -> None:
    with StoreReader(store) as reader:
        got = increments.signal_times_upto(reader, T + 2, T + 5, "a", upto_id=4, batch=2)
        assert list(got) == [[(T + 2, T + 1.5), (T + 3, T + 2.5)], [(T + 4, T + 3.5)]]
        assert list(increments.signal_times_upto(reader, T + 2, T + 5, "b", upto_id=6)) == [
            [(T + 3, T + 2.5)]
        ]
        assert list(increments.signal_times_upto(reader, T + 2, T + 5, "b", upto_id=5)) == []


def test_signals_counted_from_a_start_included_to_an_end_excluded(store: Path) -> None:
    with StoreReader(store) as reader:
        assert increments.count_signals(reader, T + 2, T + 4) == 3  # a's 2 and 3, b's 1
        assert increments.count_signals(reader, T + 2, T + 4, source="a") == 2
        assert increments.count_signals(reader, T + 5, T + 5) == 0


def test_alerts_and_events_after_an_id_within_a_window(store: Path) -> None:
    with StoreReader(store) as reader:
        alerts = increments.alerts_after(reader, 1, 3, T + 2, T + 3)
        assert alerts == [
            AlertRecord(2, "a", "STALE_DATA", "WARNING", "alert 2", T + 2, False, "monitor", '{"n": 2}')
        ]
        assert [a.id for a in increments.alerts_after(reader, 0, 2, T, T + 10)] == [1, 2]
        events = increments.events_after(reader, 1, 3, T + 2, T + 3)
        run_a = events[0].run_id
        assert events == [EventRecord(2, "a", run_a, T + 2, "note2", None)]
        assert [e.id for e in increments.events_after(reader, 0, 2, T, T + 10)] == [1, 2]
        assert [e.id for e in increments.events_after(reader, 0, 3, T + 1, T + 10)] == [1, 2, 3]


def test_the_newest_ids_and_zero_for_an_empty_table(store: Path, tmp_path: Path) -> None:
    with StoreReader(store) as reader:
        assert increments.last_ids(reader) == (6, 3, 3)
    empty = tmp_path / "empty.db"
    assert _recorder(empty, "idle").close(5.0)
    with StoreReader(empty) as reader:
        assert increments.last_ids(reader) == (0, 0, 0)


def test_gate_buckets_from_one_on_and_their_fingerprint(store: Path) -> None:
    with StoreReader(store) as reader:
        since = increments.gate_since(reader, T + 300)
        assert [(g.bucket, g.source, g.code, g.allowed, g.count) for g in since] == [
            (T + 300, "a", "stale", False, 2),
            (T + 300, "b", "ok", True, 1),
        ]
        assert since[0].max_age == 7300.0 and since[0].last_at == T + 320
        assert len(increments.gate_since(reader, T)) == 3
        assert increments.gate_fingerprint(reader, T, T + 300) == (1, 1)
        assert increments.gate_fingerprint(reader, T, T + 301) == (3, 4)
        assert increments.gate_fingerprint(reader, T + 600, T + 900) == (0, 0)


def test_a_look_reads_one_snapshot_and_a_nested_one_keeps_it(store: Path) -> None:
    writer = _recorder(store, "c")
    with StoreReader(store) as reader:
        with increments.consistent(reader):
            before = increments.last_ids(reader)
            writer.put((SIGNAL, T + 7, "C1", T + 6, None))
            assert writer.flush(5.0)
            with increments.consistent(reader):  # inside a look: the same snapshot
                assert increments.last_ids(reader) == before
            assert increments.last_ids(reader) == before  # the inner one did not end it
        assert increments.last_ids(reader)[0] == before[0] + 1
    assert writer.close(5.0)


def test_the_schema_cookie_changes_with_the_schema(store: Path) -> None:
    with StoreReader(store) as reader:
        first = increments.schema_cookie(reader)
        other = sqlite3.connect(store)
        other.execute("CREATE TABLE extra (x)")
        other.commit()
        other.close()
        assert increments.schema_cookie(reader) == first + 1


def test_a_reader_that_cannot_read_says_so(store: Path) -> None:
    reader = StoreReader(store)
    reader.close()
    with pytest.raises(StoreUnavailable) as refused:
        list(increments.signals_after(reader, 0, 10))
    assert str(refused.value) == f"cannot read health store {store}: Cannot operate on a closed database."


def test_a_day_of_a_busy_loop_comes_in_batches_of_10000(store_path: Path) -> None:
    """Never the whole day in memory at once."""
    assert _recorder(store_path, "a").close(5.0)
    conn = sqlite3.connect(store_path)
    with conn:
        conn.executemany(
            "INSERT INTO signals (source, at, symbol, data_ts) VALUES ('a', ?, 'S', ?)",
            [(T + i * 0.001, T) for i in range(10_001)],
        )
    conn.close()
    with StoreReader(store_path) as reader:
        assert [len(rows) for rows in increments.signals_after(reader, 0, 10_001)] == [10_000, 1]
        times = increments.signal_times_upto(reader, T, T + 100, "a", upto_id=10_001)
        assert [len(rows) for rows in times] == [10_000, 1]
