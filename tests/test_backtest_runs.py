"""Backtest runs (MonitorConfig(backtest=True)): a simulated run on its own store, with no
process, host, systemd or pager of its own, labelled as a backtest wherever it is shown.

Real stores and the real recorder, driven bar by bar on an injected clock, as a backtester does.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import AlertLog, count, query
from test_sdnotify import NotifySocket

from console.report_text import render_report
from health import MonitorConfig, ProductionMonitor
from health.loader import build_report
from health.process import process_alive, restart_command
from health.simulation import SimClock, at
from store.paths import backtest_store_path
from store.reader import StoreReader

DAY = date(2025, 6, 11)  # a Wednesday


def backtest(clock: SimClock, **kwargs) -> ProductionMonitor:
    kwargs.setdefault("source", "bt-2025")
    return ProductionMonitor(MonitorConfig(backtest=True, clock=clock, **kwargs))


def drive(mon: ProductionMonitor, clock: SimClock, until: float, *, lag: float = 5.0, every: int = 5) -> int:
    """The bar-by-bar pattern of the README: one bar a minute, the clock at the bar's close."""
    n = i = 0
    while clock.now < until:
        bar_ts = clock.now - lag
        ok, _ = mon.should_generate_signals(bar_ts)
        if ok and i % every == 0:
            mon.record_signal("AAPL", bar_ts)
            n += 1
        i += 1
        clock.advance(60)
    return n


# -- configuration ------------------------------------------------------------------------------
def test_a_backtest_needs_a_clock() -> None:
    with pytest.raises(ValueError, match="backtest needs a clock"):
        MonitorConfig(backtest=True)
    with pytest.raises(TypeError, match="backtest must be True or False"):
        MonitorConfig(backtest="yes", clock=SimClock(1.0e9))


def test_the_store_defaults_to_a_file_named_for_the_run_and_a_rerun_starts_it_afresh(tmp_path: Path) -> None:
    # conftest points HEALTH_STORE at tmp_path/env-default-health.db: backtests go beside it.
    expected = tmp_path / "backtests" / "bt-2025.db"
    assert backtest_store_path("bt-2025") == expected
    clock = SimClock(at(DAY, 9, 30))
    with backtest(clock) as mon:
        first = drive(mon, clock, at(DAY, 12, 0))
    assert mon.store_path == expected
    assert count(expected, "signals") == first > 10
    assert not Path(os.environ["HEALTH_STORE"]).exists()  # production's store untouched
    clock = SimClock(at(DAY, 9, 30))
    with backtest(clock) as mon:
        second = drive(mon, clock, at(DAY, 10, 0))
    assert count(expected, "signals") == second < first  # replaced, not piled on top
    assert count(expected, "runs") == 1
    # The run says what it is, for every reader.
    assert query(expected, "SELECT json_extract(config, '$.backtest') FROM runs") == [(1,)]
    # An explicit store_path is the caller's: kept, appended to.
    mine = tmp_path / "mine.db"
    for _ in range(2):
        clock = SimClock(at(DAY, 9, 30))
        with backtest(clock, store_path=str(mine)) as mon:
            drive(mon, clock, at(DAY, 9, 40))
    assert count(mine, "runs") == 2
    # Both runs' hours in one report: said as a backtest's rerun, not as two processes to kill.
    report = build_report(mine, DAY, "XNYS", now=time.time()).to_json()
    (dup,) = [r for r in report["recommendations"] if r.get("code") == "DUPLICATE_LOOP"]
    assert "Two runs of the backtest" in dup["title"] and "kill" not in " ".join(dup["steps"])


def test_memory_keeps_nothing_and_still_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clock = SimClock(at(DAY, 10, 0))
    with backtest(clock, store_path=":memory:") as mon:
        assert mon.should_generate_signals(clock.now - 5)[0] is True
        assert mon.should_generate_signals(clock.now - 7200)[0] is False  # stale
        clock.now = at(DAY, 17, 0)
        allowed, reason = mon.should_generate_signals(clock.now - 5)
        assert not allowed and "market closed" in reason
        mon.record_signal("AAPL", clock.now - 5)
        assert "last signal AAPL" in mon.status_line()
    assert list(tmp_path.iterdir()) == []  # no ":memory:" file, no backtests/, nothing


