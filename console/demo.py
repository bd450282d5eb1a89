"""The demo: a simulated trading loop, through the public recorder API, on an accelerated
clock, writing a temporary store that the console watches like a real one.

The loop runs in its own process (as a real loop would) and both processes derive "now" from
the same formula, so the console's RTH clock and the loop agree:
``sim_now = sim_start + (time.time() - real_start) * speed``.

The script of the simulated session (exchange time): pre-market attempts the gate refuses,
the open, a crash at 09:40 and a restart at 10:16 (a gap), a stale-data episode 10:30-10:50,
a quiet afternoon, the close and after-hours attempts the gate refuses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from health.calendar import get_calendar
from health.config import MonitorConfig
from health.monitor import ProductionMonitor

SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "SPY", "QQQ")
STEP = 10.0  # simulated seconds between loop iterations
# The demo loop, in its history and in the session it replays alike: one loop, one set of limits.
LOOP = {
    "source": "demo-loop",
    "check_interval_seconds": 60,  # beats every STEP; the 2-min "up" window survives the 60x clock
    "max_data_age_hours": 0.25,
    "max_uptime_gap_minutes": 15,
}


@dataclass(frozen=True)
class DemoClock:
    sim_start: float
    real_start: float
    speed: float

    def __call__(self) -> float:
        return self.sim_start + (time.time() - self.real_start) * self.speed

    def to_real(self, sim_ts: float) -> float:
        return self.real_start + (sim_ts - self.sim_start) / self.speed


def demo_day(calendar_code: str = "XNYS", today: date | None = None) -> date:
    """The most recent full session before today: the demo replays a real trading day."""
    cal = get_calendar(calendar_code)
    today = today or datetime.now(cal.tz).date()
    return cal.previous_trading_day(today)


def demo_clock(day: date, speed: float, calendar_code: str = "XNYS") -> DemoClock:
    cal = get_calendar(calendar_code)
    session = cal.session(day)
    start = session.open_ts - 150  # two and a half minutes of pre-market first
    return DemoClock(start, time.time(), speed)


def _phase(cal, now: float, open_ts: float) -> str:
    minutes = (now - open_ts) / 60
    if 10 <= minutes < 46:
        return "crashed"
    if 60 <= minutes < 80:
        return "stale"
    return "normal"


def run_loop(
    store: Path,
    clock: DemoClock,
    calendar_code: str = "XNYS",
    stop_after: float | None = None,
    on_crash: Callable[[], None] | None = None,
) -> None:
    """The simulated loop; returns when ``stop_after`` simulated seconds have passed.
    ``on_crash`` runs when the script's crash comes (the demo process uses it to really die
    and come back as a new process, as under a supervisor)."""
    cal = get_calendar(calendar_code)
    open_ts = cal.bounds_at(clock.sim_start)[0]
    rng = random.Random(7)
    end = None if stop_after is None else clock.sim_start + stop_after

    def new_monitor() -> ProductionMonitor:
        return ProductionMonitor(
            MonitorConfig(
                store_path=str(store), clock=clock, calendar=calendar_code, flush_interval_seconds=0.1, **LOOP
            )
        )

    monitor: ProductionMonitor | None = new_monitor()
    i = 0
    while end is None or clock() < end:
        now = clock()
        phase = _phase(cal, now, open_ts)
        if phase == "crashed":
            if monitor is not None:
                monitor.abandon()  # the process "dies": no clean stop
                monitor = None
                if on_crash is not None:
                    on_crash()
        else:
            if monitor is None:
                monitor = new_monitor()  # restarted by its supervisor
            lag = 3600 * 2 + rng.uniform(0, 60) if phase == "stale" else rng.uniform(2, 40)
            data_ts = now - lag
            ok, _ = monitor.should_generate_signals(data_ts)
            monitor.record_activity()
            if ok and rng.random() < 0.5:
                monitor.record_signal(SYMBOLS[i % len(SYMBOLS)], data_ts, side=rng.choice(("buy", "sell")))
        i += 1
        real_next = clock.to_real(now + STEP)
        time.sleep(max(0.0, real_next - time.time()))
    if monitor is not None:
        monitor.close()


def start_demo_process(store: Path, clock: DemoClock, calendar_code: str = "XNYS") -> subprocess.Popen:
    """The loop in its own process, as in production; it dies with the console, however the
    console ends (SIGKILL included): it holds the read end of a pipe whose only write end is
    the console's — when the console is gone, the pipe reads end-of-file."""
    lifeline, keep = os.pipe()  # both close-on-exec; the child gets only the read end
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.demo",
            "--store",
            str(store),
            "--sim-start",
            repr(clock.sim_start),
            "--real-start",
            repr(clock.real_start),
            "--speed",
            repr(clock.speed),
            "--calendar",
            calendar_code,
            "--lifeline",
            str(lifeline),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        pass_fds=(lifeline,),
    )
    os.close(lifeline)
    proc.lifeline = keep  # type: ignore[attr-defined]  # open until the console ends
    return proc


