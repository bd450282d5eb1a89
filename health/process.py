"""What became of a run's process: one inspection, with one pid-reuse guard, for the
report's "is it running now", the live view and the diagnostics; and which watchdogs run here.

"Gone" is a conclusion that pages someone (UNCLEAN_EXIT), so it is only ever drawn from the
kernel's own word: psutil says there is no such process *and* ``kill(pid, 0)`` agrees. An
inspection that fails any other way (too many open files, a /proc we may not read, a psutil
error under load) is "unknown", never "gone". The pid-reuse guard compares the process's start
in clock ticks since boot, recorded by the monitor itself, which no clock step can move; only
runs recorded without it fall back to comparing wall-clock times.
"""

from __future__ import annotations

import os
import shlex
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from store.paths import file_identity
from store.records import RunRecord

PID_REUSE_SLACK_SECONDS = 5.0  # the process may start a little before its monitor

# Interpreter options that take the next argument as their value (python --help).
_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})


@dataclass
class ProcState:
    kind: str  # "alive", "stopped", "zombie", "gone", "reused", "denied", "unknown"
    proc: object | None = None
    state: str | None = None
    name: str | None = None


def start_identity(pid: int) -> dict[str, object]:
    """What the monitor records about its own process for the pid-reuse guard: the kernel's
    boot id and the process's start time in clock ticks since boot (Linux); {} elsewhere."""
    ticks = _start_ticks(pid)
    boot = _boot_id()
    return {} if ticks is None or boot is None else {"boot_id": boot, "start_ticks": ticks}


