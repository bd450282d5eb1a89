"""Every timestamp form docs/CONTRACT.md §2 accepts, every bad one, at the edge (to_epoch) and through
the loop's public calls."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from conftest import NY, ny, query
from hypothesis import given
from hypothesis import strategies as st

from health.timestamps import to_epoch

# Wednesday 2025-12-10 11:00 New York (EST, UTC-5) = 16:00 UTC.
T = 1765382400.0
assert datetime.fromtimestamp(T, NY) == ny(2025, 12, 10, 11, 0)


# -- accepted forms ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(ny(2025, 12, 10, 11, 0), id="aware-new-york"),
        pytest.param(datetime(2025, 12, 10, 16, 0, tzinfo=UTC), id="aware-utc"),
        pytest.param(datetime(2025, 12, 11, 1, 0, tzinfo=timezone(timedelta(hours=9))), id="aware-fixed-+9"),
        pytest.param(datetime(2025, 12, 10, 11, 0), id="naive-read-in-new-york"),
        pytest.param(pd.Timestamp("2025-12-10 16:00", tz="UTC"), id="pandas-aware-utc"),
        pytest.param(pd.Timestamp("2025-12-10 11:00", tz="America/New_York"), id="pandas-aware-ny"),
        pytest.param(pd.Timestamp("2025-12-10 11:00"), id="pandas-naive-read-in-new-york"),
        pytest.param(1765382400, id="epoch-int-seconds"),
        pytest.param(1765382400.0, id="epoch-float-seconds"),
        pytest.param(1765382400000, id="epoch-int-milliseconds"),
        pytest.param(1765382400000.0, id="epoch-float-milliseconds"),
        pytest.param(np.int64(1765382400), id="numpy-int64-seconds"),
        pytest.param(np.int64(1765382400000), id="numpy-int64-milliseconds"),
        pytest.param(np.float64(1765382400.0), id="numpy-float64-seconds"),
        pytest.param(pd.Timestamp("2025-12-10 16:00", tz="UTC").value, id="epoch-nanoseconds"),
    ],
)
def test_accepted_forms_normalise_to_the_same_utc_epoch(value: object) -> None:
    assert to_epoch(value, NY) == pytest.approx(T, abs=1e-6)


def test_fractional_epoch_seconds_are_kept() -> None:
    assert to_epoch(T + 0.25, NY) == T + 0.25
    assert to_epoch(1765382400250, NY) == pytest.approx(T + 0.25)


def test_naive_utc_datetime_is_read_as_new_york_local_time() -> None:
    """The classic feed bug: a naive datetime that was meant as UTC. The contract reads naive
    datetimes in naive_timezone (default: the calendar's, New York), so 16:00 naive is
    16:00 New York, 21:00 UTC: five hours later than the feed meant."""
    naive_utc = datetime(2025, 12, 10, 16, 0)  # what datetime.utcnow() would have produced
    epoch = to_epoch(naive_utc, NY)
    assert epoch == ny(2025, 12, 10, 16, 0).timestamp()
    assert epoch - T == 5 * 3600
    # ... and with naive_timezone=UTC the same value means what the feed meant.
    assert to_epoch(naive_utc, UTC) == T


def test_naive_datetime_follows_dst_of_naive_timezone() -> None:
    summer = to_epoch(datetime(2025, 7, 1, 9, 30), NY)
    winter = to_epoch(datetime(2025, 12, 1, 9, 30), NY)
    assert datetime.fromtimestamp(summer, UTC).hour == 13  # EDT, UTC-4
    assert datetime.fromtimestamp(winter, UTC).hour == 14  # EST, UTC-5


def test_pandas_naive_and_aware_differ_by_the_offset() -> None:
    naive = to_epoch(pd.Timestamp("2025-12-10 11:00"), NY)
    aware_utc = to_epoch(pd.Timestamp("2025-12-10 11:00", tz="UTC"), NY)
    assert naive - aware_utc == 5 * 3600


# -- bad forms -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "exc", "words"),
    [
        pytest.param("2025-12-10 11:00", TypeError, ["str", "datetime", "epoch"], id="str"),
        pytest.param(None, TypeError, ["NoneType", "datetime"], id="None"),
        pytest.param(True, TypeError, ["bool"], id="bool-True"),
        pytest.param(False, TypeError, ["bool"], id="bool-False"),
        pytest.param(b"1765382400", TypeError, ["bytes"], id="bytes"),
        pytest.param([T], TypeError, ["list"], id="list"),
        pytest.param(float("nan"), ValueError, ["nan", "finite"], id="nan"),
        pytest.param(np.float64("nan"), ValueError, ["nan", "finite"], id="numpy-nan"),
        pytest.param(float("inf"), ValueError, ["inf", "finite"], id="inf"),
        pytest.param(float("-inf"), ValueError, ["finite"], id="-inf"),
        pytest.param(pd.NaT, ValueError, ["NaT"], id="pandas-NaT"),
        pytest.param(-1, ValueError, ["1970"], id="negative-int"),
        pytest.param(-1765382400000.0, ValueError, ["1970"], id="negative-milliseconds"),
        pytest.param(datetime(1969, 7, 20, tzinfo=UTC), ValueError, ["1970"], id="before-1970"),
    ],
)
def test_bad_forms_raise_with_a_clear_message(value: object, exc: type, words: list[str]) -> None:
    with pytest.raises(exc) as info:
        to_epoch(value, NY)
    message = str(info.value)
    assert message.startswith("timestamp"), message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("value", ["2025-12-10", None, True, float("nan"), pd.NaT, -5])
def test_loop_calls_reject_bad_timestamps_and_record_nothing(make_monitor, clock, store_path, value):
    """Bad input is the caller's bug: the call raises at once, nothing is recorded for it."""
    monitor = make_monitor(clock=clock)
    with pytest.raises((TypeError, ValueError)):
        monitor.should_generate_signals(value)
    with pytest.raises((TypeError, ValueError)):
        monitor.record_signal("AAPL", value)
    monitor.record_signal("GOOD", T)
    assert monitor.flush(5.0)
    assert query(store_path, "SELECT symbol, data_ts FROM signals") == [("GOOD", T)]
    assert query(store_path, "SELECT count(*) FROM gate") == [(0,)]


def test_monitor_reads_naive_datetimes_in_the_calendars_timezone(make_monitor, clock):
    monitor = make_monitor(clock=clock)  # clock: 11:00 New York
    ok, reason = monitor.should_generate_signals(datetime(2025, 12, 10, 10, 59))
    assert ok, reason
    # A naive UTC "now" is five hours in the future for a New York reader: refused, and the
    # reason names the whole-hour offset.
    ok, reason = monitor.should_generate_signals(datetime(2025, 12, 10, 16, 0))
    assert not ok
    assert "future" in reason and "5h" in reason and "time-zone" in reason


def test_monitor_naive_timezone_setting(make_monitor, clock):
    monitor = make_monitor(clock=clock, naive_timezone="UTC")
    ok, reason = monitor.should_generate_signals(datetime(2025, 12, 10, 15, 59))
    assert ok, reason
    ok, reason = monitor.should_generate_signals(datetime(2025, 12, 10, 10, 59))  # 5h old
    assert not ok and "old" in reason


# -- properties --------------------------------------------------------------------------------
_aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.timezones()
)


@given(_aware)
def test_aware_datetime_round_trip(dt: datetime) -> None:
    assert to_epoch(dt, NY) == dt.timestamp()


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 12, 31)))
def test_naive_datetime_is_naive_timezone_local(dt: datetime) -> None:
    assert to_epoch(dt, NY) == dt.replace(tzinfo=NY).timestamp()


@given(st.floats(min_value=1e8, max_value=7e9, allow_nan=False))
def test_epoch_seconds_and_milliseconds_agree(seconds: float) -> None:
    assert to_epoch(seconds, NY) == seconds
    assert math.isclose(to_epoch(seconds * 1000, NY), seconds, rel_tol=1e-12)
    assert to_epoch(int(seconds) * 1000, NY) == int(seconds)
