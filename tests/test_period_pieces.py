"""How a period counts its session hours' signals (health/period_pieces.py): from the store's
quarter-hour sums when every edge lies on a quarter hour, else from pieces cut at the hours.
Both ways must give every day what its own report says, and each other's answer."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from health import loader
from health.analysis import window
from health.calendar import get_calendar
from health.loader import build_report, open_store
from health.period import DayRow, period_report
from health.period_pieces import rth_pieces
from health.simulation import SimClock, at, monitor, run_loop
from store.schema import GATE_BY_CODE

FIRST = date(2025, 3, 3)
DAYS = 12  # a DST change on XNYS (March 9)


def _store(path: Path, code: str) -> Path:
    """Twelve days of a loop on ``code`` at a cadence that changes, an idle hour a day in the
    second week, a few signals outside RTH and on old data, and each session's first signal on
    data from before the previous close: stale by that rule alone (the limit is 48 hours)."""
    cal = get_calendar(code)
    rng = random.Random(7)
    clock = SimClock(at(FIRST, 0, 0, calendar=code))
    with monitor(path, clock, calendar=code, max_data_age_hours=48) as mon:
        for i, sess in enumerate(cal.sessions_between(FIRST, FIRST + timedelta(days=DAYS - 1))):
            clock.now = max(clock.now, sess.open_ts - 600)
            run_loop(mon, clock, sess.open_ts + 30)
            mon.record_signal("OLD", max(cal.previous_session_close(clock.now), clock.now - 86400) - 60)
            if i >= 6:  # from the second week, an idle hour (NO_SIGNALS: the hours' counts matter)
                idle = sess.open_ts + 3600 * (1 + i % 3)
                run_loop(mon, clock, idle, signal_every=(2, 3, 5)[i % 3])
                run_loop(mon, clock, idle + 3600, signal_every=400)
            run_loop(mon, clock, sess.close_ts + 300, signal_every=(2, 3, 5)[i % 3])
            for _ in range(3):
                clock.now += rng.uniform(60, 600)
                mon.record_signal("ES", clock.now - rng.choice((30.0, 7200.0)))
    return path


def _as_version(src: Path, dest: Path, version: int) -> Path:
    """``src`` as schema ``version`` (4 or 5) wrote it: without the sums that came later."""
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dest)) as b:
        a.backup(b)
    with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as conn:
        for table in ("signal_quarters", "signal_minutes")[: 6 - version]:
            for trigger in ("insert", "delete", "update"):
                conn.execute(f"DROP TRIGGER {table}_{trigger}")
            conn.execute(f"DROP TABLE {table}")
        conn.execute(f"DROP INDEX IF EXISTS {GATE_BY_CODE}")
        conn.execute(f"PRAGMA user_version = {version}")
    return dest


def _rows(store: Path, code: str, now: float) -> tuple[tuple[DayRow, ...], int]:
    """The period's rows and how many pieces it had SQLite sum up."""
    reader = open_store(store)
    asked: list[int] = []
    orig = reader.signal_summaries
    reader.signal_summaries = lambda pieces: asked.append(len(pieces)) or orig(pieces)  # type: ignore[method-assign]
    try:
        p = period_report(reader, get_calendar(code), FIRST, FIRST + timedelta(days=DAYS - 1), now)
    finally:
        reader.close()
    return p.days, sum(asked)


@pytest.mark.parametrize("code", ["XNYS", "XHKG", "XOSL", "CMES"])
def test_quarter_hours_and_cut_pieces_say_the_same_as_each_days_report(tmp_path: Path, code: str) -> None:
    store = _store(tmp_path / "health.db", code)
    now = at(FIRST + timedelta(days=DAYS + 1), 12, 0, calendar=code)
    rows, pieces = _rows(store, code, now)
    for version in (5, 4):
        older, older_pieces = _rows(_as_version(store, tmp_path / f"v{version}.db", version), code, now)
        assert older == rows, version
        # XOSL closes at 16:20: its hours are cut either way; the others' only without quarters
        # (CMES: at the hours of the session that opens the evening before, too).
        assert (older_pieces > pieces) == (code != "XOSL")
    loader._learned.clear()
    for row in rows:
        assert row == DayRow.of(build_report(store, row.day, code, now=now)), row.day
    if code != "CMES":  # (its evening hours do not qualify here; sessions that abut have no
        # previous close to be stale by)
        assert sum(i.code == "NO_SIGNALS" for r in rows for i in r.issues) >= 2  # the hours' counts
        assert sum(r.signals_stale for r in rows) >= 8  # the previous close's rule alone


def test_today_and_edges_off_the_quarter_hours_are_cut_at_the_hours() -> None:
    xnys, xosl, known = get_calendar("XNYS"), get_calendar("XOSL"), {}
    day = date(2025, 6, 11)
    whole = window(day, xnys, at(day + timedelta(days=1), 12, 0))
    pieces, quartered = rth_pieces(xnys, day, whole[0], whole[1], known, True)
    assert quartered and len(pieces) == 1  # 9:30-16:00 whole, its hours from the quarters
    pieces, quartered = rth_pieces(xnys, day, whole[0], whole[1], known, False)
    assert not quartered and len(pieces) == 7  # no quarter sums: cut at 10:30, 11:30, ...
    noon = at(day, 12, 7)
    pieces, quartered = rth_pieces(xnys, day, whole[0], noon, known, True)
    assert not quartered and pieces[-1][1] == noon  # a window ending now
    o = window(day, xosl, at(day + timedelta(days=1), 12, 0))
    pieces, quartered = rth_pieces(xosl, day, o[0], o[1], {}, True)
    assert not quartered and len(pieces) == 8  # 9:00-16:20: the last hour 16:00-16:20
