"""Faults of time, under a real loop process: its injected clock stepped back an hour, and
run across both DST changes while the loop stamps its data with naive wall-clock times."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from faultkit.loop import LoopProcess, child_env
from faultkit.result import FaultResult
from faultkit.story import SOURCE, count, nothing, outage


# -- the clock -----------------------------------------------------------------------------------
def clock_back(workdir: Path) -> FaultResult:
    return outage(
        workdir,
        "clock stepped back 1 h",
        "the loop's injected clock steps back one hour mid-run (SIGUSR1)",
        lambda store, loop: loop.step_clock(),
        nothing,
        expect_store_error=False,
        hold=1.0,
        loop_args=("--clock-start", "2025-12-10T11:00:00-05:00"),
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


# The two DST changes of 2026 in New York: (the instant, the clock's default speed, the day).
DST = {
    "spring": ("2026-03-08T07:00:00+00:00", 60.0, "2026-03-08"),  # 02:00 EST -> 03:00 EDT
    "fall": ("2026-11-01T06:00:00+00:00", 1200.0, "2026-11-01"),  # 02:00 EDT -> 01:00 EST
}


def dst(
    workdir: Path,
    which: str,
    *,
    speed: float | None = None,
    calendar: str = "24/7",
    naive_tz: str = "America/New_York",
) -> FaultResult:
    """The loop's injected clock runs across a DST change while the loop stamps its data with
    naive wall-clock datetimes of ``naive_tz`` (a feed parsed from text, ``datetime.now()`` on
    a New York machine: no fold); ``calendar`` 24/7, so that the gate is open and judges every
    stamp. The clock crosses the change 2.5 s after it starts; on the fall day it runs on
    through the repeated hour. Fresh data must never be called stale, and the day's report
    renders."""
    transition, default_speed, day = DST[which]
    speed = speed or default_speed
    change = datetime.fromisoformat(transition).timestamp()
    end = change + (3600 if which == "fall" else 0) + 1.5 * speed
    store = workdir / "store" / "health.db"
    args = (
        "--clock-start",
        _iso(change - 3 * speed),
        "--speed",
        str(speed),
        "--naive",
        "--naive-tz",
        naive_tz,
    )
    with LoopProcess(store, workdir / "logs", source=SOURCE, args=(*args, "--calendar", calendar)) as loop:
        loop.wait_ready()
        t_fault = loop.read().real_time_of(change)
        loop.run_for(max(0.0, loop.read().real_time_of(end) - time.time()))
        log = loop.stop()
        stderr = loop.stderr()
    stale = [a for a in log.alerts if a[0] == "STALE_DATA"]
    report = _report(store, day, _iso(end))
    result = count(
        f"DST, {which}",
        f"the injected clock crosses {transition} ({which} DST change, {naive_tz}) at {speed:g}x, "
        f"data stamped naive in local time, calendar {calendar}",
        log,
        stderr,
        store,
        workdir / "scratch",
        t_fault,
        expect_store_error=False,
        checks=(
            ("fresh naive-stamped data never called stale", not stale),
            (f"the report of {day} renders (exit {report})", report in (0, 1, 2)),
        ),
    )
    return result


def _report(store: Path, day: str, now: str) -> int:
    """The exit code of ``check-production-health --json`` for ``day`` as of ``now``."""
    script = Path(sys.executable).with_name("check-production-health")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from console.cli import check_main; check_main()"]
    )
    done = subprocess.run(
        [*command, "--store", str(store), "--date", day, "--now", now, "--json"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode
