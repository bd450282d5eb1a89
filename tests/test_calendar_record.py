"""The calendar recorded in the store (docs/ARCHITECTURE.md, "The recorded calendar"): the loop
records the sessions its gate uses, off its hot path; the readers answer from them exactly as
exchange_calendars would, without importing it (nor pandas), and fall back to it whenever the
store cannot answer."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import shutil
import sqlite3
import subprocess
import textwrap
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from calendar_answers import differences, sampled
from conftest import PYTHON, child_env
from rich.console import Console

from console.report_text import render_report
from health import MonitorConfig, ProductionMonitor
from health.calendar import get_calendar
from health.calendar_record import COVER_MARGIN_DAYS, calendar_for, recorded_calendar
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop
from store.calendars import CalendarWriter
from store.reader import StoreReader
from store.schema import MIGRATIONS, SCHEMA_VERSION

# The awkward days: an early close and the holiday before it, a one-off closure, both DST
# Mondays, and an ordinary Wednesday.
XNYS_DAYS = (
    date(2025, 11, 28),  # early close (13:00)
    date(2025, 11, 27),  # Thanksgiving
    date(2025, 1, 9),  # national day of mourning: a closure without a holiday rule
    date(2025, 3, 10),  # the Monday after the spring DST change
    date(2025, 11, 3),  # the Monday after the autumn DST change
    date(2025, 12, 10),
)
XHKG_DAY = date(2025, 12, 10)  # a lunch break, 12:00-13:00
CMES_DAY = date(2025, 12, 10)  # sessions that abut: one's close is the next one's open


def _loop_day(path: Path, day: date, calendar: str, source: str) -> None:
    clock = SimClock(at(day, 0, 5, calendar=calendar))
    mon = monitor(path, clock, calendar=calendar, source=source, check_interval_seconds=60)
    run_loop(mon, clock, at(day, 23, 55, calendar=calendar), step=120, signal_every=7)
    mon.close()


def _without_calendars(path: Path, dest: Path) -> Path:
    """A copy of the store as a production-health from before schema v3 wrote it (so
    without the later tables too: a loop migrating it forward creates them all)."""
    shutil.copyfile(path, dest)
    conn = sqlite3.connect(dest)
    with conn:
        for table in ("calendars", "calendar_sessions", "calendar_closures", "acks", "notices"):
            conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    return dest


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One store, three loops on three calendars through the awkward days; and its copy
    without the recorded calendars."""
    path = tmp_path_factory.mktemp("recorded") / "health.db"
    for day in XNYS_DAYS:
        _loop_day(path, day, "XNYS", "nyse")
    _loop_day(path, XHKG_DAY, "XHKG", "hkex")
    _loop_day(path, CMES_DAY, "CMES", "cme")
    return path, _without_calendars(path, path.with_name("unrecorded.db"))


def _outputs(path: Path, day: date, calendar: str, source: str) -> tuple[str, str]:
    now = at(day + timedelta(days=3), 12, 0, calendar=calendar)
    rep = dataclasses.replace(build_report(path, day, calendar, source, now), store_path="STORE")
    text = io.StringIO()
    Console(file=text, width=120, color_system=None, highlight=False, emoji=False, markup=False).print(
        render_report(rep)
    )
    return json.dumps(rep.to_json(), indent=1), text.getvalue()


# -- what the loop records -------------------------------------------------------------------
def test_each_loop_records_its_calendar_and_several_calendars_share_a_store(awkward) -> None:
    path, _ = awkward
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT c.code, c.version, c.timezone, count(s.day) FROM calendars c "
        "JOIN calendar_sessions s USING (code) GROUP BY c.code ORDER BY c.code"
    ).fetchall()
    closures = dict(conn.execute("SELECT day, name FROM calendar_closures WHERE code = 'XNYS'").fetchall())
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert version == SCHEMA_VERSION >= 3
    assert [(c, tz) for c, _v, tz, _n in rows] == [
        ("CMES", "America/Chicago"),
        ("XHKG", "Asia/Hong_Kong"),
        ("XNYS", "America/New_York"),
    ]
    for code, ver, _tz, n in rows:
        cal = get_calendar(code)
        assert (ver, n) == (cal.version, len(cal.sessions_between(cal.first_day, cal.last_day)))
    assert closures["2025-11-27"] == "Thanksgiving"
    assert closures["2025-01-09"] is None  # a closure the calendar does not name
    assert "2025-11-28" not in closures and "2025-11-29" not in closures  # a session; a Saturday


