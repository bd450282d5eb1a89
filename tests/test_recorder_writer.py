"""The writer thread's own decisions, on the store layer alone (store/recorder.py, a real
SQLite file, another real connection holding its lock): when it tries again after a failure,
when a flush may say "written", what close() waits for and says, what it logs and counts.

The writer's pauses are injected (``Recorder(pause=...)``): each pause the writer asks for is
recorded, and lasts a couple of milliseconds instead, or until the test lets it go, so the
back-off is seen without being waited for and a cycle happens when the test says so."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import count, query

from store.calendars import CalendarHeader
from store.events import GATE, SIGNAL
from store.recorder import Recorder, RunInfo

T = 1_765_382_400.0  # 2025-12-10T16:00:00Z
SOURCE = "writer"


class Pauses:
    """An injected ``pause(wake, seconds)``: records the seconds asked for; a pause lasts at
    most ``longest`` seconds (cut short by a flush or close, as the real one), or, from the
    ``hold_from``-th pause on, until :meth:`release` whatever wakes the writer."""

    def __init__(self, longest: float = 0.002, hold_from: int | None = None) -> None:
        self.asked: list[float] = []
        self.longest = longest
        self.hold_from = hold_from
        self._released = threading.Event()
        self._cond = threading.Condition()

    def __call__(self, wake: threading.Event, seconds: float) -> None:
        with self._cond:
            self.asked.append(seconds)
            nth = len(self.asked)
            self._cond.notify_all()
        if self.hold_from is not None and nth >= self.hold_from and not self._released.is_set():
            self._released.wait(10)
        wake.wait(min(seconds, self.longest))

    def wait_for(self, n: int) -> bool:
        """Until the writer has asked for its n-th pause (all the cycles before it are done)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.asked) >= n, timeout=10)

    def release(self) -> None:
        self._released.set()


def _recorder(path: Path, **kw) -> Recorder:
    run = RunInfo(uuid.uuid4().hex, SOURCE, 1, "host", [], "0", {}, T - 10, 120.0)
    kw.setdefault("flush_interval", 0.25)
    kw.setdefault("max_pending", 100)
    return Recorder(path, run, **kw)