def test_no_hang_thread_no_sd_notify_no_process_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "notify.sock")
    server = NotifySocket(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    try:
        clock = SimClock(at(DAY, 10, 0))
        with backtest(clock, source="quiet-bt", store_path=str(tmp_path / "bt.db")) as mon:
            assert mon.hang._thread is None
            assert not [t for t in threading.enumerate() if t.name == "health-hang-quiet-bt"]
            drive(mon, clock, at(DAY, 11, 0))
        # A production monitor on the same socket: its READY=1 arrives, and nothing before it —
        # a datagram socket keeps the order, so the backtest sent nothing at all.
        with ProductionMonitor(MonitorConfig(source="live", store_path=str(tmp_path / "live.db"))):
            ready = server.wait_for("READY")
        assert ready and "live" in ready[0][1]["STATUS"]
        assert all("quiet-bt" not in m.get("STATUS", "") for _, m in server.messages)
        assert server.messages[0][1].get("READY") == "1"
    finally:
        server.close()
    # The keys, not the text: the command line (kept in the config) may name any file.
    config = json.loads(query(tmp_path / "bt.db", "SELECT config FROM runs")[0][0])
    assert "start_ticks" not in config and "systemd" not in config


def test_alerts_only_through_a_given_callback(tmp_path: Path) -> None:
    clock = SimClock(at(DAY, 10, 0))
    with backtest(clock, store_path=str(tmp_path / "silent.db")) as mon:
        for _ in range(3):
            mon.should_generate_signals(clock.now - 3 * 3600)  # stale: STALE_DATA in production
            mon.record_signal("AAPL", clock.now - 3 * 3600)
            clock.advance(60)
        clock.now = at(DAY, 18, 0)
        mon.record_signal("AAPL", clock.now - 5)  # after hours
    assert count(tmp_path / "silent.db", "alerts") == 0
    log = AlertLog()
    clock = SimClock(at(DAY, 10, 0))
    with backtest(clock, store_path=str(tmp_path / "told.db"), alert_callback=log) as mon:
        mon.should_generate_signals(clock.now - 3 * 3600)
    assert [a.code for a in log.alerts] == ["STALE_DATA"]


# -- what readers make of it ------------------------------------------------------------------------
def _abandoned_backtest_with_a_hole(store: Path) -> None:
    """A backtest whose data set misses 10:30-12:00 and whose script died (no close())."""
    clock = SimClock(at(DAY, 9, 30))
    mon = backtest(clock, store_path=str(store))
    drive(mon, clock, at(DAY, 10, 30))
    clock.now = at(DAY, 12, 0)
    drive(mon, clock, at(DAY, 16, 0))
    mon.abandon()


def test_the_report_labels_it_and_gives_no_process_advice(tmp_path: Path) -> None:
    store = tmp_path / "bt.db"
    _abandoned_backtest_with_a_hole(store)
    with StoreReader(store) as reader:
        run = reader.runs()[0]
    # Its pid is this very process, alive: never looked at, never a restart command.
    assert run.pid == os.getpid() and run.host == socket.gethostname()
    assert process_alive(run) is None and restart_command(run) is None

    report = build_report(store, DAY, "XNYS", now=time.time())
    data = report.to_json()
    assert data["backtest"] is True and data["sources"][0]["backtest"] is True
    codes = {i["code"] for i in data["issues"]}
    assert "UPTIME_GAP" in codes and "LOW_RTH_COVERAGE" in codes
    assert "UNCLEAN_EXIT" not in codes  # no process to have lost
    assert data["restarts"] == [] and data["sources"][0]["lifecycle"]["latest_alive"] is None
    steps = " ".join(s for r in data["recommendations"] for s in [r["title"], *r["steps"]])
    assert "skipped market hours" in steps and "missing bars" in steps
    for word in ("systemd", "Restart it", "py-spy", "ps -o", "journalctl", "pid "):
        assert word not in steps, word

    from io import StringIO

    from rich.console import Console

    out = StringIO()
    Console(file=out, width=120, color_system=None).print(render_report(report))
    text = out.getvalue()
    assert "BACKTEST (simulated run)" in text and "bt-2025 (backtest)" in text
    assert "none: a backtest, driven by its simulated clock" in text
    assert "not running now" not in text


def test_a_production_report_is_not_labelled(tmp_path: Path) -> None:
    store = tmp_path / "prod.db"
    clock = SimClock(at(DAY, 9, 30))
    with ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock)) as mon:
        drive(mon, clock, at(DAY, 16, 0))
    data = build_report(store, DAY, "XNYS", now=time.time()).to_json()
    # A production report is unchanged: no backtest field at all (the golden files hold the rest).
    assert "backtest" not in data and "backtest" not in data["sources"][0]


