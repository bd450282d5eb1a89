"""The day's signal tally (health/signal_tally.py) and what it stands on: the sorted ages
(health/sorted_floats.py) and the calendar's stretches (``MarketCalendar.stretch_at``).

References we did not write: ``statistics.median`` and ``sorted`` for the ages; the calendar's
own ``is_open`` and ``previous_session_close`` (themselves diffed against exchange_calendars in
tests/differential) for the stretches; and, for the tally, the analysis as it was written
before the tally existed (one pass over a list, ``statistics.median``, ``Counter``), kept
here verbatim as the reference.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health.calendar import get_calendar
from health.report import Thresholds
from health.signal_tally import SignalTally
from health.simulation import at
from health.sorted_floats import CHUNK, SortedFloats

SETTINGS = settings(max_examples=60, deadline=None, database=None)
finite = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False)


# -- sorted ages --------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(finite, max_size=300), st.lists(finite, max_size=300))
def test_sorted_floats_agree_with_sorted_and_statistics(start: list[float], added: list[float]) -> None:
    s = SortedFloats(start)
    for v in added:
        s.add(v)
    values = start + added
    assert list(s) == sorted(values) and len(s) == len(values)
    assert s.median() == (statistics.median(values) if values else None)
    assert s.max() == (max(values) if values else None)
    for k in range(0, len(values), max(1, len(values) // 7)):
        assert s[k] == sorted(values)[k] and s[-1 - k] == sorted(values)[-1 - k]


def test_sorted_floats_split_chunks_and_stay_exact() -> None:
    rng = random.Random(17)
    s = SortedFloats()
    values = []
    for i in range(7 * CHUNK):  # mostly rising (a clock), some out of order, many equal
        v = i * 0.001 + (rng.random() * 5 if i % 11 == 0 else 0.0) + (3.0 if i % 13 == 0 else 0.0)
        values.append(round(v, 2))
        s.add(values[-1])
    assert len(s._chunks) > 3 and all(len(c) <= 2 * CHUNK for c in s._chunks)
    assert list(s) == sorted(values)
    assert s.median() == statistics.median(values)
    with pytest.raises(IndexError):
        s[len(values)]


# -- the calendar's stretches -------------------------------------------------------------------
@pytest.mark.parametrize("code", ["XNYS", "XHKG", "CMES", "24/7", "XTKS"])
def test_stretch_agrees_with_is_open_and_the_previous_close(code: str) -> None:
    """At every boundary ±1 s and at random instants, over two weeks with a break, a holiday
    or abutting sessions: the stretch holds ``ts``, and ``is_open``/``previous_session_close``
    are the same at its start, at ``ts`` and just before its end."""
    cal = get_calendar(code)
    sessions = cal.sessions_between(date(2025, 12, 18), date(2026, 1, 6))
    probes = []
    for s in sessions:
        for b in (s.open_ts, s.close_ts, s.break_start_ts, s.break_end_ts):
            if b is not None:
                probes += [b - 1, b - 0.001, b, b + 0.001, b + 1]
    rng = random.Random(code)
    lo, hi = sessions[0].open_ts - 86400, sessions[-1].close_ts + 86400
    probes += [rng.uniform(lo, hi) for _ in range(300)]
    for ts in probes:
        start, end, is_open, cutoff = cal.stretch_at(ts)
        assert start <= ts < end
        for t in (ts, start, max(start, min(end - 0.001, ts + 1e6)), (start + end) / 2 if end < 1e12 else ts):
            if start > -1e12:
                assert cal.is_open(t) is is_open, (code, ts, t)
                assert cal.previous_session_close(t) == cutoff, (code, ts, t)
    open_parts = cal.open_intervals(lo, hi)
    for ts in probes:
        inside = any(a <= ts < b for a, b in open_parts)
        assert inside is cal.is_open(ts), (code, ts)


# -- the tally against the analysis as it was -----------------------------------------------------
def reference_signals(signals, cal, th: Thresholds) -> dict:
    """health/analysis.py's ``_signals`` and ``_whole_hour_offset`` before the tally."""
    total = rth_n = stale = future = 0
    ages: list[float] = []
    hourly: Counter[int] = Counter()
    newest = None
    for at_, data_ts in signals:
        total += 1
        age = at_ - data_ts
        ages.append(age)
        in_rth = cal.is_open(at_)
        if in_rth:
            rth_n += 1
        if age < -th.future_tolerance_seconds:
            future += 1
        elif age > th.max_data_age_seconds or (in_rth and data_ts <= cal.previous_session_close(at_)):
            stale += 1
        hourly[datetime.fromtimestamp(at_, cal.tz).hour] += 1
        if newest is None or data_ts > newest:
            newest = data_ts
    whole = (None, 0)
    if len(ages) >= 3:
        offsets: Counter[int] = Counter()
        for age in ages:
            hours = round(age / 3600)
            if hours != 0 and abs(age - hours * 3600) <= 120.0:
                offsets[hours] += 1
        if offsets:
            hours, count = offsets.most_common(1)[0]
            if count * 2 >= len(ages):
                whole = (hours, count)
    return {
        "total": total,
        "rth": rth_n,
        "after_hours": total - rth_n,
        "stale": stale,
        "future": future,
        "max_data_age": max(ages) if ages else None,
        "median_data_age": statistics.median(ages) if ages else None,
        "newest_data_ts": newest,
        "hourly": dict(hourly),
        "whole_hour": whole,
    }


