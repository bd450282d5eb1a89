"""The first hour of a new user, tried as one would: each stumble found that way, now held.

Real processes and real stores, as in tests/test_cli.py, whose helpers run the scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import select
import shlex
import signal
import sqlite3
import struct
import subprocess
import termios
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import PYTHON, child_env
from test_cli import assert_unknown, run_many

from console import demo
from console.app import HealthConsole
from console.arg_values import read_day
from console.screens.browser import BrowserScreen
from console.widgets import DataAgePanel, GatingPanel, StatusLine, UptimePanel
from health.calendar import get_calendar
from health.diagnostics import run_diagnostics
from health.loader import build_report
from health.process import process_alive, restart_command
from health.simulation import SimClock, at, monitor, run_loop
from store.reader import StoreReader
from store.records import RunRecord

pytestmark = pytest.mark.slow

WED = date(2025, 12, 10)
AFTER = "2025-12-20T12:00:00-05:00"


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("first-hour") / "health.db"
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 16, 5))
    mon.close()
    return store


# -- 1. --nagios prints exactly one plugin line, UNKNOWN included ------------------------------------
def test_nagios_prints_one_plugin_line_for_every_unknown(healthy: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    missing = tmp_path / "nowhere" / "health.db"
    pipe_in_path = tmp_path / "a|b" / "health.db"
    cases = {
        "no-store": (("--store", str(missing), "--nagios"), {}),
        "bad-date": (("--store", str(healthy), "--date", "2025-13-45", "--nagios"), {}),
        "corrupt-store": (("--store", str(corrupt), "--date", "2025-12-10", "--nagios"), {}),
        "unknown-flag": (("--nagios", "--frobnicate"), {}),
        "before-first-record": (
            ("--store", str(healthy), "--date", "2025-12-01", "--now", AFTER, "--nagios"),
            {},
        ),
        "pipe-in-reason": (("--store", str(pipe_in_path), "--nagios"), {}),
        "console-report": (("--report", "--store", str(missing), "--nagios"), {"prog": "health-console"}),
        "console-no-report": (("--nagios", "--store", str(healthy)), {"prog": "health-console"}),
        "diagnose": (("--store", str(missing), "--nagios"), {"prog": "diagnose-production"}),
    }
    results = run_many(cases)
    for name, r in results.items():
        assert_unknown(r)
        lines = r.stdout.splitlines()
        assert len(lines) == 1 and r.stdout.endswith("\n"), (name, r.stdout)
        line = lines[0]
        assert line.startswith("PRODUCTION HEALTH UNKNOWN - "), (name, line)
        assert "|" not in line, (name, line)  # no perfdata without data, and none smuggled in
        assert len(line) > len("PRODUCTION HEALTH UNKNOWN - ") + 5
    assert "does not exist" in results["no-store"].stdout
    assert "2025-13-45" in results["bad-date"].stdout
    assert "before the store's first record" in results["before-first-record"].stdout
    assert "a/b" in results["pipe-in-reason"].stdout
    # the same reason as the one stderr line
    r = results["no-store"]
    assert r.stdout.split(" - ", 1)[1].strip() in r.stderr


# -- 2. the demo leaves nothing behind, its simulated restart included ---------------------------------
def _drain(master: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    return out


def _runs_since(store: Path, t: float) -> int:
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM runs WHERE started_at >= ?", (t,)).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_quitting_the_demo_after_its_restart_leaves_nothing(tmp_path: Path) -> None:
    open_ts = get_calendar("XNYS").session(demo.demo_day("XNYS")).open_ts
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 32, 100, 0, 0))
    env = child_env()
    env.update(TERM="xterm-256color", TMPDIR=str(tmp_path))
    code = "import sys; from console.cli import health_console_main; health_console_main(sys.argv[1:])"
    # 1200x: the crash (09:40) and the restart (10:16) come a few seconds after the start
    proc = subprocess.Popen(
        [PYTHON, "-c", code, "--demo", "--speed", "1200"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        restarted = False
        while time.monotonic() < deadline and not restarted:
            _drain(master, 0.2)
            stores = list(tmp_path.glob("health-demo-*/health.db"))
            # the loop's first run (before the open) and the run after its crash
            restarted = bool(stores) and _runs_since(stores[0], open_ts - 300) >= 2
        assert restarted, list(tmp_path.iterdir())
        os.write(master, b"q")
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            _drain(master, 0.2)
        assert proc.returncode == 0
        for _ in range(20):  # nothing comes back once the console is gone
            assert list(tmp_path.iterdir()) == []
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(OSError):
            os.close(master)


# -- 3. the restart command works when pasted ----------------------------------------------------------
LOOP = """
import json, os, sys
from health import MonitorConfig, ProductionMonitor

