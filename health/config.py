"""MonitorConfig: the thresholds a loop runs with, recorded in the store so that every later
reader (report, console, watchdog) judges the loop by its own settings."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

_POSITIVE = (
    "check_interval_seconds",
    "max_data_age_hours",
    "max_uptime_gap_minutes",
    "future_tolerance_seconds",
    "flush_interval_seconds",
    "repeat_interval_minutes",
    "flap_seconds",
)


@dataclass
class MonitorConfig:
    check_interval_seconds: float = 60
    max_data_age_hours: float = 1.0
    max_uptime_gap_minutes: float = 30
    alert_callback: Callable[[Any], None] | None = None
    calendar: str = "XNYS"
    store_path: str | None = None
    source: str = "default"
    naive_timezone: str | tzinfo | None = None
    clock: Callable[[], Any] | None = None
    # Beyond the contract's fields:
    future_tolerance_seconds: float = 5.0  # data stamped this far ahead is still "now"
    min_rth_coverage_pct: float = 95.0  # below this, LOW_RTH_COVERAGE
    flush_interval_seconds: float = 0.25  # the writer commits at least this often
    max_buffered_events: int = 100_000  # held in memory while the store is unavailable
    repeat_interval_minutes: float = 60  # a firing alert is repeated this often
    flap_seconds: float = 120  # a condition that clears within this is never sent

    def __post_init__(self) -> None:
        for name in _POSITIVE:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"MonitorConfig.{name} must be a number, not {value!r}")
            if not value > 0:
                raise ValueError(f"MonitorConfig.{name} must be positive, got {value!r}")
        if not 0 <= self.min_rth_coverage_pct <= 100:
            raise ValueError("MonitorConfig.min_rth_coverage_pct must be within 0..100")
        if not isinstance(self.max_buffered_events, int) or self.max_buffered_events < 1:
            raise ValueError("MonitorConfig.max_buffered_events must be a positive int")
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError("MonitorConfig.source must be a non-empty string")
        if not isinstance(self.calendar, str) or not self.calendar:
            raise ValueError("MonitorConfig.calendar must be an exchange_calendars code like 'XNYS'")
        if self.alert_callback is not None and not callable(self.alert_callback):
            raise TypeError("MonitorConfig.alert_callback must be callable")
        if self.clock is not None and not callable(self.clock):
            raise TypeError("MonitorConfig.clock must be callable")

    @property
    def max_data_age_seconds(self) -> float:
        return float(self.max_data_age_hours) * 3600

    @property
    def max_gap_seconds(self) -> float:
        return float(self.max_uptime_gap_minutes) * 60

    def thresholds(self) -> dict[str, Any]:
        """What is recorded with each run (no callables, no secrets)."""
        tz = self.naive_timezone
        return {
            "check_interval_seconds": self.check_interval_seconds,
            "max_data_age_hours": self.max_data_age_hours,
            "max_uptime_gap_minutes": self.max_uptime_gap_minutes,
            "calendar": self.calendar,
            "source": self.source,
            "naive_timezone": None if tz is None else str(getattr(tz, "key", tz)),
            "future_tolerance_seconds": self.future_tolerance_seconds,
            "min_rth_coverage_pct": self.min_rth_coverage_pct,
            "repeat_interval_minutes": self.repeat_interval_minutes,
            "flap_seconds": self.flap_seconds,
            "alert_callback": self.alert_callback is not None,
        }
