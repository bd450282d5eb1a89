"""The allowed path's sentence is made once per age it shows (health/gate.py): whatever the
sequence of calls, every one says exactly what formatting its own age says."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from health.calendar import get_calendar
from health.durations import fmt_duration
from health.gate import OK, Gate

# A market that never closes: the gate judges data by its age alone, so every form
# fmt_duration has is reached (seconds, minutes, hours, days).
CALENDAR = "24/7"
OPEN = get_calendar(CALENDAR).session(date(2025, 12, 10)).open_ts
LIMIT = 72 * 3600.0

# Ages around every boundary of what fmt_duration shows, and the future tolerance.
EDGES = [
    -5.0,
    -0.5,
    0.0,
    0.4999999,
    0.5,
    0.5000001,
    1.5,
    2.5,
    59.4999,
    59.5,
    59.9999,
    60.0,
    3599.9999,
    3600.0,
]
ages = st.one_of(
    st.floats(min_value=-5.0, max_value=LIMIT, allow_nan=False),
    st.sampled_from(EDGES),
    st.sampled_from(EDGES).map(lambda a: a + 1e-9),
)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.floats(min_value=0, max_value=20 * 3600), ages), min_size=1, max_size=40))
@example([(0.0, 59.6), (0.0, 60.2), (0.0, 0.4), (0.0, -0.4), (0.0, 59.5), (0.0, 60.0)])
def test_every_allowed_call_says_its_own_age(calls: list[tuple[float, float]]) -> None:
    gate = Gate(get_calendar(CALENDAR), LIMIT, 5.0)
    for offset, age in calls:
        now = OPEN + offset
        allowed, code, reason, got_age = gate.evaluate(now, now - age)
        assert (allowed, code) == (True, OK)
        assert reason == f"ok: market open, data {fmt_duration(got_age)} old"