DAY = date(2025, 12, 10)
T_OPEN = at(DAY, 9, 30)


@st.composite
def day_of_signals(draw):
    """Signals of a day in time order (as a report reads them): around the open and the
    close, ages fresh, stale, future, whole hours off (a time-zone label error), from the
    previous session."""
    n = draw(st.integers(0, 60))
    out = []
    for i in range(n):
        when = draw(
            st.sampled_from(
                [
                    at(DAY, 0, 5),
                    at(DAY, 9, 29, 59),
                    T_OPEN,
                    at(DAY, 12),
                    at(DAY, 15, 59, 59),
                    at(DAY, 16),
                    at(DAY, 20),
                ]
            )
        )
        when += draw(st.floats(0, 120, allow_nan=False)) + i * 1e-3  # distinct: ties have no order
        age = draw(
            st.one_of(
                st.floats(0, 30, allow_nan=False),
                st.floats(3000, 8000, allow_nan=False),
                st.floats(-30, 0, allow_nan=False),
                st.sampled_from([3600.0, -3600.0, 7200.0, 18000.0, 3600 + 119.0, 3600 - 121.0]),
                st.just(when - at(date(2025, 12, 9), 15, 59)),  # the previous session's last bar
            )
        )
        out.append((when, when - age))
    return sorted(out)


@settings(max_examples=150, deadline=None, database=None)
@given(
    day_of_signals(),
    st.sampled_from([Thresholds(), Thresholds(max_data_age_seconds=600, future_tolerance_seconds=0.5)]),
)
def test_tally_equals_the_analysis_before_it_in_any_order(signals, th: Thresholds) -> None:
    cal = get_calendar("XNYS")
    expected = reference_signals(signals, cal, th)
    shuffled = signals[:]
    random.Random(len(signals)).shuffle(shuffled)
    for order in (signals, shuffled):  # the live view adds them as they were recorded
        got = SignalTally(cal, th).extend(order).signals()
        assert {
            "total": got.total,
            "rth": got.rth,
            "after_hours": got.after_hours,
            "stale": got.stale,
            "future": got.future,
            "max_data_age": got.max_data_age,
            "median_data_age": got.median_data_age,
            "newest_data_ts": got.newest_data_ts,
            "hourly": got.hourly,
            "whole_hour": (got.whole_hour_offset, got.whole_hour_count),
        } == expected
        assert list(got.hourly) == sorted(got.hourly)


def test_tally_on_a_calendar_with_a_lunch_break() -> None:
    """XHKG: signals in the break are after hours; data from yesterday is stale in RTH."""
    cal = get_calendar("XHKG")
    day = date(2025, 12, 10)
    prev_close = at(date(2025, 12, 9), 16, 0, 0, "XHKG")
    signals = [
        (at(day, 9, 45, 0, "XHKG"), at(day, 9, 44, 58, "XHKG")),  # fresh, RTH
        (at(day, 12, 30, 0, "XHKG"), at(day, 12, 29, 58, "XHKG")),  # in the break
        (at(day, 13, 30, 0, "XHKG"), prev_close - 60),  # RTH, yesterday's data
        (at(day, 16, 30, 0, "XHKG"), at(day, 16, 29, 0, "XHKG")),  # after the close
    ]
    got = SignalTally(cal, Thresholds(max_data_age_seconds=86400)).extend(signals).signals()
    assert (got.total, got.rth, got.after_hours, got.stale) == (4, 2, 2, 1)
    assert reference_signals(signals, cal, Thresholds(max_data_age_seconds=86400))["stale"] == 1


