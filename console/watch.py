"""`health-console --watch`: the watchdog as a daemon (health/watchdog.py is its engine).

One stderr line per transition; exit 0 on SIGTERM; fits under systemd (Type=simple, logs to the
journal through stderr, and a closed SSH session does not stop it).
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from console.sanitize import clean
from health.watchdog import Watchdog


def _line(text: str) -> None:
    # Loop-supplied text (names, messages) never acts on the terminal (docs/CONTRACT.md §5).
    print(clean(text, one_line=True), file=sys.stderr, flush=True)


def watchdog_for(args, clock=time.time, environ=None) -> Watchdog:
    """The daemon's watchdog: its lines go to stderr, cleaned."""
    return Watchdog(args.store, args.calendar, args.interval, clock=clock, environ=environ, say=_line)


def watch_main(args, clock=time.time) -> int:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    dog = watchdog_for(args, clock=clock)

    def stop(signum, frame) -> None:
        dog.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed SSH session must not stop paging
    return dog.run()
