"""The operations console, driven with Textual's Pilot on real stores written by the real
recorder (health.simulation): navigation, live updates, a missing store, a newer schema,
read-only safety, literal loop text, keyboard help and diagnostics.

Nothing sleeps for time to pass: the app's clock is injected, and waiting for the app's
workers is a bounded loop of ``pilot.pause()`` polling a condition.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import select
import shutil
import signal
import sqlite3
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from conftest import PYTHON, FakeClock, child_env, ny
from rich.console import Console

from console.app import HealthConsole
from console.screens.browser import BrowserScreen
from console.screens.dashboard import DashboardScreen
from console.screens.help import HelpScreen
from console.store_watch import LIVE, SCHEMA_TOO_NEW, WAITING
from console.widgets import DataAgePanel, GatingPanel, IssuesPanel, SourceOverview, StatusLine, UptimePanel
from health import MonitorConfig, ProductionMonitor
from health.simulation import SimClock, at, monitor, run_loop, seed_dec11_story

SIZE = (100, 32)
DEC11_1030 = at(date(2025, 12, 11), 10, 30)


# -- stores -----------------------------------------------------------------------------------
def normalize(path: Path) -> None:
    """Pids and host names vary between runs; the screens must not (the test writes its own
    copy before any console opens it)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET pid = 4242, host = 'trading-host'")
    conn.close()


@pytest.fixture(scope="session")
def dec11_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dec11") / "health.db"
    seed_dec11_story(path, own_process=False)  # pids are normalised below anyway
    normalize(path)
    return path


