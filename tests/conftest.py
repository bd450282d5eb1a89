"""Shared fixtures: a store in tmp_path, an injected clock, monitors that always get closed,
and small helpers to read the store back the way an operator would (plain sqlite3)."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from health import MonitorConfig, ProductionMonitor
from health.alerts import Alert

NY = ZoneInfo("America/New_York")
HK = ZoneInfo("Asia/Hong_Kong")
UTC = ZoneInfo("UTC")

# The repository root, so that subprocesses import the same health/ and store/.
REPO = Path(__file__).resolve().parent.parent


def ny(*args: int) -> datetime:
    """An aware New York datetime: ny(2025, 11, 28, 12, 59)."""
    return datetime(*args, tzinfo=NY)


class FakeClock:
    """An injectable clock (MonitorConfig(clock=...)): returns an aware datetime that the
    test sets or advances; nothing ever sleeps for time to pass."""

    def __init__(self, start: datetime) -> None:
        assert start.tzinfo is not None
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        assert when.tzinfo is not None
        self.now = when

    def advance(self, seconds: float) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(seconds=seconds)
        return self.now

    @property
    def epoch(self) -> float:
        return self.now.timestamp()


class AlertLog:
    """A thread-safe alert_callback that keeps what it received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.alerts: list[Alert] = []

    def __call__(self, alert: Alert) -> None:
        with self._lock:
            self.alerts.append(alert)

    def of(self, code: str, resolved: bool | None = None) -> list[Alert]:
        with self._lock:
            return [a for a in self.alerts if a.code == code and (resolved is None or a.resolved is resolved)]

    def wait_for(self, code: str, resolved: bool, timeout: float = 5.0) -> list[Alert]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(code, resolved)
            if found:
                return found
            time.sleep(0.01)
        return self.of(code, resolved)


@pytest.fixture(autouse=True)
def _isolated_store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the user's real store, whatever it forgets to configure."""
    monkeypatch.setenv("HEALTH_STORE", str(tmp_path / "env-default-health.db"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture(autouse=True)
def _calendars_built_by_the_mutant() -> None:
    """Under mutation testing (bench/mutation.py, TESTING.md) each mutant's tests run in a process
    forked after mutmut's stats run, whose get_calendar cache holds calendars the original code
    built: the mutants of the code that builds them would never run. There, and only there,
    each test builds its calendars afresh."""
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        from health.calendar import get_calendar

        get_calendar.cache_clear()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "health.db"


@pytest.fixture
def clock() -> FakeClock:
    # A normal trading day, mid-session: Wednesday 2025-12-10 11:00 New York.
    return FakeClock(ny(2025, 12, 10, 11, 0))


@pytest.fixture
def alerts() -> AlertLog:
    return AlertLog()


@pytest.fixture
def make_monitor(store_path: Path) -> Iterator[Callable[..., ProductionMonitor]]:
    """Factory: make_monitor(clock=..., **config) -> ProductionMonitor on the tmp store,
    closed at teardown whatever the test did."""
    made: list[ProductionMonitor] = []

    def factory(**kwargs: object) -> ProductionMonitor:
        kwargs.setdefault("store_path", str(store_path))
        monitor = ProductionMonitor(MonitorConfig(**kwargs))
        made.append(monitor)
        return monitor

    yield factory
    for monitor in made:
        monitor.close()


def query(path: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the store like an operator would: a plain read-only sqlite3 connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(path: Path | str, table: str, where: str = "1=1", params: tuple = ()) -> int:
    return query(path, f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll with a deadline (for other processes and the background writer only)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except sqlite3.Error:
            pass
        time.sleep(interval)
    return False


def child_env() -> dict[str, str]:
    """Environment for a subprocess that imports this checkout's packages."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable


ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


def assert_iso_offsets(obj) -> None:
    """Every ISO timestamp in the JSON carries a UTC offset (docs/CONTRACT.md §3)."""
    if isinstance(obj, dict):
        for value in obj.values():
            assert_iso_offsets(value)
    elif isinstance(obj, list):
        for value in obj:
            assert_iso_offsets(value)
    elif isinstance(obj, str) and re.match(r"^\d{4}-\d\d-\d\dT", obj):
        assert ISO_WITH_OFFSET.match(obj), obj
