"""One event the store cannot take is never a poison pill: it is kept in a readable, replaced
form (and counted), every later event lands, and the writer never calls a batch written that
it did not write."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from datetime import timedelta

import pytest
from conftest import FakeClock, count, ny, query

from console.cli import check_main
from health.codes import IssueCode
from store.recorder import Recorder, RunInfo

POISON = "bad\udc80"  # a symbol decoded with surrogateescape from a non-UTF-8 byte


def test_a_lone_surrogate_is_stored_replaced_and_the_rest_lands(
    make_monitor, clock, alerts, store_path, caplog
):
    caplog.set_level(logging.WARNING, logger="production_health")
    monitor = make_monitor(clock=clock, alert_callback=alerts)
    monitor.record_signal(POISON, clock.now, note="from a bytes feed")
    for i in range(1000):
        monitor.record_signal(f"S{i}", clock.now)
    assert monitor.flush(5.0)
    assert not monitor.recorder.failed
    assert count(store_path, "signals") == 1001
    assert query(store_path, "SELECT symbol FROM signals WHERE symbol LIKE 'bad%'") == [("bad\\udc80",)]
    assert monitor.recorder.replaced_events == 1
    ((detail,),) = query(store_path, "SELECT detail FROM events WHERE kind = 'replaced_events'")
    assert json.loads(detail) == {"count": 1}
    assert alerts.of(IssueCode.STORE_ERROR) == []
    # Later batches are not poisoned either, and the log says it once, without a traceback.
    for i in range(100):
        monitor.record_signal(f"T{i}", clock.now)
    assert monitor.flush(5.0)
    assert count(store_path, "signals") == 1101
    problems = [
        r for r in caplog.records if r.name.startswith("production_health") and r.levelno >= logging.WARNING
    ]
    assert len(problems) == 1 and problems[0].exc_info is None, [r.getMessage() for r in problems]


def test_a_poisoned_after_hours_alert_is_replaced_too(make_monitor, store_path, capsys) -> None:
    """Outside RTH the symbol also goes into the alert's message."""
    clock = FakeClock(ny(2025, 12, 10, 17, 0))
    monitor = make_monitor(clock=clock)
    monitor.record_signal(POISON, clock.now - timedelta(seconds=5))
    clock.advance(60)
    monitor.record_signal("LATER", clock.now - timedelta(seconds=5))
    monitor.close()
    assert count(store_path, "signals") == 2
    ((message,),) = query(store_path, "SELECT message FROM alerts WHERE code = 'AFTER_HOURS_SIGNALS'")
    assert "bad\\udc80" in message
    with pytest.raises(SystemExit) as done:
        check_main(
            [
                "--store",
                str(store_path),
                "--date",
                "2025-12-10",
                "--json",
                "--now",
                "2025-12-11T09:00:00-05:00",
            ]
        )
    assert done.value.code in (0, 1, 2)
    report = json.loads(capsys.readouterr().out)
    assert report["signals"]["total"] == 2


def _recorder(path) -> Recorder:
    run = RunInfo(uuid.uuid4().hex, "raw", 1, "host", [], "0", {}, time.time(), 120.0)
    return Recorder(path, run, flush_interval=0.05, max_pending=100_000)


def test_values_sqlite_cannot_bind_are_replaced_by_their_text(store_path) -> None:
    """The store layer on its own: an int beyond 64 bits and an arbitrary object in a row."""
    rec = _recorder(store_path)
    now = time.time()
    rec.put(("sig", now, "BIG", now, 2**80))
    rec.put(("sig", now, "OBJ", now, object.__new__(type("Feed", (), {"__str__": lambda self: "feed#1"}))))
    rec.put(("sig", now, "OK", now, None))
    assert rec.flush(5.0)
    assert rec.close()
    rows = dict(query(store_path, "SELECT symbol, details FROM signals"))
    assert rows == {"BIG": str(2**80), "OBJ": "feed#1", "OK": None}
    assert rec.replaced_events == 2 and rec.dropped_events == 0


def test_a_row_that_cannot_be_stored_at_all_is_dropped_counted_not_the_batch(store_path) -> None:
    rec = _recorder(store_path)
    now = time.time()
    for i in range(10):
        rec.put(("sig", now, f"S{i}", now, None))
    rec.put(("sig", now, None, now, None))  # symbol is NOT NULL: no replacement can help
    for i in range(10, 20):
        rec.put(("sig", now, f"S{i}", now, None))
    assert rec.flush(5.0)
    assert not rec.failed
    assert count(store_path, "signals") == 20
    assert rec.dropped_events == 1
    ((detail,),) = query(store_path, "SELECT detail FROM events WHERE kind = 'dropped_events'")
    assert json.loads(detail) == {"count": 1}
    rec.close()


def test_rows_that_all_fail_on_their_own_are_dropped_not_retried_forever(store_path) -> None:
    rec = _recorder(store_path)
    now = time.time()
    rec.put(("sig", now, None, now, None))
    rec.put(("sig", now, None, now, None))
    assert rec.flush(5.0)
    assert (rec.failed, rec.dropped_events, count(store_path, "signals")) == (False, 2, 0)
    rec.put(("sig", now, "AFTER", now, None))
    assert rec.flush(5.0)
    assert count(store_path, "signals") == 1
    rec.close()


def test_a_store_from_a_newer_version_is_a_store_error_never_a_silent_success(
    make_monitor, clock, alerts, store_path
):
    """SchemaTooNewError is no sqlite3.Error: it escaped the writer's store handling, the
    flush mark was counted done, and every event was lost with flush() saying True."""
    store_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(store_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    monitor = make_monitor(clock=clock, alert_callback=alerts)
    for i in range(50):
        monitor.record_signal(f"S{i}", clock.now)
    assert not monitor.flush(1.0)
    assert monitor.recorder.failed and monitor.recorder.written_events == 0
    (alert,) = alerts.wait_for(IssueCode.STORE_ERROR, resolved=False)
    assert "newer" in alert.message
    # The operator moves it aside: everything buffered lands in a new store.
    store_path.rename(store_path.with_suffix(".newer"))
    assert monitor.flush(15.0)
    assert count(store_path, "signals") == 50
    assert alerts.wait_for(IssueCode.STORE_ERROR, resolved=True)
