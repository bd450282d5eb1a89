"""Restarts from the lifecycle records (health/restarts.py): the report's JSON and text, the
exit kind (clean, crash, killed by systemd's watchdog), the downtime each cost, and the
watchdog's page for a loop that systemd restarted before anyone found it dead."""

from __future__ import annotations

import os
from datetime import date

import pytest

from console.report_text import render_report
from health.codes import IssueCode
from health.loader import build_report
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog

D10 = date(2025, 12, 10)


def _run(store, clock, until, *, clean=False, **config):
    mon = monitor(store, clock, check_interval_seconds=60, source="loop", **config)
    run_loop(mon, clock, until, step=60)
    if clean:
        mon.close()
    else:
        mon.abandon()  # died: no clean stop recorded


def _text(report) -> str:
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    Console(file=buf, width=200, color_system=None).print(render_report(report))
    return buf.getvalue()


def test_a_crash_and_its_restart(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 25))
    _run(store, clock, at(D10, 9, 40))  # last beat 09:39
    clock.now = at(D10, 10, 16)
    _run(store, clock, at(D10, 11, 0), clean=True)
    report = build_report(store, D10, "XNYS", now=at(D10, 12, 0))
    data = report.to_json()
    [r] = data["restarts"]
    assert r["exit"] == "crash" and r["source"] == "loop"
    assert r["at"] == "2025-12-10T10:16:00-05:00"
    assert r["last_up"] == "2025-12-10T09:39:00-05:00"
    assert r["downtime_seconds"] == 37 * 60
    assert r["rth_downtime_seconds"] == 37 * 60
    assert r["previous_pid"] == os.getpid()
    assert data["sources"][0]["lifecycle"]["restarts"] == 1
    text = _text(report)
    assert "1 restart(s)" in text
    assert "restarted 10:16:00 EST after a crash" in text and "down 37m 00s" in text


@pytest.fixture
def systemd_watchdog(monkeypatch):
    """What a unit with WatchdogSec=30s hands its main process (the notify socket need not
    answer: sending fails quietly)."""
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify")
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))


def test_killed_by_the_watchdog_after_it_stopped_beating(tmp_path, systemd_watchdog):
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 30))
    _run(store, clock, at(D10, 10, 0))  # last beat 09:59; then hung: no beat, no ping
    clock.now = at(D10, 10, 0, 40)  # systemd killed it ~30 s after the last ping and restarted it
    _run(store, clock, at(D10, 10, 30), clean=True)
    [r] = build_report(store, D10, "XNYS", now=at(D10, 12, 0)).to_json()["restarts"]
    assert r["exit"] == "watchdog" and r["watchdog_seconds"] == 30.0
    assert r["downtime_seconds"] == 100


def test_with_a_watchdog_a_quick_restart_is_still_a_crash(tmp_path, systemd_watchdog):
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 30))
    _run(store, clock, at(D10, 10, 0))
    clock.now = at(D10, 9, 59, 10)  # restarted 10 s after its last beat: it died, it did not hang
    _run(store, clock, at(D10, 10, 30), clean=True)
    [r] = build_report(store, D10, "XNYS", now=at(D10, 12, 0)).to_json()["restarts"]
    assert r["exit"] == "crash"


def test_clean_restarts_count_only_when_quick(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 30))
    _run(store, clock, at(D10, 10, 0), clean=True)
    clock.now = at(D10, 10, 2)  # systemctl restart: stopped at 10:00, started 2 minutes later
    _run(store, clock, at(D10, 16, 5), clean=True)
    clock.now = at(date(2025, 12, 11), 9, 0)  # the next morning: a start, not a restart
    _run(store, clock, at(date(2025, 12, 11), 10, 0), clean=True)
    [r] = build_report(store, D10, "XNYS", now=at(D10, 18, 0)).to_json()["restarts"]
    assert r["exit"] == "clean" and r["downtime_seconds"] == 120
    assert (
        build_report(store, date(2025, 12, 11), "XNYS", now=at(date(2025, 12, 11), 12)).to_json()["restarts"]
        == []
    )


def test_a_restart_after_a_night_crash_costs_no_rth(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 30))
    _run(store, clock, at(D10, 16, 0))  # crashes after the close, restarted the next morning
    d11 = date(2025, 12, 11)
    clock.now = at(d11, 9, 0)
    _run(store, clock, at(d11, 10, 0), clean=True)
    [r] = build_report(store, d11, "XNYS", now=at(d11, 12, 0)).to_json()["restarts"]
    assert r["exit"] == "crash" and r["rth_downtime_seconds"] == 60  # the last minute before the close
    assert r["downtime_seconds"] == 17 * 3600 + 60


def test_the_watchdog_pages_a_restart_it_never_saw_dead(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(D10, 9, 25))
    _run(store, clock, at(D10, 10, 0))
    clock.now = at(D10, 10, 0, 5)  # systemd restarted it within seconds
    mon = monitor(store, clock, check_interval_seconds=60, source="loop")
    run_loop(mon, clock, at(D10, 10, 5), step=60)
    mon.flush()
    dog = Watchdog(str(store), "XNYS", interval=60, clock=clock, environ={})
    assert dog.tick() == []  # confirmed on the next look
    clock.now = at(D10, 10, 6)
    fired = dog.tick()
    assert [(t.kind, t.alert.code) for t in fired] == [("firing", IssueCode.UNCLEAN_EXIT)]
    assert "restarted Wed 10:00:05 EST after a crash" in fired[0].alert.message
    assert "down 1m 05s" in fired[0].alert.message
    run_loop(mon, clock, at(D10, 10, 25), step=60)
    mon.flush()
    resolved = dog.tick()  # 20 minutes on, no new restart
    assert [(t.kind, t.alert.code) for t in resolved] == [("resolved", IssueCode.UNCLEAN_EXIT)]
    mon.close()