store, marker = sys.argv[1], sys.argv[2]
with open(marker, "a") as f:
    f.write(json.dumps({"argv": sys.argv[3:], "cwd": os.getcwd(), "exe": sys.executable}) + "\\n")
if sys.argv[3:4] == ["--record"]:
    clock = lambda: AT  # 11:00 on Wed 2025-12-10: the loop beats once, then dies
    mon = ProductionMonitor(MonitorConfig(store_path=store, clock=clock))
    mon.record_activity()
    mon.flush()
    os._exit(1)  # a crash: no clean stop
"""


def _restart_from(text: str) -> str:
    command = re.search(r"Restart it as it was started: `([^`]+)`", text)
    assert command, text
    return command[1]


def test_the_restart_command_is_the_interpreter_and_the_module_as_started(tmp_path: Path) -> None:
    work = tmp_path / "trading desk"  # a space in the path: the command must quote it
    (work / "strategies").mkdir(parents=True)
    (work / "strategies" / "__init__.py").write_text("")
    (work / "strategies" / "loop.py").write_text(f"AT = {at(WED, 11, 0)!r}\n" + LOOP)
    store, marker = tmp_path / "health.db", tmp_path / "runs.jsonl"
    args = ["--record", "two words", "--size=3"]
    first = subprocess.run(
        [PYTHON, "-m", "strategies.loop", str(store), str(marker), *args],
        cwd=work,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 1, first.stderr
    report = build_report(store, WED, "XNYS", None, at(date(2025, 12, 20), 12, 0))
    steps = [step for rec in report.recommendations for step in rec.steps]
    command = _restart_from("\n".join(steps))
    assert f"-m strategies.loop {shlex.quote(str(store))}" in command
    assert command.startswith(f"cd {shlex.quote(str(work))} && {shlex.quote(PYTHON)} -m ")
    # diagnostics say the same (the process is gone)
    checks = {c.name: c for c in run_diagnostics(store, now=at(WED, 11, 30), environ={})}
    assert checks["process"].status == "FAIL"
    assert f"restart: {command}" in (checks["process"].fix or "")
    # pasted into a shell from anywhere, it runs the loop again exactly as it was started
    again = subprocess.run(
        ["bash", "-c", command.replace("--record", "--again")],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    runs = [json.loads(line) for line in marker.read_text().splitlines()]
    assert len(runs) == 2
    assert runs[1] == runs[0] | {"argv": ["--again", "two words", "--size=3"]}


@pytest.mark.parametrize(
    ("orig_argv", "expected"),
    [
        (["python3", "loop.py", "--live"], "cd /srv && /venv/bin/python loop.py --live"),
        (
            ["python", "-u", "-X", "dev", "-m", "pkg.loop", "a b"],
            "cd /srv && /venv/bin/python -u -X dev -m pkg.loop 'a b'",
        ),
        (["/venv/bin/python", "/venv/bin/my-loop"], "cd /srv && /venv/bin/python /venv/bin/my-loop"),
        (["python3", "-c", "import loop"], None),
        (["python3", "-"], None),
    ],
)
def test_restart_command_forms(orig_argv: list[str], expected: str | None) -> None:
    config = {"cwd": "/srv", "executable": "/venv/bin/python", "orig_argv": orig_argv}
    run = RunRecord("r", "loop", 1, "host", tuple(orig_argv[1:]), "1", config, 0.0)
    assert restart_command(run) == expected


def test_restart_command_of_a_run_recorded_before_the_interpreter_was() -> None:
    run = RunRecord("r", "loop", 1, "host", ("loop.py", "--live"), "1", {"cwd": "/srv"}, 0.0)
    assert restart_command(run) == "cd /srv && python3 loop.py --live"


# -- 4. every threshold flag is bounded ---------------------------------------------------------------
BOUNDS = [
    ("--min-coverage", "150", "[0, 100] %"),
    ("--min-coverage", "-5", "[0, 100] %"),
    ("--min-coverage", "nan", "[0, 100] %"),
    ("--max-data-age-hours", "0", "(0, 168] hours"),
    ("--max-data-age-hours", "1000", "(0, 168] hours"),
    ("--max-gap-minutes", "1e9", "(0, 1440] minutes"),
    ("--max-gap-minutes", "inf", "(0, 1440] minutes"),
]


def test_threshold_flags_out_of_range_are_unknown_with_one_line(healthy: Path) -> None:
    base = ("--store", str(healthy), "--date", "2025-12-10", "--now", AFTER)
    cases = {f"{flag}={value}": ((*base, flag, value), {}) for flag, value, _ in BOUNDS}
    cases["interval"] = (("--watch", "--store", str(healthy), "--interval", "0"), {"prog": "health-console"})
    cases["console-report"] = (("--report", *base, "--min-coverage", "150"), {"prog": "health-console"})
    results = run_many(cases)
    for (flag, value, says), key in zip(BOUNDS, cases, strict=False):
        r = results[key]
        assert_unknown(r)
        assert flag in r.stderr and says in r.stderr and value in r.stderr, r.stderr
        assert r.stdout == ""
    assert_unknown(results["interval"])
    assert "(0, 86400] seconds" in results["interval"].stderr
    assert_unknown(results["console-report"])


def test_threshold_flags_at_their_bounds_are_accepted(healthy: Path) -> None:
    base = ("--store", str(healthy), "--date", "2025-12-10", "--now", AFTER, "--json")
    results = run_many(
        {
            "strictest": ((*base, "--min-coverage", "100"), {}),
            "lenient": (
                (*base, "--min-coverage", "0", "--max-data-age-hours", "168", "--max-gap-minutes", "1440"),
                {},
            ),
        }
    )
    assert results["lenient"].code == 0, results["lenient"].stderr
    assert results["strictest"].code == 0, results["strictest"].stderr  # the loop was up all session
    assert results["strictest"].json()["sources"][0]["thresholds"]["min_rth_coverage_pct"] == 100.0


# -- 5. the date browser's go-to field: today/yesterday, and q is never trapped --------------------------
async def test_the_go_to_field_takes_today_and_yesterday_and_never_traps_q(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 16, 5), step=300)
    mon.close()
    now = at(date(2025, 12, 11), 12, 0)
    app = HealthConsole(
        store,
        clock=lambda: now,
        browse=True,
        start_day=WED,
        poll_interval=0.02,
        refresh_seconds=3600.0,
        alive=lambda run: None,
    )
    async with app.run_test(size=(100, 32)) as pilot:
        for _ in range(250):
            if isinstance(app.screen, BrowserScreen):
                break
            await pilot.pause(0.02)
        screen = app.screen
        assert isinstance(screen, BrowserScreen)
        await pilot.press("g", *"today", "enter")
        assert screen.day == date(2025, 12, 11)
        await pilot.press("g", *"yesterday", "enter")
        assert screen.day == date(2025, 12, 10)  # the calendar day before, as --date says
        await pilot.press("g", *"2025-13-45", "enter")
        state = str(screen.query_one("#report-state").visual)
        assert "not a date: '2025-13-45' (month must be in 1..12)" in state
        assert screen.query_one("#goto").has_focus  # still in the field, to correct it
        await pilot.press("q")  # not a character of a date: it quits, as everywhere
    assert app.return_code == 0


def test_dates_read_the_same_in_the_cli_and_the_browser() -> None:
    tz = get_calendar("XNYS").tz
    now = at(date(2025, 12, 11), 0, 30)  # just after midnight in New York, still Dec 10 in UTC-8
    assert read_day("today", tz, now) == date(2025, 12, 11)
    assert read_day("yesterday", tz, now) == date(2025, 12, 10)
    assert read_day(" 2025-12-10 ", tz, now) == date(2025, 12, 10)
    for bad, says in [
        ("2025-13-45", "(month must be in 1..12)"),
        ("2025-02-30", "(day is out of range for month)"),
        ("20251210", "(YYYY-MM-DD, 'today' or 'yesterday')"),
        ("12/10/2025", "(YYYY-MM-DD, 'today' or 'yesterday')"),
    ]:
        with pytest.raises(ValueError, match=re.escape(f"not a date: {bad!r} {says}")):
            read_day(bad, tz, now)


# -- 6. one way to write a limit, and words that agree with the panel beside them ---------------------
async def _settled(pilot, app: HealthConsole) -> None:
    for _ in range(250):
        if app.snapshot is not None:
            break
        await pilot.pause(0.02)
    assert app.snapshot is not None
    await pilot.pause()


def _console(store: Path, now: float, **kwargs) -> HealthConsole:
    kwargs.setdefault("watchdogs", lambda path: None)
    return HealthConsole(
        store, clock=lambda: now, poll_interval=0.02, refresh_seconds=3600.0, alive=lambda run: None, **kwargs
    )


async def test_pre_market_refusals_and_the_limits_read_the_same_everywhere(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    clock = SimClock(at(WED, 8, 0))
    mon = monitor(store, clock, max_data_age_hours=0.25)
    run_loop(mon, clock, at(WED, 9, 0), step=120)  # pre-market: every call refused, "closed"
    clock.now = at(WED, 10, 0)
    allowed, reason = mon.should_generate_signals(clock.now - 3600)  # open, and stale
    mon.close()
    assert not allowed and "(limit 0h 15m)" in reason
    app = _console(store, at(WED, 10, 0, 30))
    async with app.run_test(size=(100, 32)) as pilot:
        await _settled(pilot, app)
        gating = app.dashboard.query_one(GatingPanel).text()
        data_age = app.dashboard.query_one(DataAgePanel).text()
        uptime = app.dashboard.query_one(UptimePanel).text()
    assert "✖ 31 blocked" in gating
    assert "no gate decision" not in data_age  # the gate has decided, 31 times
    assert "limit 0h 15m" in data_age and "(≤0h 02m)" in uptime  # as the gate's reason says it


async def test_before_any_decision_the_trend_says_so(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    clock = SimClock(at(WED, 8, 0))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 9, 0), step=120, gate=False)  # heartbeats and signals, no gate
    mon.close()
    app = _console(store, at(WED, 9, 1))
    async with app.run_test(size=(100, 32)) as pilot:
        await _settled(pilot, app)
        assert "trend: no gate decision yet" in app.dashboard.query_one(DataAgePanel).text()


# -- 7. the demo's first frame, its diagnostics, and why nothing is firing ----------------------------
def test_the_demo_starts_on_its_running_loop_with_one_set_of_limits(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    day = demo.demo_day("XNYS")
    demo.seed_history(store, day, "XNYS")  # in a process of its own: its runs' pid is gone
    clock = demo.demo_clock(day, 60.0, "XNYS")
    proc = demo.start_demo_process(store, clock, "XNYS")
    try:
        assert demo.wait_for_loop(store, clock.sim_start, proc)
        app = HealthConsole(store, clock=clock, poll_interval=0.02, watchdogs=lambda path: None)

        async def first_frame() -> tuple[str, str]:
            async with app.run_test(size=(100, 32)) as pilot:
                await _settled(pilot, app)
                return app.dashboard.query_one(UptimePanel).text(), app.dashboard.query_one(
                    DataAgePanel
                ).text()

        uptime, data_age = asyncio.run(first_frame())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        demo.remove_demo_store(tmp_path, proc.pid)
    assert uptime.startswith("● UP") and "STOPPED" not in uptime, uptime
    assert f"pid {proc.pid} " in uptime and "· running" in uptime
    assert "limit 0h 15m" in data_age  # the demo loop's limit, from the first frame on


def test_the_demo_history_is_its_loop_s_with_its_limits_and_a_gone_pid(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    day = demo.demo_day("XNYS")
    demo.seed_history(store, day, "XNYS")
    with StoreReader(store) as reader:
        runs = reader.runs()
    assert runs and {r.source for r in runs} == {"demo-loop"}
    assert {r.config["max_data_age_hours"] for r in runs} == {0.25}
    assert all(r.pid != os.getpid() and process_alive(r) is False for r in runs)


def test_diagnostics_judge_a_running_simulated_clock_when_each_check_runs(tmp_path: Path) -> None:
    """The demo's loop writes on a 60x clock while the checks run: 'now' must move with it,
    or the loop's fresh records look ahead of a clock read when the run began."""
    store = tmp_path / "health.db"
    start = at(WED, 10, 0)
    sim = SimClock(start)
    mon = monitor(store, sim)
    run_loop(mon, sim, start + 600, step=10)  # records up to 10:10 while "now" was 10:00 at the start
    mon.close()
    frozen = {c.name: c for c in run_diagnostics(store, now=start, environ={})}
    assert "ahead of this clock" in frozen["clock"].detail  # what the demo showed
    moving = {c.name: c for c in run_diagnostics(store, now=start, clock=lambda: start + 600, environ={})}
    assert moving["clock"].status != "FAIL" and "ahead of this clock" not in moving["clock"].detail
    assert "judging as of Wed 2025-12-10 10:10:00 EST; the system clock says" in moving["clock"].detail


