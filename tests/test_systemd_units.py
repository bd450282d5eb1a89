"""`health-console --systemd [--user]`: the units it prints pass `systemd-analyze verify` (skipped,
with the reason, where systemd-analyze is absent), and say what a restarted loop needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date

import pytest

from console.cli import health_console_main
from console.systemd_units import daily_on_calendar
from health.calendar import get_calendar
from health.simulation import SimClock, at, monitor, run_loop

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed here")


def units(capsys, *args: str) -> dict[str, str]:
    with pytest.raises(SystemExit) as exit_:
        health_console_main(["--systemd", *args])
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    files: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("### FILE "):
            current = line.split(" ", 2)[2]
            files[current] = []
        elif current is not None:
            files[current].append(line)
    return {path: "\n".join(lines) + "\n" for path, lines in files.items()}


def _install(files: dict[str, str], where) -> list[str]:
    names = []
    for path, text in files.items():
        name = os.path.basename(path)
        (where / name).write_text(text)
        names.append(name)
    return names


def _verify(tmp_path, names: list[str], user: bool) -> subprocess.CompletedProcess:
    # The loop's template is verified through an instance, as systemd would load it.
    targets = [str(tmp_path / n.replace("@.service", "@momentum.service")) for n in names]
    env = dict(os.environ)
    if user:
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(runtime)  # the user manager's, which a CI box may lack
    return subprocess.run(
        [ANALYZE, *(["--user"] if user else []), "verify", *targets],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )


@needs_analyze
@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_units_pass_systemd_analyze_verify(tmp_path, capsys, user):
    store = tmp_path / "h.db"
    files = units(capsys, "--store", str(store), *(["--user"] if user else []))
    assert sorted(os.path.basename(p) for p in files) == [
        "production-health-daily.service",
        "production-health-daily.timer",
        "production-health-loop@.service",
        "production-health-watch.service",
    ]
    unit_dir = "~/.config/systemd/user/" if user else "/etc/systemd/system/"
    assert all(p.startswith(unit_dir) for p in files)
    result = _verify(tmp_path, _install(files, tmp_path), user)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


@needs_analyze
def test_verify_does_catch_a_broken_unit(tmp_path, capsys):
    """The check above can fail: a misspelt key and a missing binary are reported."""
    files = units(capsys, "--store", str(tmp_path / "h.db"), "--loop-command", "/nonexistent/python loop.py")
    for path in list(files):
        files[path] = files[path].replace("Restart=on-failure", "Restrat=on-failure")
    result = _verify(tmp_path, _install(files, tmp_path), False)
    assert "Restrat" in result.stderr and "/nonexistent/python" in result.stderr


def test_the_loop_template_restarts_crashed_and_hung_loops(tmp_path, capsys):
    files = units(
        capsys, "--store", str(tmp_path / "h.db"), "--loop-command", "/srv/venv/bin/python run.py %i"
    )
    loop = next(text for path, text in files.items() if path.endswith("loop@.service"))
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "WatchdogSec=180s",
        "ExecStart=/srv/venv/bin/python run.py %i",
        f'Environment="HEALTH_STORE={tmp_path / "h.db"}"',
    ):
        assert line in loop.splitlines(), line
    timer = next(text for path, text in files.items() if path.endswith(".timer"))
    assert "OnCalendar=Mon..Fri 16:15 America/New_York" in timer


def test_watchdog_sec_follows_the_loops_recorded_interval(tmp_path, capsys):
    store = tmp_path / "h.db"
    clock = SimClock(at(date(2025, 12, 10), 10, 0))
    mon = monitor(store, clock, check_interval_seconds=20, source="fast")
    run_loop(mon, clock, at(date(2025, 12, 10), 10, 5), step=20)
    mon.close()
    files = units(capsys, "--store", str(store))
    loop = next(text for path, text in files.items() if path.endswith("loop@.service"))
    assert "WatchdogSec=60s" in loop.splitlines()
    files = units(capsys, "--store", str(store), "--watchdog-sec", "45")
    assert "WatchdogSec=45s" in next(t for p, t in files.items() if p.endswith("loop@.service")).splitlines()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("XNYS", "Mon..Fri 16:15 America/New_York"),
        ("XHKG", "Mon..Fri 16:15 Asia/Hong_Kong"),
        ("XLON", "Mon..Fri 16:45 Europe/London"),
        ("XTKS", "Mon..Fri 15:45 Asia/Tokyo"),
    ],
)
def test_the_daily_timer_runs_after_the_close_in_the_exchanges_zone(code, expected):
    spec = daily_on_calendar(get_calendar(code), today=date(2025, 12, 10))
    assert spec == expected
    if ANALYZE:
        check = subprocess.run([ANALYZE, "calendar", spec], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr


def test_unit_flags_need_systemd(capsys):
    with pytest.raises(SystemExit) as exit_:
        health_console_main(["--user"])
    assert exit_.value.code == 3
    assert "--user needs --systemd" in capsys.readouterr().err