@SETTINGS
@given(
    st.sampled_from(["XNYS", "XHKG", "XTKS"]),
    st.lists(st.floats(min_value=-3600, max_value=10 * 3600, allow_nan=False), max_size=200),
    st.floats(min_value=0, max_value=10 * 3600),
)
def test_minute_counts_judge_the_session_hours_as_every_signal_does(code, offsets, until) -> None:
    """The cadence (health/cadence.py) counts a session hour's signals from the tally's
    per-minute counts: on calendars with and without a lunch break, the hours come out as
    counting every signal's own time does."""
    from health.cadence import Cadence, judge_hours

    cal = get_calendar(code)
    sess = cal.session(date(2025, 12, 10))
    times = [sess.open_ts + x for x in offsets]
    tally = SignalTally(cal, Thresholds()).extend((t, t - 1.0) for t in times)
    up = [(sess.open_ts - 3600, sess.close_ts + 3600)]
    cadence = Cadence(10, "config")
    by_minute = judge_hours(sess, sess.open_ts + until, tally.minute_counts(), up, (), cadence)
    by_signal = judge_hours(sess, sess.open_ts + until, ((t, 1) for t in times), up, (), cadence)
    assert by_minute == by_signal
    assert sum(n for _, n in tally.minute_counts()) == len(times)


# -- the whole-hour offset: its limits and its ties ----------------------------------------------
def _offsets(signals) -> tuple[int | None, int]:
    """(hours, signals) of a day's signals given as (minutes after the open, hours off)."""
    cal = get_calendar("XNYS")
    rows = [(T_OPEN + m * 60, T_OPEN + m * 60 - h * 3600) for m, h in signals]
    answers = set()
    for order in (rows, rows[::-1]):
        tally = SignalTally(cal, Thresholds()).extend(order)
        got = tally.signals()
        assert (got.whole_hour_offset, got.whole_hour_count) == tally.whole_hour_offset()
        answers.add(tally.whole_hour_offset())
    assert len(answers) == 1, answers  # the order signals come in never matters
    return answers.pop()


def test_a_whole_hour_offset_needs_three_signals_and_half_of_them() -> None:
    assert _offsets([(1, 1), (2, 1)]) == (None, 0)  # two signals: too few to say
    assert _offsets([(1, 1), (2, 1), (3, 1)]) == (1, 3)
    # exactly half of the signals is enough, one fewer is not
    assert _offsets([(1, 2), (2, 2), (3, 2), (4, 1), (5, 1), (6, 0)]) == (2, 3)
    assert _offsets([(1, 2), (2, 2), (3, 1), (4, 1), (5, 0), (6, 0), (7, 0)]) == (None, 0)
    assert _offsets([(1, 2), (2, 2), (3, 0), (4, 0), (5, 0)]) == (None, 0)  # two of five


def test_of_two_offsets_as_common_the_one_that_showed_first_wins() -> None:
    assert _offsets([(1, 2), (2, 1), (3, 1), (4, 2)]) == (2, 2)  # +2 h showed first
    assert _offsets([(1, 1), (2, 2), (3, 2), (4, 1)]) == (1, 2)
    # both at the same first minute: the fewer hours, whatever the order they came in
    assert _offsets([(1, 2), (1, 1), (3, 1), (4, 2)]) == (1, 2)


def test_data_stamped_at_the_previous_close_is_stale_in_rth_and_a_hair_later_is_not() -> None:
    """The gate's rule (docs/CONTRACT.md §2): stamped at or before the previous session's close."""
    cal = get_calendar("XNYS")
    prev_close = at(date(2025, 12, 9), 16, 0)
    th = Thresholds(max_data_age_seconds=86400)
    for data_ts, stale in ((prev_close, 1), (prev_close + 0.001, 0)):
        got = SignalTally(cal, th).extend([(T_OPEN + 60, data_ts)]).signals()
        assert (got.rth, got.stale) == (1, stale)


def test_a_whole_hour_offset_at_its_slack_and_at_any_number_of_hours() -> None:
    """120 s off the hour still reads as one (health/gate.py WHOLE_HOUR_SLACK), behind or
    ahead; and 2,000 hours is a whole number of hours too."""
    cal = get_calendar("XNYS")
    for age, hours in ((3600 - 120, 1), (-3600 + 120, -1), (3600 + 120, 1), (2000 * 3600, 2000)):
        rows = [(T_OPEN + m, T_OPEN + m - age) for m in (60, 120, 180)]
        assert SignalTally(cal, Thresholds()).extend(rows).whole_hour_offset() == (hours, 3), age
    rows = [(T_OPEN + m, T_OPEN + m - 3600 + 121) for m in (60, 120, 180)]
    assert SignalTally(cal, Thresholds()).extend(rows).whole_hour_offset() == (None, 0)


def test_data_ahead_by_the_tolerance_is_not_from_the_future_and_a_hair_more_is() -> None:
    """The gate's clock tolerance (5 s by default): stamped 5 s ahead is allowed."""
    cal = get_calendar("XNYS")
    for ahead, future in ((5.0, 0), (5.001, 1)):
        got = SignalTally(cal, Thresholds()).extend([(T_OPEN + 60, T_OPEN + 60 + ahead)]).signals()
        assert got.future == future, ahead
