"""The soak: four loop processes at 50 signals/s each, a real ``health-console`` on a pty and
a real watchdog (``health-console --watch``, alerts to a webhook on 127.0.0.1) reading the
same store, simulated hours through one injected clock (``--clock-start``/``--speed``).

Counted at the end: every signal each loop recorded is in the store exactly once, the store
passes ``PRAGMA integrity_check``, each loop's RSS (its recorder's writer thread is in it)
grew at most 10 % after warming up, and nothing alerted — no webhook call from the watchdog
(every transition goes there), no alert to any loop's callback — while every loop was
healthy. Then the control: three loops stop cleanly and the fourth is killed (SIGKILL), and
the watchdog must page its UNCLEAN_EXIT — proof it was watching all along.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from faultkit.loop import LoopProcess, child_env
from faultkit.receiver import Receiver
from faultkit.result import WORST_CALL_MS
from faultkit.stored import read_store

LOOPS = 4
RATE = 50.0  # signals per second, each loop
RSS_GROWTH = 0.10
NY = ZoneInfo("America/New_York")
OPEN = datetime(2025, 12, 10, 9, 35, tzinfo=NY)  # a Wednesday, five minutes into the session


@dataclass(frozen=True)
class SoakResult:
    fault: str
    what: str
    recorded: int
    lost: int
    duplicates: int
    worst_ms: float
    worst_own_ms: float
    baseline_ms: float
    rss_growth: float  # the largest of the loops', as a fraction
    alerts: tuple[str, ...]  # every alert anyone saw: webhook, watchdog, loops
    integrity: str
    console_ok: bool
    watchdog_exit: int | None
    paged_after: float | None = None  # real seconds from the control kill to its UNCLEAN_EXIT page
    note: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures()

    def failures(self, worst_ms: float = WORST_CALL_MS) -> list[str]:
        out = []
        if self.lost or self.duplicates:
            out.append(f"{self.lost} of {self.recorded} signals lost, {self.duplicates} stored twice")
        if self.worst_own_ms > worst_ms:
            out.append(f"worst loop call's own time {self.worst_own_ms:.2f} ms")
        if self.rss_growth > RSS_GROWTH:
            out.append(f"a loop's RSS grew {self.rss_growth:.1%}")
        if self.alerts:
            out.append(f"false alerts: {list(self.alerts)[:5]}")
        if self.integrity != "ok":
            out.append(f"integrity_check: {self.integrity}")
        if not self.console_ok:
            out.append("the console did not run through the soak")
        if self.watchdog_exit != 0:
            out.append(f"the watchdog exited {self.watchdog_exit} on SIGTERM")
        if self.paged_after is None:
            out.append("the watchdog never paged the loop killed at the end (was it watching?)")
        return out

    def describe(self) -> str:
        return f"{self.fault}: " + ("; ".join(self.failures()) or "at every target")


def _console_command() -> list[str]:
    script = Path(sys.executable).with_name("health-console")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from console.cli import health_console_main; health_console_main()"]


def _clock_args(real0: float, speed: float) -> list[str]:
    """The one simulated clock, as a process started now joins it."""
    now = OPEN + timedelta(seconds=(time.time() - real0) * speed)
    return ["--clock-start", now.isoformat(), "--speed", repr(speed)]


def soak(workdir: Path, *, simulated_hours: float, speed: float = 60.0) -> SoakResult:
    from ptyconsole import PtyConsole  # tests/ptyconsole.py: the console on a real pty

    store = workdir / "store" / "health.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    real_seconds = simulated_hours * 3600 / speed
    real0 = time.time()
    loops: list[LoopProcess] = []
    rss: dict[int, list[int]] = {}
    watchdog_log = workdir / "watchdog.stderr"
    with contextlib.ExitStack() as stack, Receiver() as receiver:
        for n in range(LOOPS):
            loop = LoopProcess(
                store,
                workdir / "logs",
                source=f"loop{n}",
                rate=RATE,
                busy=False,
                args=(*_clock_args(real0, speed), "--check-interval", "60"),
            )
            stack.enter_context(loop)
            loops.append(loop)
        for loop in loops:
            loop.wait_ready()
        env = child_env({"HEALTH_WEBHOOK_URL": receiver.url})
        with open(watchdog_log, "wb") as err:
            watchdog = subprocess.Popen(
                [
                    *_console_command(),
                    "--watch",
                    "--store",
                    str(store),
                    "--interval",
                    "1",
                    *_clock_args(real0, speed),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        stack.callback(_kill, watchdog)
        console = stack.enter_context(PtyConsole(["--store", str(store), *_clock_args(real0, speed)]))
        warm = time.monotonic() + max(5.0, real_seconds * 0.2)
        end = time.monotonic() + real_seconds
        while time.monotonic() < end:
            for loop in loops:
                loop.run_for(0)  # raises if a loop died
                if time.monotonic() >= warm:
                    rss.setdefault(loop.proc.pid, []).append(loop.rss())
            time.sleep(1.0)
        console_ok = console.proc.poll() is None and console.wait_for(b"Production Health", 1)
        # The control: the watchdog was watching. A loop killed now is paged as UNCLEAN_EXIT.
        logs = [loop.stop() for loop in loops[:-1]]
        t_kill = loops[-1].kill()
        logs.append(loops[-1].read())
        detected = _wait_for_page(receiver, f"loop{LOOPS - 1}", 60.0)
        console.hang_up()
        watchdog.send_signal(signal.SIGTERM)
        watchdog_exit = watchdog.wait(30)
        bodies = receiver.bodies(before=t_kill)
    facts = {
        f"loop{n}": read_store(store, f"loop{n}", workdir / "scratch" / f"loop{n}") for n in range(LOOPS)
    }
    lost = sum(
        sum(1 for i, t in log.signals.items() if i not in facts[f"loop{n}"].signals and t < t_kill - 1.0)
        for n, log in enumerate(logs)
    )
    duplicates = sum(sum(1 for c in f.signals.values() if c > 1) for f in facts.values())
    # Every watchdog transition goes to the webhook: what arrived before the kill was false.
    alerts = [f"webhook: {b.get('code')} {b.get('source')}" for b in bodies]
    alerts += [f"loop{n}: {a[0]}" for n, log in enumerate(logs) for a in log.alerts]
    growth = max(((max(v[-3:]) - v[0]) / v[0] for v in rss.values() if v), default=0.0)
    return SoakResult(
        fault=f"soak, {simulated_hours:g} h simulated",
        what=(
            f"{LOOPS} loop processes at {RATE:g} signals/s each, a real health-console on a pty and a "
            f"real watchdog reading, {simulated_hours:g} h of one injected clock at {speed:g}x "
            f"({real_seconds:.0f} s real)"
        ),
        recorded=sum(len(log.signals) for log in logs),
        lost=lost,
        duplicates=duplicates,
        worst_ms=max(log.worst.all for log in logs) / 1e6,
        worst_own_ms=max(log.worst.own for log in logs) / 1e6,
        baseline_ms=max(log.baseline.all for log in logs) / 1e6,
        rss_growth=growth,
        alerts=tuple(alerts),
        integrity=facts["loop0"].integrity,
        console_ok=bool(console_ok),
        watchdog_exit=watchdog_exit,
        paged_after=detected,
        note=f"RSS after warm-up {_rss_text(rss)}",
    )


def _wait_for_page(receiver: Receiver, source: str, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if any(b.get("code") == "UNCLEAN_EXIT" and b.get("source") == source for b in receiver.bodies()):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def _rss_text(rss: dict[int, list[int]]) -> str:
    return ", ".join(f"{v[0] / 2**20:.0f}->{v[-1] / 2**20:.0f} MB" for v in rss.values() if v)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
