"""What became of a run's process: one inspection, with one pid-reuse guard, for the
report's "is it running now", the live view and the diagnostics."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from store.records import RunRecord

PID_REUSE_SLACK_SECONDS = 5.0  # the process may start a little before its monitor


@dataclass
class ProcState:
    kind: str  # "alive", "stopped", "zombie", "gone", "reused", "denied"
    proc: object | None = None
    state: str | None = None
    name: str | None = None


def inspect_pid(run: RunRecord) -> ProcState:
    import psutil

    try:
        proc = psutil.Process(run.pid)
    except psutil.NoSuchProcess:
        return ProcState("gone")
    except psutil.Error:
        return ProcState("denied")
    try:
        with proc.oneshot():
            created = proc.create_time()
            state = proc.status()
            name = proc.name()
    except psutil.ZombieProcess:
        return ProcState("zombie", proc, psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return ProcState("gone")
    except psutil.AccessDenied:
        return ProcState("denied", proc)
    if created > run.wall_started_at + PID_REUSE_SLACK_SECONDS:
        return ProcState("reused", proc, state, name)
    if state == psutil.STATUS_ZOMBIE:
        return ProcState("zombie", proc, state, name)
    if state in (psutil.STATUS_STOPPED, getattr(psutil, "STATUS_TRACING_STOP", "tracing-stop")):
        return ProcState("stopped", proc, state, name)
    return ProcState("alive", proc, state, name)


def process_alive(run: RunRecord) -> bool | None:
    """Is the run's process alive? None when it ran on another host or cannot be seen."""
    if run.pid is None or run.host != socket.gethostname():
        return None
    kind = inspect_pid(run).kind
    if kind == "denied":
        return None
    return kind in ("alive", "stopped")
