"""Regenerate the README's screenshots from the demo: ``python scripts/screenshots.py``.

The store is built by the demo's own functions: ``seed_history`` (the previous session and the
Dec 11 story) and the demo loop (``console.demo.run_loop``), here run in this process on a
stepped clock instead of the 60x real-time one, up to a chosen moment of the demo session. Then
the console is run headless (Textual's ``run_test``) with its clock pinned to that moment and
each screen is exported as SVG into ``screenshots/``.

The output is byte-for-byte reproducible: the demo replays a fixed day, the clocks are
simulated, and what differs between machines and runs — pids, host name, command line, working
directory, the temporary store's path — is normalised in the store or replaced by a label before
the console reads it (as the snapshot tests do). Diagnostics are not shot: they look at this
machine (disk, processes, clock, logs), which no two runs share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from unittest import mock

from console import demo
from console.app import HealthConsole
from console.screens.browser import BrowserScreen
from health.calendar import get_calendar
from health.monitor import ProductionMonitor
from health.simulation import SimClock, at, monitor, run_loop

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"

CALENDAR = "XNYS"
DEMO_DAY = date(2025, 12, 15)  # a Monday: the previous session is Fri 12-12, the Dec 11 story before it
DEC11 = date(2025, 12, 11)
# The moment shown: the loop crashed at 09:40 and came back at 10:16 (a gap), and since 10:30
# its feed has been two hours stale: the gate refuses, STALE_DATA is firing, data age is red.
MOMENT = at(DEMO_DAY, 10, 40)
LABEL = "demo store (temporary)"
HOST = "trading-host"
FIRST_PID = 4101
SIZE = (100, 32)


class SteppedClock:
    """The demo's clock, stepped instead of real time: the loop asks ``to_real(t)`` when to
    wake for its next iteration at sim time ``t``; here that moment arrives at once."""

    speed = 60.0

    def __init__(self, sim_start: float) -> None:
        self.sim_start = sim_start
        self.now = sim_start

    def __call__(self) -> float:
        return self.now

    def to_real(self, sim_ts: float) -> float:
        self.now = sim_ts
        return 0.0  # long past: no sleep


class StillRunning(ProductionMonitor):
    """The loop is caught mid-session: when ``run_loop`` stops at the chosen moment, no clean
    stop is recorded (the live demo's loop is still running at that point)."""

    def close(self) -> None:
        self.abandon()


def build_store(path: Path) -> None:
    demo.seed_history(path, DEMO_DAY, CALENDAR)
    session = get_calendar(CALENDAR).session(DEMO_DAY)
    clock = SteppedClock(session.open_ts - 150)  # as demo.demo_clock: pre-market first
    with mock.patch.object(demo, "ProductionMonitor", StillRunning):
        demo.run_loop(path, clock, CALENDAR, stop_after=MOMENT - clock.sim_start)
    normalize(path)


def build_desk_store(path: Path) -> None:
    """A second store of the desk: "pairs" running at the moment shown, "hedger" dead since
    10:05 (the desk screenshot shows both beside the demo's loop)."""
    for source, until in (("pairs", MOMENT), ("hedger", at(DEMO_DAY, 10, 5))):
        clock = SimClock(at(DEMO_DAY, 9, 25))
        mon = monitor(path, clock, check_interval_seconds=60, max_uptime_gap_minutes=10, source=source)
        run_loop(mon, clock, until, step=60, signal_every=3)
        mon.abandon()
    normalize(path, first_pid=FIRST_PID + 100)


def normalize(path: Path, first_pid: int = FIRST_PID) -> None:
    """One pid per run in start order, one fictitious host, a fixed command line and working
    directory: what differs between runs and machines, replaced before any console reads it."""
    conn = sqlite3.connect(path)
    with conn:
        rows = conn.execute("SELECT run_id, config FROM runs ORDER BY started_at").fetchall()
        for i, (run_id, config) in enumerate(rows):
            cfg = json.loads(config) if config else {}
            cfg.update(cwd="/srv/trading", log_files=[], wall_started_at=0.0, store_path=LABEL)
            conn.execute(
                "UPDATE runs SET pid = ?, host = ?, argv = ?, config = ? WHERE run_id = ?",
                (first_pid + i, HOST, json.dumps(["trading_loop.py"]), json.dumps(cfg), run_id),
            )
    conn.close()


def alive_now(path: Path) -> Callable:
    """As on the demo's machine at that moment: only the newest run's process is alive (the
    crashed run and the Dec 11 story are long gone)."""
    conn = sqlite3.connect(path)
    (newest,) = conn.execute("SELECT max(pid) FROM runs").fetchone()
    conn.close()
    return lambda run: run.pid == newest


def console(path: Path, **kwargs) -> HealthConsole:
    return HealthConsole(
        path,
        calendar=CALENDAR,
        clock=lambda: MOMENT,
        store_label=LABEL,
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=alive_now(path),
        **kwargs,
    )


async def settle(pilot, ready: Callable[[], bool]) -> None:
    for _ in range(500):
        if ready():
            break
        await pilot.pause(0.02)
    else:
        raise RuntimeError("the console did not get its data")
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def shoot(app: HealthConsole, size: tuple[int, int], ready: Callable[[], bool], name: str) -> Path:
    async with app.run_test(size=size) as pilot:
        await settle(pilot, ready)
        svg = app.export_screenshot()
    target = OUT / name
    target.write_text(svg, encoding="utf-8")
    return target


def desk_console(path: Path, other: Path) -> HealthConsole:
    cal = get_calendar(CALENDAR)
    alive_a, pairs_pid = alive_now(path), FIRST_PID + 100  # "pairs" started first in its store
    return HealthConsole(
        [path, other],
        calendar=[cal, cal],
        clock=lambda: MOMENT,
        store_labels=["demo.db", "desk-b.db"],
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=lambda run: alive_a(run) or run.pid == pairs_pid,
        watchdogs=lambda store: True,
    )


async def shoot_all(path: Path, other: Path) -> list[Path]:
    made = []
    for size, name in ((SIZE, "dashboard.svg"), ((80, 24), "dashboard-80x24.svg")):
        app = console(path)
        made.append(await shoot(app, size, lambda app=app: app.snapshot is not None, name))

    app = console(path, browse=True, start_day=DEC11)

    def report_shown() -> bool:
        screen = app.screen
        return isinstance(screen, BrowserScreen) and screen.report is not None and not screen.building

    made.append(await shoot(app, SIZE, report_shown, "browser-dec11.svg"))

    app = desk_console(path, other)

    def desk_shown() -> bool:
        return app.desk is not None and len(app.desk.snapshots) == 2 and app.snapshot is not None

    made.append(await shoot(app, SIZE, desk_shown, "desk.svg"))
    return made


def main() -> int:
    os.environ.pop("NO_COLOR", None)  # the screenshots are in colour whatever this shell says
    OUT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="health-screenshots-"))
    try:
        store = tmp / "health.db"
        started = time.monotonic()
        build_store(store)
        other = tmp / "desk-b.db"
        build_desk_store(other)
        for target in asyncio.run(shoot_all(store, other)):
            print(target.relative_to(ROOT))
        print(f"done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
