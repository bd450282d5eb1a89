"""``health-console --demo``: the console on a temporary store fed by a simulated loop in a
process of its own (console/demo.py, which the loop's process imports without Textual)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from console.app import HealthConsole
from console.terminal import TerminalGuard, need_terminal
from health.calendar import get_calendar


def run_demo(args) -> int:
    """A temporary store fed by a simulated loop in its own process, on a 60× clock. Usage
    problems raise ``UsageError`` (one line, exit 3, printed by the CLI)."""
    import shutil
    import subprocess
    import tempfile

    from console.arg_values import parse_day
    from console.args import UsageError
    from console.demo import (
        demo_clock,
        demo_day,
        remove_demo_store,
        seed_history,
        start_demo_process,
        wait_for_loop,
    )

    need_terminal(UsageError)
    code = args.calendar or "XNYS"
    calendar = get_calendar(code)
    guard = TerminalGuard.install()  # from here on, SIGHUP/SIGTERM/a hang-up end the demo
    tmp = Path(tempfile.mkdtemp(prefix="health-demo-"))
    guard.on_hard_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    proc = None
    try:
        store = tmp / "health.db"
        day = demo_day(code)
        with contextlib.suppress(OSError):  # the terminal may already be gone
            print(f"health-console --demo: seeding {day.isoformat()} and earlier…", file=sys.stderr)
        seed_history(store, day, code)
        if guard.leaving:
            return 0
        clock = demo_clock(day, args.speed or 60.0, code)
        proc = start_demo_process(store, clock, code)
        wait_for_loop(store, clock.sim_start, proc)
        start_day = parse_day(args.date, calendar.tz, clock()) if args.date else None
        app = HealthConsole(
            store,
            calendar=code,
            clock=clock,
            browse=args.date is not None,
            start_day=start_day,
            store_label="demo store (temporary)",
            guard=guard,
        )
        app.run()
        return app.return_code or 0
    finally:
        if proc is not None:
            # the simulated loop "crashes" and restarts as a new process in the same group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        remove_demo_store(tmp, None if proc is None else proc.pid)
