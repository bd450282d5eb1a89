"""The period's sliding lookbacks (health/period_cadence.py ``SlidingLookbacks``) against the
day report's own learning (health/loader.py), day by day, on awkward weeks: the DST change,
Thanksgiving and its early close, a loop silent for days, restarts every day, and a stopped
run that a lookback holds to another run's long check interval (the shortcut must step aside
there)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from health import loader
from health.analysis import window
from health.cadence import learn_from_rates
from health.calendar import get_calendar
from health.loader import MAX_INTERVAL_SLACK, lookback_sessions, open_store
from health.period_cadence import RangeReader, SlidingLookbacks
from health.simulation import SimClock, at, monitor, run_loop
from store.range_rows import RangeRows

FIRST, LAST = date(2025, 10, 13), date(2025, 12, 5)
SLOW_DAY = date(2025, 10, 30)


@pytest.fixture(scope="module")
def awkward_weeks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("sliding") / "health.db"
    cal = get_calendar("XNYS")
    clock = SimClock(at(FIRST, 8, 0))
    for i, sess in enumerate(cal.sessions_between(FIRST, LAST)):
        if date(2025, 11, 10) <= sess.day <= date(2025, 11, 14):
            continue  # silent for a week
        # A run per day (a restart each morning). On SLOW_DAY a first run stops cleanly at
        # 9:00 and one with a 40-minute check interval starts at 10:22: the lookback that opens
        # on that session holds the first run's beats to the second's interval (the first is
        # not alive in it), up until 10:19, so its first hour qualifies there and nowhere else.
        clock.now = sess.open_ts - 1800
        if sess.day == SLOW_DAY:
            clock.now = sess.open_ts - 5400
            with monitor(store, clock) as mon:
                run_loop(mon, clock, sess.open_ts - 1800)
            clock.now = sess.open_ts + 52 * 60
        with monitor(store, clock, check_interval_seconds=2400 if sess.day == SLOW_DAY else 60) as mon:
            if sess.day.weekday() == 2:  # Wednesdays: quiet from midday
                run_loop(mon, clock, sess.open_ts + 3 * 3600, signal_every=(2, 3, 5)[i % 3])
                run_loop(mon, clock, sess.close_ts, signal_every=90)
            run_loop(mon, clock, sess.close_ts, signal_every=(2, 3, 5)[i % 3])
    return store


def test_sliding_lookbacks_learn_what_the_day_report_learns(awkward_weeks: Path) -> None:
    cal = get_calendar("XNYS")
    reader = open_store(awkward_weeks)
    try:
        (source,) = reader.sources()
        span = (window(FIRST, cal, 0)[0], window(LAST + timedelta(days=1), cal, 0)[1])
        rows = RangeRows(reader, *span, slack=MAX_INTERVAL_SLACK)
        counts = reader.signal_counts(*span, source)
        look = SlidingLookbacks(
            rows, RangeReader(rows, source, *span, counts), source, *span, MAX_INTERVAL_SLACK
        )
        assert look.exact
        learned, unsure = [], []
        for sess in cal.sessions_between(FIRST + timedelta(days=25), LAST):
            got = look.cadence(cal, sess.day)
            want = loader._learn_cadence(reader, cal, sess.day, source)
            if got is SlidingLookbacks.UNSURE:
                unsure.append(sess.day)
                # The period's up-time would have said otherwise: the shortcut had to step aside.
                shortcut = learn_from_rates(
                    [look._session_rates(s) for s in lookback_sessions(cal, sess.day)]
                )
                assert shortcut != want
                continue
            assert got == want, sess.day
            learned.append(want)
    finally:
        reader.close()
    # Only the day whose lookback opens on SLOW_DAY is left to the day report's learning.
    assert unsure == [cal.sessions_between(SLOW_DAY, LAST)[10].day]
    assert len({c.per_hour for c in learned if c is not None}) >= 2
