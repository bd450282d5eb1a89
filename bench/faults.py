"""Fault injection, soak and SSH figures: one command regenerates RELIABILITY.md.

    python bench/faults.py            # everything (~25 min): 50 SIGKILLs a store, every fault,
                                      # the 6 h soak, the console over SSH
    python bench/faults.py --quick    # every fault once, 5 SIGKILLs a store, a 1 h soak (~6 min)

Both write RELIABILITY.md, which says which run it holds and what the quick run leaves out.
It runs the very functions tests/test_faults.py and tests/test_over_ssh.py assert on
(tests/faultkit), so each row is a real run of a real loop process: a busy loop at 5,000
signals/s on an injected clock, its own log of every signal counted against the store. The
default test suite (and so CI) runs the fast part: a SIGKILL, the garbage-beside-WAL fault,
the fall-back night, a short soak and the SSH drop; ``python -m pytest -m "faults or soak"``
asserts everything here.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from faultkit import faults  # noqa: E402
from faultkit.result import NOT_BORN, OLD_SECONDS, WORST_CALL_MS, FaultResult  # noqa: E402
from faultkit.soak import RSS_GROWTH, SoakResult, soak  # noqa: E402
from faultkit.ssh import SshResult, over_ssh  # noqa: E402
from faultkit.ssh import Unavailable as SshUnavailable  # noqa: E402

from bench._common import load_average, machine_info, md_row, say  # noqa: E402

RELIABILITY_MD = REPO / "RELIABILITY.md"
SEED = 8


def _sigkills(work: Path, runs: int, existing: bool) -> list[FaultResult]:
    say(f"SIGKILL x{runs} on {'an existing' if existing else 'a fresh'} store")
    rng = random.Random(f"{SEED}-{existing}")
    out = []
    for n in range(runs):
        where = work / ("sigkill-existing" if existing else f"sigkill-fresh-{n}")
        out.append(faults.sigkill(where, rng.uniform(0.3, 4.5), existing=existing))
        if not existing:
            shutil.rmtree(where, ignore_errors=True)
    return out


def _run(name: str, fn, work: Path):
    say(name)
    where = work / name
    try:
        return fn(where)
    except (faults.Unavailable, SshUnavailable) as exc:
        return f"{name}: not run here: {exc}"
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _ms(ns_ms: float) -> str:
    return f"{ns_ms:.2f} ms"


def _store_error(r: FaultResult) -> str:
    seen = {(): "none", (False, True): "raised, resolved"}.get(r.store_error, str(r.store_error))
    expected = "one outage" if r.expect_store_error else "none"
    logged = f", logged {r.logged}x" if r.expect_store_error else ""
    return f"{seen}{logged} (expected: {expected})"


def _fault_row(r: FaultResult) -> list[str]:
    after = f"{r.lost_after:,} of {r.after:,}"
    if r.dropped:
        after += f"; {r.dropped:,} dropped, counted in the store"
    worst = f"{_ms(r.worst_own_ms)} (wall {_ms(r.worst_ms)}; baseline {_ms(r.baseline_ms)})"
    checks = "".join(f"; {what}" for what, _ in r.checks)
    note = f"; {r.note}" if r.note else ""
    result = ("PASS" if r.passed else "**FAIL**: " + "; ".join(r.failures())) + checks + note
    return [r.fault, r.what, f"{r.lost_old:,} of {r.old:,}", after, worst, _store_error(r), result]


def _series_row(results: list[FaultResult]) -> list[str]:
    first = results[0]
    old = sum(r.old for r in results)
    lost = sum(r.lost_old for r in results)
    failed = [r for r in results if not r.passed]
    worst = max(results, key=lambda r: r.worst_own_ms)
    wall = max(r.worst_ms for r in results)
    base = max(r.baseline_ms for r in results)
    early = sum(1 for r in results if r.old == 0)
    errors = sum(1 for r in results if r.store_error)
    ok = sum(1 for r in results if r.integrity == "ok")
    unborn = sum(1 for r in results if r.integrity in NOT_BORN and r.recorded == 0)
    kind = (
        "an existing store (one store, every run a restart on it)"
        if "existing" in first.fault
        else "a store it creates (a new path each run)"
    )
    what = f"{len(results)} SIGKILLs at seeded random moments 0.3-4.5 s after the process started, on {kind}"
    result = "PASS" if not failed else "**FAIL**: " + "; ".join(r.describe() for r in failed[:3])
    result += f"; integrity_check ok {ok}/{len(results)}"
    if unborn:
        result += f" ({unborn} killed before the first call returned: no store yet, nothing recorded)"
    result += f"; {early} kills came before a second of history"
    return [
        f"{first.fault} x{len(results)}",
        what,
        f"{lost:,} of {old:,}",
        "-",
        f"{_ms(worst.worst_own_ms)} (wall {_ms(wall)}; baseline {_ms(base)})",
        f"none in {len(results) - errors} of {len(results)} runs (expected: none)",
        result,
    ]


def _soak_row(r: SoakResult) -> list[str]:
    result = "PASS" if r.passed else "**FAIL**: " + "; ".join(r.failures())
    result += (
        f"; RSS growth {r.rss_growth:.1%} (target {RSS_GROWTH:.0%}; {r.note}); false alerts {len(r.alerts)}; "
        f"integrity_check {r.integrity}; the control kill paged UNCLEAN_EXIT after "
        + (f"{r.paged_after:.1f} s" if r.paged_after is not None else "never")
    )
    return [
        r.fault,
        r.what,
        f"{r.lost:,} of {r.recorded:,}",
        "-",
        f"{_ms(r.worst_own_ms)} (wall {_ms(r.worst_ms)}; baseline {_ms(r.baseline_ms)})",
        "none (expected: none)" if not any("STORE_ERROR" in a for a in r.alerts) else "raised",
        result,
    ]


def _ssh_row(r: SshResult) -> list[str]:
    gone = f"gone {r.gone_after:.2f} s after the drop" if r.gone_after is not None else "NOT gone"
    result = ("PASS" if r.passed else "**FAIL**: " + "; ".join(r.failures())) + (
        f"; {gone}, {r.cpu_seconds:.2f} CPU-s spent leaving (budget {r.cpu_budget:g}); the .db's bytes and mtime "
        + ("unchanged" if r.store_untouched else "CHANGED")
        + (f"; SQLite created {', '.join(r.created)} beside it (a WAL reader's)" if r.created else "")
    )
    return [r.fault, r.what, "-", "-", "-", "-", result]


def _row(r) -> list[str]:
    if isinstance(r, list):
        return _series_row(r)
    if isinstance(r, SoakResult):
        return _soak_row(r)
    if isinstance(r, SshResult):
        return _ssh_row(r)
    return _fault_row(r)


def _passed(r) -> bool:
    if isinstance(r, list):
        return all(x.passed for x in r)
    return r.passed


def _ssh_store(where: Path) -> Path:
    from health.simulation import seed_dec11_story

    store = where / "store" / "health.db"
    store.parent.mkdir(parents=True)
    seed_dec11_story(store, own_process=False)
    return store


# The sizes of a run: the full one, and the quick one that fits a 10-minute budget.
FULL = {"kills": 50, "soak_hours": 6.25}
QUICK = {"kills": 5, "soak_hours": 1.0}


def run(quick: bool, work: Path) -> list:
    size = QUICK if quick else FULL
    results: list = [
        _sigkills(work, size["kills"], existing=False),
        _sigkills(work, size["kills"], existing=True),
    ]
    plan = [
        ("locked-30s", lambda w: faults.locked(w, 30.0)),
        ("locked-30s-buffer", lambda w: faults.locked(w, 30.0, max_buffered=400_000)),
        ("deleted", faults.deleted),
        ("replaced-empty", faults.replaced_by_empty),
        ("garbage", lambda w: faults.replaced_by_garbage(w, keep_wal=False)),
        ("garbage-old-wal", lambda w: faults.replaced_by_garbage(w, keep_wal=True)),
        ("disk-full", faults.disk_full),
        ("read-only", faults.read_only),
        ("clock-back", faults.clock_back),
        ("dst-spring", lambda w: faults.dst(w, "spring")),
        ("dst-fall", lambda w: faults.dst(w, "fall")),
        ("webhook-down", faults.webhook_down),
    ]
    for name, fn in plan:
        results.append(_run(name, fn, work))
    hours = size["soak_hours"]
    results.append(_run("soak", lambda w: soak(w, simulated_hours=hours), work))
    results.append(_run("ssh", lambda w: over_ssh(w / "ssh", _ssh_store(w)), work))
    results.append(_run("ssh-demo", lambda w: over_ssh(w / "ssh", _ssh_store(w), ("--demo",)), work))
    return results


def _scope(quick: bool) -> list[str]:
    """What this run covers, honestly: the quick run is what fits the 10 minutes a run may take
    on the shared reference machine."""
    if not quick:
        return []
    return [
        f"**This is the quick run** (`--quick`): every fault once, but {QUICK['kills']} SIGKILLs a "
        f"kind of store instead of {FULL['kills']}, and a {QUICK['soak_hours']:g} h soak instead of "
        f"{FULL['soak_hours']:g} h. The full run (`python bench/faults.py`, about 25 minutes) is longer "
        "than the 10 minutes a run may take on the shared reference machine and was not run for this "
        'file; `python -m pytest -m "faults or soak"` asserts the full sizes.',
        "",
    ]


HEAD = [
    "test, load or fault",
    "what was done",
    f"lost: recorded > {OLD_SECONDS:g} s before the fault",
    "after the fault: lost / counted",
    f"worst loop call, own (target {WORST_CALL_MS:g} ms)",
    "STORE_ERROR",
    "result",
]


def render(results: list, info: dict, quick: bool, seconds: float, load: tuple[float, float]) -> str:
    lines = [
        "# Reliability",
        "",
        "What the recorder, the console and the watchdog do when things go wrong, measured on real",
        "processes. Regenerated by `python bench/faults.py` (this whole file); the scenarios are",
        "`tests/faultkit/`, asserted by `tests/test_faults.py` and `tests/test_over_ssh.py` (the fast",
        'part in the default suite and CI; all of it with `python -m pytest -m "faults or soak"`).',
        "",
        f"Run: {info['date']}; {info['nproc']} CPUs ({info['cpu']}); Python {info['python']}; SQLite "
        f"{info['sqlite']}; git {info['git']}; `python bench/faults.py{' --quick' if quick else ''}` took "
        f"{seconds / 60:.1f} min; 1-min load average {load[0]:.2f} before, {load[1]:.2f} after.",
        "",
        *_scope(quick),
        md_row(HEAD),
        md_row(["---"] * len(HEAD)),
    ]
    notes = []
    for r in results:
        if isinstance(r, str):
            notes.append(f"- {r}")
            continue
        lines.append(md_row(cell.replace("|", "\\|") for cell in _row(r)))
    lines += ["", *NOTES]
    if notes:
        lines += ["", "Not run on this machine:", "", *notes]
    total = [r for r in results if not isinstance(r, str)]
    passed = sum(1 for r in total if _passed(r))
    lines += ["", f"{passed} of {len(total)} rows at every target.", ""]
    return "\n".join(lines)


NOTES = [
    "How to read it:",
    "",
    "- **The loop**: `tests/faultkit/loop_child.py`, the contract's snippet in a process of its own",
    "  (a gate call, a heartbeat and a signal per iteration; `gc.freeze()` after start-up), paced",
    "  by spinning in Python at 5,000 signals/s — the GIL held between calls, as in a busy loop —",
    "  and logging every signal with the real time its call returned. *Lost* counts the signals",
    "  of that log missing from the store afterwards (read from a copy, with plain sqlite3). For",
    "  a fault that deletes or replaces the file, the file as it was is kept aside (a hard link)",
    "  and counted too: what was in it was the fault's to lose, not the recorder's.",
    "- **Worst loop call**: the slowest `should_generate_signals`, `record_activity` or",
    "  `record_signal` of the run, by its *own* time: its CPU time plus the time it waited for",
    "  the GIL while the holder ran. Left out is what a shared 2-core machine does to any thread:",
    "  time on a run queue (the kernel's per-thread schedstat), and time blocked on the GIL while",
    "  its holder, one of the recorder's threads, sat on a run queue. *Wall* is the slowest call",
    "  as a stopwatch saw it; *baseline* the slowest spin of the same length in the same loop",
    "  touching no monitor — what the machine alone did to a call that size.",
    "- **STORE_ERROR**: the transitions the loop's `alert_callback` received and the ERROR lines",
    "  the recorder logged: one outage (raised, then resolved, logged once) where the store",
    "  really failed, nothing where it did not (a deleted or emptied store is recreated at once).",
    "- **Counted drops**: the recorder's buffer holds `max_buffered_events` (100,000) events; a",
    "  loop recording 5,000 signals/s through a 30 s lock records 150,000, and the rest are",
    "  dropped — counted, and the count written into the store (`dropped_events`) when it",
    "  recovers, as the README says. Nothing recorded before the lock is lost; with the buffer",
    "  sized for the outage (`max_buffered_events=400_000`) nothing at all is.",
    "- **Webhook down**: the loop hands every alert to a `SinkDispatcher` (as the README suggests)",
    "  whose `RetryPolicy` is shortened to 3 attempts within 1 s real — 10 simulated minutes at",
    "  600x. A transition raised while the webhook is down is given up on after its retries,",
    "  logged and counted by the dispatcher (`stats().failed`); the row checks that every",
    "  transition is delivered, given up or dropped — none unaccounted — and that all of those",
    "  before and after the outage arrive. Nothing holds an alert across an outage longer than its",
    "  `RetryPolicy` (the defaults: 5 attempts within 30 s).",
    "- **Soak**: four loop processes sleeping between calls at 50 signals/s each, a real",
    "  `health-console` on a pty and a real watchdog (`health-console --watch`, alerts to a",
    "  webhook on 127.0.0.1) on one injected clock (`--clock-start`, `--speed`); a false alert is",
    "  any webhook call or loop alert while every loop was healthy. At the end three loops stop",
    "  cleanly and one is killed: the watchdog must page its UNCLEAN_EXIT (the control).",
    "- **Over SSH**: an sshd of the test's own on 127.0.0.1 (a throwaway host key and authorized",
    "  key in a temporary directory), `ssh -tt` in a tmux pane running `health-console`; the ssh",
    "  client is killed once the dashboard shows.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="every fault once, 5 SIGKILLs a store, a 1 h soak (~6 min)"
    )
    args = parser.parse_args(argv)
    info = machine_info()
    load_before = load_average()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="health-faults-") as tmp:
        results = run(args.quick, Path(tmp))
    text = render(results, info, args.quick, time.monotonic() - started, (load_before, load_average()))
    print(text)
    RELIABILITY_MD.write_text(text, encoding="utf-8")
    say(f"wrote {RELIABILITY_MD}")
    ok = all(_passed(r) for r in results if not isinstance(r, str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
