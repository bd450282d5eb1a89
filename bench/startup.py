"""Start-up benchmark: what a cron or Nagios check and the console's first screen cost as whole
processes, beside the interpreter alone and beside importing exchange_calendars.

    python bench/startup.py            # full run (~1 min with the stores cached), 9 rounds;
                                       # updates the bench:startup section of BENCHMARKS.md
    python bench/startup.py --quick    # the month-long stores, 5 rounds; prints only (unless --write)

Every process below is started once per round, the rounds interleaved (each in a new random
order) after one warm-up round, so that all of them meet the same machine; the table gives the
median of the rounds. Wall time is from the fork to the exit (for the console, to its first full
screen); CPU time is the process's user + system time (``wait4``'s rusage; for the console, read
from ``/proc`` at its first full screen).

- ``python -c pass`` and ``python -c "import exchange_calendars"``: the baselines, measured in
  the same run. The targets are ratios to the import, since the machine is shared and absolute
  times prove nothing.
- ``check-production-health --json`` and ``--nagios`` on a recorded date of the one-year store
  of bench/report.py (its builder and cache are reused), and ``--json`` on its one-day store:
  the year / one-day ratio.
- ``health-console`` on a pseudo-terminal (its controlling terminal, as over SSH) on the year
  store, its clock inside the recorded session (``--now``), until its first full screen: the
  status line's "as of", which the dashboard draws from its first snapshot of the store, with
  every panel filled in the same frame.
- For information: the ``--json`` report of a copy of the one-day store from before the
  calendar was recorded (schema v2: the reader builds the calendar with exchange_calendars),
  and ``python -c "import textual.app"``, the console's floor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import random
import select
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path, where bench/console.py would
# shadow the ``console`` package: drop it, and put the checkout first.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from bench._common import (  # noqa: E402
    BENCH_MD,
    BUSY_WARNING,
    compile_package,
    console_script,
    load_average,
    load_before_after,
    machine_info,
    md_row,
    run_line,
    say,
    verdict,
    write_section,
)

# Targets: ratios to `python -c "import exchange_calendars"` measured in the same run.
TARGET_REPORT = 0.5
TARGET_CONSOLE = 1.0
TARGET_YEAR_ONE_DAY = 1.5
SIZE = (120, 40)  # the console's terminal (columns, rows)
FIRST_SCREEN = b"as of "  # the status line, drawn from the first snapshot
CONSOLE_TIMEOUT = 30.0


@dataclass
class Case:
    key: str
    label: str
    argv: list[str]
    pty: bool = False
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    last: str = ""  # the last run's exit and output, for the notes when it failed
    failed: int = 0

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


# ------------------------------------------------------------------------------------------
# one run of a process
# ------------------------------------------------------------------------------------------
def run_plain(case: Case, env: dict[str, str]) -> tuple[float, float] | None:
    """(wall, cpu) from the fork to the exit; None when it exited with an unexpected code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        case.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tempfile.gettempdir()
    )
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    case.last = f"exit {proc.returncode}: {out[:120]!r} {err[:200]!r}"
    if proc.returncode not in (0, 1, 2):  # the report's codes; 3 (UNKNOWN) is a failed run
        return None
    return wall, usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    """User + system seconds of a live process, from /proc (fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_pty(case: Case, env: dict[str, str]) -> tuple[float, float] | None:
    """(wall, cpu) from the fork to the first full screen on a pseudo-terminal; then SIGTERM."""
    cols, rows = SIZE
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal; set its size, then exec
        try:
            import fcntl

            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execve(case.argv[0], case.argv, env)
        finally:
            os._exit(127)
    seen = b""
    result = None
    try:
        deadline = t0 + CONSOLE_TIMEOUT
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen = seen[-64:] + chunk
            if FIRST_SCREEN in seen:
                wall = time.perf_counter() - t0
                result = (wall, _proc_cpu(pid))
                break
        case.last = (
            f"no first screen in {CONSOLE_TIMEOUT:g} s; last output {seen[-200:]!r}" if result is None else ""
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        _drain_and_reap(pid, fd)
    return result


def _drain_and_reap(pid: int, fd: int) -> None:
    """Keep reading (the app restores the terminal as it exits) until it is gone; SIGKILL
    after 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        with contextlib.suppress(OSError):
            if select.select([fd], [], [], 0.05)[0]:
                os.read(fd, 65536)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.close(fd)