def remove_demo_store(tmp: Path, group: int | None, timeout: float = 5.0) -> None:
    """The demo leaves nothing behind. Its loop's process group is told to stop before this;
    wait (bounded) until no live process is left in it — the restarted loop is not our child,
    and its exit flush would create the store again after the directory was removed — then
    remove the directory."""
    if group is not None:
        deadline = time.monotonic() + timeout
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(group):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
            time.sleep(0.1)
    shutil.rmtree(tmp, ignore_errors=True)


def _group_alive(group: int) -> bool:
    """Is any process of the group alive? Zombies (exited, waiting to be reaped by whoever
    adopted them) do not count: they write nothing."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil

    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(proc.pid) == group and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
    return False


DEC11 = date(2025, 12, 11)


def seed_history(store: Path, day: date, calendar_code: str = "XNYS", own_process: bool = True) -> None:
    """Earlier days so the date browser has something to show: the previous session, healthy,
    and — when the demo replays a later date on the New York calendar — the Dec 11 story
    (``health-console --demo --date 2025-12-11``), all as the demo loop (its name, its limits)
    so the dashboard shows one loop. Recorded by a process of its own (about a second), so
    that those runs' pid is gone as it would be, not the console's own."""
    from health.simulation import SimClock, in_own_process, monitor, seed_dec11_story
    from health.simulation import run_loop as sim_loop

    if own_process:
        in_own_process(seed_history, str(store), day, calendar_code, False)
        return
    cal = get_calendar(calendar_code)
    prev = cal.previous_trading_day(day)
    limits = {k: v for k, v in LOOP.items() if k != "source"}
    if cal.code == "XNYS" and prev > DEC11:
        seed_dec11_story(store, own_process=False, source=LOOP["source"], config=limits)
    session = cal.session(prev)
    clock = SimClock(session.open_ts - 300)
    mon = monitor(store, clock, calendar=calendar_code, **LOOP)
    sim_loop(mon, clock, session.close_ts + 60, step=60, signal_every=4)
    mon.close()


def wait_for_loop(store: Path, since: float, proc: subprocess.Popen, timeout: float = 10.0) -> bool:
    """Wait (bounded) until the demo loop has recorded its first run and its first heartbeat,
    so that the console's first frame shows it running rather than yesterday's stopped run
    (the run's row is written at once, the heartbeat with the recorder's next commit)."""
    from store.reader import StoreReader, StoreUnavailable

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with StoreReader(store) as reader:
                started = reader.next_run_start(LOOP["source"], since)
                beat = reader.last_activity(LOOP["source"])
                if started is not None and beat is not None and beat >= started:
                    return True
        except StoreUnavailable:
            pass
        time.sleep(0.05)
    return False


def _main() -> None:
    p = argparse.ArgumentParser(prog="python -m console.demo")
    p.add_argument("--store", required=True)
    p.add_argument("--sim-start", type=float, required=True)
    p.add_argument("--real-start", type=float, required=True)
    p.add_argument("--speed", type=float, default=60.0)
    p.add_argument("--calendar", default="XNYS")
    p.add_argument("--lifeline", type=int, help="read end of a pipe only the console writes to")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.lifeline is not None:
        _exit_with_console(args.lifeline)
    clock = DemoClock(args.sim_start, args.real_start, args.speed)
    run_loop(Path(args.store), clock, args.calendar, on_crash=lambda: _crash_as_a_process(args.lifeline))


def _crash_as_a_process(lifeline: int | None) -> None:
    """The old process dies (its pid is gone, no clean stop recorded); a forked child plays
    the supervisor's restart with a new pid, in the same process group as the console knows."""
    if os.fork():
        os._exit(1)
    if lifeline is not None:
        _exit_with_console(lifeline)  # threads do not survive fork: watch the console again


def _exit_with_console(lifeline: int) -> None:
    """End this process when the console has ended: its pipe reads end-of-file. Unlike a
    parent-pid poll this survives the restart above (whose parent is the "crashed" process),
    a console that is a zombie not yet reaped, and pid reuse."""
    import threading

    def watch() -> None:
        while True:
            try:
                if not os.read(lifeline, 1):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os._exit(0)

    threading.Thread(target=watch, name="console-lifeline", daemon=True).start()


if __name__ == "__main__":
    _main()