def test_the_writer_thread_records_it_once_and_skips_the_same_recording(store_path, monkeypatch) -> None:
    calls = []
    real = CalendarWriter.step

    def spy(self, conn, deadline):
        done = real(self, conn, deadline)
        if done is not None:
            calls.append((threading.current_thread().name, self.header.code, done))
        return done

    monkeypatch.setattr(CalendarWriter, "step", spy)
    clock = SimClock(at(date(2025, 12, 10), 10, 0))
    for source in ("a", "b"):
        with monitor(store_path, clock, source=source) as mon:
            mon.record_activity()
            mon.flush()
    assert calls == [("health-recorder-a", "XNYS", True), ("health-recorder-b", "XNYS", False)]
    conn = sqlite3.connect(store_path)
    assert conn.execute("SELECT count(*) FROM calendars").fetchone()[0] == 1
    conn.close()


def test_the_recording_never_holds_back_the_loops_events(store_path, monkeypatch) -> None:
    """The writer commits the loop's batch and answers its flush before it records the
    calendar: a recording that takes long (a slow disk, another loop's lock) holds back none
    of what the loop recorded before it."""
    entered, release = threading.Event(), threading.Event()
    real = CalendarWriter.step

    def slow(self, conn, deadline):
        entered.set()
        release.wait(10)
        return real(self, conn, deadline)

    monkeypatch.setattr(CalendarWriter, "step", slow)
    clock = SimClock(at(date(2025, 12, 10), 10, 0))
    mon = monitor(store_path, clock)
    try:
        mon.record_activity()
        mon.record_signal("AAPL", clock.now - 5)
        started = time.monotonic()
        assert mon.flush(timeout=5)  # answered although the recording, after it, is held
        assert time.monotonic() - started < 5
        assert entered.wait(5)
        conn = sqlite3.connect(store_path)
        assert conn.execute("SELECT count(*) FROM signals").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM calendars").fetchone()[0] == 0
        conn.close()
    finally:
        release.set()
        mon.close()
    conn = sqlite3.connect(store_path)
    assert conn.execute("SELECT count(*) FROM calendars").fetchone()[0] == 1
    conn.close()


def test_a_store_written_before_the_recorded_calendar_is_migrated_forward(tmp_path) -> None:
    import sqlite_utils

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for version in (1, 2):
        MIGRATIONS[version](sqlite_utils.Database(conn))
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO runs (run_id, source, started_at) VALUES ('old-run', 'old', 1.0)")
    conn.close()
    with StoreReader(path) as reader:  # a reader of the old store: no recording, no error
        assert reader.calendar_header("XNYS") is None
        assert not calendar_for(reader, "XNYS", date(2025, 12, 10)).recorded
    with monitor(path, SimClock(at(date(2025, 12, 10), 10, 0))) as mon:
        mon.record_activity()
    with StoreReader(path) as reader:
        assert reader.schema_version == SCHEMA_VERSION
        assert [r.run_id for r in reader.runs() if r.source == "old"] == ["old-run"]
        assert calendar_for(reader, "XNYS", date(2025, 12, 10)).recorded


# -- what the readers take -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "source", "day"),
    [*(("XNYS", "nyse", d) for d in XNYS_DAYS), ("XHKG", "hkex", XHKG_DAY), ("CMES", "cme", CMES_DAY)],
)
def test_the_report_is_identical_with_and_without_the_recorded_calendar(awkward, code, source, day) -> None:
    recorded, unrecorded = awkward
    with StoreReader(recorded) as reader:
        assert recorded_calendar(reader, code, day) is not None  # this report reads the recording
    assert _outputs(recorded, day, code, source) == _outputs(unrecorded, day, code, source)


@pytest.mark.parametrize("code", ["XNYS", "XHKG", "CMES"])
def test_the_recorded_calendar_answers_every_question_as_exchange_calendars(awkward, code) -> None:
    """Every day from 2024 to 2026, and every 10 minutes of the awkward days and the days
    beside them, with every boundary ±1 s."""
    with StoreReader(awkward[0]) as reader:
        recorded = recorded_calendar(reader, code, date(2025, 6, 2))
    built = get_calendar(code)
    assert recorded is not None and recorded.recorded and not built.recorded
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(3 * 366)]
    instants = []
    for day in {*XNYS_DAYS, XHKG_DAY, CMES_DAY}:
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            start = at(d, 0, 0, calendar=code)
            instants += [start + 600 * i + 0.5 for i in range(144)]
        for s in built.sessions_between(day - timedelta(days=1), day + timedelta(days=1)):
            for edge in (s.open_ts, s.close_ts, s.break_start_ts, s.break_end_ts):
                if edge is not None:
                    instants += [edge - 1.0, edge, edge + 1.0]
    assert differences(recorded, built, days, instants) == []