def measure(cases: list[Case], rounds: int, warm: int = 1) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HEALTH_DEBUG", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLORTERM="truecolor")
    env = {k: v for k, v in env.items() if not k.endswith("_WEBHOOK_URL")}
    rng = random.Random(2025)
    for i in range(warm + rounds):
        order = list(cases)
        rng.shuffle(order)
        say(f"  round {i + 1 - warm}/{rounds}" if i >= warm else "  warm-up round")
        for case in order:
            got = (run_pty if case.pty else run_plain)(case, env)
            if got is None:
                case.failed += 1
            elif i >= warm:
                case.wall.append(got[0])
                case.cpu.append(got[1])


# ------------------------------------------------------------------------------------------
# the stores
# ------------------------------------------------------------------------------------------
def stores(quick: bool, regen: bool) -> tuple[Path, Path, object]:
    """The one-year and one-day stores of bench/report.py, made (or taken from its cache) by
    its builder."""
    import bench.report as br
    from health.run_identity import package_version
    from store.schema import SCHEMA_VERSION

    p = br.QUICK if quick else br.FULL
    oneday, _, _ = br.ensure_store(
        "oneday",
        p,
        lambda tmp, final: br.make_oneday_store(tmp, final, p),
        regen,
        {"schema": SCHEMA_VERSION, "version": package_version()},
    )
    template = br.recorded_config(oneday)
    year, _, _ = br.ensure_store(
        "year",
        p,
        lambda tmp, final: br.make_year_store(tmp, final, p, template),
        regen,
        {"schema": SCHEMA_VERSION, "config_keys": sorted(template)},
    )
    return year, oneday, p


