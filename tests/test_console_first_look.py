"""The console's first look at the store (console/first_snapshot.py): read while Textual is
imported, on the first screen before the store watch has delivered anything, with the
calendar the loop recorded; a store it cannot read is left to the watch."""

from __future__ import annotations

import json
import subprocess
import textwrap
import threading
from datetime import date
from pathlib import Path

import pytest
from conftest import PYTHON, child_env

from console.app import HealthConsole
from console.first_snapshot import FirstLook
from console.store_watch import LIVE
from console.widgets.status_line import StatusLine
from console.widgets.uptime_panel import UptimePanel
from health.simulation import SimClock, at, monitor, run_loop

WED = date(2025, 12, 10)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "health.db"
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(path, clock)
    run_loop(mon, clock, at(WED, 11, 0))
    mon.close()
    return path


async def test_the_first_screen_shows_the_first_look_before_the_watch_has_read_anything(store) -> None:
    now = at(WED, 11, 0, 30)
    first = FirstLook(store, None, lambda: now, None)
    assert first.wait(10) and first.snapshot is not None
    assert first.calendar.code == "XNYS" and first.calendar.recorded

    release = threading.Event()

    def held_alive(run):  # the watch's own first snapshot waits until the test lets it go
        release.wait(10)

    app = HealthConsole(
        store,
        calendar=first.calendar,
        clock=lambda: now,
        poll_interval=0.02,
        alive=held_alive,
        watchdogs=lambda path: None,
        first_snapshot=first.snapshot,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        status = app.dashboard.query_one(StatusLine).render().plain
        uptime = app.dashboard.query_one(UptimePanel).text()
        assert app.snapshot is first.snapshot  # nothing from the watch yet
        assert "HEALTHY" in status and "live: " in status and "as of 11:00:30" in status, status
        assert "RTH coverage 99.4% so far" in uptime and "starts 1" in uptime, uptime
        release.set()
        for _ in range(250):
            if app.snapshot is not first.snapshot:
                break
            await pilot.pause(0.02)
        assert app.snapshot is not first.snapshot  # the watch took over
        assert app.store_watch.state.kind == LIVE
        assert "as of 11:00:30" in app.dashboard.query_one(StatusLine).render().plain


def test_a_store_that_is_not_there_is_left_to_the_watch(tmp_path: Path) -> None:
    first = FirstLook(tmp_path / "none" / "health.db", None, lambda: at(WED, 11, 0), None)
    assert first.wait(10)
    assert (first.calendar, first.snapshot) == (None, None)
    assert not (tmp_path / "none").exists()  # and nothing was created


def test_a_file_that_is_not_a_store_is_left_to_the_watch(tmp_path: Path) -> None:
    path = tmp_path / "health.db"
    path.write_bytes(b"not a database at all" * 100)
    first = FirstLook(path, None, lambda: at(WED, 11, 0), None)
    assert first.wait(10)
    assert first.snapshot is None


_CONSOLE_PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from console.app import HealthConsole
    from console.first_snapshot import FirstLook
    from pathlib import Path
    store, now = Path(sys.argv[1]), float(sys.argv[2])
    first = FirstLook(store, None, lambda: now, None)
    first.wait(10)
    app = HealthConsole(store, calendar=first.calendar, clock=lambda: now, first_snapshot=first.snapshot,
                        watchdogs=lambda path: None, poll_interval=0.02)

    async def main():
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(250):
                if app.snapshot is not None and app.snapshot is not first.snapshot:
                    break
                await pilot.pause(0.02)
            return app.dashboard.query_one("StatusLine").render().plain

    status = asyncio.run(main())
    print(json.dumps({"status": status, "pandas": "pandas" in sys.modules,
                      "exchange_calendars": "exchange_calendars" in sys.modules}))
    """
)


@pytest.mark.slow
def test_the_console_on_a_recorded_store_imports_neither_pandas_nor_exchange_calendars(store) -> None:
    done = subprocess.run(
        [PYTHON, "-c", _CONSOLE_PROBE, str(store), str(at(WED, 11, 0, 30))],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert (found["pandas"], found["exchange_calendars"]) == (False, False), found
    assert "HEALTHY" in found["status"], found
