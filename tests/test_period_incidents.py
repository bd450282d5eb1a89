"""A period's incidents (health/period_incidents.py): a gap that runs to the close lasts until the
loop's next heartbeat, whenever that comes — but a loop that came back after the close and
failed again before the next session is two incidents, not one silence from the first failure
to the last recovery."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from health.calendar import get_calendar
from health.loader import open_store
from health.period import period_report
from health.simulation import SimClock, at, monitor, run_loop

D1, D2, D3 = date(2025, 6, 10), date(2025, 6, 11), date(2025, 6, 12)


@pytest.mark.parametrize(
    ("back", "until"),
    [((D1, 17, 0), (D1, 17, 30)), ((D2, 8, 0), (D2, 9, 10)), ((D1, 20, 0), (D1, 20, 1))],
    ids=["evening", "pre-market", "one-beat"],
)
def test_back_after_the_close_then_down_again_is_two_incidents(tmp_path: Path, back, until) -> None:
    store = tmp_path / "health.db"
    clock = SimClock(at(D1, 9, 0))
    with monitor(store, clock) as mon:
        run_loop(mon, clock, at(D1, 15, 0), signal_every=5)  # silent from 15:00 to the close
        clock.now = at(*back)
        run_loop(mon, clock, at(*until), signal_every=5)  # back for a while outside RTH
        clock.now = at(D2, 11, 0)  # then silent again until 11:00 the next day
        run_loop(mon, clock, at(D2, 16, 30), signal_every=5)
        clock.now = at(D3, 9, 0)
        run_loop(mon, clock, at(D3, 16, 30), signal_every=5)
    with open_store(store) as reader:
        p = period_report(reader, get_calendar("XNYS"), D1, D3, at(D3, 20, 0))
    first, second = p.incidents
    assert (first.start, first.end) == (at(D1, 14, 59), at(*back))  # recovered after the close
    assert first.rth_seconds == 61 * 60 and not first.ongoing
    assert (second.start, second.end) == (at(D2, 9, 30), at(D2, 11, 0))
    assert second.rth_seconds == 90 * 60
    assert p.downtime_seconds == (61 + 90) * 60
