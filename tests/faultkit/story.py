"""The story every fault follows, and how a run is counted into a :class:`FaultResult`.

The loop records for a while (``PRE`` seconds, so that there are events older than a second),
the fault is injected at real time ``t_fault``, the loop rides it out, the fault is repaired,
the loop records on (``POST``) and stops cleanly (SIGTERM → ``close()``). Then the store is
counted against the loop's own log.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from faultkit.loop import LoopLog, LoopProcess
from faultkit.result import OLD_SECONDS, FaultResult
from faultkit.stored import keep, read_store

PRE = 1.6  # seconds of recording before the fault
POST = 1.0  # seconds of recording after the repair
SOURCE = "faults"
_ERROR_LINE = re.compile(r"cannot write health store")


def count(
    fault: str,
    what: str,
    log: LoopLog,
    stderr: str,
    store: Path,
    scratch: Path,
    t_fault: float,
    *,
    expect_store_error: bool,
    kept: Path | None = None,
    checks: tuple[tuple[str, bool], ...] = (),
    note: str = "",
) -> FaultResult:
    """Count the loop's log against the store (and the kept pre-fault store, if any)."""
    facts = read_store(store, SOURCE, scratch / "now")
    everywhere: Counter[int] = Counter(facts.signals)
    if kept is not None:
        everywhere.update(read_store(kept, SOURCE, scratch / "kept").signals)
    old = log.recorded_between(0, t_fault - OLD_SECONDS)
    after = log.recorded_between(t_fault, float("inf"))
    return FaultResult(
        fault=fault,
        what=what,
        recorded=len(log.signals),
        old=len(old),
        lost_old=sum(1 for i in old if i not in everywhere),
        after=len(after),
        lost_after=sum(1 for i in after if i not in everywhere),
        dropped=facts.dropped,
        duplicates=sum(1 for n in facts.signals.values() if n > 1),
        worst_ms=log.worst.all / 1e6,
        worst_own_ms=log.worst.own / 1e6,
        over=log.worst.over,
        over_own=log.worst.over_own,
        baseline_ms=log.baseline.all / 1e6,
        baseline_over=log.baseline.over,
        store_error=tuple(log.store_errors()),
        expect_store_error=expect_store_error,
        logged=len(_ERROR_LINE.findall(stderr)),
        integrity=facts.integrity,
        raised=log.raised,
        checks=checks,
        note=note,
    )


def wait_for(predicate: Callable[[], bool], timeout: float, loop: LoopProcess) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        loop.run_for(0.05)
    return predicate()


def _firing(loop: LoopProcess) -> bool:
    return False in loop.read().store_errors()


def _resolved(loop: LoopProcess) -> bool:
    return True in loop.read().store_errors()


def outage(
    workdir: Path,
    fault: str,
    what: str,
    break_store: Callable[[Path, LoopProcess], object],
    repair_store: Callable[[Path, LoopProcess], object],
    *,
    store: Path | None = None,
    expect_store_error: bool = True,
    hold: float = 0.5,
    keep_old: bool = False,
    loop_args: tuple[str, ...] = (),
    note: str = "",
) -> FaultResult:
    """The common story. ``hold``: seconds the fault stays after STORE_ERROR was raised (or
    after the fault, when none is expected)."""
    store = store or workdir / "store" / "health.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    with LoopProcess(store, workdir / "logs", source=SOURCE, args=loop_args) as loop:
        loop.wait_ready()
        loop.run_for(PRE)
        kept = keep(store, workdir / "kept") if keep_old else None
        t_fault = time.time()
        break_store(store, loop)
        if expect_store_error:
            wait_for(lambda: _firing(loop), 30.0, loop)
        loop.run_for(hold)
        repair_store(store, loop)
        if expect_store_error:
            wait_for(lambda: _resolved(loop), 30.0, loop)
        loop.run_for(POST)
        log = loop.stop()
        stderr = loop.stderr()
    return count(
        fault,
        what,
        log,
        stderr,
        store,
        workdir / "scratch",
        t_fault,
        expect_store_error=expect_store_error,
        kept=kept,
        note=note,
    )


class Unavailable(Exception):
    """The fault cannot be produced on this machine (a privilege, a tool): the reason."""


def nothing(store: Path, loop: LoopProcess) -> None:
    """A fault or a repair that is no action on the store (the clock's, the webhook's)."""