@pytest.fixture
def dec11_store(dec11_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "dec11" / "health.db"
    target.parent.mkdir()
    shutil.copy(dec11_template, target)
    return target


def console(store: Path, now: float | Callable[[], float] = DEC11_1030, **kwargs) -> HealthConsole:
    """The app as tests run it: pinned clock, fast polling, no periodic refresh."""
    clock = now if callable(now) else (lambda: now)
    kwargs.setdefault("poll_interval", 0.02)
    kwargs.setdefault("refresh_seconds", 3600.0)
    kwargs.setdefault("alive", lambda run: None)
    return HealthConsole(store, clock=clock, **kwargs)


async def until(pilot, predicate: Callable[[], bool], what: str, polls: int = 250) -> None:
    """Wait for the app's workers: a bounded number of short pauses, each letting the
    message loop run."""
    for _ in range(polls):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def status_text(app: HealthConsole) -> str:
    return app.dashboard.query_one(StatusLine).render().plain


def rendered(static) -> str:
    """A Static's content as the text a terminal would show (Rich renderables included)."""
    out = Console(width=SIZE[0], file=io.StringIO(), color_system=None)
    with out.capture() as capture:
        out.print(static.content)
    return capture.get()


def browser(app: HealthConsole) -> BrowserScreen:
    assert isinstance(app.screen, BrowserScreen), app.screen
    return app.screen


# -- the dashboard ------------------------------------------------------------------------------
async def test_dashboard_shows_the_dec11_story(dec11_store: Path) -> None:
    app = console(dec11_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        assert "UNHEALTHY" in status_text(app)
        uptime = app.dashboard.query_one(UptimePanel).text()
        assert "DOWN" in uptime and "RTH coverage 0.0%" in uptime and "gap 09:30–now" in uptime
        assert "18h 31m old" in app.dashboard.query_one(DataAgePanel).text()
        assert (
            "✖ 105 signal(s) today, yet no gate ever said yes" in app.dashboard.query_one(GatingPanel).text()
        )
        issues = app.dashboard.query_one(IssuesPanel).text()
        for code in ("ZERO_RTH_COVERAGE", "NO_ACTIVITY", "STALE_DATA", "AFTER_HOURS_SIGNALS"):
            assert code in issues
        assert app.sub_title == "✖ 1 alert firing"  # the header's count of firing alerts
        await pilot.press("q")
    assert app.return_code == 0


async def test_dashboard_fits_80x24(dec11_store: Path) -> None:
    app = console(dec11_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        for selector in ("#clock", "#uptime", "#data-age", "#issues", "#gating"):
            region = app.dashboard.query_one(selector).region
            assert region.height >= 4 and region.bottom <= 23 and region.right <= 80, (selector, region)


async def test_live_updates_when_the_loop_writes(tmp_path: Path) -> None:
    store = tmp_path / "live.db"
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    mon = ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock, flush_interval_seconds=0.05))
    try:
        mon.record_activity()
        assert mon.flush()
        app = console(store, lambda: clock.epoch)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
            gating = app.dashboard.query_one(GatingPanel)
            assert "no gate decision in the last 2 hours" in gating.text()
            for _ in range(3):  # the loop carries on while the console watches
                clock.advance(20)
                ok, _ = mon.should_generate_signals(clock.epoch - 5)
                assert ok
                mon.record_activity()
                mon.record_signal("AAPL", clock.epoch - 5)
            assert mon.flush()
            await until(pilot, lambda: gating.allowed == 3, "the new gate decisions on screen")
            assert "last ✔ allowed 11:01:00" in gating.text()
            assert "UP" in app.dashboard.query_one(UptimePanel).text()
            # The feed stalls: what the loop sees now is two hours old, whatever it saw before.
            clock.advance(20)
            ok, _ = mon.should_generate_signals(clock.epoch - 7200)
            assert not ok and mon.flush()
            await until(pilot, lambda: "last ✖ blocked 11:01:20" in gating.text(), "the refusal on screen")
            app.dashboard._tick()
            await pilot.pause()
            assert "✖ newest data 2h 00m old" in app.dashboard.query_one(DataAgePanel).text()
    finally:
        mon.close()


async def test_waits_for_a_missing_store_without_creating_it(tmp_path: Path) -> None:
    store = tmp_path / "not-yet" / "health.db"
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    app = console(store, lambda: clock.epoch)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.store_watch.state.kind == WAITING, "the waiting state")
        await pilot.pause()
        assert "⧗ waiting for store at" in status_text(app)
        notice = app.dashboard.query_one(IssuesPanel).text()  # in full, wrapped
        assert f"waiting for store at {store} (it does not exist yet; the console never creates it)" in notice
        for _ in range(10):  # several polls later, still nothing created
            await pilot.pause(0.02)
        assert not store.exists() and not store.parent.exists()
        # The loop starts: the store appears and the dashboard comes alive.
        with ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock)) as mon:
            mon.record_activity()
            clock.advance(1)  # "now" moves on past the heartbeat
            assert mon.flush()
            await until(pilot, lambda: app.snapshot is not None, "the store to be picked up")
            await until(pilot, lambda: app.store_watch.state.kind == LIVE, "the live state")
            uptime = app.dashboard.query_one(UptimePanel)
            await until(pilot, lambda: "● UP" in uptime.text(), "the heartbeat on screen")
            assert app.dashboard.query_one(IssuesPanel).notice is None


async def test_reopens_a_store_that_was_replaced(dec11_store: Path, tmp_path: Path) -> None:
    app = console(dec11_store, at(date(2025, 12, 10), 14, 0))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        first = app.snapshot
        # Restored from a backup: a different file under the same name.
        other = tmp_path / "other.db"
        with ProductionMonitor(
            MonitorConfig(
                store_path=str(other), clock=lambda: at(date(2025, 12, 10), 13, 59), source="new-loop"
            )
        ) as mon:
            mon.record_activity()
        os.replace(other, dec11_store)
        await until(
            pilot,
            lambda: app.snapshot is not first and [s.source for s in app.snapshot.sources] == ["new-loop"],
            "the replaced store to be read",
        )


async def test_schema_too_new_is_said_plainly(dec11_store: Path) -> None:
    conn = sqlite3.connect(dec11_store)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    app = console(dec11_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.store_watch.state.kind == SCHEMA_TOO_NEW, "the schema message")
        await pilot.pause()
        assert status_text(app).startswith("✖ schema too new: health store")
        notice = app.dashboard.query_one(IssuesPanel).text()
        assert "has schema version 99, newer than this program knows" in notice
        assert "upgrade production-health" in notice
        assert app.snapshot is None
        await pilot.press("b")  # the browser says it too, in one line
        await until(pilot, lambda: browser(app).error is not None, "the browser's error")
        assert "schema version 99" in browser(app).error


