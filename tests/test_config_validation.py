"""MonitorConfig refuses every bad value at construction with TypeError (wrong type) or
ValueError (wrong value), never a KeyError from zoneinfo, never accepting inf or a bool for a
count; a clock that raises at construction is a clear ValueError and starts nothing."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from health import MonitorConfig, ProductionMonitor

DURATIONS = [
    "check_interval_seconds",
    "max_data_age_hours",
    "max_uptime_gap_minutes",
    "future_tolerance_seconds",
    "flush_interval_seconds",
    "repeat_interval_minutes",
    "flap_seconds",
]


@pytest.mark.parametrize("name", ["Mars/Base", "America/Nowhere", "../../etc/passwd", "", "UTC+5"])
def test_an_unknown_naive_timezone_is_a_value_error_at_construction(name) -> None:
    with pytest.raises(ValueError, match="naive_timezone") as raised:
        MonitorConfig(naive_timezone=name)
    assert not isinstance(raised.value, KeyError)


@pytest.mark.parametrize("value", [5, b"UTC", ["UTC"]])
def test_a_naive_timezone_of_the_wrong_type_is_a_type_error(value) -> None:
    with pytest.raises(TypeError, match="naive_timezone"):
        MonitorConfig(naive_timezone=value)


@pytest.mark.parametrize("value", ["Asia/Tokyo", ZoneInfo("Asia/Tokyo"), UTC])
def test_good_naive_timezones_are_accepted(value) -> None:
    assert MonitorConfig(naive_timezone=value).naive_timezone is value


@pytest.mark.parametrize("name", DURATIONS)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e300, np.float64("inf")])
def test_durations_must_be_finite_and_sane(name, value) -> None:
    with pytest.raises(ValueError, match=name):
        MonitorConfig(**{name: value})


@pytest.mark.parametrize("name", DURATIONS)
@pytest.mark.parametrize("value", [True, False, "60", None, 1j])
def test_durations_must_be_numbers(name, value) -> None:
    with pytest.raises((TypeError, ValueError), match=name):
        MonitorConfig(**{name: value})


@pytest.mark.parametrize("name", DURATIONS)
def test_durations_accept_ints_floats_and_numpy(name) -> None:
    for value in (1, 0.5, np.float64(2.5), np.int64(3)):
        assert getattr(MonitorConfig(**{name: value}), name) == value


@pytest.mark.parametrize("value", [True, False, 1.5, "10", None, 0, -1, np.float64(3.0)])
def test_max_buffered_events_is_a_positive_int_not_a_bool(value) -> None:
    with pytest.raises((TypeError, ValueError), match="max_buffered_events"):
        MonitorConfig(max_buffered_events=value)


@pytest.mark.parametrize("value", [True, False, "95", None, math.nan, math.inf, -0.1, 100.1])
def test_min_rth_coverage_pct_is_a_percentage_not_a_bool(value) -> None:
    with pytest.raises((TypeError, ValueError), match="min_rth_coverage_pct"):
        MonitorConfig(min_rth_coverage_pct=value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", "loop\ud800"),
        ("source", "a\0b"),
        ("source", "   "),
        ("source", 7),
        ("calendar", "XNYS\udcff"),
        ("calendar", None),
        ("store_path", "/tmp/a\0b.db"),
        ("store_path", 42),
    ],
)
def test_text_fields_must_be_storable_text(field, value) -> None:
    with pytest.raises((TypeError, ValueError), match=field):
        MonitorConfig(**{field: value})


def test_a_path_object_is_a_store_path(tmp_path: Path) -> None:
    assert MonitorConfig(store_path=tmp_path / "h.db").store_path == tmp_path / "h.db"


class Boom(RuntimeError):
    pass


def test_a_clock_that_raises_at_construction_is_a_clear_value_error(tmp_path) -> None:
    def clock() -> datetime:
        raise Boom("ntp daemon unreachable")

    threads = threading.active_count()
    with pytest.raises(ValueError, match=r"clock\(\) raised Boom: ntp daemon unreachable") as raised:
        ProductionMonitor(MonitorConfig(clock=clock, store_path=str(tmp_path / "h.db")))
    assert isinstance(raised.value.__cause__, Boom)
    assert threading.active_count() == threads  # no writer thread left behind
    assert not (tmp_path / "h.db").exists()  # nothing started, nothing created


def test_a_clock_returning_garbage_at_construction_is_refused(tmp_path) -> None:
    with pytest.raises((TypeError, ValueError), match="clock"):
        ProductionMonitor(MonitorConfig(clock=lambda: "10:30", store_path=str(tmp_path / "h.db")))
    assert not (tmp_path / "h.db").exists()
