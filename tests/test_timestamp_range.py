"""Every timestamp the API accepts is one every report can render: times outside
1970-01-01 .. 2262-04-11T23:47:16Z (pandas.Timestamp.max) are refused at the edge with
ValueError, from the loop's calls and from an injected clock alike, and the day's report,
JSON and Nagios line still render afterwards."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from conftest import NY, FakeClock, ny, query

from console.cli import check_main
from health.timestamps import MAX_EPOCH, to_epoch

ABSURD = [
    pytest.param(datetime(9999, 12, 31, 23, 59), id="naive-9999"),
    pytest.param(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), id="aware-9999"),
    pytest.param(datetime(2262, 4, 12, tzinfo=UTC), id="a-day-after-the-limit"),
    pytest.param(2**70, id="2**70"),
    pytest.param(10**400, id="10**400"),
    pytest.param(1e20, id="1e20"),
    pytest.param(5e10, id="5e10-seconds-year-3554"),
    pytest.param(float(MAX_EPOCH) + 1, id="limit+1s"),
]


def _report_renders(store_path, day: date, capsys) -> None:
    """Text, --json and --nagios of the date: a status, never 'internal error'."""
    base = ["--store", str(store_path), "--date", day.isoformat(), "--now", "2025-12-11T12:00:00-05:00"]
    for extra in ([], ["--json"], ["--nagios"]):
        with pytest.raises(SystemExit) as done:
            check_main(base + extra)
        out = capsys.readouterr()
        assert done.value.code in (0, 1, 2), (extra, out.err)
        assert "internal error" not in out.err
        if extra == ["--json"]:
            json.loads(out.out)
        elif extra == ["--nagios"]:
            assert out.out.startswith("PRODUCTION HEALTH ") and len(out.out.splitlines()) == 1


@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_timestamp_is_refused_and_the_day_still_reports(
    value, make_monitor, clock, store_path, capsys
):
    monitor = make_monitor(clock=clock)
    with pytest.raises(ValueError, match=r"2262-04-11|finite|valid time"):
        monitor.record_signal("AAPL", value)
    with pytest.raises(ValueError, match=r"2262-04-11|finite|valid time"):
        monitor.should_generate_signals(value)
    monitor.record_signal("GOOD", clock.now)
    monitor.close()
    assert query(store_path, "SELECT symbol FROM signals") == [("GOOD",)]
    _report_renders(store_path, clock.now.date(), capsys)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(pd.Timestamp.max.tz_localize("UTC"), id="pandas-max"),
        pytest.param(2**63 - 1, id="2**63-1-ns"),
        pytest.param(datetime(2262, 4, 11, 23, 47, 16, tzinfo=UTC), id="the-limit"),
        pytest.param(1.0, id="1970-01-01T00:00:01Z"),
    ],
)
def test_the_extremes_accepted_still_render(value, make_monitor, clock, store_path, capsys) -> None:
    monitor = make_monitor(clock=clock)
    allowed, reason = monitor.should_generate_signals(value)
    assert not allowed and reason
    monitor.record_signal("EDGE", value)
    monitor.close()
    ((data_ts,),) = query(store_path, "SELECT data_ts FROM signals")
    assert 0 < data_ts <= MAX_EPOCH
    _report_renders(store_path, clock.now.date(), capsys)


@pytest.mark.parametrize(
    "returns",
    [
        pytest.param(datetime(9999, 12, 31, tzinfo=UTC), id="year-9999"),
        pytest.param(2.0**70, id="2**70"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(-5.0, id="before-1970"),
    ],
)
def test_a_clock_returning_no_valid_time_is_refused_like_a_bad_timestamp(returns, make_monitor, store_path):
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    monitor = make_monitor(clock=lambda: clock.now if clock.now.year < 2026 else returns)
    monitor.record_signal("BEFORE", clock.now)
    clock.set(datetime(2026, 1, 5, tzinfo=NY))
    for call in (
        lambda: monitor.should_generate_signals(1765382400.0),
        monitor.record_activity,
        lambda: monitor.record_signal("DURING", 1765382400.0),
    ):
        with pytest.raises(ValueError, match="clock"):
            call()
    monitor.close()  # the stop is stamped with the clock's last good time
    assert query(store_path, "SELECT symbol FROM signals") == [("BEFORE",)]
    ((stopped,),) = query(store_path, "SELECT stopped_at FROM runs")
    assert stopped == ny(2025, 12, 10, 11, 0).timestamp()


def test_the_limit_is_pandas_own() -> None:
    assert pd.Timestamp.max.value / 1e9 == MAX_EPOCH
    assert to_epoch(pd.Timestamp.max.tz_localize("UTC"), NY) <= MAX_EPOCH
