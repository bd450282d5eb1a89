"""`health-console --watch`: the watchdog as a daemon (health/watchdog.py is its engine).

One stderr line per transition; exit 0 on SIGTERM; fits under systemd (Type=simple, logs to the
journal through stderr, and a closed SSH session does not stop it).
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from health.watchdog import Watchdog


def watch_main(args, clock=time.time) -> int:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    dog = Watchdog(args.store, args.calendar, args.interval, clock=clock)

    def stop(signum, frame) -> None:
        dog.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed SSH session must not stop paging
    return dog.run()