# -- read-only safety -----------------------------------------------------------------------------
def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


async def test_the_console_never_writes_the_store(dec11_store: Path) -> None:
    before = _fingerprint(dec11_store)
    app = console(dec11_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.press("b")
        await until(pilot, lambda: browser(app).report is not None, "today's report")
        await pilot.press("p", "p", "n", "t", "r")
        await until(pilot, lambda: not browser(app).building, "the last report")
        await pilot.press("escape", "s", "escape", "q")
    assert _fingerprint(dec11_store) == before


async def test_a_writer_holding_the_lock_is_never_waited_on(dec11_store: Path) -> None:
    writer = sqlite3.connect(dec11_store, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # the loop's recorder in the middle of a commit
    writer.execute("UPDATE runs SET host = 'mid-transaction'")
    try:
        app = console(dec11_store)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "a snapshot despite the write lock")
            await pilot.press("b")
            await until(pilot, lambda: browser(app).report is not None, "a report despite the write lock")
            started = time.monotonic()
            await pilot.press("q")
        assert time.monotonic() - started < 2.0
        assert app.return_code == 0
        # The writer could commit all along: nothing on our side held it up.
        writer.execute("UPDATE runs SET host = 'trading-host'")
    finally:
        writer.rollback()
        writer.close()


# -- loop text is shown literally ----------------------------------------------------------------
HOSTILE = "[bold red]X\x1b[31mY"


async def test_loop_text_with_markup_and_escapes_is_literal(tmp_path: Path) -> None:
    store = tmp_path / "hostile.db"
    clock = SimClock(at(date(2025, 12, 10), 9, 35))
    mon = monitor(store, clock, source=HOSTILE, check_interval_seconds=60)
    run_loop(mon, clock, at(date(2025, 12, 10), 9, 40), step=60)
    clock.now = at(date(2025, 12, 10), 17, 0)  # after hours: the symbol lands in an alert message
    mon.record_activity()
    mon.should_generate_signals(clock.now - 5)
    mon.record_signal(HOSTILE, clock.now - 5)
    mon.close()
    other = monitor(store, SimClock(at(date(2025, 12, 10), 9, 35)), source="plain-loop")
    other.record_activity()
    other.close()
    conn = sqlite3.connect(store)  # a gate reason carrying the same payload
    with conn:
        conn.execute("UPDATE gate SET last_reason = ? WHERE code = 'closed'", (f"closed: {HOSTILE}",))
    conn.close()

    app = console(store, at(date(2025, 12, 10), 17, 1))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        shown = "[bold red]X␛[31mY"
        issues = app.dashboard.query_one(IssuesPanel)
        body = issues.query_one("#issues-body").visual
        assert f"signal for {shown} generated outside RTH" in issues.text()
        assert "\x1b" not in issues.text()
        assert shown in str(body)  # what Textual draws, not just what we built
        gating = app.dashboard.query_one(GatingPanel).text()
        assert f"closed: {shown}" in gating and "\x1b" not in gating
        overview = app.dashboard.query_one(SourceOverview)
        assert overview.display and overview.row_count == 2
        cells = [str(overview.get_cell_at((r, 0))) for r in range(2)]
        assert shown in cells
        assert shown in str(app.dashboard.query_one(UptimePanel).border_title)


# -- the date browser ---------------------------------------------------------------------------
async def test_browser_steps_over_weekends_and_thanksgiving(dec11_store: Path) -> None:
    app = console(dec11_store, at(date(2025, 12, 1), 12, 0), browse=True, start_day=date(2025, 12, 1))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen), "the browser")
        screen = browser(app)
        seen = [screen.day]
        for key in ("p", "p", "left", "n", "right", "n"):
            await pilot.press(key)
            seen.append(screen.day)
        assert seen == [
            date(2025, 12, 1),  # Monday
            date(2025, 11, 28),  # the Friday before: weekend skipped (an early close)
            date(2025, 11, 26),  # Thanksgiving, Thursday 27th, skipped
            date(2025, 11, 25),
            date(2025, 11, 26),
            date(2025, 11, 28),
            date(2025, 12, 1),
        ]
        await pilot.press("n")  # Tuesday 2 December is in the future for this clock
        assert screen.day == date(2025, 12, 1)
        await until(pilot, lambda: not screen.building, "the last report")
        # Before the store's first record: a one-line reason, not a traceback.
        assert screen.error is not None and "before the store's first record" in screen.error


