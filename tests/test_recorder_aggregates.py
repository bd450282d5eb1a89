"""The writer's arithmetic, on the store layer alone (store/recorder.py with the event layouts of
store/events.py, a real SQLite file): heartbeats into spans at the exact gap limit, gate
decisions into buckets (count, min, max, sum, the newest reason), rows kept in order, the
backlog bound of a failing store, the run's last_seen and its clean stop."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

from conftest import query

from store.events import ALERT, EVENT, GATE, SIGNAL
from store.recorder import Recorder, RunInfo

T = 1_765_382_400.0  # 2025-12-10T16:00:00Z
GAP = 120.0  # beats further apart than this start a new span


def _recorder(path: Path, **kw) -> Recorder:
    run = RunInfo(uuid.uuid4().hex, "raw", 1, "host", ["loop.py"], "0", {"k": 1}, T - 10, GAP)
    kw.setdefault("flush_interval", 0.02)
    kw.setdefault("max_pending", 100_000)
    return Recorder(path, run, gate_bucket=lambda code: 3600 if code == "closed" else 300, **kw)


def spans(path: Path) -> list[tuple]:
    return query(path, "SELECT seq, start, end, beats FROM spans ORDER BY seq")


def test_heartbeats_within_the_gap_are_one_span_and_the_gap_itself_counts(store_path: Path) -> None:
    rec = _recorder(store_path)
    for t in (T, T + 60, T + 60 + GAP):  # the second beat exactly GAP after the first: same span
        rec.beat(t)
    assert rec.last_beat == T + 60 + GAP
    rec.beat(T + 60 + 2 * GAP + 0.001)  # a hair more than GAP: a new span
    rec.beat(T + 60 + 2 * GAP + 10)
    assert rec.close()
    assert spans(store_path) == [
        (1, T, T + 60 + GAP, 3),
        (2, T + 60 + 2 * GAP + 0.001, T + 60 + 2 * GAP + 10, 2),
    ]
    assert query(store_path, "SELECT last_seen FROM runs") == [(T + 60 + 2 * GAP + 10,)]


def test_a_beat_back_in_time_starts_a_new_span(store_path: Path) -> None:
    rec = _recorder(store_path)
    rec.beat(T)
    rec.beat(T + 30)
    rec.beat(T - 30)  # the clock went back (NTP, a VM resumed)
    assert rec.close()
    assert spans(store_path) == [(1, T, T + 30, 2), (2, T - 30, T - 30, 1)]


def test_no_beat_no_span_and_last_beat_before_the_first_is_minus_infinity(store_path: Path) -> None:
    rec = _recorder(store_path)
    assert rec.last_beat == float("-inf")
    rec.put((SIGNAL, T, "AAPL", T - 5, None))
    assert rec.close()
    assert spans(store_path) == []
    assert query(store_path, "SELECT last_seen FROM runs") == [(T,)]


def test_a_span_still_growing_is_written_and_updated(store_path: Path) -> None:
    rec = _recorder(store_path)
    rec.beat(T)
    assert rec.flush(5.0)
    assert spans(store_path) == [(1, T, T, 1)]
    rec.beat(T + 60)
    assert rec.flush(5.0)
    assert spans(store_path) == [(1, T, T + 60, 2)]
    assert rec.close()


def test_gate_decisions_aggregate_per_bucket_and_code(store_path: Path) -> None:
    rec = _recorder(store_path)
    decisions = [
        (T + 10, True, "ok", "ok: 5s", 5.0, T + 5),
        (T + 20, True, "ok", "ok: 2s", 2.0, T + 18),
        (T + 30, True, "ok", "ok: 9s", 9.0, T + 21),
        (T + 15, True, "ok", "ok: late arrival", 7.0, T + 8),  # older than the newest: not the last
        (T + 299, True, "ok", "ok: bucket end", 3.0, T + 296),
        (T + 300, True, "ok", "ok: next bucket", 4.0, T + 296),
        (T + 40, False, "stale", "stale: 2h", 7200.0, T + 40 - 7200),
        (T + 50, False, "closed", "closed", 1.0, T + 49),
        (T + 3000, False, "closed", "closed later", 2.0, T + 2998),  # same hour bucket
    ]
    for at, allowed, code, reason, age, data_ts in decisions:
        rec.put((GATE, at, allowed, code, reason, age, data_ts))
    assert rec.close()
    rows = query(
        store_path,
        "SELECT bucket, code, allowed, count, min_age, max_age, sum_age, first_at, last_at, last_reason, "
        "last_data_ts FROM gate ORDER BY code, bucket",
    )
    b = int(T // 300) * 300
    h = int(T // 3600) * 3600
    assert rows == [
        (h, "closed", 0, 2, 1.0, 2.0, 3.0, T + 50, T + 3000, "closed later", T + 2998),
        (b, "ok", 1, 5, 2.0, 9.0, 26.0, T + 10, T + 299, "ok: bucket end", T + 296),
        (b + 300, "ok", 1, 1, 4.0, 4.0, 4.0, T + 300, T + 300, "ok: next bucket", T + 296),
        (b, "stale", 0, 1, 7200.0, 7200.0, 7200.0, T + 40, T + 40, "stale: 2h", T + 40 - 7200),
    ]
    assert query(store_path, "SELECT last_seen FROM runs") == [(T + 3000,)]
    assert rec.latest[GATE][3] == "closed"  # the newest decision the writer saw, for the status line


def test_a_bucket_written_in_two_batches_merges(store_path: Path) -> None:
    rec = _recorder(store_path)
    rec.put((GATE, T + 10, True, "ok", "first", 5.0, T + 5))
    assert rec.flush(5.0)
    rec.put((GATE, T + 20, True, "ok", "second", 1.0, T + 19))
    rec.put((GATE, T + 15, True, "ok", "older", 8.0, T - 3))  # older than the newest: not the last
    assert rec.close()
    assert query(
        store_path,
        "SELECT count, min_age, max_age, sum_age, first_at, last_at, last_reason, last_data_ts FROM gate",
    ) == [(3, 1.0, 8.0, 14.0, T + 10, T + 20, "second", T + 19)]


def test_rows_are_kept_one_each_in_order(store_path: Path) -> None:
    rec = _recorder(store_path)
    rec.put((SIGNAL, T + 1, "AAPL", T - 4, '{"px": 1}'))
    rec.put((EVENT, T + 2, "note", '{"a": 1}'))
    rec.put((ALERT, T + 3, "STALE_DATA", "warning", "stale", 0, None))
    rec.put((SIGNAL, T + 4, "MSFT", T - 1, None))
    rec.mark_stopped(T + 5)
    assert rec.close()
    assert query(store_path, "SELECT at, symbol, data_ts, details FROM signals ORDER BY id") == [
        (T + 1, "AAPL", T - 4, '{"px": 1}'),
        (T + 4, "MSFT", T - 1, None),
    ]
    assert query(store_path, "SELECT at, kind, detail FROM events") == [(T + 2, "note", '{"a": 1}')]
    assert query(store_path, "SELECT at, code, severity, message, resolved, origin FROM alerts") == [
        (T + 3, "STALE_DATA", "warning", "stale", 0, "monitor")
    ]
    assert query(store_path, "SELECT stopped_at, last_seen FROM runs") == [(T + 5, T + 4)]
    assert rec.written_events == 4
    assert rec.latest[SIGNAL][2] == "MSFT"


def test_a_burst_larger_than_one_batch_is_all_written(store_path: Path) -> None:
    rec = _recorder(store_path, max_pending=100)
    for i in range(1050):
        rec.put((SIGNAL, T + i, f"S{i}", T + i - 1, None))
    assert rec.close()
    assert query(store_path, "SELECT count(*), min(at), max(at) FROM signals") == [(1050, T, T + 1049)]
    assert rec.dropped_events == 0 and rec.written_events == 1050


def test_a_failing_store_keeps_max_pending_rows_and_counts_the_rest(store_path: Path) -> None:
    """A store that cannot be written (another writer holds its lock): the backlog stays
    bounded; what did not fit is dropped, counted, and the count lands with the rest once the
    store is back."""
    rec = _recorder(store_path, max_pending=10, busy_timeout=0.05)
    failures: list[str] = []
    recovered: list[str] = []
    rec.on_failure, rec.on_recover = failures.append, recovered.append
    other = sqlite3.connect(store_path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for i in range(25):
            rec.put((SIGNAL, T + i, f"S{i}", T + i - 1, None))
        assert not rec.flush(1.0)
        assert rec.failed
        assert failures == [f"cannot write health store {store_path}: OperationalError: database is locked"]
        assert rec.failure == failures[0]
        assert rec.dropped_events == 15
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rec.flush(10.0)
    assert not rec.failed and rec.failure is None
    assert recovered == [f"health store {store_path} writable again; buffered events written"]
    assert query(store_path, "SELECT min(symbol), max(symbol), count(*) FROM signals") == [("S0", "S9", 10)]
    ((detail,),) = query(store_path, "SELECT detail FROM events WHERE kind = 'dropped_events'")
    assert json.loads(detail) == {"count": 15}
    assert rec.written_events == 10
    rec.close()


def test_flush_after_close_says_whether_anything_is_left(store_path: Path) -> None:
    rec = _recorder(store_path)
    rec.put((SIGNAL, T, "A", T, None))
    assert rec.close()
    assert rec.close()  # twice: nothing more to do
    assert rec.flush(0.1)
    assert query(store_path, "SELECT count(*) FROM signals") == [(1,)]


def test_close_is_quick_and_quiet_when_everything_is_written(store_path: Path, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="production_health")
    rec = _recorder(store_path, flush_interval=0.25)
    rec.put((SIGNAL, T, "A", T, None))
    started = time.monotonic()
    assert rec.close(timeout=5.0)
    assert time.monotonic() - started < 2.5
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_beat_at_the_same_instant_is_the_same_span(store_path: Path) -> None:
    rec = _recorder(store_path)
    rec.beat(T)
    rec.beat(T)
    assert rec.close()
    assert spans(store_path) == [(1, T, T, 2)]


def test_replaced_and_dropped_rows_are_counted_across_batches_and_logged_once(
    store_path: Path, caplog
) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="production_health")
    rec = _recorder(store_path)
    for batch in range(2):
        rec.put((SIGNAL, T + batch, "bad\udc80", T, None))  # replaced: a lone surrogate
        rec.put((SIGNAL, T + batch, None, T, None))  # dropped: symbol is NOT NULL
        rec.put((SIGNAL, T + batch, f"OK{batch}", T, None))
        assert rec.flush(5.0)
    assert rec.close()
    assert (rec.replaced_events, rec.dropped_events, rec.written_events) == (2, 2, 4)
    counts = query(store_path, "SELECT kind, detail FROM events ORDER BY id")
    assert counts.count(("replaced_events", '{"count": 1}')) == 2
    assert counts.count(("dropped_events", '{"count": 1}')) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"health store {store_path}: 1 event(s) stored with text replaced (UnicodeEncodeError: "
        "'utf-8' codec can't encode character '\\udc80' in position 3: surrogates not allowed); "
        "further ones are counted, not logged"
    ]


def test_a_dropped_row_is_logged_once_with_why(store_path: Path, caplog) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="production_health")
    rec = _recorder(store_path)
    rec.put((SIGNAL, T, None, T, None))
    rec.put((SIGNAL, T, "OK", T, None))
    assert rec.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"health store {store_path}: 1 event(s) the store cannot take dropped "
        "(IntegrityError: NOT NULL constraint failed: signals.symbol); further ones are counted, not logged"
    ]


def test_a_store_that_stays_locked_is_said_once_and_at_close(store_path: Path, caplog) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="production_health")
    rec = _recorder(store_path, max_pending=10, busy_timeout=0.05)
    other = sqlite3.connect(store_path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for i in range(3):
            rec.put((SIGNAL, T + i, f"S{i}", T, None))
        assert not rec.flush(0.5)
        assert not rec.close(timeout=0.5)
        assert not rec.flush(0.1)  # closed with events left: a flush says so at once
    finally:
        other.execute("ROLLBACK")
        other.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"cannot write health store {store_path}: OperationalError: database is locked; "
        "buffering events in memory (up to 10)",
        f"health store {store_path}: closing with 3 events not written",
    ]
    assert all(r.exc_info is None for r in caplog.records)  # a locked store is no traceback


def test_a_bucket_keeps_its_largest_age_and_of_one_instant_the_last_decision(store_path: Path) -> None:
    """The largest age, whatever the sum before it (4 + 3 > 5 > 4); of decisions made at the
    same instant the one put last is the last reason (as the store's upsert does, store/batch.py)."""
    rec = _recorder(store_path)
    for at, reason, age in ((T + 1, "first", 4.0), (T + 2, "second", 3.0), (T + 2, "third", 5.0)):
        rec.put((GATE, at, True, "ok", reason, age, at - age))
    assert rec.close()
    assert query(store_path, "SELECT count, min_age, max_age, sum_age, last_at, last_reason FROM gate") == [
        (3, 3.0, 5.0, 12.0, T + 2, "third")
    ]
