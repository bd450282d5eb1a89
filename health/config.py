"""MonitorConfig: the thresholds a loop runs with, recorded in the store so that every later
reader (report, console, watchdog) judges the loop by its own settings."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

# Durations and their unit in seconds: finite, positive, at most ten years (README).
_DURATIONS = {
    "check_interval_seconds": 1,
    "max_data_age_hours": 3600,
    "max_uptime_gap_minutes": 60,
    "future_tolerance_seconds": 1,
    "flush_interval_seconds": 1,
    "repeat_interval_minutes": 60,
    "flap_seconds": 1,
}
MAX_DURATION_SECONDS = 10 * 365 * 86400


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
    # A simulated run (README, "Backtests"): driven by ``clock``, no process of its own to check.
    backtest: bool = False
    # Fewest signals a session hour should hold (NO_SIGNALS below it); None: learned from the
    # loop's own recent sessions, 0: never judged (health/cadence.py).
    min_signals_per_hour: float | None = None

    def __post_init__(self) -> None:
        """Every field checked here, so a bad value is a clear error at construction and
        never a surprise inside the loop's calls (TypeError for a wrong type, ValueError for
        a wrong value; a bool is no number here, though Python calls it an int)."""
        for name, unit in _DURATIONS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"MonitorConfig.{name} must be a number, not {value!r:.60}")
            if not value > 0:
                raise ValueError(f"MonitorConfig.{name} must be positive, got {value!r}")
            if not math.isfinite(value) or value * unit > MAX_DURATION_SECONDS:
                raise ValueError(f"MonitorConfig.{name} must be finite and at most ten years, got {value!r}")
        pct = self.min_rth_coverage_pct
        if isinstance(pct, bool) or not isinstance(pct, numbers.Real):
            raise TypeError(f"MonitorConfig.min_rth_coverage_pct must be a number, not {pct!r:.60}")
        if not 0 <= pct <= 100:
            raise ValueError(f"MonitorConfig.min_rth_coverage_pct must be within 0..100, got {pct!r}")
        rate = self.min_signals_per_hour
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
                raise TypeError(
                    f"MonitorConfig.min_signals_per_hour must be a number or None, not {rate!r:.60}"
                )
            if not (math.isfinite(rate) and rate >= 0):
                raise ValueError(
                    f"MonitorConfig.min_signals_per_hour must be 0 or more and finite, got {rate!r}"
                )
        n = self.max_buffered_events
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"MonitorConfig.max_buffered_events must be a positive int, got {n!r:.60}")
        _check_text("source", self.source, "a non-empty name for this loop")
        _check_text("calendar", self.calendar, "an exchange_calendars code like 'XNYS'")
        if self.store_path is not None:
            if not isinstance(self.store_path, str | os.PathLike):
                raise TypeError(f"MonitorConfig.store_path must be a path, not {self.store_path!r:.60}")
            if "\0" in os.fspath(self.store_path):
                raise ValueError("MonitorConfig.store_path must not contain a NUL character")
        if self.naive_timezone is not None:
            _check_timezone(self.naive_timezone)
        if self.alert_callback is not None and not callable(self.alert_callback):
            raise TypeError("MonitorConfig.alert_callback must be callable")
        if self.clock is not None and not callable(self.clock):
            raise TypeError("MonitorConfig.clock must be callable")
        if not isinstance(self.backtest, bool):
            raise TypeError(f"MonitorConfig.backtest must be True or False, not {self.backtest!r:.60}")
        if self.backtest and self.clock is None:
            raise ValueError(
                "MonitorConfig.backtest needs a clock: pass clock=... returning the simulated time "
                "of the bar being processed"
            )

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
            "min_signals_per_hour": self.min_signals_per_hour,
            "alert_callback": self.alert_callback is not None,
            "backtest": self.backtest,
        }


def _check_text(name: str, value: object, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"MonitorConfig.{name} must be {what}, not {value!r:.60}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"MonitorConfig.{name} must be valid text (it has a lone surrogate): {value!r:.60}"
        ) from None
    if not value.strip() or "\0" in value:
        raise ValueError(f"MonitorConfig.{name} must be {what}, got {value!r:.60}")


def _check_timezone(value: object) -> None:
    if isinstance(value, tzinfo):
        return
    if not isinstance(value, str):
        raise TypeError(f"MonitorConfig.naive_timezone must be a time zone name or tzinfo, not {value!r:.60}")
    from health.timestamps import resolve_tz

    try:
        resolve_tz(value)
    except Exception:  # ZoneInfoNotFoundError is a KeyError; a malformed key a ValueError
        raise ValueError(
            f"MonitorConfig.naive_timezone: unknown time zone {value!r:.60} "
            "(an IANA name such as 'America/New_York')"
        ) from None
