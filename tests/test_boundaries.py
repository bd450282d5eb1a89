"""The limits of docs/CONTRACT.md, exactly on them and just past them: data stamped exactly the
future tolerance ahead is still "now", a hair more is the future; a silence exactly as long as
the gap limit is no gap, a second longer is one. The gate (in the loop) and the analysis (in
the report) draw each line at the same place."""

from __future__ import annotations

from datetime import date

import pytest
from day_inputs import day_report, span

from health.calendar import get_calendar
from health.codes import IssueCode
from health.gate import FUTURE, OK, Gate
from health.simulation import at

WED = date(2025, 12, 10)
NOW = at(WED, 11, 0)  # mid-session on an ordinary Wednesday
OPEN, CLOSE = at(WED, 9, 30), at(WED, 16, 0)


# -- the future tolerance ----------------------------------------------------------------------
@pytest.mark.parametrize("tolerance", [5.0, 1.0, 0.5])
def test_the_gate_allows_data_exactly_at_the_tolerance_and_refuses_past_it(tolerance: float) -> None:
    gate = Gate(get_calendar("XNYS"), max_data_age_seconds=3600, future_tolerance_seconds=tolerance)
    at_limit = gate.decide(NOW, NOW + tolerance)
    assert (at_limit.allowed, at_limit.code, at_limit.data_age) == (True, OK, -tolerance)
    past = gate.decide(NOW, NOW + tolerance + 0.001)
    assert (past.allowed, past.code) == (False, FUTURE)


def test_the_gate_refusal_names_the_offset_and_the_tolerance() -> None:
    gate = Gate(get_calendar("XNYS"), 3600, 5.0)
    past = gate.decide(NOW, NOW + 6)
    assert past.reason == "data timestamp is 6s in the future (tolerance 5s)"
    assert past.data_age == -6


def test_the_analysis_counts_future_data_from_just_past_the_tolerance() -> None:
    """Signals with data stamped 5 s ahead (the default tolerance) are not future; 5.5 s is."""
    signals = ((NOW, NOW + 5.0), (NOW + 60, NOW + 65.0), (NOW + 120, NOW + 125.5))
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=signals)
    sig = rep.sources[0].signals
    assert (sig.total, sig.future, sig.stale) == (3, 1, 0)
    (anomaly,) = [i for i in rep.issues if i.code == IssueCode.TIMING_ANOMALY]
    assert anomaly.message == "1 data timestamps in the future (beyond 5s)"


def test_the_analysis_has_no_timing_anomaly_for_data_exactly_at_the_tolerance() -> None:
    signals = tuple((NOW + 60 * i, NOW + 60 * i + 5.0) for i in range(3))
    rep = day_report(WED, spans=(span(OPEN, CLOSE),), signals=signals)
    assert rep.sources[0].signals.future == 0
    assert [i.code for i in rep.issues] == []


# -- the uptime gap ----------------------------------------------------------------------------
def _silence_of(seconds: float):
    """One loop up all session but for one silence of ``seconds`` between two heartbeats."""
    return day_report(WED, spans=(span(OPEN, NOW), span(NOW + seconds, CLOSE, seq=1)))


def test_a_silence_exactly_at_the_gap_limit_is_no_gap() -> None:
    rep = _silence_of(30 * 60)  # max_uptime_gap_minutes = 30
    assert rep.sources[0].uptime.gaps == ()
    assert IssueCode.UPTIME_GAP not in [i.code for i in rep.issues]


def test_a_silence_one_second_past_the_gap_limit_is_a_gap() -> None:
    rep = _silence_of(30 * 60 + 1)
    (gap,) = rep.sources[0].uptime.gaps
    assert (gap.start, gap.end, gap.rth_seconds, gap.ongoing) == (NOW, NOW + 1801, 1801, False)
    (issue,) = [i for i in rep.issues if i.code == IssueCode.UPTIME_GAP]
    assert issue.message == "1 silence longer than 0h 30m inside RTH: 11:00 EST–11:30 EST (30m 01s)"
