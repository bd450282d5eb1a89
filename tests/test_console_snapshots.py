"""Snapshot tests of the console (pytest-textual-snapshot): the dashboard and the date
browser on pinned content, so any change to what an operator sees shows up as an SVG diff.

Deterministic by construction: the clock is pinned, the stores are written by the real
recorder on simulated clocks, pids and host names are normalised in the test's own copy, and
the store is shown by a label instead of its temporary path. Regenerate with
``pytest tests/test_console_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from console.app import HealthConsole
from console.screens.browser import BrowserScreen
from health.calendar import get_calendar
from health.codes import IssueCode
from health.simulation import SimClock, at, monitor, run_loop, seed_dec11_story
from store.alert_log import AlertLog

SIZE = (100, 32)
DEC10, DEC11 = date(2025, 12, 10), date(2025, 12, 11)


def _normalize(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET pid = 4242, host = 'trading-host', argv = '[\"trading_loop.py\"]'")
    conn.close()


def _healthy_day(path: Path) -> None:
    """A loop up since before the open, gated, data age varying in a saw-tooth (green and
    yellow against its 30-minute limit, never beyond): a healthy session at 14:00."""
    clock = SimClock(at(DEC10, 9, 20))

    def data_ts(now: float) -> float:
        return now - (30.0 + 240.0 * ((int(now) // 300) % 6))

    mon = monitor(path, clock, check_interval_seconds=60, max_data_age_hours=0.5)
    run_loop(mon, clock, at(DEC10, 14, 0), step=60, data_ts_fn=data_ts, signal_every=3)
    mon.abandon()  # still "running": nothing after 14:00 is written, and no clean stop


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("snapshot-stores")
    made = {"dec11": root / "dec11.db", "healthy": root / "healthy.db"}
    seed_dec11_story(made["dec11"], own_process=False)  # pids are normalised below anyway
    _healthy_day(made["healthy"])
    for path in made.values():
        _normalize(path)
    return made


@pytest.fixture
def store(stores: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        target = tmp_path / f"{name}.db"
        shutil.copy(stores[name], target)
        return target

    return copy


def _desk_loop(path: Path, source: str, until: float) -> None:
    clock = SimClock(at(DEC11, 9, 25))
    mon = monitor(path, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source=source)
    run_loop(mon, clock, until, step=60, signal_every=2)
    mon.abandon()


@pytest.fixture(scope="module")
def desk_stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three loops on two stores at 10:30 on Dec 11: a.db's "momentum" up, its "meanrev" dead
    since 09:50 with the watchdog's NO_ACTIVITY firing; b.db's "default" dead since 09:45."""
    root = tmp_path_factory.mktemp("desk-stores")
    a, b = root / "a.db", root / "b.db"
    _desk_loop(a, "momentum", at(DEC11, 10, 30))
    _desk_loop(a, "meanrev", at(DEC11, 9, 50))
    _desk_loop(b, "default", at(DEC11, 9, 45))
    log = AlertLog(a)
    log.record_alert(
        "meanrev", IssueCode.NO_ACTIVITY, "CRITICAL", "no heartbeat for 11m", at(DEC11, 10, 1), False
    )
    log.close()
    for path in (a, b):
        _normalize(path)
    return a, b


def _desk_app(stores: tuple[Path, Path], tmp_path: Path) -> HealthConsole:
    copies = []
    for path in stores:
        shutil.copy(path, tmp_path / path.name)
        copies.append(tmp_path / path.name)
    return HealthConsole(
        copies,
        calendar=[get_calendar("XNYS")] * 2,
        clock=lambda: at(DEC11, 10, 30, 30),
        store_labels=["a.db", "b.db"],
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=lambda run: None,
        watchdogs=lambda path: None,
    )


def _app(path: Path, now: float, **kwargs) -> HealthConsole:
    return HealthConsole(
        path,
        clock=lambda: now,
        store_label="health.db",
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=lambda run: None,
        **kwargs,
    )


async def _settle(pilot, ready: Callable[[], bool]) -> None:
    for _ in range(250):
        if ready():
            break
        await pilot.pause(0.02)
    else:
        raise AssertionError("the console did not get its data")
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_dashboard_dec11_story(snap_compare, store) -> None:
    app = _app(store("dec11"), at(DEC11, 10, 30))
    assert snap_compare(
        app, terminal_size=SIZE, run_before=lambda pilot: _settle(pilot, lambda: app.snapshot is not None)
    )


def test_dashboard_healthy_day(snap_compare, store) -> None:
    app = _app(store("healthy"), at(DEC10, 14, 0, 30))
    assert snap_compare(
        app, terminal_size=SIZE, run_before=lambda pilot: _settle(pilot, lambda: app.snapshot is not None)
    )


def test_dashboard_healthy_day_80x24(snap_compare, store) -> None:
    app = _app(store("healthy"), at(DEC10, 14, 0, 30))
    assert snap_compare(
        app, terminal_size=(80, 24), run_before=lambda pilot: _settle(pilot, lambda: app.snapshot is not None)
    )


def test_browser_dec11_report(snap_compare, store) -> None:
    app = _app(store("dec11"), at(DEC11, 18, 0), browse=True, start_day=DEC11)

    def ready() -> bool:
        screen = app.screen
        return isinstance(screen, BrowserScreen) and screen.report is not None and not screen.building

    assert snap_compare(app, terminal_size=SIZE, run_before=lambda pilot: _settle(pilot, ready))


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["100x32", "80x24"])
def test_dashboard_desk_three_loops_two_stores(snap_compare, desk_stores, tmp_path, size) -> None:
    app = _desk_app(desk_stores, tmp_path)

    def ready() -> bool:
        return app.desk is not None and len(app.desk.snapshots) == 2 and app.snapshot is not None

    assert snap_compare(app, terminal_size=size, run_before=lambda pilot: _settle(pilot, ready))