def unrecorded_copy(src: Path, dest: Path) -> Path:
    """``src`` as a production-health from before schema v3 wrote it: no recorded calendar."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dest)) as b:
        a.backup(b)
        for table in ("calendars", "calendar_sessions", "calendar_closures"):
            b.execute(f"DROP TABLE {table}")
        b.execute("PRAGMA user_version = 2")
        b.commit()
    return dest


def recorded_range(path: Path, code: str) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute(
            "SELECT version, first_day, last_day FROM calendars WHERE code = ?", (code,)
        ).fetchone()
    return "none" if row is None else f"exchange_calendars {row[0]}, {row[1]} to {row[2]}"


# ------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------
def ms(x: float) -> str:
    return f"{x * 1e3:,.0f} ms"


def render(r: dict) -> str:
    out: list[str] = []
    w = out.append
    info = r["info"]
    w(
        f"{run_line(info, 'startup.py', r['quick'])} took {r['elapsed']:.0f} s; "
        + load_before_after(info["load"], r["load_after"])
    )
    if max(info["load"], r["load_after"]) > 0.8:
        w("")
        w(BUSY_WARNING)
    w("")
    w("### Targets (ratios to `import exchange_calendars`, same run)")
    w("")
    w("| target | goal | measured | |")
    w("|---|---|---|---|")
    for name, goal, measured, ok in r["targets"]:
        w(f"| {name} | {goal} | {measured} | {verdict(ok)} |")
    w("")
    w(f"### Each process, median of {r['rounds']} interleaved rounds")
    w("")
    w(
        "| process | wall | CPU (user+sys) | wall / `import exchange_calendars` | wall / `python -c pass` | runs |"
    )
    w("|---|---:|---:|---:|---:|---:|")
    base = r["cases"]["xcals"]
    floor = r["cases"]["pass"]
    for c in r["cases"].values():
        w(
            md_row(
                [
                    c.label,
                    ms(c.median_wall),
                    ms(c.median_cpu),
                    f"{c.median_wall / base.median_wall:.2f}x",
                    f"{c.median_wall / floor.median_wall:.1f}x",
                    f"{len(c.wall)}" + (f" ({c.failed} failed)" if c.failed else ""),
                ]
            )
        )
    w("")
    for note in r["notes"]:
        w(f"- {note}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the month-long stores, 5 rounds; prints only")
    ap.add_argument("--rounds", type=int, help="measured rounds (default 9; quick 5; at least 5)")
    ap.add_argument("--regen", action="store_true", help="rebuild bench/report.py's cached stores")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md after a --quick run")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args(argv)
    compile_package()  # bench/_common.py: timed as installed, bytecode written
    started = time.perf_counter()
    rounds = max(5, args.rounds or (5 if args.quick else 9))
    info = machine_info()
    say("stores (bench/report.py's builder and cache)")
    year, oneday, p = stores(args.quick, args.regen)
    from health.calendar import get_calendar

    cal = get_calendar(p.calendar)
    day = p.d.isoformat()
    now_iso = datetime.fromtimestamp(cal.session(p.d).open_ts + 90 * 60, cal.tz).isoformat()
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        old = unrecorded_copy(oneday, tmp / "schema-v2" / "health.db")
        cpr, hc = console_script("check-production-health"), console_script("health-console")
        py = sys.executable
        report = [cpr, "--date", day]
        cases = [
            Case("pass", "`python -c pass`", [py, "-c", "pass"]),
            Case(
                "xcals",
                '`python -c "import exchange_calendars"` (baseline)',
                [py, "-c", "import exchange_calendars"],
            ),
            Case(
                "json",
                "`check-production-health --json`, year store",
                [*report, "--json", "--store", str(year)],
            ),
            Case(
                "nagios",
                "`check-production-health --nagios`, year store",
                [*report, "--nagios", "--store", str(year)],
            ),
            Case(
                "json1",
                "`check-production-health --json`, one-day store",
                [*report, "--json", "--store", str(oneday)],
            ),
            Case(
                "console",
                "`health-console`, year store, to its first full screen (pty)",
                [hc, "--store", str(year), "--now", now_iso],
                pty=True,
            ),
            Case(
                "old",
                "`check-production-health --json`, one-day store without the recorded calendar (info)",
                [*report, "--json", "--store", str(old)],
            ),
            Case(
                "textual",
                '`python -c "import textual.app"` (the console\'s floor; info)',
                [py, "-c", "import textual.app"],
            ),
        ]
        say(f"{rounds} rounds of {len(cases)} processes, interleaved")
        measure(cases, rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    by = {c.key: c for c in cases}
    base = by["xcals"].median_wall

    def ratio(key: str) -> float:
        return by[key].median_wall / base

    year_day = by["json"].median_wall / by["json1"].median_wall
    targets = [
        (
            "`check-production-health --json`, recorded date, year store",
            f"<= {TARGET_REPORT:g}x",
            f"{ratio('json'):.2f}x ({ms(by['json'].median_wall)} vs {ms(base)})",
            ratio("json") <= TARGET_REPORT,
        ),
        (
            "`check-production-health --nagios`, recorded date, year store",
            f"<= {TARGET_REPORT:g}x",
            f"{ratio('nagios'):.2f}x ({ms(by['nagios'].median_wall)})",
            ratio("nagios") <= TARGET_REPORT,
        ),
        (
            "`health-console` to its first full screen, year store",
            f"<= {TARGET_CONSOLE:g}x",
            f"{ratio('console'):.2f}x ({ms(by['console'].median_wall)})",
            ratio("console") <= TARGET_CONSOLE,
        ),
        (
            "report process, year store / one-day store",
            f"<= {TARGET_YEAR_ONE_DAY:g}x",
            f"{year_day:.2f}x",
            year_day <= TARGET_YEAR_ONE_DAY,
        ),
    ]
    notes = [
        f"Date {day} ({p.calendar}), a recorded date: the stores hold the calendar the loop recorded "
        f"({recorded_range(year, p.calendar)}), so the reports and the console take their sessions from "
        f"the store and never import exchange_calendars or pandas (tests/test_calendar_record.py holds "
        f"that). The store without it is the path every report took before: "
        f"{ratio('old'):.2f}x the import, {by['old'].median_wall / by['json1'].median_wall:.1f}x the same "
        f"report from the recorded store.",
        f"Console: `--now {now_iso}` (90 minutes into the session, the dashboard analyses the whole "
        f"day so far); {SIZE[0]}x{SIZE[1]} pty; the first full screen is the first output holding the "
        f"status line's {FIRST_SCREEN.decode().strip()!r}, drawn from the first snapshot with every "
        f"panel. Its floor, importing Textual, is {ratio('textual'):.2f}x the import of exchange_calendars.",
    ]
    for c in cases:
        if c.failed:
            notes.append(f"{c.label}: {c.failed} run(s) failed; the last: {c.last}")
    res = {
        "info": info,
        "quick": args.quick,
        "rounds": rounds,
        "cases": by,
        "targets": targets,
        "notes": notes,
        "load_after": load_average(),
        "elapsed": time.perf_counter() - started,
    }
    body = render(res)
    print(body)
    if (not args.quick or args.write) and not args.no_write:
        write_section("startup", "Start-up (`bench/startup.py`)", body)
        say(f"updated {BENCH_MD}")
    ok = all(t[3] for t in targets) and not any(c.failed for c in cases)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
