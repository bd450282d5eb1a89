"""The midday break is not RTH (docs/CONTRACT.md §3, "breaks cut out"): Hong Kong's 12:00–13:00
lunch, asked of a session directly, of the calendar by instant, and through what the report
counts — signals generated during the break are after hours, and stale refusals during the
break are not refusals during RTH."""

from __future__ import annotations

from datetime import date

import pytest
from day_inputs import day_report, gate_bucket, span

from health.calendar import get_calendar
from health.codes import IssueCode
from health.gate import STALE
from health.simulation import at

WED = date(2025, 12, 10)
HKG = "XHKG"


def hk(hh: int, mm: int = 0, ss: int = 0) -> float:
    return at(WED, hh, mm, ss, calendar=HKG)


# (local time, inside RTH?)
MOMENTS = [
    ((9, 29, 59), False),
    ((9, 30, 0), True),
    ((11, 59, 59), True),
    ((12, 0, 0), False),  # the break starts
    ((12, 30, 0), False),
    ((12, 59, 59), False),
    ((13, 0, 0), True),  # the afternoon session
    ((15, 59, 59), True),
    ((16, 0, 0), False),  # the close minute is outside
]


@pytest.mark.parametrize(
    ("hms", "inside"), MOMENTS, ids=[f"{h:02}:{m:02}:{s:02}" for (h, m, s), _ in MOMENTS]
)
def test_session_contains_and_is_open_leave_out_the_lunch_break(hms, inside) -> None:
    cal = get_calendar(HKG)
    session = cal.session(WED)
    assert (session.break_start_ts, session.break_end_ts) == (hk(12), hk(13))
    assert session.contains(hk(*hms)) is inside
    assert cal.is_open(hk(*hms)) is inside


def test_a_session_without_a_break_contains_its_whole_day() -> None:
    session = get_calendar("XNYS").session(WED)
    noon = at(WED, 12, 30)
    assert session.break_start_ts is None
    assert session.contains(noon) and session.contains(session.open_ts)
    assert not session.contains(session.close_ts) and not session.contains(session.open_ts - 1)


def test_signals_during_the_break_are_after_hours() -> None:
    fresh = 30.0
    signals = tuple((t, t - fresh) for t in (hk(10), hk(12, 15), hk(12, 45), hk(14)))
    rep = day_report(WED, calendar=HKG, spans=(span(hk(9, 30), hk(16)),), signals=signals)
    sig = rep.sources[0].signals
    assert (sig.total, sig.rth, sig.after_hours, sig.stale) == (4, 2, 2, 0)
    (issue,) = [i for i in rep.issues if i.code == IssueCode.AFTER_HOURS_SIGNALS]
    assert issue.message == "2 signals generated outside RTH"


def test_signals_only_in_rth_raise_nothing() -> None:
    signals = tuple((t, t - 30.0) for t in (hk(10), hk(11, 59), hk(13), hk(15, 59)))
    rep = day_report(WED, calendar=HKG, spans=(span(hk(9, 30), hk(16)),), signals=signals)
    assert (rep.sources[0].signals.rth, rep.sources[0].signals.after_hours) == (4, 0)
    assert rep.issues == ()


def test_stale_refusals_during_the_break_are_not_refusals_during_rth() -> None:
    old = 2 * 3600.0
    gate = (gate_bucket(STALE, hk(12, 10), count=7, age=old), gate_bucket(STALE, hk(10, 5), count=3, age=old))
    rep = day_report(WED, calendar=HKG, spans=(span(hk(9, 30), hk(16)),), gate=gate)
    g = rep.sources[0].gate
    assert (g.blocked, g.by_code, g.stale_rth) == (10, {STALE: 10}, 3)
    assert (g.stale_first, g.stale_last) == (hk(10, 5), hk(10, 5))
    (issue,) = [i for i in rep.issues if i.code == IssueCode.STALE_DATA]
    assert "refused stale data 3 times during RTH, 10:05 HKT–10:05 HKT" in issue.message
