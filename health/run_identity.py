"""Who a run is, as the store records it when the monitor starts (the ``runs`` row): enough to
tell later whether its process is still the one that started (health/process.py), how to
start it again (the interpreter and the command line as typed), where its logs are, and how
systemd may end it (health/restarts.py)."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

from health.config import MonitorConfig
from health.process import start_identity
from store.records import RunInfo


def package_version() -> str:
    try:
        return metadata.version("production-health")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _log_files() -> list[str]:
    """Files the loop's own logging writes to: where diagnostics should look first."""
    files = []
    for logger in (logging.getLogger(), *logging.Logger.manager.loggerDict.values()):
        for handler in getattr(logger, "handlers", ()):
            name = getattr(handler, "baseFilename", None)
            if name and name not in files:
                files.append(name)
    return files


def run_info(
    config: MonitorConfig, *, store_path: Path, tz_name: str, systemd: dict | None, started_at: float
) -> RunInfo:
    """A new run of ``config``'s loop in this process; ``systemd``: SystemdEnv.record()."""
    thresholds = config.thresholds()
    thresholds["store_path"] = str(store_path)
    thresholds["cwd"] = os.getcwd()
    # How to start it again: the interpreter (a venv's) and the command line as typed,
    # `-m package.module` included (sys.argv has the module's file path instead).
    thresholds["executable"] = sys.executable
    thresholds["orig_argv"] = list(sys.orig_argv)
    thresholds["log_files"] = _log_files()
    thresholds["timezone"] = tz_name
    thresholds["wall_started_at"] = time.time()  # real time, for the pid-reuse check
    if not config.backtest:  # a backtest's process is never checked (health/process.py)
        thresholds.update(start_identity(os.getpid()))  # the exact one, where the OS tells it
    if systemd:  # how the run may end (killed by systemd's watchdog): health/restarts.py
        thresholds["systemd"] = systemd
    return RunInfo(
        run_id=uuid.uuid4().hex,
        source=config.source,
        pid=os.getpid(),
        host=socket.gethostname(),
        argv=list(sys.argv),
        version=package_version(),
        config=thresholds,
        started_at=started_at,
        heartbeat_gap=2 * float(config.check_interval_seconds),
    )
