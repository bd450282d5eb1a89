"""`health-console --watch`: the watchdog as a daemon (health/watchdog.py is its engine).

One stderr line per transition; exit 0 on SIGTERM; fits under systemd (Type=notify: ready,
WATCHDOG=1 after each evaluation, logs to the journal through stderr, and a closed SSH session
does not stop it). Optionally it serves Prometheus metrics (--metrics-port, --metrics-textfile)
and pings a dead-man's switch (--deadman-url).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from console.args import UsageError
from console.sanitize import clean
from health.readiness import READY_MINUTES
from health.watchdog import Watchdog


def _line(text: str) -> None:
    # Loop-supplied text (names, messages) never acts on the terminal (docs/CONTRACT.md §5).
    print(clean(text, one_line=True), file=sys.stderr, flush=True)


def _deadman(args, environ):
    from health.deadman import DEADMAN_ENV, Deadman

    env = os.environ if environ is None else environ
    url = getattr(args, "deadman_url", None) or env.get(DEADMAN_ENV) or ""
    if not url.strip():
        return None
    try:
        return Deadman(url, say=_line)
    except ValueError as exc:  # the text is redacted by validate_url
        raise UsageError(f"--deadman-url: {exc}") from None


def watchdog_for(args, clock=time.time, environ=None) -> Watchdog:
    """The daemon's watchdog: its lines go to stderr, cleaned."""
    metrics = getattr(args, "metrics_port", None) is not None or bool(getattr(args, "metrics_textfile", None))
    return Watchdog(
        getattr(args, "stores", None) or args.store,
        args.calendar,
        args.interval,
        clock=clock,
        environ=environ,
        say=_line,
        metrics=metrics,
        deadman=_deadman(args, environ),
        ready_minutes=READY_MINUTES if getattr(args, "ready_minutes", None) is None else args.ready_minutes,
    )


class Exporters:
    """/metrics and the textfile, over the watchdog's view (health/metrics.py)."""

    def __init__(self, dog: Watchdog, args, clock) -> None:
        from health.metrics import HealthCollector, registry_for
        from health.metrics_server import DEFAULT_HOST, MetricsServer, TextfileWriter
        from health.run_identity import package_version

        self.registry = registry_for(HealthCollector(dog.views, clock, package_version()))
        self.server = None
        self.textfile = None
        if args.metrics_port is not None:
            host = args.metrics_host or DEFAULT_HOST
            server = MetricsServer(self.registry, host, args.metrics_port)
            try:
                server.start()
            except OSError as exc:
                raise UsageError(
                    f"--metrics-port {args.metrics_port}: cannot listen on {host}: {exc}"
                ) from None
            self.server = server
            dog.say(f"serving Prometheus metrics at {server.url}")
        if args.metrics_textfile:
            self.textfile = TextfileWriter(self.registry, args.metrics_textfile)
            dog.say(f"writing Prometheus metrics to {args.metrics_textfile} after each evaluation")

    def after_tick(self) -> str | None:
        return self.textfile.write() if self.textfile is not None else None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def watch_main(args, clock=time.time) -> int:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    dog = watchdog_for(args, clock=clock)
    exporters = None
    if dog.metrics:
        exporters = Exporters(dog, args, clock)
        dog.after_tick = exporters.after_tick

    def stop(signum, frame) -> None:
        dog.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed SSH session must not stop paging
    try:
        return dog.run()
    finally:
        if exporters is not None:
            exporters.close()