def _lock(path: Path) -> sqlite3.Connection:
    """Another writer holding the store's write lock until it rolls back."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _unlock(other: sqlite3.Connection) -> None:
    other.execute("ROLLBACK")
    other.close()


def _writer_thread() -> threading.Thread:
    (writer,) = [t for t in threading.enumerate() if t.name == f"health-recorder-{SOURCE}"]
    return writer


def test_the_writer_backs_off_doubling_up_to_5_s_and_resumes_its_interval(store_path: Path) -> None:
    pauses = Pauses()
    rec = _recorder(store_path, busy_timeout=0.01, pause=pauses)
    assert (rec.failed, rec.failure) == (False, None)
    other = _lock(store_path)
    try:
        rec.put((SIGNAL, T, "A", T, None))
        assert pauses.wait_for(len(pauses.asked) + 10)
        assert rec.failed
    finally:
        _unlock(other)
    assert rec.flush(5.0)
    assert (rec.failed, rec.failure) == (False, None)
    assert pauses.wait_for(len(pauses.asked) + 2)
    asked = pauses.asked
    first_failed = asked.index(0.5)
    assert set(asked[:first_failed]) == {0.25}  # the flush interval until the store failed
    back_off = asked[first_failed : first_failed + 6]
    assert back_off == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert asked[-1] == 0.25  # written again: the flush interval again
    assert set(asked[first_failed:]) <= {0.5, 1.0, 2.0, 4.0, 5.0, 0.25}
    assert rec.close(5.0)
    assert query(store_path, "SELECT symbol FROM signals") == [("A",)]


def test_a_flush_is_answered_only_once_its_events_are_written(store_path: Path) -> None:
    """The writer's cycles before the first flush (the first heartbeat written) do not answer
    a flush asked for later."""
    pauses = Pauses(hold_from=2)
    rec = _recorder(store_path, pause=pauses)
    rec.beat(T)
    assert pauses.wait_for(2)  # one cycle done: the span written; the writer is now held
    rec.put((SIGNAL, T, "A", T, None))
    assert not rec.flush(0.2)
    assert count(store_path, "signals") == 0
    pauses.release()
    assert rec.flush(5.0)
    assert count(store_path, "signals") == 1
    assert rec.close(5.0)


def test_a_burst_larger_than_one_batch_is_written_in_one_go(store_path: Path) -> None:
    """Batch after batch at once, not one a flush interval (here 30 s)."""
    rec = _recorder(store_path, flush_interval=30.0, max_pending=100)
    for i in range(250):
        rec.put((SIGNAL, T + i, f"S{i}", T, None))
    assert rec.flush(2.0)
    assert count(store_path, "signals") == 250
    assert rec.close(5.0)


def test_an_unexpected_writer_error_is_logged_with_its_traceback_and_recovers(
    store_path: Path, caplog
) -> None:
    """An error no store failure explains (here the injected bucket rule raising) is reported
    once, with its traceback; the next cycle finds the store writable, with nothing else to
    write, and says so (a failing store is tried again even when nothing new is pending)."""
    caplog.set_level(logging.WARNING, logger="production_health")
    failures: list[str] = []
    recovered: list[str] = []

    def bucket(code: str) -> int:
        if code == "boom":
            raise ValueError("no bucket for 'boom'")
        return 300

    rec = _recorder(
        store_path,
        gate_bucket=bucket,
        on_failure=failures.append,
        on_recover=recovered.append,
        pause=Pauses(),
    )
    rec.put((GATE, T, True, "ok", "fine", 1.0, T - 1))
    assert rec.flush(5.0)
    rec.put((GATE, T + 1, False, "boom", "boom", 1.0, T))
    assert rec.flush(5.0)
    assert not rec.failed and rec.failure is None
    failure = f"cannot write health store {store_path}: ValueError: no bucket for 'boom'"
    back = f"health store {store_path} writable again; buffered events written"
    assert failures == [failure] and recovered == [back]
    logged = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert logged == [
        (logging.ERROR, f"{failure}; buffering events in memory (up to 100)"),
        (logging.WARNING, back),
    ]
    error = caplog.records[0]
    assert error.exc_info is not None and str(error.exc_info[1]) == "no bucket for 'boom'"
    rec.put((GATE, T + 2, True, "ok", "fine", 1.0, T))
    assert rec.close(5.0)
    assert query(store_path, "SELECT code, count FROM gate") == [("ok", 2)]


def test_rows_dropped_by_the_bound_and_as_bad_are_counted_together(store_path: Path) -> None:
    """Over the bound while the store fails, then a row it cannot take once it is back: one
    count of every row dropped from that batch."""
    pauses = Pauses()
    rec = _recorder(store_path, max_pending=10, busy_timeout=0.01, pause=pauses)
    other = _lock(store_path)
    try:
        rec.put((SIGNAL, T, None, T, None))  # symbol is NOT NULL: the store cannot take it
        for i in range(24):
            rec.put((SIGNAL, T + i, f"S{i}", T, None))
        assert pauses.wait_for(len(pauses.asked) + 3)  # drained while failing: 15 dropped
        assert rec.dropped_events == 15
    finally:
        _unlock(other)
    assert rec.flush(5.0)
    assert rec.dropped_events == 16 and count(store_path, "signals") == 9
    ((detail,),) = query(store_path, "SELECT detail FROM events WHERE kind = 'dropped_events'")
    assert json.loads(detail) == {"count": 16}
    assert rec.close(5.0)


def test_rows_replaced_before_and_after_a_failure_are_counted_together(store_path: Path) -> None:
    """A value SQLite cannot bind, replaced by its text; the store then fails before that batch
    is committed (another writer took the lock meanwhile: here the value's own text does, when
    the writer asks for it); a second row replaced once it is back: one count of two."""
    lockers: list[sqlite3.Connection] = []

    class TakesTheLock:
        def __str__(self) -> str:
            lockers.append(_lock(store_path))
            return "feed#1"

    pauses = Pauses()
    rec = _recorder(store_path, busy_timeout=0.01, pause=pauses)
    rec.put((SIGNAL, T, "OBJ", T, TakesTheLock()))
    assert not rec.flush(0.3)
    assert rec.failed and len(lockers) == 1
    rec.put((SIGNAL, T + 1, "bad\udc80", T, None))
    assert pauses.wait_for(len(pauses.asked) + 2)  # taken into the same batch, still failing
    _unlock(lockers[0])
    assert rec.flush(5.0)
    assert rec.replaced_events == 2
    assert query(store_path, "SELECT symbol, details FROM signals ORDER BY at") == [
        ("OBJ", "feed#1"),
        ("bad\\udc80", None),
    ]
    ((detail,),) = query(store_path, "SELECT detail FROM events WHERE kind = 'replaced_events'")
    assert json.loads(detail) == {"count": 2}
    assert rec.close(5.0)


@pytest.mark.slow  # close() waits its bound: about 1.5 s
def test_close_gives_up_on_a_writer_stuck_on_a_lock_within_its_bound(store_path: Path, caplog) -> None:
    """The writer waits on another writer's lock (busy timeout 30 s): close(0.4) returns
    within flush 0.4 s + join max(0.1, 0.4 / 5) s + the checkpoint's 1 s, says how many events
    are not written (what the writer holds and what is still queued), and the writer, left
    alone, writes them all once the lock goes."""
    caplog.set_level(logging.ERROR, logger="production_health")
    rec = _recorder(store_path, flush_interval=0.02, busy_timeout=30.0)
    other = _lock(store_path)
    try:
        for i in range(3):
            rec.put((SIGNAL, T + i, f"S{i}", T, None))
        assert not rec.flush(0.2)  # the writer took them and waits for the lock
        for i in range(3, 5):
            rec.put((SIGNAL, T + i, f"S{i}", T, None))
        started = time.monotonic()
        assert not rec.close(0.4)
        assert time.monotonic() - started < 2.3
        assert [r.getMessage() for r in caplog.records] == [
            f"health store {store_path}: closing with 5 events not written"
        ]
        writer = _writer_thread()
        assert writer.is_alive()
    finally:
        _unlock(other)
    writer.join(10)
    assert not writer.is_alive()
    assert count(store_path, "signals") == 5
    assert rec.flush(0.1)  # closed, and nothing left: it says so


def test_after_a_fork_it_records_as_the_new_run(store_path: Path) -> None:
    """What the monitor calls in a forked child (health/monitor.py), here in one process."""
    rec = _recorder(store_path)
    parent = rec.run
    rec.put((SIGNAL, T, "PARENT", T, None))
    assert rec.close(5.0)
    child = RunInfo(uuid.uuid4().hex, SOURCE, 2, "host", [], "0", {}, T + 5, 120.0)
    rec.reset_after_fork(child)
    rec.put((SIGNAL, T + 6, "CHILD", T, None))
    assert rec.close(5.0)
    assert query(store_path, "SELECT symbol, run_id FROM signals ORDER BY at") == [
        ("PARENT", parent.run_id),
        ("CHILD", child.run_id),
    ]
    assert query(store_path, "SELECT run_id, pid FROM runs ORDER BY started_at") == [
        (parent.run_id, 1),
        (child.run_id, 2),
    ]


def test_the_writer_never_holds_up_the_interpreter_exit(store_path: Path) -> None:
    """A daemon thread: a loop that never calls close() still exits (the monitor's atexit
    hook writes what is left, health/monitor.py)."""
    rec = _recorder(store_path)
    assert _writer_thread().daemon
    assert rec.close(5.0)


def test_a_store_not_opened_at_start_is_said_at_debug_level(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="production_health")
    blocker = tmp_path / "state"
    blocker.write_text("a file where the store's directory should be")
    path = blocker / "health.db"
    rec = _recorder(path)
    (record,) = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert record.getMessage().startswith(
        f"health store {path}: not opened at start ([Errno 20] Not a directory: "
    )
    assert record.getMessage().endswith("); the writer retries")
    assert not rec.close(0.2)


def _header(code: str) -> CalendarHeader:
    return CalendarHeader(code, "1", "2025-12-01", "2025-12-31", "UTC", "{}")


def test_a_calendar_whose_rows_fail_is_given_up_with_one_warning(store_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="production_health")
    rec = _recorder(store_path, flush_interval=0.02)

    def rows():
        raise ValueError("no sessions")

    rec.record_calendar(_header("XTST"), rows)
    rec.put((SIGNAL, T, "A", T, None))
    assert rec.flush(5.0)
    rec.put((SIGNAL, T + 1, "B", T, None))
    assert rec.flush(5.0)  # the calendar's step comes after the first batch: done by now
    assert [r.getMessage() for r in caplog.records] == [
        f"health store {store_path}: calendar XTST not recorded: ValueError: no sessions"
    ]
    assert not rec.failed
    assert rec.close(5.0)
    assert count(store_path, "calendars") == 0 and count(store_path, "signals") == 2


def test_a_calendar_step_meeting_another_writers_lock_is_tried_again(store_path: Path, caplog) -> None:
    """The step waits 100 ms for the lock, then gives way to the loop's next batch, and the
    recording is finished later: never given up, never a warning. The writer's own batches
    wait its full busy timeout for a lock again after the step."""
    caplog.set_level(logging.WARNING, logger="production_health")
    lockers: list[sqlite3.Connection] = []

    def rows():
        lockers.append(_lock(store_path))  # another writer takes the lock as the step starts
        return [("XTST", T, T + 3600, None, None, 0, 0)], []

    rec = _recorder(store_path, flush_interval=0.02, busy_timeout=5.0)
    rec.record_calendar(_header("XTST"), rows)
    rec.put((SIGNAL, T, "A", T, None))
    assert rec.flush(5.0)
    rec.put((SIGNAL, T + 1, "B", T, None))
    assert not rec.flush(0.3)  # the lock is still held: the batch waits for it
    assert len(lockers) == 1 and not rec.failed
    _unlock(lockers[0])
    assert rec.flush(5.0)
    assert rec.close(5.0)
    assert not rec.failed
    assert query(store_path, "SELECT code FROM calendars") == [("XTST",)]
    assert count(store_path, "signals") == 2
    assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.slow  # 200,000 rows: about 1 s
def test_a_calendar_unfinished_at_close_is_finished_by_close(store_path: Path) -> None:
    """A recording far longer than the writer's steps of ~20 ms after each batch (200,000 rows):
    the batches go between its steps, and close() writes what is left at once."""
    sessions = [(f"day{i:06d}", T + i, T + i + 0.5, None, None, 0, 0) for i in range(200_000)]
    rec = _recorder(store_path, flush_interval=30.0)
    rec.record_calendar(_header("XBIG"), lambda: (sessions, [("day99999", "a holiday")]))
    rec.put((SIGNAL, T, "A", T, None))
    assert rec.flush(5.0)  # the first batch; the recording's first step follows it
    rec.put((SIGNAL, T + 1, "B", T, None))
    assert rec.flush(5.0)  # answered after that one step, long before the recording is done
    assert count(store_path, "calendars") == 0
    assert rec.close(10.0)
    assert query(store_path, "SELECT code FROM calendars") == [("XBIG",)]
    assert count(store_path, "calendar_sessions") == 200_000
    assert count(store_path, "calendar_closures") == 1


def test_a_failure_no_row_is_to_blame_for_is_reported_not_retried_in_a_loop(store_path: Path, caplog) -> None:
    """The batch fails on something that is no row of its own (here a gate decision's reason
    SQLite cannot encode) while every row alone is fine: nothing is dropped, the failure is
    reported once with its traceback, and the writer tries again at its back-off."""
    caplog.set_level(logging.ERROR, logger="production_health")
    failures: list[str] = []
    pauses = Pauses()
    rec = _recorder(store_path, busy_timeout=0.01, pause=pauses, on_failure=failures.append)
    rec.put((GATE, T, True, "ok", "bad\udc80", 1.0, T - 1))
    rec.put((SIGNAL, T, "A", T, None))
    assert not rec.flush(0.3)
    assert rec.failed and rec.dropped_events == 0
    assert failures == [
        f"cannot write health store {store_path}: UnicodeEncodeError: 'utf-8' codec can't encode "
        "character '\\udc80' in position 3: surrogates not allowed"
    ]
    (error,) = caplog.records
    assert error.exc_info is not None and isinstance(error.exc_info[1], UnicodeEncodeError)
    assert set(pauses.asked[-3:]) <= {0.5, 1.0, 2.0, 4.0, 5.0}  # backing off, not spinning
    assert not rec.close(0.2)


def test_a_backlog_over_one_transaction_goes_in_pieces_each_row_once(store_path: Path) -> None:
    """25,000 rows in one batch: committed 20,000 then 5,000 (a nearly full disk still takes
    the pieces), each row once."""
    rec = _recorder(store_path, flush_interval=30.0, max_pending=100_000)
    for i in range(25_000):
        rec.put((SIGNAL, T + i, "S", T, None))
    assert rec.flush(10.0)
    assert rec.written_events == 25_000
    assert query(store_path, "SELECT count(*), count(DISTINCT at) FROM signals") == [(25_000, 25_000)]
    assert rec.close(5.0)


def test_an_idle_writer_commits_nothing(store_path: Path) -> None:
    """With nothing new (the same heartbeat span, no event), the writer's cycles leave the store
    alone: no commit a console would wake for (``PRAGMA data_version`` of another connection
    changes with every commit)."""
    pauses = Pauses()
    rec = _recorder(store_path, pause=pauses)
    rec.beat(T)
    rec.put((SIGNAL, T, "A", T, None))
    assert rec.flush(5.0)
    other = sqlite3.connect(store_path)
    try:
        (before,) = other.execute("PRAGMA data_version").fetchone()
        assert pauses.wait_for(len(pauses.asked) + 5)
        assert other.execute("PRAGMA data_version").fetchone() == (before,)
        rec.beat(T + 1)  # the span grows: written
        assert rec.flush(5.0)
        assert other.execute("PRAGMA data_version").fetchone() != (before,)
    finally:
        other.close()
    assert rec.close(5.0)


@pytest.mark.slow  # two stores created: about 1 s
def test_a_store_replaced_between_a_batch_and_the_calendar_step_stops_nothing(
    store_path: Path, tmp_path: Path
) -> None:
    """The store is replaced by garbage right after a batch is committed (here by the
    on_recover callback, which runs then, on the writer thread), so the calendar's step that
    follows finds no store it can open: the step waits, the writer goes on, says the store
    failed, and records everything, the calendar too, once the garbage is gone."""
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a database " * 300)

    def replace_store(message: str) -> None:
        if garbage.exists():  # the first recovery only
            os.replace(garbage, store_path)

    pauses = Pauses()
    rec = _recorder(store_path, busy_timeout=0.01, pause=pauses, on_recover=replace_store)
    rec.record_calendar(_header("XTST"), lambda: ([("d1", T, T + 3600, None, None, 0, 0)], []))
    other = _lock(store_path)
    try:
        rec.put((SIGNAL, T, "A", T, None))
        assert pauses.wait_for(len(pauses.asked) + 3) and rec.failed
    finally:
        _unlock(other)
    assert rec.flush(5.0)  # "A" written; then the store replaced, before the calendar's step
    rec.put((SIGNAL, T + 1, "B", T, None))
    assert pauses.wait_for(len(pauses.asked) + 3) and rec.failed
    assert "file is not a database" in (rec.failure or "")
    store_path.unlink()
    assert rec.flush(5.0)
    assert rec.close(5.0)
    assert query(store_path, "SELECT symbol FROM signals") == [("B",)]
    assert query(store_path, "SELECT code FROM calendars") == [("XTST",)]