def test_sampled_days_of_the_whole_range_on_a_calendar_with_lunar_holidays(tmp_path) -> None:
    """XKRX names its lunar holidays only when computed over whole years; XTAE's trading week
    changed in 2026 (special weekmasks): both come back from the store as they were."""
    for code in ("XKRX", "XTAE"):
        cal = get_calendar(code)
        path = tmp_path / f"{code}.db"
        with ProductionMonitor(MonitorConfig(store_path=str(path), calendar=code)) as mon:
            mon.record_activity()
        with StoreReader(path) as reader:
            recorded = recorded_calendar(reader, code)
        assert recorded is not None
        days, instants = sampled(cal, random.Random(code))
        assert differences(recorded, cal, days, instants) == []


def test_outside_the_recorded_range_the_readers_build_the_calendar(awkward) -> None:
    with StoreReader(awkward[0]) as reader:
        header = reader.calendar_header("XNYS")
        first = date.fromisoformat(header.first_day)
        last = date.fromisoformat(header.last_day)
        margin = timedelta(days=COVER_MARGIN_DAYS)
        assert calendar_for(reader, "XNYS", first + margin).recorded
        assert calendar_for(reader, "XNYS", last - margin).recorded
        for day in (first, first + margin - timedelta(days=1), last - margin + timedelta(days=1)):
            assert not calendar_for(reader, "XNYS", day).recorded, day
        # A calendar no loop recorded in this store.
        assert reader.calendar_header("XLON") is None
        assert calendar_for(reader, "XLON", date(2025, 12, 10)).code == "XLON"


# -- no pandas ----------------------------------------------------------------------------------
_PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    store, day, now, what = sys.argv[1:5]
    common = ["--store", store, "--date", day, "--now", now]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        if what == "diagnose":
            from console.cli import diagnose_main
            diagnose_main([*common, "--json"])
        else:
            from console.cli import check_main
            check_main([*common, *([] if what == "text" else [what])])
    print(json.dumps({
        "stdout": out.getvalue(),
        "pandas": "pandas" in sys.modules,
        "exchange_calendars": "exchange_calendars" in sys.modules,
        "numpy": "numpy" in sys.modules,
    }))
    """
)
_WATCHDOG = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    from health.watchdog import Watchdog
    store, now = sys.argv[1], datetime.fromisoformat(sys.argv[2]).timestamp()
    dog = Watchdog(store, None, 60.0, clock=lambda: now, environ={}, say=lambda s: None)
    dog.tick()
    dog.dispatcher.close(timeout=5)
    dog.alert_log.close()
    print(json.dumps({
        "stdout": f"{dog.calendar.code} {dog.calendar.recorded}",
        "pandas": "pandas" in sys.modules,
        "exchange_calendars": "exchange_calendars" in sys.modules,
        "numpy": "numpy" in sys.modules,
    }))
    """
)


def _probe(store_path: Path, what: str, day: date = date(2025, 12, 10)) -> dict:
    """Run one reader in a fresh interpreter; what it printed and which modules it imported."""
    now = datetime.fromtimestamp(at(day + timedelta(days=3), 12, 0), UTC).isoformat()
    if what == "watchdog":
        cmd = [PYTHON, "-c", _WATCHDOG, str(store_path), now]
    else:
        cmd = [PYTHON, "-c", _PROBE, str(store_path), day.isoformat(), now, what]
    env = {k: v for k, v in child_env().items() if not k.endswith("_WEBHOOK_URL")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("what", ["--json", "--nagios", "text", "--notify", "diagnose", "watchdog"])
def test_a_report_of_a_recorded_date_imports_neither_pandas_nor_exchange_calendars(awkward, what) -> None:
    found = _probe(awkward[0], what)
    assert (found["pandas"], found["exchange_calendars"], found["numpy"]) == (False, False, False), found
    assert found["stdout"].strip()


@pytest.mark.slow
def test_a_store_without_the_recorded_calendar_still_reports_with_exchange_calendars(awkward) -> None:
    recorded, unrecorded = (_probe(path, "--json") for path in awkward)
    assert (recorded["exchange_calendars"], unrecorded["exchange_calendars"]) == (False, True)
    assert (recorded["pandas"], unrecorded["pandas"]) == (False, True)
    reports = [
        json.loads(found["stdout"].replace(str(path), "STORE"))
        for found, path in zip((recorded, unrecorded), awkward, strict=True)
    ]
    assert reports[0] == reports[1]
    assert reports[0]["session"]["is_trading_day"] is True
