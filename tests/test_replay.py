"""Replay any past moment: `health-console --at "2025-11-28 10:30"` opens the dashboard as it
was then, from the store alone, and steps or plays it forward at a chosen speed. Driven with
Textual's Pilot on a store the real recorder wrote for the day after Thanksgiving (13:00
close); the replay's real-time clock is injected, nothing sleeps for time to pass."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from conftest import count

from console.app import HealthConsole
from console.args import UsageError
from console.replay import ReplayConsole
from console.replay_clock import ReplayClock, parse_at
from console.screens.browser import BrowserScreen
from console.screens.dashboard import DashboardScreen
from console.screens.replay import ReplayScreen
from console.widgets import StatusLine, UptimePanel
from health.calendar import get_calendar
from health.simulation import SimClock, at, monitor, run_loop

FRI = date(2025, 11, 28)
SIZE = (100, 32)


@pytest.fixture(scope="module")
def friday(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loop from 09:25 to 13:10, a signal a minute, down from 11:00 to 11:30."""
    path = tmp_path_factory.mktemp("friday") / "health.db"
    clock = SimClock(at(FRI, 9, 25))
    with monitor(path, clock, source="algo") as mon:
        run_loop(mon, clock, at(FRI, 11, 0), symbols=("SPY",))
        clock.now = at(FRI, 11, 30)
        run_loop(mon, clock, at(FRI, 13, 10), symbols=("SPY",))
    return path


class Real:
    """The replay's real-time clock, moved by the test."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def until(pilot, predicate, what: str, polls: int = 250) -> None:
    for _ in range(polls):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def signals_by(store: Path, t: float) -> int:
    return count(store, "signals", "at < ?", (t,))  # as of t: what happened before it


async def test_replay_shows_the_panels_as_they_were_and_steps_and_plays_forward(friday: Path) -> None:
    digest = hashlib.sha256(friday.read_bytes()).hexdigest()
    real = Real()
    clock = ReplayClock(at(FRI, 10, 30), 60.0, real=real, limit=lambda: at(FRI, 23, 0))
    app = ReplayConsole(
        friday,
        calendar="XNYS",
        clock=lambda: at(FRI, 23, 0),
        replay=clock,
        replay_poll=0.02,
        poll_interval=0.02,
        alive=lambda run: None,
    )
    screen = app.replay_screen

    def snap_at(t: float):
        return lambda: screen.snapshot is not None and screen.snapshot.now == t

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, snap_at(at(FRI, 10, 30)), "the snapshot of 10:30")
        await pilot.pause()
        snap = screen.snapshot
        assert screen.title == "REPLAY Fri 2025-11-28 10:30:00 EST ❚❚ ×60"
        assert snap.market.is_open and snap.report.to_json()["signals"]["total"] == signals_by(
            friday, at(FRI, 10, 30)
        )
        assert snap.sources[0].process_alive is None  # a process alive now says nothing of then
        assert "replay:" in screen.query_one(StatusLine).render().plain
        assert "RTH coverage 100.0%" in screen.query_one(UptimePanel).text()

        for _ in range(3):  # 10:45, 11:00, 11:15: the loop is down, as it was
            await pilot.press("greater_than_sign")
        await until(pilot, snap_at(at(FRI, 11, 0) + 15 * 60), "11:15")
        assert not screen.snapshot.sources[0].up_at(at(FRI, 11, 15))
        assert "DOWN" in screen.query_one(UptimePanel).text()

        await pilot.press("space")  # play, at 60x: 90 real seconds are 90 minutes
        real.t += 90
        await until(pilot, snap_at(at(FRI, 12, 45)), "12:45, played")
        assert "▶ ×60" in screen.title and screen.snapshot.market.is_open
        await pilot.press("space", "plus")  # paused; faster for later
        assert clock.speed == 300 and not clock.playing

        for _ in range(16):  # 12:45 + 16 min: past the 13:00 early close
            await pilot.press("full_stop")
        await until(pilot, snap_at(at(FRI, 13, 1)), "13:01")
        closed = screen.snapshot
        assert not closed.market.is_open
        assert closed.report.to_json()["session"]["close"] == "2025-11-28T13:00:00-05:00"
        assert closed.report.to_json()["signals"]["total"] == signals_by(friday, at(FRI, 13, 1))

        await pilot.press("less_than_sign")  # back: 12:46, open again
        await until(pilot, snap_at(at(FRI, 12, 46)), "12:46, stepped back")
        assert screen.snapshot.market.is_open

        await pilot.press("escape")  # the live dashboard beneath, at its own now, untouched
        assert isinstance(app.screen, DashboardScreen) and not isinstance(app.screen, ReplayScreen)
        await until(pilot, lambda: app.snapshot is not None, "the live snapshot")
        assert app.snapshot.now == at(FRI, 23, 0) and screen.watch._stop.is_set()  # its watch ended
        await pilot.press("q")
    assert hashlib.sha256(friday.read_bytes()).hexdigest() == digest  # read-only


async def test_the_date_browser_replays_its_date_from_the_open(friday: Path) -> None:
    app = HealthConsole(
        friday,
        calendar="XNYS",
        clock=lambda: at(date(2025, 12, 1), 12),
        browse=True,
        start_day=FRI,
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=lambda run: None,
    )
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.day == FRI, "Fri")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen), "the replay")
        replay = app.screen
        await until(pilot, lambda: replay.snapshot is not None, "its snapshot")
        assert replay.snapshot.now == at(FRI, 9, 30) and replay.snapshot.market.is_open
        assert replay.title == "REPLAY Fri 2025-11-28 09:30:00 EST ❚❚ ×60"
        await pilot.press("a")  # no ack from the past
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press("q")


def test_the_replay_clock_plays_pauses_and_stops_at_the_present():
    real = Real()
    clock = ReplayClock(100.0, 10.0, real=real, limit=lambda: 500.0)
    real.t += 5
    assert clock() == 100.0  # paused from the start
    clock.play()
    real.t += 5
    assert clock() == 150.0
    clock.set_speed(60.0)
    real.t += 1
    assert clock() == 210.0
    clock.pause()
    real.t += 100
    assert clock() == 210.0
    clock.step(1000)
    assert clock() == 500.0  # never beyond the present
    clock.faster(False)
    assert clock.speed == 10.0


def test_at_reads_the_calendar_zone_a_date_alone_and_refuses_the_future():
    cal = get_calendar("XNYS")
    now = at(date(2025, 12, 15), 12)
    assert parse_at("2025-11-28 10:30", cal, now) == at(FRI, 10, 30)
    assert parse_at("2025-11-28T15:30:00+00:00", cal, now) == at(FRI, 10, 30)
    assert parse_at("2025-11-28", cal, now) == at(FRI, 9, 30)  # its open
    with pytest.raises(UsageError, match="after now"):
        parse_at("2025-12-16 10:00", cal, now)
    with pytest.raises(UsageError, match="not a date and time"):
        parse_at("friday", cal, now)


def test_a_bad_at_is_one_line_before_any_terminal_work(friday: Path, capsys) -> None:
    from console.cli import _console, _run

    assert _run("health-console", _console, ["--store", str(friday), "--at", "friday"]) == 3
    assert "--at: not a date and time" in capsys.readouterr().err
    assert _run("health-console", _console, ["--store", str(friday), "--at", "2025-11-28", "--demo"]) == 3
    assert "not with --demo" in capsys.readouterr().err