async def test_browser_type_a_date_and_today(dec11_store: Path) -> None:
    app = console(dec11_store, DEC11_1030 + 86400, browse=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen), "the browser")
        screen = browser(app)
        assert screen.day == date(2025, 12, 12)  # today, from the injected clock
        await pilot.press("g", *"2025-1311", "enter")  # not a date
        state = str(screen.query_one("#report-state").visual)
        assert "not a date: '2025-1311'" in state
        assert screen.day == date(2025, 12, 12)
        await pilot.press("ctrl+u", *"2025-12-11", "enter")
        await until(
            pilot, lambda: screen.report is not None and screen.report.day == date(2025, 12, 11), "Dec 11"
        )
        assert screen.report.status == "UNHEALTHY"
        assert screen.report.store_path == str(dec11_store)
        await pilot.press("p")  # the focus went back to the report: keys navigate again
        await until(
            pilot, lambda: screen.report is not None and screen.report.day == date(2025, 12, 10), "Dec 10"
        )
        assert screen.report.status == "HEALTHY"
        await pilot.press("t")
        assert screen.day == date(2025, 12, 12)
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_diagnostics_show_progress_and_cancel(dec11_store: Path, monkeypatch) -> None:
    from health import diagnostics
    from health.diagnostics import CheckResult

    started = threading.Event()
    calls: list[dict] = []

    def slow_diagnostics(store_path, calendar_code, *, progress=None, cancel=None, **kw):
        calls.append({"store": store_path, "calendar": calendar_code, **kw})
        progress("process", 1, 3)
        started.set()
        cancel.wait(10)  # a check that takes long: only the cancel ends it (bounded)
        return [CheckResult("process", "OK", "pid 4242: alive", None)]

    monkeypatch.setattr(diagnostics, "run_diagnostics", slow_diagnostics)
    app = console(dec11_store, browse=True, start_day=date(2025, 12, 11))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen), "the browser")
        screen = browser(app)
        await pilot.press("d")
        await until(
            pilot, lambda: "1/3 checking process" in str(screen.query_one("#diag-state").visual), "progress"
        )
        assert screen.diagnosing
        await pilot.press("p")  # the UI answers while the checks run
        assert screen.day == date(2025, 12, 10)
        await pilot.press("x")
        await until(pilot, lambda: not screen.diagnosing, "the cancelled run to end")
        assert "cancelled after 1 check(s): 1 OK" in str(screen.query_one("#diag-state").visual)
        assert "pid 4242: alive" in rendered(screen.query_one("#diagnostics"))
    assert calls[0]["store"] == dec11_store and calls[0]["now"] == DEC11_1030


