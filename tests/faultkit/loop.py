"""A loop process (tests/faultkit/loop_child.py) seen from outside: start it, wait until it
records, kill it, stop it, step its clock, and read its own log of what it recorded.

The child's log is the ground truth: a signal is counted as recorded at the real time its
``record_signal`` call returned. Nothing here reads the recorder's own counters to decide what
was lost; the store is read back with plain sqlite3 (tests/faultkit/stored.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("loop_child.py")
PYTHON = sys.executable
BUSY_RATE = 5000.0  # signals per second of the busy loop (the figure)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child that imports this checkout's packages."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("HEALTH_WEBHOOK_URL", None)
    env.pop("DISCORD_WEBHOOK_URL", None)
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class CallTimes:
    """The slowest calls of a run (ns): of all, and of those the OS did not preempt."""

    all: int = 0
    own: int = 0
    over: int = 0  # calls over 2 ms
    over_own: int = 0  # of those, not preempted
    calls: int = 0


@dataclass
class LoopLog:
    """What the loop's log says: every signal (number -> real time), its worst calls, alerts."""

    ready_at: float | None = None
    pid: int | None = None
    signals: dict[int, float] = field(default_factory=dict)
    worst: CallTimes = field(default_factory=lambda: CallTimes())
    baseline: CallTimes = field(default_factory=lambda: CallTimes())
    slow: list[str] = field(default_factory=list)  # the calls over 1 ms, as logged
    alerts: list[tuple[str, bool, float, float]] = field(default_factory=list)  # code, resolved, real t, at
    clock: tuple[float, float, float] | None = None  # (simulated start, real start, speed)
    raised: str | None = None
    done: dict | None = None

    def real_time_of(self, simulated: float) -> float:
        """When the loop's injected clock read ``simulated`` (before any step)."""
        assert self.clock is not None, "the loop has not started its clock"
        sim0, real0, speed = self.clock
        return real0 + (simulated - sim0) / speed

    def store_errors(self) -> list[bool]:
        """The STORE_ERROR transitions alert_callback received: False firing, True resolved."""
        return [resolved for code, resolved, _, _ in self.alerts if code == "STORE_ERROR"]

    def recorded_between(self, start: float, end: float) -> set[int]:
        return {i for i, t in self.signals.items() if start <= t < end}


def read_log(path: Path) -> LoopLog:
    log = LoopLog()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return log
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # a line cut by a SIGKILL mid-write is not counted
    for line in lines:
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if head.isdigit():
            log.signals[int(head)] = float(rest)
        elif head == "w":
            fields = [int(f) for f in rest.split()]
            log.worst, log.baseline = CallTimes(*fields[:5]), CallTimes(*fields[5:])
        elif head == "slow":
            log.slow.append(rest)
        elif head == "a":
            code, resolved, t, at = rest.split()
            log.alerts.append((code, resolved == "1", float(t), float(at)))
        elif head == "c":
            sim0, real0, speed = rest.split()
            log.clock = (float(sim0), float(real0), float(speed))
        elif head == "ready":
            pid, at = rest.split()
            log.pid, log.ready_at = int(pid), float(at)
        elif head == "x":
            log.raised = rest
        elif head == "done":
            log.done = json.loads(rest)
    return log


class LoopProcess:
    """One loop child. ``busy``: paced by spinning in Python (the GIL held between calls)."""

    def __init__(
        self,
        store: Path,
        workdir: Path,
        *,
        source: str = "faults",
        rate: float = BUSY_RATE,
        busy: bool = True,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> None:
        self.store = Path(store)
        workdir.mkdir(parents=True, exist_ok=True)
        stamp = f"{source}-{time.monotonic_ns()}"
        self.log_path = workdir / f"{stamp}.log"
        self.err_path = workdir / f"{stamp}.stderr"
        argv = [PYTHON, str(CHILD), str(store), str(self.log_path), "--source", source, "--rate", str(rate)]
        argv += ["--busy"] if busy else []
        argv += list(args)
        self._err = open(self.err_path, "wb")  # noqa: SIM115 - closed in wait()
        self.started = time.time()
        self.proc = subprocess.Popen(
            argv,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            user=user,
        )

    # -- control ------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = read_log(self.log_path)
            if log.ready_at is not None:
                return log.ready_at
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the loop exited {self.proc.returncode} before it was ready: {self.stderr()[-2000:]}"
                )
            time.sleep(0.02)
        raise TimeoutError(f"the loop was not ready within {timeout} s: {self.stderr()[-2000:]}")

    def run_for(self, seconds: float) -> None:
        """Let the loop run (it records on its own); fail early if it stopped."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the loop exited {self.proc.returncode}: {self.stderr()[-2000:]}")
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def kill(self) -> float:
        """SIGKILL; returns the real time it was sent."""
        at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        self.wait(10)
        return at

    def step_clock(self) -> float:
        at = time.time()
        self.proc.send_signal(signal.SIGUSR1)
        return at

    def stop(self, timeout: float = 30.0) -> LoopLog:
        """SIGTERM: the loop leaves its while, calls close() and logs its totals."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.wait(timeout)
        return self.read()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._err.close()

    def rss(self) -> int:
        return psutil.Process(self.proc.pid).memory_info().rss

    def read(self) -> LoopLog:
        return read_log(self.log_path)

    def stderr(self) -> str:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed already
            self._err.flush()
        with contextlib.suppress(OSError):
            return self.err_path.read_text(errors="replace")
        return ""

    def close(self) -> None:
        """Leave nothing running, whatever the test found."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.wait(10)

    def __enter__(self) -> LoopProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