async def test_the_console_and_its_date_browser_label_a_backtest(tmp_path: Path) -> None:
    from test_console_app import console, rendered, until

    from console.screens.browser import BrowserScreen

    store = tmp_path / "bt.db"
    _abandoned_backtest_with_a_hole(store)
    now = at(DAY, 15, 0)  # the console's clock inside the simulated day: the dashboard has it
    app = console(store, now, browse=True, start_day=DAY)
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen), "the browser")
        screen = app.screen
        await until(pilot, lambda: screen.report is not None, "the report")
        assert screen.title == "Production Health · date browser · BACKTEST"
        assert "BACKTEST (simulated run)" in rendered(screen.query_one("#report"))
        await until(pilot, lambda: app.snapshot is not None, "the first snapshot")
        assert app.title == "Production Health · BACKTEST"
        # The month view (m): the same period report as --from/--to, labelled too.
        from console.screens.period import PeriodScreen

        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, PeriodScreen), "the month view")
        month = app.screen
        await until(pilot, lambda: month.report is not None or month.error is not None, "the month")
        assert month.error is None and month.title == "Production Health · month · BACKTEST"
        text = rendered(month.query_one("#period-body"))
        assert "PRODUCTION HEALTH: 2025-06-11 → 2025-06-11 · BACKTEST" in text
        assert "2025-06-11 Wed" in text and "UPTIME_GAP" in text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back to the browser")
        await pilot.press("q")


def test_the_watchdog_pages_nobody_about_a_backtest(tmp_path: Path) -> None:
    """A backtest recorded into the production store (an explicit store_path) goes silent at
    10:30 like the live loop beside it: the watchdog fires for the live loop only, and its
    readiness check before the next open leaves the backtest out."""
    from health.codes import IssueCode
    from health.monitor import ProductionMonitor as Monitor
    from health.simulation import run_loop
    from health.watchdog import Watchdog

    store = tmp_path / "health.db"
    clock = SimClock(at(DAY, 9, 25))
    live = Monitor(
        MonitorConfig(store_path=str(store), clock=clock, source="live", max_uptime_gap_minutes=10)
    )
    run_loop(live, clock, at(DAY, 10, 30))
    live.abandon()
    clock = SimClock(at(DAY, 9, 25))
    bt = backtest(clock, store_path=str(store), max_uptime_gap_minutes=10)
    drive(bt, clock, at(DAY, 10, 30))
    bt.abandon()
    clock = SimClock(at(DAY, 11, 0))
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={})
    try:
        fired = dog.tick()
        assert {(t.alert.source, t.alert.code) for t in fired} == {("live", IssueCode.NO_ACTIVITY)}
        from health.readiness import _recent_loops

        with StoreReader(store) as reader:
            assert _recent_loops(reader, at(DAY, 11, 0)) == ["live"]
    finally:
        dog.dispatcher.close(timeout=5)
        dog.alert_log.close()