# -- keyboard -----------------------------------------------------------------------------------
async def test_help_screen_lists_every_binding(dec11_store: Path) -> None:
    app = console(dec11_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = " ".join(rendered(app.screen.query_one("#help-table")).split())
        for screen_type in (DashboardScreen, BrowserScreen):
            for binding in screen_type.BINDINGS:
                assert " ".join((binding.tooltip or binding.description).split()) in table
        await pilot.press("escape")
        assert app.screen is app.dashboard
        await pilot.press("q")
    assert app.return_code == 0


async def test_command_palette_has_the_main_actions(dec11_store: Path) -> None:
    app = console(dec11_store)
    async with app.run_test(size=SIZE) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Browse dates", "Pick a loop", "Refresh", "Help: every key", "Quit"} <= titles
        await pilot.press("b")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Previous trading day", "Next trading day", "Go to a date", "Run diagnostics"} <= titles


async def test_source_picker_switches_the_panels(tmp_path: Path) -> None:
    store = tmp_path / "two.db"
    for name, minute in (("alpha", 50), ("beta", 20)):
        clock = SimClock(at(date(2025, 12, 10), 9, 35))
        mon = monitor(store, clock, source=name)
        run_loop(mon, clock, at(date(2025, 12, 10), 10, minute), step=60)
        mon.abandon()
    app = console(store, at(date(2025, 12, 10), 10, 51))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        uptime = app.dashboard.query_one(UptimePanel)
        assert uptime.source.source == "alpha" and "UP" in uptime.text()
        await pilot.press("s")
        await pilot.press("down", "enter")
        await until(pilot, lambda: uptime.source.source == "beta", "the other loop")
        assert "DOWN" in uptime.text()


async def test_an_unchanged_store_redraws_nothing(dec11_store: Path, monkeypatch) -> None:
    """A new snapshot with the same data (the operator pressed r) leaves every panel alone:
    reactives compare old and new values."""
    builds: list[str] = []
    for panel in (UptimePanel, DataAgePanel, GatingPanel):
        original = panel.build

        def counting(self, width, _original=original):
            builds.append(type(self).__name__)
            return _original(self, width)

        monkeypatch.setattr(panel, "build", counting)
    app = console(dec11_store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        first, drawn = app.snapshot, len(builds)
        assert drawn > 0
        await pilot.press("r")
        await until(pilot, lambda: app.snapshot is not first, "a second snapshot")
        await pilot.pause()
        assert app.snapshot == first and len(builds) == drawn


async def test_a_panel_repaints_only_when_its_text_changes(tmp_path: Path, monkeypatch) -> None:
    """A new signal changes the day's analysis, which three panels are handed; only the one
    that shows the signal count is painted again (and the terminal sent anything)."""
    painted: list[str] = []
    for panel in (UptimePanel, DataAgePanel, GatingPanel):
        original = panel.render

        def counting(self, _original=original):
            painted.append(type(self).__name__)
            return _original(self)

        monkeypatch.setattr(panel, "render", counting)
    store = tmp_path / "live.db"
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    mon = ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock, flush_interval_seconds=0.05))
    try:
        assert mon.should_generate_signals(clock.epoch - 5)[0]
        mon.record_signal("AAPL", clock.epoch - 5)
        assert mon.flush()
        app = console(store, clock.epoch + 1)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
            await pilot.pause()
            data_age = app.dashboard.query_one(DataAgePanel)
            assert "signals 1: 1 in RTH" in data_age.text()
            before = list(painted)
            whole: list[tuple] = []
            screen_refresh = app.dashboard.refresh
            monkeypatch.setattr(
                app.dashboard, "refresh", lambda *a, **kw: whole.append((a, kw)) or screen_refresh(*a, **kw)
            )
            mon.record_signal("MSFT", clock.epoch - 5)  # no heartbeat, no gate decision
            assert mon.flush()
            await until(pilot, lambda: "signals 2: 2 in RTH" in data_age.text(), "the second signal")
            await pilot.pause()
            assert app.dashboard.query_one(UptimePanel).analysis.signals.total == 2  # handed over...
            assert painted[len(before) :] == ["DataAgePanel"]  # ...but only one panel changed
            assert whole == []  # and the screen itself was not redrawn whole
            assert app.store_watch.tail.full_reads == 1  # the day was read once, then only what is new
    finally:
        mon.close()