def _start_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # Field 22, counted after the command name, which may itself hold spaces and ")".
        return int(stat[stat.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _confirm_gone(pid: int) -> ProcState:
    """psutil found no process: ask the kernel before calling it gone."""
    if pid <= 0:
        return ProcState("unknown")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return ProcState("gone")
    except OSError:  # PermissionError: it exists, as another user's (hidepid /proc)
        return ProcState("unknown")
    except OverflowError:  # no pid at all (a store edited by hand): nothing to conclude
        return ProcState("unknown")
    return ProcState("unknown")  # it exists, though psutil could not see it


def _reused(run: RunRecord, created: float) -> bool:
    recorded = run.config.get("start_ticks")
    if isinstance(recorded, int) and run.config.get("boot_id") == _boot_id():
        ticks = _start_ticks(run.pid)
        if ticks is not None:
            return ticks != recorded
    return created > run.wall_started_at + PID_REUSE_SLACK_SECONDS


def _inspect_once(run: RunRecord) -> ProcState:
    if run.pid is not None and run.pid > 0:
        # The kernel's word first: a pid no process has is gone, without psutil reading /proc
        # for it (a period asks this of every past run).
        try:
            os.kill(run.pid, 0)
        except ProcessLookupError:
            return ProcState("gone")
        except (OSError, OverflowError):  # another user's (PermissionError), or no pid at all: psutil tells
            pass
    import psutil

    try:
        proc = psutil.Process(run.pid)
    except psutil.NoSuchProcess:
        return _confirm_gone(run.pid)
    except psutil.AccessDenied:
        return ProcState("denied")
    except (psutil.Error, OSError, ValueError):  # EMFILE under load, a psutil timeout...
        return ProcState("unknown")
    try:
        with proc.oneshot():
            created = proc.create_time()
            state = proc.status()
            name = proc.name()
    except psutil.ZombieProcess:
        return ProcState("zombie", proc, psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return _confirm_gone(run.pid)
    except psutil.AccessDenied:
        return ProcState("denied", proc)
    except (psutil.Error, OSError, ValueError):
        return ProcState("unknown", proc)
    if _reused(run, created):
        return ProcState("reused", proc, state, name)
    if state == psutil.STATUS_ZOMBIE:
        return ProcState("zombie", proc, state, name)
    if state in (psutil.STATUS_STOPPED, getattr(psutil, "STATUS_TRACING_STOP", "tracing-stop")):
        return ProcState("stopped", proc, state, name)
    return ProcState("alive", proc, state, name)


def inspect_pid(run: RunRecord) -> ProcState:
    """One inspection, tried twice if the first cannot tell (a transient failure)."""
    state = _inspect_once(run)
    if state.kind == "unknown":
        state = _inspect_once(run)
    return state


def is_backtest(run: RunRecord) -> bool:
    """A simulated run (MonitorConfig(backtest=True)): its pid and host are those of the
    backtester, never a loop to check, restart or page about."""
    return bool(run.config.get("backtest"))


def runs_here(run: RunRecord) -> bool:
    """Did the run's process run on this host, so that it can be inspected from here?"""
    return run.pid is not None and run.host == socket.gethostname()


def process_alive(run: RunRecord) -> bool | None:
    """Is the run's process alive? None when it ran on another host or cannot be seen now:
    unknown is never reported as gone."""
    if not runs_here(run) or is_backtest(run):
        return None
    kind = inspect_pid(run).kind
    if kind in ("denied", "unknown"):
        return None
    return kind in ("alive", "stopped")


def is_watchdog(cmdline: Sequence[str]) -> bool:
    if "--watch" not in cmdline:
        return False
    for i, part in enumerate(cmdline):
        if os.path.basename(part) == "health-console":
            return True
        if part == "-m" and i + 1 < len(cmdline) and cmdline[i + 1].split(".")[0] == "console":
            return True
    return False


def _watched_stores(cmdline: Sequence[str]) -> list[str]:
    """The --store paths a watchdog was given (several for a desk); none: it uses
    $HEALTH_STORE or the default."""
    stores = []
    for i, part in enumerate(cmdline):
        if part == "--store" and i + 1 < len(cmdline):
            stores.append(cmdline[i + 1])
        elif part.startswith("--store="):
            stores.append(part.split("=", 1)[1])
    return stores


def watchdog_pids(store_path: str | os.PathLike[str]) -> tuple[list[int], list[int]]:
    """pids of `health-console --watch` processes on this host: (watching this store or
    possibly so, watching another store)."""
    import psutil

    ours, others = [], []
    target = _same_file_key(store_path)
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        cmdline = proc.info.get("cmdline") or ()
        if not is_watchdog(cmdline):
            continue
        watched = _watched_stores(cmdline)
        cwd = Path(proc.info.get("cwd") or "/")
        if watched and all(_same_file_key(cwd / Path(w).expanduser()) != target for w in watched):
            others.append(proc.info["pid"])
            continue
        ours.append(proc.info["pid"])
    return ours, others


def _same_file_key(path: Path) -> object:
    return file_identity(path) or os.path.abspath(path)


def restart_command(run: RunRecord) -> str | None:
    """The command that starts the loop again as it was started, ready to paste into a shell:
    from its working directory, with the very interpreter it ran on (its venv's, not whatever
    ``python`` means here), its interpreter options, ``-m module`` or its script, and its
    arguments. None when it cannot be said (started with ``-c`` or from stdin)."""
    if is_backtest(run):
        return None
    config = run.config
    orig = config.get("orig_argv")
    if isinstance(orig, list) and orig and all(isinstance(a, str) for a in orig):
        args = orig[1:]
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "-" and not args[i].startswith("-m"):
            if args[i] == "-c" or args[i].startswith("-c"):
                return None
            i += 2 if args[i] in _OPTIONS_WITH_VALUE else 1
        if i >= len(args) or args[i] == "-":
            return None
        command = [str(config.get("executable") or orig[0]), *args]
    else:  # recorded before the interpreter was: the script and its arguments
        if not run.argv or run.argv[0] in ("-c", ""):
            return None
        command = ["python3", *run.argv]
    cwd = config.get("cwd")
    prefix = f"cd {shlex.quote(str(cwd))} && " if cwd else ""
    return prefix + shlex.join(command)
