"""Whether the loop is up has one definition (health/liveness.py): the report's uptime and the live
view (panels, loop table, watchdog) agree at every instant, boundaries included."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from health.calendar import get_calendar
from health.live import take_snapshot
from health.liveness import is_silent, is_up, up_until
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop
from store.reader import StoreReader

WED = date(2025, 12, 10)


@given(
    last=st.floats(0, 1e6),
    interval=st.floats(1, 3600),
    after=st.floats(0, 1e4),
    stop_after=st.none() | st.floats(0, 1e4),
    limit=st.floats(0, 1e4),
)
def test_up_means_within_two_intervals_of_the_last_beat_and_not_stopped(
    last, interval, after, stop_after, limit
):
    now = last + after
    stopped_at = None if stop_after is None else last + stop_after
    up = is_up(last, now, interval, stopped_at)
    stopped = stopped_at is not None and stopped_at <= now
    assert up == (now - last <= 2 * interval and not stopped)
    assert up_until(last, interval, stopped_at) <= last + 2 * interval
    assert is_up(None, now, interval) is False
    assert is_silent(None, now, limit) and is_silent(last, now, limit) == (now - last > limit)


def test_the_boundary_of_the_up_window_is_up() -> None:
    assert is_up(100.0, 220.0, 60) and not is_up(100.0, 220.001, 60)
    assert not is_up(100.0, 150.0, 60, stopped_at=150.0)  # stopped now
    assert is_up(100.0, 149.0, 60, stopped_at=150.0)  # before its stop


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Beats every 60 s 09:35-10:30, silent until 10:50, beats to 11:00, stops cleanly at 11:02."""
    path = tmp_path_factory.mktemp("liveness") / "health.db"
    clock = SimClock(at(WED, 9, 35))
    mon = monitor(path, clock, check_interval_seconds=60)
    run_loop(mon, clock, at(WED, 10, 30) + 1)
    clock.now = at(WED, 10, 50)
    run_loop(mon, clock, at(WED, 11, 0) + 1)
    clock.now = at(WED, 11, 2)
    mon.close()
    return path


@pytest.mark.parametrize(
    "hh_mm_ss",
    [
        (10, 0, 0),
        (10, 31, 0),
        (10, 32, 0),
        (10, 32, 1),
        (10, 40, 0),
        (10, 55, 30),
        (11, 1, 59),
        (11, 2, 1),
        (11, 30, 0),
    ],
)
def test_the_report_and_the_live_view_agree(store: Path, hh_mm_ss) -> None:
    now = at(WED, *hh_mm_ss)
    calendar = get_calendar("XNYS")
    report = build_report(store, WED, "XNYS", None, now)
    intervals = report.sources[0].uptime.intervals
    # the report caps the last interval at now: up now means an interval reaching now
    up_in_report = bool(intervals) and intervals[-1][1] >= now
    with StoreReader(store) as reader:
        live = take_snapshot(reader, calendar, now, alive=lambda run: None).sources[0]
    assert live.up_at(now) == up_in_report, (hh_mm_ss, intervals[-1])


def test_data_age_is_one_definition_for_every_view() -> None:
    from health.liveness import data_age

    assert data_age(None, 1_000.0) is None  # the gate has seen no data
    assert data_age(400.0, 1_000.0) == 600.0
    assert data_age(1_060.0, 1_000.0) == -60.0  # stamped in the future: not "fresh", an anomaly