def test_snapshots_come_at_a_human_rate(tmp_path: Path) -> None:
    """A loop committing ~50 times a second: the watch takes at most one snapshot per
    ``min_gap`` while it writes, and the last one holds the last write."""
    from console.store_watch import SnapshotReady, StoreWatch
    from health.calendar import get_calendar

    store = tmp_path / "busy.db"
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    mon = ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock, flush_interval_seconds=0.01))
    snapshots: list[tuple[float, object]] = []
    watch = StoreWatch(
        store,
        get_calendar("XNYS"),
        lambda: clock.epoch + 1,
        interval=0.01,
        min_gap=0.3,
        refresh_seconds=3600,
        watchdogs=lambda path: None,
        alive=lambda run: None,
    )

    def post(message) -> None:
        if isinstance(message, SnapshotReady):
            snapshots.append((time.monotonic(), message.snapshot))

    thread = threading.Thread(target=watch.run, args=(post,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not snapshots and time.monotonic() < deadline:
            time.sleep(0.01)
        started, writes = time.monotonic(), 0
        while time.monotonic() - started < 1.5:  # the writes take this long: what is measured
            clock.advance(0.02)
            mon.should_generate_signals(clock.epoch - 1)
            mon.record_signal("AAPL", clock.epoch - 1)
            writes += 1
            assert mon.flush()
        ended = time.monotonic()
        during = [t for t, _ in snapshots if started <= t <= ended]
        assert 1 <= len(during) <= (ended - started) / 0.3 + 2, len(during)

        def last_total() -> int:
            report = snapshots[-1][1].report
            return report.sources[0].signals.total if report else 0

        deadline = time.monotonic() + 10
        while last_total() != writes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert last_total() == writes
    finally:
        watch.stop()
        thread.join(5)
        mon.close()


async def test_rth_clock_phases_and_countdowns(dec11_store: Path) -> None:
    now = [at(date(2025, 12, 10), 11, 0)]
    app = console(dec11_store, lambda: now[0])
    expected = {
        at(date(2025, 12, 10), 11, 0): ("● OPEN  closes in 5h 00m", "today 09:30–16:00 EST"),
        at(date(2025, 12, 10), 8, 0): ("○ PRE-MARKET  opens in 1h 30m", "today 09:30–16:00 EST"),
        at(date(2025, 12, 10), 17, 0): ("○ CLOSED · after hours  opens in 16h 30m", "next Thu 2025-12-11"),
        at(date(2025, 12, 6), 12, 0): ("○ CLOSED · weekend  opens in 45h 30m", "next Mon 2025-12-08"),
        at(date(2025, 11, 27), 12, 0): (
            "○ CLOSED · holiday: Thanksgiving",
            "next Fri 2025-11-28 09:30–13:00 EST early close",
        ),
        at(date(2025, 11, 28), 12, 50): (
            "◐ CLOSING SOON  closes in 10m 00s (early close)",
            "today 09:30–13:00 EST early close",
        ),
    }
    async with app.run_test(size=SIZE) as pilot:
        clock = app.dashboard.query_one("#clock")
        for instant, (head, session) in expected.items():
            now[0] = instant
            app.dashboard._tick()
            await pilot.pause()
            text = clock.text(100)
            assert head in text and session in text, text


async def test_no_color_keeps_emphasis_without_colour(dec11_store: Path, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = console(dec11_store)
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color  # Textual read NO_COLOR and greys everything out
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        await pilot.pause()
        text = app.dashboard.query_one(UptimePanel).render()
        styles = [span.style for span in text.spans]
        assert styles and all(getattr(s, "color", None) is None for s in styles)
        assert any(getattr(s, "reverse", False) for s in styles)  # ✖ DOWN stands out without red


# -- the terminal goes away -----------------------------------------------------------------------
def _start_on_a_pty(args: list[str]) -> tuple[subprocess.Popen, int]:
    """health-console on a pseudo-terminal that is not its controlling terminal: closing the
    master is then a hang-up the process only sees on its descriptors (no SIGHUP)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = child_env()
    env["TERM"] = "xterm-256color"
    code = "import sys; from console.cli import health_console_main; health_console_main(sys.argv[1:])"
    proc = subprocess.Popen(
        [PYTHON, "-c", code, *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    return proc, master


def _read_until(master: int, needle: bytes, timeout: float = 20.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    return out


@pytest.mark.slow
def test_exits_when_the_terminal_hangs_up(tmp_path: Path) -> None:
    proc, master = _start_on_a_pty(["--store", str(tmp_path / "none.db")])
    try:
        assert b"waiting" in _read_until(master, b"waiting")
        os.close(master)  # ssh dropped: nobody on the other end any more
        assert proc.wait(timeout=10) == 0  # not an orphan spinning at 100% CPU
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_sigterm_exits_cleanly_and_restores_the_terminal(tmp_path: Path) -> None:
    proc, master = _start_on_a_pty(["--store", str(tmp_path / "none.db")])
    try:
        assert b"waiting" in _read_until(master, b"waiting")
        proc.send_signal(signal.SIGTERM)
        tail = _read_until(master, b"\x1b[?1049l", timeout=10)  # alternate screen left
        assert proc.wait(timeout=10) == 0
        assert b"\x1b[?1049l" in tail
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            os.close(master)
