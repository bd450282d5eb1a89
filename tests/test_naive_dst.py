"""A naive wall-clock time on a DST change day means what the loop's clock says it means.

On the fall-back night New York's wall clock shows 01:00-01:59 twice. A loop that stamps its
data with naive local times (a feed parsed from text, ``datetime.now()`` on a New York
machine) hands in 01:30 for data 30 s old during the second 01:xx hour; read as the first
01:30, that data was an hour and 30 s old: on a market open at that hour (a 24/7 calendar)
every call was refused as stale and STALE_DATA (CRITICAL) fired for a whole hour — the fault
run "DST, fall" in RELIABILITY.md. An ambiguous (or skipped) wall time is read as the latest
instant it can mean that is not in the future of the loop's own clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import FakeClock, count

from health.timestamps import to_epoch

NY = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
FALL = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 02:00 EDT -> 01:00 EST
SPRING = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 02:00 EST -> 03:00 EDT


def _wall(instant: datetime) -> datetime:
    """The naive local time a feed would print for ``instant`` (no fold: text has none)."""
    return instant.astimezone(NY).replace(tzinfo=None, fold=0)


@pytest.mark.parametrize("minutes_after", [0.5, 10, 30, 59.5])
def test_the_second_hour_of_the_fall_back_night_is_read_as_the_second(minutes_after) -> None:
    now = FALL + timedelta(minutes=minutes_after)
    data = now - timedelta(seconds=30)
    assert to_epoch(_wall(data), NY, not_after=now.timestamp()) == data.timestamp()


@pytest.mark.parametrize("minutes_before", [0.5, 30, 59.5])
def test_the_first_hour_is_still_read_as_the_first(minutes_before) -> None:
    now = FALL - timedelta(minutes=minutes_before)
    data = now - timedelta(seconds=30)
    assert to_epoch(_wall(data), NY, not_after=now.timestamp()) == data.timestamp()


def test_data_from_the_first_hour_read_during_the_second_is_not_in_the_future() -> None:
    """01:50 EDT seen at 01:10 EST (20 min later): read as 01:50 EST it would be 40 min in
    the future; the reading that is not after now is the right one."""
    data = FALL - timedelta(minutes=10)
    now = FALL + timedelta(minutes=10)
    assert to_epoch(_wall(data), NY, not_after=now.timestamp()) == data.timestamp()


def test_without_a_clock_the_first_reading_stays() -> None:
    """Where there is no 'now' to judge by, the reading is the one Python gives (fold=0)."""
    data = FALL + timedelta(minutes=30)
    assert to_epoch(_wall(data), NY) == (data - timedelta(hours=1)).timestamp()


def test_the_spring_gap_is_unchanged_for_times_that_exist() -> None:
    for minutes in (-30, -0.5, 0.5, 30):
        data = SPRING + timedelta(minutes=minutes)
        now = data + timedelta(seconds=30)
        assert to_epoch(_wall(data), NY, not_after=now.timestamp()) == data.timestamp()


def test_a_24_7_loop_stamping_naive_new_york_time_is_never_stale_across_the_fall_back(
    make_monitor, alerts, store_path
) -> None:
    clock = FakeClock(FALL - timedelta(minutes=70))
    monitor = make_monitor(
        clock=clock,
        calendar="24/7",
        naive_timezone="America/New_York",
        alert_callback=alerts,
        check_interval_seconds=60,
    )
    refused = []
    while clock.now < FALL + timedelta(minutes=70):
        data = _wall(clock.now - timedelta(seconds=30))
        allowed, reason = monitor.should_generate_signals(data)
        if not allowed:
            refused.append((clock.now.isoformat(), reason))
        monitor.record_signal("BTC", data)
        clock.advance(60)
    monitor.close()
    assert refused == []
    assert alerts.of("STALE_DATA") == []
    # The signals' data times are stored as the instants they were, 30 s before each call.
    assert count(store_path, "signals", "abs(at - data_ts - 30) > 0.001") == 0
