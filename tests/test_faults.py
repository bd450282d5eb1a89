"""Faults injected into real loop processes (tests/faultkit): a loop busy at 5,000 signals/s
on an injected clock, its own log of every signal against the store. For each fault: nothing
recorded more than 1 s before it is lost, the loop's worst call stays within 2 ms of its own
time, STORE_ERROR is raised and resolved exactly where the store really failed (docs/CONTRACT.md
§2), and the store passes integrity_check. The soak runs four loops, the console and the
watchdog for simulated hours. RELIABILITY.md holds the figures (``python bench/faults.py``).

The default suite runs a cheap representative of each kind: a SIGKILL on an existing store
(the fresh store's is tests/test_recorder_fresh_store.py), a garbage main file beside its old
WAL, the fall-back DST night, a short soak. The in-process faults of tests/test_store_faults.py
cover the lock, the read-only store, the full disk and the deleted store. The rest — 50
SIGKILLs on each kind of store, the 30 s lock, every other fault, the long soak — runs on
demand: ``python -m pytest -m "faults or soak"``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from faultkit import faults
from faultkit.result import STALL_MS
from faultkit.soak import soak

SIGKILLS = 50


def _assert_at_target(result) -> None:
    assert result.passed, result.describe()


def _assert_never_stalls(result) -> None:
    """Every count exact, and no loop call stalled. The default suite runs wherever CI runs,
    loaded or not: under a load of 5 on 2 cores one call in a run measured 31 ms of its own
    time there, beyond what the kernel's run-queue figures account for. The 2 ms target is
    held by the on-demand run and shown, with the machine's load, in RELIABILITY.md
    (docs/ARCHITECTURE.md, "Speed": an absolute time on a shared machine proves nothing)."""
    failures = result.failures(worst_ms=STALL_MS)
    assert not failures, f"{result.fault}: {'; '.join(failures)}"


# -- the default suite: one of each kind ------------------------------------------------------
@pytest.mark.slow
def test_sigkill_on_an_existing_store_loses_nothing_older_than_a_second(tmp_path: Path) -> None:
    result = faults.sigkill(tmp_path, moment=3.0, existing=True)
    assert result.old > 1000, f"only {result.old} signals older than 1 s: the kill came too early"
    _assert_never_stalls(result)


@pytest.mark.slow
def test_garbage_beside_the_old_wal_is_one_outage_and_nothing_is_lost(tmp_path: Path) -> None:
    _assert_never_stalls(faults.replaced_by_garbage(tmp_path, keep_wal=True))


@pytest.mark.slow
def test_naive_stamps_through_the_fall_back_night(tmp_path: Path) -> None:
    _assert_never_stalls(faults.dst(tmp_path, "fall", speed=2400.0))


@pytest.mark.slow
def test_a_short_soak(tmp_path: Path) -> None:
    _assert_never_stalls(soak(tmp_path, simulated_hours=0.15))


# -- on demand ------------------------------------------------------------------------------------
@pytest.mark.faults
@pytest.mark.parametrize("existing", [False, True], ids=["fresh-store", "existing-store"])
@pytest.mark.parametrize("n", range(SIGKILLS))
def test_sigkill_at_a_random_moment(tmp_path_factory: pytest.TempPathFactory, existing: bool, n: int) -> None:
    """Seeded moments 0.3-4.5 s after the process started; on an existing store every kill
    adds to the same store (restarts), on a fresh one each has a path of its own."""
    moment = random.Random(f"sigkill-{existing}-{n}").uniform(0.3, 4.5)
    where = tmp_path_factory.getbasetemp() / ("sigkill-existing" if existing else f"sigkill-fresh-{n}")
    _assert_at_target(faults.sigkill(where, moment, existing=existing))


ON_DEMAND = {
    "locked-30s": lambda w: faults.locked(w, 30.0),
    "locked-30s-buffer-fits": lambda w: faults.locked(w, 30.0, max_buffered=400_000),
    "deleted": faults.deleted,
    "replaced-by-empty": faults.replaced_by_empty,
    "replaced-by-garbage": lambda w: faults.replaced_by_garbage(w, keep_wal=False),
    "replaced-by-garbage-old-wal-kept": lambda w: faults.replaced_by_garbage(w, keep_wal=True),
    "disk-full": faults.disk_full,
    "read-only-directory": faults.read_only,
    "clock-back-1h": faults.clock_back,
    "dst-spring": lambda w: faults.dst(w, "spring"),
    "dst-fall": lambda w: faults.dst(w, "fall"),
    "webhook-down-1h": faults.webhook_down,
}


@pytest.mark.faults
@pytest.mark.parametrize("fault", list(ON_DEMAND))
def test_fault(tmp_path: Path, fault: str) -> None:
    try:
        result = ON_DEMAND[fault](tmp_path)
    except faults.Unavailable as exc:
        pytest.skip(str(exc))
    _assert_at_target(result)


@pytest.mark.soak
def test_a_long_soak(tmp_path: Path) -> None:
    _assert_at_target(soak(tmp_path, simulated_hours=6.25))