async def test_an_unhealthy_store_with_nothing_firing_says_no_watchdog_runs(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 10, 0))
    mon.abandon()  # died at 10:00: NO_ACTIVITY is CRITICAL, and the loop fired nothing
    for watchdog, says in (
        (False, "no alert sent: no watchdog running (health-console --watch)"),
        (True, "no alert firing"),
    ):
        app = _console(store, at(WED, 11, 0), watchdogs=lambda path, w=watchdog: w)
        async with app.run_test(size=(120, 32)) as pilot:
            await _settled(pilot, app)
            for _ in range(100):
                if app.watchdog is watchdog:
                    break
                await pilot.pause(0.02)
            await pilot.pause()
            status = app.dashboard.query_one(StatusLine).render().plain
            assert "UNHEALTHY" in status and says in status, status
            assert app.sub_title == says


# -- 8. at 80x24 nothing goes missing without a hint, and a long path leaves the time ----------------
async def test_at_80x24_a_clipped_panel_says_how_much_more_there_is(tmp_path: Path) -> None:
    store = tmp_path / "health.db"
    clock = SimClock(at(WED, 9, 20))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 14, 0))
    mon.abandon()
    app = _console(store, at(WED, 14, 0, 30))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settled(pilot, app)
        panel = app.dashboard.query_one(UptimePanel)
        height = panel.content_size.height
        full = panel.text(panel.content_size.width).splitlines()
        shown = panel.render().plain.splitlines()
    assert len(full) > height  # it does not all fit...
    assert len(shown) == height
    hidden = len(full) - len(shown) + 1
    assert shown[-1] == f"… {hidden} more lines (taller terminal)"  # ...and it says so
    assert shown[:-1] == full[: len(shown) - 1]  # the most urgent lines first


