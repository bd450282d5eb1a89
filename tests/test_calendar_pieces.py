"""The calendar's pieces of time — ``stretch_at``, ``open_intervals``, ``rth_parts`` — answer
what the per-instant questions (``is_open``, ``previous_session_close``) and the sessions'
own RTH say, on calendars with breaks (XHKG, XTKS), abutting sessions (CMES) and plain days
(XNYS), inside the range and past either end of it. The signal tally, the period's pieces and
the analysis' coverage aggregate by them instead of asking per instant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health import intervals as iv
from health.calendar import get_calendar

CODES = ["XNYS", "XHKG", "XTKS", "CMES"]
DAY = 86400.0


def _range(code: str) -> tuple[float, float]:
    cal = get_calendar(code)
    first = cal.sessions_between(cal.first_day, cal.first_day + timedelta(days=14))[0]
    last = cal.sessions_between(cal.last_day - timedelta(days=14), cal.last_day)[-1]
    return first.open_ts, last.close_ts


def _instants(code: str):
    """Anywhere in the calendar's range, near its ends and beyond them, and on its edges."""
    lo, hi = _range(code)
    cal = get_calendar(code)
    edges = [
        t
        for s in cal.sessions_between(cal.first_day, cal.first_day + timedelta(days=10))
        + cal.sessions_between(cal.last_day - timedelta(days=10), cal.last_day)
        for t in (s.open_ts, s.close_ts, s.break_start_ts, s.break_end_ts)
        if t is not None
    ]
    return st.one_of(
        st.floats(lo - 3 * DAY, hi + 3 * DAY),
        st.floats(lo - 3 * DAY, lo + 10 * DAY),
        st.floats(hi - 10 * DAY, hi + 3 * DAY),
        st.sampled_from(edges).flatmap(lambda t: st.sampled_from([t - 1e-3, t, t + 1e-3])),
    )


@pytest.mark.parametrize("code", CODES)
def test_a_stretch_is_where_nothing_changes_and_ends_where_something_does(code: str) -> None:
    cal = get_calendar(code)
    closes = {s.close_ts for s in cal.sessions_between(cal.first_day, cal.last_day)}
    first_close = min(closes)

    @settings(max_examples=150, deadline=None)
    @given(ts=_instants(code))
    def check(ts: float) -> None:
        start, end, is_open, cutoff = cal.stretch_at(ts)
        assert start <= ts < end
        assert (is_open, cutoff) == (cal.is_open(ts), cal.previous_session_close(ts))
        for t in (start, (start + min(end, ts + DAY)) / 2, ts):
            if t >= start and t > float("-inf"):
                assert (cal.is_open(t), cal.previous_session_close(t)) == (is_open, cutoff), t
        if start == float("-inf"):  # it reaches back forever only before the first close
            assert first_close > ts
        else:  # else it starts at a session's edge or where the answer changed
            before = (cal.is_open(start - 1e-3), cal.previous_session_close(start - 1e-3))
            assert before != (is_open, cutoff) or start in closes, start
        if end != float("inf"):  # it ends where the answer changes, or where a session closes
            changed = (cal.is_open(end), cal.previous_session_close(end)) != (is_open, cutoff)
            assert changed or end in closes, end

    check()


@pytest.mark.parametrize("code", CODES)
def test_past_the_last_close_nothing_is_open_and_no_session_comes(code: str) -> None:
    cal = get_calendar(code)
    _, last_close = _range(code)
    for ts in (last_close, last_close + 1, last_close + 30 * DAY):
        assert cal.stretch_at(ts) == (last_close, float("inf"), False, float("-inf"))
        assert cal.open_intervals(ts, ts + DAY) == [] and cal.rth_parts(ts, ts + DAY) == []


@pytest.mark.parametrize("code", CODES)
def test_open_pieces_are_the_sessions_rth_and_each_carries_its_cutoff(code: str) -> None:
    cal = get_calendar(code)

    @settings(max_examples=100, deadline=None)
    @given(a=_instants(code), length=st.floats(0, 9 * DAY))
    def check(a: float, length: float) -> None:
        b = a + length
        parts = cal.rth_parts(a, b)
        opened = cal.open_intervals(a, b)
        # The same pieces: RTH cut at every close and break, in order, each inside [a, b).
        assert [(lo, hi) for lo, hi, _ in parts] == opened
        assert all(a <= lo < hi <= b for lo, hi in opened)
        for lo, hi, cutoff in parts:
            assert cal.is_open(lo) and cal.is_open((lo + hi) / 2)
            assert cutoff == cal.previous_session_close(lo) == cal.previous_session_close((lo + hi) / 2)
        # And their total is the sessions' own RTH (Session.rth_intervals) clipped to [a, b).
        if a > float("-inf"):
            days = cal.sessions_between(
                max(cal.first_day, cal.local_date(max(a, _range(code)[0])) - timedelta(days=2)),
                min(cal.last_day, cal.local_date(min(b, _range(code)[1])) + timedelta(days=2)),
            )
            reference = iv.clip(iv.merge([p for s in days for p in s.rth_intervals()]), a, b)
            assert iv.total(opened) == pytest.approx(iv.total(reference), abs=1e-6)

    check()