async def test_a_long_store_path_leaves_the_as_of_time_in_view(tmp_path: Path) -> None:
    deep = tmp_path / ("very-long-directory-name-" * 4) / "trading" / "state"
    deep.mkdir(parents=True)
    store = deep / "health.db"
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 10, 0))
    mon.close()
    app = _console(store, at(WED, 10, 0, 30))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settled(pilot, app)
        line = app.dashboard.query_one(StatusLine).render().plain
    assert line.rstrip().endswith("· as of 10:00:30"), line
    assert "live: " in line and "…" in line and line.rstrip().endswith("health.db · as of 10:00:30")


# -- 9. --help shows the exit codes ---------------------------------------------------------------------
def test_help_shows_the_exit_codes() -> None:
    results = run_many(
        {
            prog: (("--help",), {"prog": prog})
            for prog in ("check-production-health", "diagnose-production", "health-console")
        }
    )
    for prog, r in results.items():
        assert r.code == 0 and r.stderr == "", (prog, r.stderr)
        table = r.stdout[r.stdout.index("exit codes") :]
        for line in (
            "0  HEALTHY, or CLOSED (not a trading day, nothing wrong)",
            "1  DEGRADED (a WARNING issue, no CRITICAL)",
            "2  UNHEALTHY (a CRITICAL issue)",
            "3  UNKNOWN: store missing or unreadable",
        ):
            assert line in table, (prog, table)
    assert "WARN 1, FAIL 2" in results["diagnose-production"].stdout
    assert "--now" not in results["check-production-health"].stdout  # the hidden flags stay hidden
